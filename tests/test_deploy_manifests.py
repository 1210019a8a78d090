"""deploy/: manifests parse, configure only real settings, and the dashboard queries real metrics."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from videogen.settings import Settings

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"
SETTINGS = {f"VIDEOGEN_{name.upper()}" for name in Settings.model_fields}


def manifests() -> list[dict]:  # type: ignore[type-arg]
    docs = []
    for path in sorted((DEPLOY / "kubernetes").glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


def test_manifests_parse_and_use_only_known_settings() -> None:
    docs = manifests()
    kinds = {d["kind"] for d in docs}
    assert {"Deployment", "Service", "ConfigMap", "Secret", "Job"} <= kinds
    used = set()
    for doc in docs:
        used |= {k for k in {**doc.get("data", {}), **doc.get("stringData", {})} if k.startswith("VIDEOGEN_")}
        for container in doc.get("spec", {}).get("template", {}).get("spec", {}).get("containers", []):
            used |= {e["name"] for e in container.get("env", []) if e["name"].startswith("VIDEOGEN_")}
    assert used, "manifests set no settings"
    assert used <= SETTINGS, f"unknown settings in manifests: {used - SETTINGS}"


def test_worker_asks_for_a_gpu() -> None:
    [worker] = [d for d in manifests() if d["kind"] == "Deployment" and "worker" in d["metadata"]["name"]]
    limits = worker["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]
    assert limits["nvidia.com/gpu"] == 1


def test_dashboard_queries_metrics_that_exist() -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "videogen-dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    names = {m for e in exprs for m in re.findall(r"\b(videogen_[a-z_]+)", e)}
    source = "".join(p.read_text() for d in ("api", "worker", "videogen") for p in (REPO / d).rglob("*.py"))
    for name in names:
        base = re.sub(r"_(bucket|total|count|sum)$", "", name)
        assert f'"{base}' in source, f"dashboard uses {name}, which no code exports"
