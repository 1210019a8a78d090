"""Metrics as an operator's Prometheus scrapes them: the API's /metrics (job gauges that are 0 when
idle, HTTP requests by route template), the same numbers from several uvicorn workers, the webhook
worker's deliveries by outcome and their latency, the GPU worker's per-model readiness; health
checks on every long-running compose service; every metric documented."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from tests.helpers import BROKEN_MODEL, QUICK, finished, wait_for
from tests.in_process import InProcessApi, in_process_api
from tests.stack import ServiceStack, wait_until
from tests.webhook_receiver import Script, WebhookReceiver

REPO = Path(__file__).resolve().parents[1]
ACTIVE = ("queued", "in_progress")
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(exposition: str) -> Samples:
    """Every sample of a Prometheus text exposition, by name and labels."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(exposition)
        for s in family.samples
    }


def value(found: Samples, name: str, **labels: str) -> float:
    """A sample's value; 0 for a series not exported (yet), as a counter that never moved."""
    return found.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessApi]:
    with in_process_api(tmp_path_factory.mktemp("metrics")) as app:
        yield app


@pytest.fixture(scope="module")
def client(api: InProcessApi) -> Iterator[TestClient]:
    with api.client() as test_client:
        yield test_client


def scrape(client: TestClient) -> Samples:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


# --- the API ------------------------------------------------------------------------------------


def test_job_gauges_are_zero_for_every_served_model_when_idle_then_count_a_queued_job(
    api: InProcessApi, client: TestClient
) -> None:
    idle = scrape(client)
    for model in api.settings.models:
        for status in ACTIVE:
            assert ("videogen_jobs", frozenset({("model", model), ("status", status)})) in idle, (model, status)
            assert value(idle, "videogen_jobs", model=model, status=status) == 0
        assert ("videogen_oldest_queued_seconds", frozenset({("model", model)})) in idle, model
        assert value(idle, "videogen_oldest_queued_seconds", model=model) == 0

    model = api.settings.models[0]
    assert client.post("/v1/videos", json={**QUICK, "model": model}).status_code == 200  # no worker: it stays queued

    def aged() -> Samples | None:
        found = scrape(client)
        return found if value(found, "videogen_oldest_queued_seconds", model=model) > 0 else None

    busy = wait_until(aged, 30, message="the queued job's age")
    assert value(busy, "videogen_jobs", model=model, status="queued") == 1
    assert value(busy, "videogen_jobs", model=api.settings.models[1], status="queued") == 0


def test_http_requests_are_counted_and_timed_by_route_template(client: TestClient) -> None:
    video_route = "/v1/videos/{video_id}"
    before = scrape(client)
    assert client.get("/v1/videos/video_0123456789abcdef").status_code == 404
    assert client.get("/v1/videos/video_fedcba9876543210").status_code == 404
    assert client.get("/v1/models").status_code == 200
    assert client.post("/v1/videos", json={"prompt": 7}).status_code == 400  # validation: OpenAI's 400, never a 422
    assert client.get("/no/such/path/abc123").status_code == 404
    assert client.delete("/v1/models").status_code == 405
    after_response = client.get("/metrics")
    after = samples(after_response.text)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    requests = "videogen_http_requests_total"
    assert moved(requests, method="GET", route=video_route, status="404") == 2
    assert moved(requests, method="GET", route="/v1/models", status="200") == 1
    assert moved(requests, method="POST", route="/v1/videos", status="400") == 1
    assert moved(requests, method="GET", route="unmatched", status="404") == 1
    assert moved(requests, method="DELETE", route="/v1/models", status="405") == 1  # the path's route, not unmatched
    duration = "videogen_http_request_duration_seconds"
    assert moved(f"{duration}_count", method="GET", route=video_route) == 2
    assert moved(f"{duration}_bucket", method="GET", route=video_route, le="+Inf") == 2
    assert moved(f"{duration}_sum", method="GET", route=video_route) > 0
    # Bounded cardinality: no raw path ever becomes a label.
    for raw in ("video_0123456789abcdef", "video_fedcba9876543210", "/no/such/path"):
        assert raw not in after_response.text


def test_several_uvicorn_workers_report_the_sum_of_their_counters(embedded_stack: ServiceStack, tmp_path: Path) -> None:
    """`videogen serve --workers 2`: a scrape reaches either process, and each answers with both
    processes' requests (prometheus-client's multiprocess mode, set up by `serve`)."""
    env = {**embedded_stack.env, "TMPDIR": str(tmp_path), "VIDEOGEN_RECONCILE_INTERVAL_SECONDS": "0"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    replica = ServiceStack("metrics-workers", env, embedded_stack.log_dir)
    replica.api = replica._spawn("api", ["serve", "--port", str(replica.port), "--workers", "2"])
    try:
        wait_until(lambda: httpx.get(f"{replica.root_url}/readyz", timeout=2).status_code == 200, 120, message="API")
        sent = 0

        def both_processes_answered() -> bool:
            nonlocal sent
            with ThreadPoolExecutor(8) as pool:  # a connection each, so that either process may accept it
                codes = list(pool.map(lambda _: httpx.get(f"{replica.root_url}/healthz").status_code, range(16)))
            assert codes == [200] * 16
            sent += 16
            return len(list(tmp_path.glob("videogen-metrics-*/counter_*.db"))) >= 2

        wait_until(both_processes_answered, 60, message="requests answered by both API processes")
        for _ in range(4):  # any process may answer a scrape: each one reports every request
            found = samples(httpx.get(f"{replica.root_url}/metrics").text)
            assert value(found, "videogen_http_requests_total", method="GET", route="/healthz", status="200") == sent
            assert ("videogen_jobs", frozenset({("model", "hunyuanvideo-tiny"), ("status", "queued")})) in found
    finally:
        replica.stop_api_only()


# --- the workers --------------------------------------------------------------------------------


def worker_samples(port: str) -> Samples:
    return samples(httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text)


def test_webhook_worker_counts_deliveries_by_outcome_and_times_them(
    production_stack: ServiceStack, receiver: WebhookReceiver
) -> None:
    """One video's event to three endpoints: delivered at once, delivered on its second attempt
    (after a 503), refused for good (a 400 is not retried)."""
    port = production_stack.env["VIDEOGEN_WEBHOOK_METRICS_PORT"]
    key = production_stack.create_key("metrics-webhooks")
    with httpx.Client(base_url=production_stack.base_url, headers={"Authorization": f"Bearer {key}"}) as http:
        urls = [receiver.url(), receiver.url(Script(fail_first=1)), receiver.url(Script(status=400))]
        for url in urls:
            http.post("/webhook_endpoints", json={"url": url, "event_types": ["video.completed"]}).raise_for_status()
        before = worker_samples(port)
        video = http.post("/videos", json={**QUICK, "size": "128x128"}).json()
        assert wait_for(http, video["id"], finished)["status"] == "completed"
    for url, count in zip(urls, (1, 2, 1), strict=True):
        receiver.wait_for(url, count)

    def moved(found: Samples, name: str, **labels: str) -> float:
        return value(found, name, **labels) - value(before, name, **labels)

    def counted() -> Samples | None:
        found = worker_samples(port)
        attempts = "videogen_webhook_worker_attempts_total"
        done = moved(found, attempts, outcome="delivered") >= 2 and moved(found, attempts, outcome="gave_up") >= 1
        return found if done else None

    after = wait_until(counted, 60, message="the webhook worker's counters")
    assert moved(after, "videogen_webhook_worker_attempts_total", outcome="retrying") >= 1
    assert moved(after, "videogen_webhook_worker_attempt_seconds_count") >= 4
    assert moved(after, "videogen_webhook_worker_attempt_seconds_sum") > 0
    assert moved(after, "videogen_webhook_worker_delivery_seconds_count") >= 2
    # From the event to its delivery: the retried one waited out at least one retry (0.5 s +-10%).
    assert moved(after, "videogen_webhook_worker_delivery_seconds_sum") >= 0.45


def test_gpu_worker_reports_readiness_per_served_model(production_stack: ServiceStack) -> None:
    found = worker_samples(production_stack.env["VIDEOGEN_WORKER_METRICS_PORT"])
    assert value(found, "videogen_worker_ready") == 1
    served = json.loads(production_stack.env["VIDEOGEN_MODELS"])
    ready = {model: found.get(("videogen_worker_model_ready", frozenset({("model", model)}))) for model in served}
    assert all(state in (0, 1) for state in ready.values()), ready  # a series for each, loaded or not
    assert ready[BROKEN_MODEL] == 0  # its weights never load
    loaded = [model for model, state in ready.items() if state == 1]
    assert loaded and len(loaded) <= int(production_stack.env["VIDEOGEN_WORKER_LOADED_MODELS"]), ready


# --- deployment and documentation ---------------------------------------------------------------


def test_every_long_running_compose_service_has_a_health_check() -> None:
    services = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]
    one_shot = {
        name
        for service in services.values()
        for name, dependency in (service.get("depends_on") or {}).items()
        if dependency.get("condition") == "service_completed_successfully"
    }
    assert one_shot == {"migrate", "minio-init"}
    for name, service in services.items():
        if name not in one_shot:
            assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"
    worker = services["worker"]
    assert f":{worker['environment']['VIDEOGEN_WORKER_METRICS_PORT']}/metrics" in " ".join(
        worker["healthcheck"]["test"]
    )
    assert worker["healthcheck"]["start_period"]  # loading the model takes minutes
    assert services["webhooks"]["environment"]["VIDEOGEN_WEBHOOK_METRICS_PORT"]


def test_readme_documents_every_metric(client: TestClient) -> None:
    import worker.metrics  # noqa: F401 - the GPU worker's and the webhook worker's metrics, in this registry too
    import worker.webhook_metrics  # noqa: F401

    names = {family.name for family in text_string_to_metric_families(client.get("/metrics").text)}
    # (The parser reads a counter's or histogram's ``_created`` timestamps as a family of their own.)
    exported = {name for name in names if name.startswith("videogen_") and not name.endswith("_created")}
    assert {"videogen_http_requests", "videogen_worker_model_ready", "videogen_webhook_worker_attempts"} <= exported
    readme = (REPO / "README.md").read_text()
    documented = set(re.findall(r"`(videogen_[a-z_]+)", readme))
    missing = {name for name in exported if name not in documented and f"{name}_total" not in documented}
    assert not missing, f"README.md does not document {sorted(missing)}"
