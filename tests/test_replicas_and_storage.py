"""Two API processes over one database, broker and bucket; downloads as presigned redirects."""

from __future__ import annotations

import httpx
import openai

from tests.stack import ServiceStack


def test_a_video_made_through_one_replica_downloads_from_another_via_presigned_url(
    production_stack: ServiceStack, redirecting_api: ServiceStack
) -> None:
    key = production_stack.create_key("replicated")
    with openai.OpenAI(base_url=production_stack.base_url, api_key=key, max_retries=0) as first:
        video = first.videos.create_and_poll(prompt="a lighthouse in fog", poll_interval_ms=200)
        assert video.status == "completed"
        proxied = first.videos.download_content(video.id).read()

    headers = {"Authorization": f"Bearer {key}"}
    response = httpx.get(f"{redirecting_api.base_url}/videos/{video.id}/content", headers=headers)
    assert response.status_code == 302
    location = response.headers["location"]
    assert "X-Amz-Signature=" in location and "Authorization" not in location
    assert httpx.get(location).content == proxied  # the presigned URL needs no API key

    with openai.OpenAI(base_url=redirecting_api.base_url, api_key=key, max_retries=0) as second:
        assert second.videos.retrieve(video.id).status == "completed"
        assert second.videos.download_content(video.id).read() == proxied  # the SDK follows the redirect


def test_openapi_docs_health_and_metrics(stack: ServiceStack, http: httpx.Client) -> None:
    assert httpx.get(f"{stack.root_url}/docs").status_code == 200
    spec = httpx.get(f"{stack.root_url}/openapi.json").json()
    assert {"/v1/videos", "/v1/videos/{video_id}", "/v1/videos/{video_id}/content"} <= set(spec["paths"])
    create_body = spec["paths"]["/v1/videos"]["post"]["requestBody"]["content"]
    assert {"application/json", "multipart/form-data"} <= set(create_body)
    assert httpx.get(f"{stack.root_url}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{stack.root_url}/readyz").json() == {"status": "ok"}

    http.post("/videos", json={"prompt": "counted", "num_inference_steps": 1})
    metrics = httpx.get(f"{stack.root_url}/metrics").text
    assert "# TYPE videogen_jobs gauge" in metrics
    assert "# TYPE videogen_oldest_queued_seconds gauge" in metrics


def test_models_endpoint_lists_what_is_served(client: openai.OpenAI) -> None:
    models = {m.id: m for m in client.models.list()}
    assert "hunyuanvideo-tiny" in models
    assert "hunyuanvideo" not in models  # in the registry, but not served by this deployment
    tiny = models["hunyuanvideo-tiny"].model_extra or {}
    assert "128x128" in tiny["sizes"]
    assert tiny["defaults"]["fps"] == 8


def test_worker_exports_job_metrics(production_stack: ServiceStack) -> None:
    key = production_stack.create_key("metrics-watcher")
    with openai.OpenAI(base_url=production_stack.base_url, api_key=key, max_retries=0) as sdk:
        assert sdk.videos.create_and_poll(prompt="measured", poll_interval_ms=200).status == "completed"
    port = production_stack.env["VIDEOGEN_WORKER_METRICS_PORT"]
    metrics = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    assert 'videogen_worker_jobs_total{model="hunyuanvideo-tiny",status="completed"}' in metrics
    assert "videogen_worker_job_seconds_bucket" in metrics
