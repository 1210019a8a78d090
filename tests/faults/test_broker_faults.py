"""Redis down, hung and emptied: the database decides, so the API keeps taking jobs and the jobs run
once the broker is back, within seconds (far sooner than VIDEOGEN_REDISPATCH_AFTER_SECONDS, which
the fault stack sets to 600: recovery must come from noticing the broker's loss)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.faults.helpers import (
    DEGRADED_BOUND,
    RECOVERY_DEADLINE,
    LivenessWatch,
    assert_answered,
    assert_ran_once,
    completed,
    started,
    timed,
    wait_rows,
)
from tests.faults.services import FaultStack
from tests.helpers import LONG_JOB, QUICK
from tests.stack import wait_until

# A read that needs only the database answers within this while the broker hangs.
READ_BOUND = 5.0


def test_with_redis_stopped_videos_are_created_and_run_once_it_is_back(fault: FaultStack, tenant: httpx.Client) -> None:
    with LivenessWatch(fault.root_url) as live:
        fault.redis.stop()
        creates = [timed(tenant, "POST", "/videos", json={**QUICK, "prompt": f"no broker {i}"}) for i in range(3)]
        assert_answered(creates, DEGRADED_BOUND, statuses={200, 201})
        ids = [a.response.json()["id"] for a in creates if a.response is not None]
        reads = [timed(tenant, "GET", f"/videos/{video_id}") for video_id in ids]
        reads.append(timed(tenant, "GET", "/videos"))
        assert_answered(reads, DEGRADED_BOUND, statuses={200})
        assert {r.status for r in fault.rows(ids).values()} == {"queued"}  # the row is the job
        live.wait_samples(4)

        fault.redis.start()
        rows = wait_rows(fault, ids, completed, RECOVERY_DEADLINE, "the jobs created while Redis was down to complete")
    live.assert_alive()
    assert_ran_once(rows)
    fault.assert_processes_alive()


@pytest.mark.timeout(600)  # the waits below have deadlines of their own; this bounds them all
def test_with_redis_hung_45_creates_do_not_exhaust_the_api(fault: FaultStack, tenant: httpx.Client) -> None:
    existing = tenant.post("/videos", json={**QUICK, "prompt": "before the hang"}).json()["id"]
    wait_rows(fault, [existing], completed, RECOVERY_DEADLINE, "the job before the hang to complete")
    headers = dict(tenant.headers)
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    with (
        LivenessWatch(fault.root_url) as live,
        httpx.Client(base_url=fault.base_url, headers=headers, timeout=60, limits=limits) as flood,
        ThreadPoolExecutor(max_workers=45) as pool,
    ):
        fault.redis.pause()
        pending = [
            pool.submit(timed, flood, "POST", "/videos", json={**QUICK, "prompt": f"hung broker {i}"})
            for i in range(45)
        ]
        live.wait_samples(8)  # the creates have been at a hung broker for about two seconds
        reads = [
            timed(tenant, "GET", f"/videos/{existing}"),
            timed(tenant, "GET", "/videos", params={"limit": 5}),
            timed(tenant, "GET", f"/videos/{existing}/content", params={"variant": "thumbnail"}),
        ]
        assert_answered(reads, READ_BOUND)
        fault.redis.resume()
        creates = [f.result() for f in pending]
    live.assert_alive()
    # Each create answered (bounded even while the broker hung), created or refused with a 503.
    assert_answered(creates, DEGRADED_BOUND + 20, statuses={200, 201, 503})
    ids = [a.response.json()["id"] for a in creates if a.response is not None and a.status in (200, 201)]
    listed = tenant.get("/videos", params={"limit": 100}).json()["data"]
    assert {v["id"] for v in listed} == {existing, *ids}, "a create answered 503 made a job anyway, or one is missing"

    # Nothing lost: a nudge waits in the broker for every queued job (a nudge runs the most urgent
    # job of its model, so counts are what matter). Five jobs are run to the end; the rest are
    # cancelled, to spare the suite 40 renders that prove nothing more.
    # A nudge lost in the hang is re-sent once the model's queue is empty while jobs wait
    # (videogen.videos.dispatch), so first the worker runs a job for each nudge that did arrive:
    # on a loaded machine that alone can take RECOVERY_DEADLINE, hence the wait's three of them.
    wait_until(
        lambda: fault.queued_count() <= fault.redis.queue_length(),
        3 * RECOVERY_DEADLINE,
        message="a nudge in Redis for every job still queued",
    )
    for video_id in ids[5:]:
        assert tenant.delete(f"/videos/{video_id}").status_code == 200
    rows = wait_rows(fault, ids[:5], completed, RECOVERY_DEADLINE, "jobs created while Redis hung to complete")
    assert_ran_once(rows)
    fault.assert_processes_alive()


def test_jobs_queued_when_redis_is_flushed_still_start(fault: FaultStack, tenant: httpx.Client) -> None:
    busy = tenant.post("/videos", json={**LONG_JOB, "prompt": "keeps the worker busy"}).json()["id"]
    wait_rows(fault, [busy], started, RECOVERY_DEADLINE, "the long job to start")
    ids = [tenant.post("/videos", json={**QUICK, "prompt": f"flushed {i}"}).json()["id"] for i in range(3)]
    wait_until(lambda: fault.redis.queue_length() >= 3, 30, message="the three nudges in Redis")
    with LivenessWatch(fault.root_url) as live:
        fault.redis.flush()  # every message (and kombu's bindings) gone, the broker itself still up
        flushed_at = time.monotonic()
        assert tenant.delete(f"/videos/{busy}").status_code == 200  # the worker is free for the queued jobs
        wait_rows(fault, ids, started, RECOVERY_DEADLINE, "the queued jobs to start after FLUSHALL")
        started_after = time.monotonic() - flushed_at
        rows = wait_rows(fault, ids, completed, RECOVERY_DEADLINE, "the queued jobs to complete after FLUSHALL")
    live.assert_alive()
    assert_ran_once(rows)
    assert started_after < RECOVERY_DEADLINE
    fault.assert_processes_alive()
