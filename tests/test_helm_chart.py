"""The Helm chart: what an operator installs renders, validates, and runs the service as designed."""

from __future__ import annotations

import copy
import socket
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import helm_python as helm
import pytest
import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Gauge, start_http_server

from api.routes.system import router as system_router
from tests.domain.factories import make_org, make_video
from tests.helm_chart import (
    CHART,
    EVERYTHING,
    SETTINGS,
    containers,
    named,
    of_kind,
    pod_spec,
    render,
    render_error,
    settings_used,
    validate,
)
from tests.helpers import scratch_database
from videogen.database import session_scope, utcnow
from videogen.settings import Settings
from videogen.tables import metadata
from videogen.videos.tables import VideoStatus
from worker.metrics import READY

TWO_MODELS: dict[str, Any] = {
    "workers": [{"model": "hunyuanvideo"}, {"model": "hunyuanvideo-1.5-720p", "nodeSelector": {"gpu": "h200"}}],
    "autoscaling": {"enabled": True, "postgresql": {"enabled": True, "connectionSecret": {"name": "keda-pg"}}},
}


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container.get("env", [])}


def component(doc: dict[str, Any]) -> str:
    return str(doc["metadata"]["labels"]["app.kubernetes.io/component"])


def worker_deployments(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        d for d in of_kind(docs, "Deployment") if d["metadata"]["labels"]["app.kubernetes.io/component"] == "worker"
    ]


def test_default_values_render_objects_that_validate_against_kubernetes() -> None:
    docs = render()
    validate(docs)
    names = {(d["kind"], d["metadata"]["name"]) for d in docs}
    assert names == {
        ("ServiceAccount", "videogen"),
        ("ConfigMap", "videogen-config"),
        ("Deployment", "videogen-api"),
        ("Service", "videogen-api"),
        ("PodDisruptionBudget", "videogen-api"),
        ("Deployment", "videogen-webhooks"),
        ("Deployment", "videogen-worker-hunyuanvideo"),
        ("PodDisruptionBudget", "videogen-worker-hunyuanvideo"),
        ("Job", "videogen-migrate"),
    }
    # Credentials come from the operator's Secret; the chart makes none of its own.
    assert not of_kind(docs, "Secret")


def test_every_option_renders_valid_objects_and_the_chart_lints_clean() -> None:
    docs = render(EVERYTHING)
    validate(docs)
    kinds = {d["kind"] for d in docs}
    assert {"Ingress", "ScaledObject", "TriggerAuthentication", "ServiceMonitor", "PodMonitor", "Secret"} <= kinds
    report = helm.lint(CHART, EVERYTHING, strict=True)
    assert not report["errors"], report
    assert [m for m in report["messages"] if m["severity"] >= 2] == [], report


def test_only_real_settings_are_configured() -> None:
    for values in (None, EVERYTHING):
        used = settings_used(render(values))
        assert used <= SETTINGS, f"unknown settings in the chart: {used - SETTINGS}"
    assert "VIDEOGEN_WORKER_LOADED_MODELS" in settings_used(render(EVERYTHING))
    assert "config.BROKER_URL" in render_error({"config": {"BROKER_URL": "redis://r"}})


def test_the_api_serves_the_models_of_its_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    [config] = of_kind(render(TWO_MODELS), "ConfigMap")
    for name, value in config["data"].items():  # the environment a pod gets from it
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert settings.models == ["hunyuanvideo", "hunyuanvideo-1.5-720p"]
    assert settings.default_model == "hunyuanvideo"
    assert settings.storage_backend == "s3"


def test_two_models_give_two_worker_deployments_each_scaled_on_its_own_queue() -> None:
    docs = render(TWO_MODELS)
    validate(docs)
    workers = {d["metadata"]["name"]: d for d in worker_deployments(docs)}
    assert set(workers) == {"videogen-worker-hunyuanvideo", "videogen-worker-hunyuanvideo-1-5-720p"}
    selectors = [d["spec"]["selector"]["matchLabels"] for d in workers.values()]
    assert selectors[0] != selectors[1], "each Deployment must select only its own model's pods"
    scaled = {d["spec"]["scaleTargetRef"]["name"]: d for d in of_kind(docs, "ScaledObject")}
    assert set(scaled) == set(workers)
    for name, deployment in workers.items():
        model = deployment["metadata"]["labels"]["videogen.io/model"]
        [container] = pod_spec(deployment)["containers"]
        assert container["command"] == ["videogen", "worker", "--model", model]
        # KEDA owns the replica count: an upgrade must not reset it.
        assert "replicas" not in deployment["spec"]
        triggers = {t["type"]: t for t in scaled[name]["spec"]["triggers"]}
        query = triggers["prometheus"]["metadata"]["query"]
        assert f'model="{model}"' in query and "queued" in query and query.startswith("sum(max by (status)")
        sql = triggers["postgresql"]["metadata"]["query"]
        assert f"model = '{model}'" in sql and "status = 'queued'" in sql
        assert triggers["postgresql"]["authenticationRef"]["name"] == "videogen-postgresql"
        spec = scaled[name]["spec"]
        assert spec["cooldownPeriod"] >= 600
        assert (
            spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"]
            >= 600
        )
    assert pod_spec(workers["videogen-worker-hunyuanvideo-1-5-720p"])["nodeSelector"] == {
        "nvidia.com/gpu.present": "true",
        "gpu": "h200",
    }
    [auth] = of_kind(docs, "TriggerAuthentication")
    assert auth["spec"]["secretTargetRef"] == [{"parameter": "connection", "name": "keda-pg", "key": "connection"}]


def test_a_model_may_override_autoscaling_and_scale_to_zero_on_the_database_alone() -> None:
    values = copy.deepcopy(TWO_MODELS)
    values["workers"][1]["autoscaling"] = {"minReplicas": 0, "prometheus": {"enabled": False}}
    scaled = {d["metadata"]["name"]: d["spec"] for d in of_kind(render(values), "ScaledObject")}
    overridden = scaled["videogen-worker-hunyuanvideo-1-5-720p"]
    assert overridden["minReplicaCount"] == 0
    assert [t["type"] for t in overridden["triggers"]] == ["postgresql"]
    assert scaled["videogen-worker-hunyuanvideo"]["minReplicaCount"] == 1
    assert "autoscaling.postgresql.connectionSecret.name" in render_error(
        {"autoscaling": {"enabled": True, "postgresql": {"enabled": True}}}
    )


def test_without_autoscaling_the_chart_sets_the_worker_replicas() -> None:
    docs = render({"workers": [{"model": "hunyuanvideo", "replicas": 0}]})
    assert not of_kind(docs, "ScaledObject")
    [worker] = worker_deployments(docs)
    assert worker["spec"]["replicas"] == 0  # 0 is a value, not "unset"


@pytest.fixture(scope="module")
def queue_database() -> Iterator[str]:
    with scratch_database("videogen_helm") as url:
        engine = sa.create_engine(url)
        metadata.create_all(engine)
        engine.dispose()
        yield url


def test_the_postgresql_trigger_counts_the_models_waiting_and_running_jobs_on_the_queue_index(
    queue_database: str,
) -> None:
    [scaled] = [d for d in of_kind(render(TWO_MODELS), "ScaledObject") if "1-5" not in d["metadata"]["name"]]
    [trigger] = [t for t in scaled["spec"]["triggers"] if t["type"] == "postgresql"]
    with session_scope(queue_database) as session:
        org = make_org(session)
        for status in (VideoStatus.QUEUED, VideoStatus.QUEUED, VideoStatus.IN_PROGRESS, VideoStatus.COMPLETED):
            make_video(session, org, status=status, model="hunyuanvideo")
        make_video(session, org, status=VideoStatus.QUEUED, model="hunyuanvideo", deleted_at=utcnow())
        make_video(session, org, status=VideoStatus.QUEUED, model="hunyuanvideo-1.5-720p")
    engine = sa.create_engine(queue_database)
    try:
        with engine.connect() as connection:
            assert connection.execute(sa.text(trigger["metadata"]["query"])).scalar() == 3
            connection.execute(sa.text("SET enable_seqscan = off"))
            plan = "\n".join(connection.execute(sa.text("EXPLAIN " + trigger["metadata"]["query"])).scalars())
    finally:
        engine.dispose()
    assert "ix_videos_queue" in plan and "ix_videos_status_model" in plan, plan


def test_existing_secrets_are_referenced_and_no_secret_is_created() -> None:
    values = {
        "secrets": {
            "existingSecret": "videogen-creds",
            "databaseUrl": {"existingSecret": "cnpg-app", "key": "sqlalchemy-uri"},
        }
    }
    docs = render(values)
    validate(docs)
    assert not of_kind(docs, "Secret")
    for container in containers(docs):
        env = env_of(container)
        assert env["VIDEOGEN_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
            "name": "cnpg-app",
            "key": "sqlalchemy-uri",
        }
        if container["name"] == "migrate":
            continue
        assert env["VIDEOGEN_BROKER_URL"]["valueFrom"]["secretKeyRef"] == {
            "name": "videogen-creds",
            "key": "VIDEOGEN_BROKER_URL",
        }
        # What a deployment can run without may be missing from the Secret.
        assert env["VIDEOGEN_S3_ACCESS_KEY_ID"]["valueFrom"]["secretKeyRef"]["optional"] is True
        # Only the API holds the admin token.
        assert ("VIDEOGEN_ADMIN_TOKEN" in env) == (container["name"] == "api")


def test_credentials_given_as_values_go_into_the_charts_secret() -> None:
    docs = render(EVERYTHING)
    secrets = {d["metadata"]["name"]: d for d in of_kind(docs, "Secret")}
    assert secrets["videogen-secrets"]["stringData"]["VIDEOGEN_ADMIN_TOKEN"] == "admin"
    api = named(docs, "Deployment", "videogen-api")
    ref = env_of(pod_spec(api)["containers"][0])["VIDEOGEN_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
    assert ref == {"name": "videogen-secrets", "key": "VIDEOGEN_DATABASE_URL"}
    # The migration runs before the chart's Secret exists: its database URL is a hook of its own.
    hook = secrets["videogen-migrate"]
    assert hook["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert int(hook["metadata"]["annotations"]["helm.sh/hook-weight"]) < 0


def test_a_missing_required_credential_fails_the_render_and_names_the_value() -> None:
    message = render_error({"secrets": {"existingSecret": "", "brokerUrl": {"value": "redis://r"}}})
    assert "secrets.databaseUrl" in message and "VIDEOGEN_DATABASE_URL" in message


def test_the_migration_job_is_a_pre_install_and_pre_upgrade_hook() -> None:
    docs = render()
    job = named(docs, "Job", "videogen-migrate")
    annotations = job["metadata"]["annotations"]
    assert annotations["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert "before-hook-creation" in annotations["helm.sh/hook-delete-policy"]
    spec = pod_spec(job)
    [container] = spec["containers"]
    assert container["command"] == ["videogen", "db", "upgrade"]
    # Pre-install hooks run before the release's own objects exist: nothing of them is referenced.
    assert "serviceAccountName" not in spec and "envFrom" not in container
    assert env_of(container)["VIDEOGEN_DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"] == "videogen-secrets"


def test_the_gpu_worker_asks_for_a_gpu_and_outlives_its_longest_job() -> None:
    docs = render()
    [worker] = worker_deployments(docs)
    spec = pod_spec(worker)
    [container] = spec["containers"]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert spec["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in spec["tolerations"]
    # Grace: the longest job from its start (~30 min for a 720p clip, VAE decode included), its
    # encode and upload, the finish-retry window, and one S3 call against a hung store (README, Docker).
    settings = Settings()
    hung_s3_call = settings.s3_max_attempts * (settings.s3_read_timeout_seconds + 1)
    bound = 30 * 60 + 60 + settings.worker_finish_retry_seconds + hung_s3_call
    assert spec["terminationGracePeriodSeconds"] > bound
    pdb = named(docs, "PodDisruptionBudget", worker["metadata"]["name"])
    assert pdb["spec"]["selector"]["matchLabels"] == worker["spec"]["selector"]["matchLabels"]
    assert pdb["spec"]["maxUnavailable"] == 1


def test_the_api_probes_are_routes_the_api_serves() -> None:
    [container] = pod_spec(named(render(), "Deployment", "videogen-api"))["containers"]
    paths = {route.path for route in system_router.routes}  # type: ignore[attr-defined]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz" in paths
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz" in paths


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_worker_is_ready_only_once_its_metrics_say_so() -> None:
    """The readiness probe, run as the kubelet would, against a metrics server like the worker's."""
    port = free_port()
    [worker] = worker_deployments(render({"workerDefaults": {"metricsPort": port}}))
    [container] = pod_spec(worker)["containers"]
    assert env_of(container)["VIDEOGEN_WORKER_METRICS_PORT"]["value"] == str(port)
    assert container["livenessProbe"]["httpGet"] == {"path": "/metrics", "port": "metrics"}
    command = container["readinessProbe"]["exec"]["command"]
    assert command[0] == "python"

    def probe() -> int:
        return subprocess.run([sys.executable, *command[1:]], timeout=30, check=False).returncode

    registry = CollectorRegistry()
    ready = Gauge(READY._name, READY._documentation, registry=registry)  # the worker's gauge, by its name
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    try:
        ready.set(0)
        assert probe() == 1  # loading its models
        ready.set(1)
        assert probe() == 0
    finally:
        server.shutdown()
        thread.join(timeout=10)


def test_the_webhook_worker_is_probed_on_the_metrics_port_it_serves() -> None:
    docs = render(EVERYTHING)
    [container] = pod_spec(named(docs, "Deployment", "videogen-webhooks"))["containers"]
    [port] = container["ports"]
    assert env_of(container)["VIDEOGEN_WEBHOOK_METRICS_PORT"]["value"] == str(port["containerPort"])
    assert container["livenessProbe"]["httpGet"]["port"] == port["name"] == "metrics"
    # A broker outage makes it unready, never restarts it: only readiness goes through the broker.
    assert "inspect ping" in " ".join(container["readinessProbe"]["exec"]["command"])
    monitors = {d["metadata"]["name"] for d in of_kind(docs, "PodMonitor")}
    assert monitors == {"videogen-worker", "videogen-webhooks"}
    assert {
        d["metadata"]["name"] for d in of_kind(render({**EVERYTHING, "webhooks": {"enabled": False}}), "PodMonitor")
    } == {"videogen-worker"}
