"""The Helm chart (deploy/helm/videogen), rendered and validated as `helm template` and a cluster would.

Rendering is Helm's own engine: ``helm-python-sdk`` binds Helm's Go SDK (the code `helm template`
runs) through a bundled shared library, so the tests need neither the helm binary nor a Go
toolchain (neither can be installed here: no network but PyPI, Debian and npm, and none of them
ships helm). Built-in kinds are checked against Kubernetes' own OpenAPI schemas
(``kubernetes-validate``, strict: an unknown field fails); KEDA's and the Prometheus Operator's
custom resources against the shapes below, written from their CRDs for the fields the chart sets.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

import helm_python as helm
import jsonschema
import kubernetes_validate
import kubernetes_validate.utils
import yaml

from videogen.settings import Settings

CHART = Path(__file__).resolve().parents[1] / "deploy" / "helm" / "videogen"
RELEASE = "videogen"
NAMESPACE = "gen"
# The oldest Kubernetes the chart declares (Chart.yaml kubeVersion) and the newest with schemas.
KUBERNETES_VERSIONS = ("1.25.0", kubernetes_validate.latest_version())
SETTINGS = {f"VIDEOGEN_{name.upper()}" for name in Settings.model_fields}

# kubernetes-validate parses a version's definitions (megabytes of JSON) again for every object:
# read each schema file once per run instead (they are read-only package data).
kubernetes_validate.utils.schema_contents = lru_cache(maxsize=None)(kubernetes_validate.utils.schema_contents)

Manifest = dict[str, Any]

_TRIGGER_METADATA = {"type": "object", "additionalProperties": {"type": "string"}}  # KEDA: strings only
_INT = {"type": "integer", "minimum": 0}
# keda.sh/v1alpha1 (KEDA 2.x CRDs, config/crd/bases), the fields the chart uses; any other is a typo.
SCALED_OBJECT = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "keda.sh/v1alpha1"},
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["scaleTargetRef", "triggers"],
            "properties": {
                "scaleTargetRef": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["name"],
                    "properties": {
                        "apiVersion": {"type": "string"},
                        "kind": {"type": "string"},
                        "name": {"type": "string", "minLength": 1},
                    },
                },
                "minReplicaCount": _INT,
                "maxReplicaCount": _INT,
                "pollingInterval": _INT,
                "cooldownPeriod": _INT,
                "advanced": {
                    "type": "object",
                    "properties": {
                        "horizontalPodAutoscalerConfig": {
                            "type": "object",
                            "properties": {"behavior": {"type": "object"}},
                            "additionalProperties": False,
                        }
                    },
                    "additionalProperties": False,
                },
                "triggers": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["type", "metadata"],
                        "properties": {
                            "type": {"enum": ["prometheus", "postgresql"]},
                            "name": {"type": "string"},
                            "metadata": _TRIGGER_METADATA,
                            "authenticationRef": {
                                "type": "object",
                                "required": ["name"],
                                "properties": {"name": {"type": "string"}},
                                "additionalProperties": False,
                            },
                        },
                        "allOf": [
                            {
                                "if": {"properties": {"type": {"const": "prometheus"}}},
                                "then": {
                                    "properties": {"metadata": {"required": ["serverAddress", "query", "threshold"]}}
                                },
                            },
                            {
                                "if": {"properties": {"type": {"const": "postgresql"}}},
                                "then": {
                                    "required": ["authenticationRef"],
                                    "properties": {"metadata": {"required": ["query", "targetQueryValue"]}},
                                },
                            },
                        ],
                    },
                },
            },
        },
    },
}
TRIGGER_AUTHENTICATION = {
    "type": "object",
    "required": ["spec"],
    "properties": {
        "apiVersion": {"const": "keda.sh/v1alpha1"},
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "secretTargetRef": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["parameter", "name", "key"],
                        "properties": {n: {"type": "string", "minLength": 1} for n in ("parameter", "name", "key")},
                    },
                }
            },
        },
    },
}
_ENDPOINT = {
    "type": "object",
    "additionalProperties": False,
    "required": ["port"],
    "properties": {"port": {"type": "string"}, "path": {"type": "string"}, "interval": {"type": "string"}},
}
_SELECTOR = {"type": "object", "required": ["matchLabels"], "properties": {"matchLabels": _TRIGGER_METADATA}}
# monitoring.coreos.com/v1 (Prometheus Operator), the fields the chart uses.
MONITORS = {
    "ServiceMonitor": {
        "properties": {
            "apiVersion": {"const": "monitoring.coreos.com/v1"},
            "spec": {
                "type": "object",
                "additionalProperties": False,
                "required": ["selector", "endpoints"],
                "properties": {"selector": _SELECTOR, "endpoints": {"type": "array", "items": _ENDPOINT}},
            },
        }
    },
    "PodMonitor": {
        "properties": {
            "apiVersion": {"const": "monitoring.coreos.com/v1"},
            "spec": {
                "type": "object",
                "additionalProperties": False,
                "required": ["selector", "podMetricsEndpoints"],
                "properties": {"selector": _SELECTOR, "podMetricsEndpoints": {"type": "array", "items": _ENDPOINT}},
            },
        }
    },
}
CUSTOM_SCHEMAS = {"ScaledObject": SCALED_OBJECT, "TriggerAuthentication": TRIGGER_AUTHENTICATION, **MONITORS}


def render(values: dict[str, Any] | None = None) -> list[Manifest]:
    """Every object ``helm template`` prints for ``values`` (hooks included), in template order."""
    with helm.Chart.load(CHART) as chart:
        templates = chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    docs: list[Manifest] = []
    for path, text in sorted(templates.items()):
        if path.endswith(".yaml"):
            docs += [doc for doc in yaml.safe_load_all(text) if doc]
    return docs


def render_error(values: dict[str, Any]) -> str:
    """The message a render with ``values`` fails with (the chart's ``fail``)."""
    try:
        render(values)
    except helm.HelmError as exc:
        return str(exc)
    raise AssertionError(f"rendering {values} succeeded")


def validate(docs: Iterable[Manifest]) -> None:
    """Each object against its kind's schema: Kubernetes' for built-in kinds, strictly, on the
    oldest and newest supported versions; the CRD shapes above for KEDA and the Prometheus Operator."""
    for doc in docs:
        if doc["kind"] in CUSTOM_SCHEMAS:
            jsonschema.validate(doc, CUSTOM_SCHEMAS[doc["kind"]])
            continue
        for version in KUBERNETES_VERSIONS:
            kubernetes_validate.validate(doc, version, strict=True)


def of_kind(docs: Iterable[Manifest], kind: str) -> list[Manifest]:
    return [d for d in docs if d["kind"] == kind]


def named(docs: Iterable[Manifest], kind: str, name: str) -> Manifest:
    [doc] = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    return doc


def pod_spec(doc: Manifest) -> dict[str, Any]:
    spec: dict[str, Any] = doc["spec"]["template"]["spec"]
    return spec


def containers(docs: Iterable[Manifest]) -> list[dict[str, Any]]:
    return [c for d in docs if d["kind"] in {"Deployment", "Job"} for c in pod_spec(d)["containers"]]


def settings_used(docs: list[Manifest]) -> set[str]:
    """Every VIDEOGEN_* variable the objects set: ConfigMap and Secret keys, container env."""
    used = set()
    for doc in of_kind(docs, "ConfigMap") + of_kind(docs, "Secret"):
        used |= set(doc.get("data", {})) | set(doc.get("stringData", {}))
    for container in containers(docs):
        used |= {e["name"] for e in container.get("env", [])}
    return {name for name in used if re.match(r"VIDEOGEN_", name)}


# Every option on: two models, both autoscaling triggers, ingress, monitors, credentials from values.
EVERYTHING: dict[str, Any] = {
    "workers": [
        {"model": "hunyuanvideo"},
        {"model": "hunyuanvideo-i2v", "config": {"VIDEOGEN_WORKER_LOADED_MODELS": 1}},
    ],
    "autoscaling": {"enabled": True, "postgresql": {"enabled": True, "connectionSecret": {"name": "keda-pg"}}},
    "ingress": {"enabled": True, "className": "nginx", "tls": [{"secretName": "t", "hosts": ["videogen.example.com"]}]},
    "metrics": {"serviceMonitor": {"enabled": True}},
    "secrets": {
        "existingSecret": "",
        "databaseUrl": {"value": "postgresql+psycopg://videogen:pw@postgres:5432/videogen"},
        "brokerUrl": {"value": "redis://redis:6379/0"},
        "secretKey": {"value": "k" * 43 + "="},
        "adminToken": {"value": "admin"},
        "s3AccessKeyId": {"value": "id"},
        "s3SecretAccessKey": {"value": "secret"},
        "rateLimitUrl": {"value": "redis://redis:6379/1"},
    },
}
