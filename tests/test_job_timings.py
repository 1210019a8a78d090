"""A job says what it is doing and when it should end while it runs, and where its time went once
it has run; its GPU time is what usage reports. Workers are warm before they take a job."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.helpers import finished, keyed_client, wait_for
from tests.stack import ServiceStack

# Phases a worker reports, in the order a run goes through them.
RUN_PHASES = ["loading", "encoding_prompt", "denoising", "decoding", "encoding", "uploading"]
# Long enough to watch the denoising (a few seconds of tiny steps), short enough for the suite.
WATCHED_JOB: dict[str, Any] = {"size": "256x256", "seconds": "2", "fps": 8, "num_inference_steps": 80}


def test_a_completed_video_says_where_its_time_went(http: httpx.Client) -> None:
    created = http.post("/videos", json={"prompt": "timed", "num_inference_steps": 4}).json()
    assert created["phase"] == "queued"
    assert created["timings"] is None

    video = wait_for(http, created["id"], finished)
    assert video["status"] == "completed"
    assert (video["progress"], video["phase"], video["estimated_completion_at"], video["denoising_step"]) == (
        100,
        None,
        None,
        None,
    )
    timings = video["timings"]
    assert timings["loading_seconds"] is None  # the worker loaded its model before it took any job
    for phase in RUN_PHASES[1:]:
        assert timings[f"{phase}_seconds"] > 0, phase
    assert timings["seconds_per_step"] == pytest.approx(timings["denoising_seconds"] / 4, abs=1e-4)  # rounded to 0.1 ms
    model_work = timings["encoding_prompt_seconds"] + timings["denoising_seconds"] + timings["decoding_seconds"]
    assert timings["gpu_seconds"] == pytest.approx(model_work, abs=1e-3)
    assert timings["run_seconds"] >= sum(timings[f"{phase}_seconds"] for phase in RUN_PHASES[1:]) - 1e-3
    assert timings["queue_seconds"] >= 0
    assert timings["run_seconds"] <= video["completed_at"] - video["started_at"] + 1


def test_a_running_video_shows_its_phase_denoising_step_and_estimated_completion(http: httpx.Client) -> None:
    video_id = http.post("/videos", json={"prompt": "watched", **WATCHED_JOB}).json()["id"]
    seen: list[dict[str, Any]] = []

    def denoising_under_way(video: dict[str, Any]) -> bool:
        seen.append(video)
        return finished(video) or (video["phase"] == "denoising" and (video["denoising_step"] or 0) >= 20)

    middle = wait_for(http, video_id, denoising_under_way)
    assert middle["status"] == "in_progress", [(v["phase"], v["denoising_step"], v["progress"]) for v in seen]
    observed_at = time.time()
    assert 20 <= middle["denoising_step"] < 80
    assert 0 < middle["progress"] < 100
    eta = middle["estimated_completion_at"]
    assert eta is not None and eta >= int(observed_at) - 1

    def ended(video: dict[str, Any]) -> bool:
        seen.append(video)
        return finished(video)

    done = wait_for(http, video_id, ended)
    assert done["status"] == "completed"
    # The estimate, made a quarter or more into the denoising from the job's own step rate, is
    # right to within the time that was still left (plus a few seconds of polling and noise).
    left = done["completed_at"] - observed_at
    assert abs(done["completed_at"] - eta) <= max(left, 0) + 5

    running = [v for v in seen if v["status"] == "in_progress"]
    phases = [v["phase"] for v in running]
    assert all(phase in RUN_PHASES for phase in phases)
    assert phases == sorted(phases, key=RUN_PHASES.index), "phases only move forward"
    progress = [v["progress"] for v in seen]
    assert progress == sorted(progress), "progress never goes backwards"


def test_usage_reports_the_gpu_seconds_of_an_organizations_jobs(stack: ServiceStack) -> None:
    with keyed_client(stack, "enterprise") as http:
        ids = [
            http.post("/videos", json={"prompt": f"billed {i}", "num_inference_steps": 2}).json()["id"] for i in (1, 2)
        ]
        videos = [wait_for(http, video_id, finished) for video_id in ids]
        assert [v["status"] for v in videos] == ["completed", "completed"]
        usage = http.get("/usage").json()
    [bucket] = usage["data"]
    assert bucket["jobs"] == 2
    assert bucket["gpu_seconds"] == pytest.approx(sum(v["timings"]["gpu_seconds"] for v in videos), abs=1e-3)
    assert bucket["gpu_seconds"] > 0


def test_a_worker_is_warm_and_says_so_before_it_takes_a_job(production_stack: ServiceStack) -> None:
    log = (production_stack.log_dir / f"{production_stack.name}-worker.log").read_text()
    warmed = log.index("warmed up hunyuanvideo-tiny")
    assert log.index("loaded model hunyuanvideo-tiny in") < warmed < log.index("worker ready:") < log.index(" ready.")

    port = production_stack.env["VIDEOGEN_WORKER_METRICS_PORT"]
    metrics = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    assert "videogen_worker_ready 1.0" in metrics
    assert 'videogen_worker_model_ready{model="hunyuanvideo-tiny"} 1.0' in metrics
    assert 'videogen_worker_model_load_seconds{model="hunyuanvideo-tiny"}' in metrics


def test_a_workers_phase_and_step_times_are_prometheus_histograms(production_stack: ServiceStack) -> None:
    with keyed_client(production_stack, "enterprise") as http:
        video_id = http.post("/videos", json={"prompt": "histogram", "num_inference_steps": 2}).json()["id"]
        assert wait_for(http, video_id, finished)["status"] == "completed"
    port = production_stack.env["VIDEOGEN_WORKER_METRICS_PORT"]
    metrics = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    for phase in RUN_PHASES[1:]:
        assert f'videogen_worker_phase_seconds_count{{model="hunyuanvideo-tiny",phase="{phase}"}}' in metrics, phase
    assert 'videogen_worker_step_seconds_count{model="hunyuanvideo-tiny"}' in metrics
    assert 'videogen_worker_queue_seconds_count{model="hunyuanvideo-tiny"}' in metrics
    assert 'videogen_worker_gpu_seconds_total{model="hunyuanvideo-tiny"}' in metrics
