"""deploy/: the Helm chart configures only real settings and asks for GPUs, and the dashboard
queries real metrics. (The chart's own behaviour is in tests/test_helm_chart.py.)"""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.helm_chart import EVERYTHING, SETTINGS, of_kind, pod_spec, render, settings_used

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"


def test_the_chart_renders_and_uses_only_known_settings() -> None:
    for values in (None, EVERYTHING):
        docs = render(values)
        assert {"Deployment", "Service", "ConfigMap", "Job", "PodDisruptionBudget"} <= {d["kind"] for d in docs}
        used = settings_used(docs)
        assert used, "the chart sets no settings"
        assert used <= SETTINGS, f"unknown settings in the chart: {used - SETTINGS}"


def test_every_worker_asks_for_a_gpu() -> None:
    workers = [d for d in of_kind(render(EVERYTHING), "Deployment") if "-worker-" in d["metadata"]["name"]]
    assert len(workers) == len(EVERYTHING["workers"])
    for worker in workers:
        assert pod_spec(worker)["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == 1


def test_dashboard_queries_metrics_that_exist() -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "videogen-dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    names = {m for e in exprs for m in re.findall(r"\b(videogen_[a-z_]+)", e)}
    source = "".join(p.read_text() for d in ("api", "worker", "videogen") for p in (REPO / d).rglob("*.py"))
    for name in names:
        base = re.sub(r"_(bucket|total|count|sum)$", "", name)
        assert f'"{base}' in source, f"dashboard uses {name}, which no code exports"


def test_the_autoscaler_queries_metrics_that_exist() -> None:
    source = "".join(p.read_text() for d in ("api", "worker", "videogen") for p in (REPO / d).rglob("*.py"))
    for scaled in of_kind(render(EVERYTHING), "ScaledObject"):
        for trigger in scaled["spec"]["triggers"]:
            if trigger["type"] == "prometheus":
                for name in re.findall(r"\b(videogen_[a-z_]+)", trigger["metadata"]["query"]):
                    assert f'"{name}"' in source, f"the ScaledObject uses {name}, which no code exports"
