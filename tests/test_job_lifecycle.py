"""Jobs end where they should: failures fail, cancels stop the GPU work, and the worker moves on."""

from __future__ import annotations

import httpx
import openai

from tests.helpers import BROKEN_MODEL, LONG_JOB, MISFIT_MODEL, assert_error, finished, status_of, wait_for
from tests.stack import ServiceStack, videogen_cli


def test_a_generation_that_raises_ends_failed_and_the_worker_serves_the_next_job(http: httpx.Client) -> None:
    misfit = http.post("/videos", json={"prompt": "wrong shape", "model": MISFIT_MODEL}).json()
    healthy = http.post("/videos", json={"prompt": "fine", "num_inference_steps": 1}).json()

    failed = wait_for(http, misfit["id"], finished)
    assert failed["status"] == "failed"
    assert failed["error"] == {
        "code": "generation_failed",
        "message": "ValueError: `height` and `width` have to be divisible by 16 but are 136 and 136.",
    }
    assert wait_for(http, healthy["id"], finished)["status"] == "completed"


def test_a_model_that_cannot_load_fails_its_job_and_the_worker_serves_the_next(http: httpx.Client) -> None:
    broken = http.post("/videos", json={"prompt": "doomed", "model": BROKEN_MODEL}).json()
    healthy = http.post("/videos", json={"prompt": "fine", "num_inference_steps": 1}).json()

    failed = wait_for(http, broken["id"], finished)
    assert failed["status"] == "failed"
    assert failed["error"]["code"] == "model_unavailable"
    assert f"'{BROKEN_MODEL}' could not be loaded" in failed["error"]["message"]
    assert "/" not in failed["error"]["message"]  # no server paths leak to clients
    assert failed["completed_at"] is not None
    assert_error(http.get(f"/videos/{broken['id']}/content"), 400, "invalid_request_error", "video_not_ready")

    assert wait_for(http, healthy["id"], finished)["status"] == "completed"


def test_cancel_running_and_queued_jobs(http: httpx.Client) -> None:
    running = http.post("/videos", json={"prompt": "a long take", **LONG_JOB}).json()
    queued = http.post("/videos", json={"prompt": "waits its turn", **LONG_JOB}).json()
    after = http.post("/videos", json={"prompt": "runs after the cancels", "num_inference_steps": 1}).json()

    wait_for(http, running["id"], lambda v: v["status"] == "in_progress" and v["progress"] > 0)
    waiting = status_of(http, queued["id"])
    assert waiting["status"] == "queued"
    assert waiting["queue_position"] >= 1

    cancelled_queued = http.post(f"/videos/{queued['id']}/cancel")
    assert cancelled_queued.status_code == 200, cancelled_queued.text
    assert cancelled_queued.json()["status"] == "cancelled"

    assert http.post(f"/videos/{running['id']}/cancel").json()["status"] == "cancelled"
    # The worker notices at its next step, frees itself, and runs the next job.
    assert wait_for(http, after["id"], finished)["status"] == "completed"
    stopped = status_of(http, running["id"])
    assert stopped["status"] == "cancelled"
    assert stopped["progress"] < 90  # stopped in the denoising loop, not after it
    assert status_of(http, queued["id"])["status"] == "cancelled"
    assert status_of(http, queued["id"])["started_at"] is None  # never ran

    # A finished job cannot be cancelled, and says so.
    assert_error(http.post(f"/videos/{after['id']}/cancel"), 400, "invalid_request_error", "video_not_cancellable")
    assert_error(http.get(f"/videos/{running['id']}/content"), 400, "invalid_request_error", "video_not_ready")


def test_delete_of_a_running_job_stops_it(client: openai.OpenAI, http: httpx.Client) -> None:
    running = http.post("/videos", json={"prompt": "deleted mid-way", **LONG_JOB}).json()
    wait_for(http, running["id"], lambda v: v["status"] == "in_progress" and v["progress"] > 0)
    assert client.videos.delete(running["id"]).deleted is True
    follow_up = client.videos.create(prompt="next in line", extra_body={"num_inference_steps": 1})
    assert client.videos.poll(follow_up.id, poll_interval_ms=200).status == "completed"


def test_expired_videos_lose_their_files_but_keep_their_record(embedded_stack: ServiceStack) -> None:
    """Retention: once `expires_at` passes, housekeeping deletes the files; the record stays."""
    from datetime import UTC, datetime, timedelta

    import sqlalchemy as sa

    from videogen.videos.tables import Video

    stack = embedded_stack
    key = stack.create_key("retention-co")
    with httpx.Client(base_url=stack.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as http:
        video = http.post("/videos", json={"prompt": "here today", "num_inference_steps": 1}).json()
        assert wait_for(http, video["id"], finished)["status"] == "completed"
        files = list((stack.log_dir / "storage").rglob(f"{video['id']}/**/*.mp4"))
        assert len(files) == 1

        # Time passes: move the expiry into the past rather than waiting a day.
        engine = sa.create_engine(f"sqlite:///{stack.log_dir / 'videogen.db'}")
        with engine.begin() as conn:
            past = datetime.now(UTC) - timedelta(minutes=1)
            conn.execute(sa.update(Video).where(Video.id == video["id"]).values(expires_at=past))
        engine.dispose()
        videogen_cli(stack.env, "reconcile")  # the API's own housekeeping may get there first

        assert not files[0].exists()
        assert_error(http.get(f"/videos/{video['id']}/content"), 404, "invalid_request_error", "video_expired")
        assert status_of(http, video["id"])["status"] == "completed"
