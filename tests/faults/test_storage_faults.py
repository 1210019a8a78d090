"""S3 down or hung when a render finishes: the finished render is kept and uploaded once the store is
back, without rendering it again; downloads during the outage answer 503 within a bound."""

from __future__ import annotations

from typing import Any

import httpx

from tests.faults.helpers import (
    DEGRADED_BOUND,
    RECOVERY_DEADLINE,
    LivenessWatch,
    assert_answered,
    completed,
    concurrently,
    timed,
    wait_rows,
)
from tests.faults.services import FaultStack
from tests.helpers import QUICK, finished, wait_for


def rendered(video: dict[str, Any]) -> bool:
    """The frames are done (the worker reports 95% while it encodes and uploads), or it is over."""
    return video["progress"] >= 95 or finished(video)


def assert_mp4(response: httpx.Response) -> None:
    assert response.status_code == 200, response.text[:300]
    assert response.content[4:8] == b"ftyp", response.content[:16]


def test_a_render_finished_while_s3_is_down_is_uploaded_when_it_is_back(
    fault: FaultStack, tenant: httpx.Client
) -> None:
    with LivenessWatch(fault.root_url) as live:
        fault.s3.stop()  # moto keeps everything in memory: it comes back empty, the bucket re-created
        video_id = tenant.post("/videos", json={**QUICK, "prompt": "no storage"}).json()["id"]
        video = wait_for(tenant, video_id, rendered, timeout=RECOVERY_DEADLINE)
        assert not finished(video), f"the job ended while S3 was down instead of waiting for it: {video}"
        before = fault.rows([video_id])[video_id]
        live.wait_samples(8)  # S3 stays down a couple of seconds while the worker holds the render
        fault.s3.start()
        fault.s3.create_bucket()
        rows = wait_rows(fault, [video_id], completed, RECOVERY_DEADLINE, "the render to be uploaded")
    live.assert_alive()
    after = rows[video_id]
    assert (after.attempts, after.started_at) == (1, before.started_at), "the finished render was rendered again"
    assert_mp4(tenant.get(f"/videos/{video_id}/content"))
    fault.assert_processes_alive()


def test_with_s3_hung_downloads_answer_503_in_bounded_time_and_a_finished_render_waits(
    fault: FaultStack, tenant: httpx.Client
) -> None:
    earlier = tenant.post("/videos", json={**QUICK, "prompt": "stored before the hang"}).json()["id"]
    wait_rows(fault, [earlier], completed, RECOVERY_DEADLINE, "the earlier video to complete")
    assert_mp4(tenant.get(f"/videos/{earlier}/content"))
    with LivenessWatch(fault.root_url) as live:
        fault.s3.pause()  # connections are accepted, nothing ever answers
        video_id = tenant.post("/videos", json={**QUICK, "prompt": "hung storage"}).json()["id"]
        video = wait_for(tenant, video_id, rendered, timeout=RECOVERY_DEADLINE)
        assert not finished(video), f"the job ended while S3 hung instead of waiting for it: {video}"
        before = fault.rows([video_id])[video_id]
        downloads = concurrently(
            [
                lambda: timed(tenant, "GET", f"/videos/{earlier}/content"),
                lambda: timed(tenant, "GET", f"/videos/{earlier}/content", params={"variant": "thumbnail"}),
                lambda: timed(tenant, "GET", f"/videos/{earlier}/content", params={"variant": "spritesheet"}),
            ]
        )
        assert_answered(downloads, DEGRADED_BOUND, statuses={503})
        fault.s3.resume()
        rows = wait_rows(fault, [video_id], completed, RECOVERY_DEADLINE, "the render to be uploaded")
    live.assert_alive()
    after = rows[video_id]
    assert (after.attempts, after.started_at) == (1, before.started_at), "the finished render was rendered again"
    assert_mp4(tenant.get(f"/videos/{video_id}/content"))
    assert_mp4(tenant.get(f"/videos/{earlier}/content"))
    fault.assert_processes_alive()
