"""PostgreSQL stopped mid-load: the API answers 503 with Retry-After (never a 500) and stays live;
the worker keeps the messages of the jobs it could not look up; once the database is back every
job completes, none twice."""

from __future__ import annotations

import time

import httpx

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
from tests.faults.services import STALE_AFTER_SECONDS, FaultStack
from tests.helpers import QUICK
from tests.stack import wait_until

# A render of a second or two: it finishes while the database is down.
SHORT = {**QUICK, "num_inference_steps": 8}
# The outage lasts until the worker has taken every queued message (or this long): shorter than
# STALE_AFTER_SECONDS, so a job whose worker keeps trying is never mistaken for a lost one.
OUTAGE_SECONDS = STALE_AFTER_SECONDS - 4


def test_with_postgres_stopped_mid_load_the_api_answers_503_and_no_job_is_lost(
    fault: FaultStack, tenant: httpx.Client
) -> None:
    running = tenant.post("/videos", json={**SHORT, "prompt": "rendering when the database goes"}).json()["id"]
    queued = [tenant.post("/videos", json={**QUICK, "prompt": f"queued {i}"}).json()["id"] for i in range(4)]
    wait_rows(fault, [running], started, RECOVERY_DEADLINE, "the first job to start")
    with LivenessWatch(fault.root_url) as live:
        fault.postgres.stop()
        outage_began = time.monotonic()
        answers = [
            timed(tenant, "GET", "/videos"),
            timed(tenant, "GET", f"/videos/{running}"),
            timed(tenant, "POST", "/videos", json={**QUICK, "prompt": "during the outage"}),
            timed(tenant, "GET", f"/videos/{queued[0]}/content"),
            timed(tenant, "GET", f"{fault.root_url}/readyz", what="GET /readyz"),
        ]
        assert_answered(answers, DEGRADED_BOUND, statuses={503})
        # The worker meets the queued jobs' messages with no database to claim them from.
        wait_until(
            lambda: fault.redis.queue_length() == 0 or time.monotonic() - outage_began > OUTAGE_SECONDS,
            OUTAGE_SECONDS + 30,
            message="the worker to take the queued messages",
        )
        fault.postgres.start()
        rows = wait_rows(
            fault, [running, *queued], completed, RECOVERY_DEADLINE, "every job to complete once PostgreSQL is back"
        )
    live.assert_alive()
    assert_ran_once(rows)
    assert tenant.get("/videos").status_code == 200
    fault.assert_processes_alive()
