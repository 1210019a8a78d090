"""Workers SIGKILLed mid-work. A GPU worker's job is requeued once its heartbeat is stale and runs
again; a webhook worker's delivery goes out again as soon as its claim's lease ends. Neither waits
for the periodic re-send of old nudges (600 s in the fault stack). tests/test_job_lifecycle.py and
tests/test_webhooks.py kill workers too, in the main stack, where that re-send comes after 5 s."""

from __future__ import annotations

import signal
import time

import httpx

from tests.faults.helpers import RECOVERY_DEADLINE, LivenessWatch, completed, wait_rows
from tests.faults.services import STALE_AFTER_SECONDS, FaultStack
from tests.helpers import QUICK, WEBHOOK_CONNECT_TIMEOUT_SECONDS, WEBHOOK_TIMEOUT_SECONDS, wait_for
from tests.webhook_receiver import Script, WebhookReceiver
from videogen.settings import Settings
from videogen.webhooks.sender import lease_duration

# After the lease: the reconciler's next round (1 s), the nudge, the new sender's claim and POST.
AFTER_LEASE_SLACK = 10.0


def test_a_delivery_whose_sender_was_killed_is_resent_when_its_lease_ends(
    fault: FaultStack, tenant: httpx.Client, receiver: WebhookReceiver
) -> None:
    url = receiver.url(Script(fail_first=1, hang=True, hang_seconds=120))
    endpoint = tenant.post("/webhook_endpoints", json={"url": url, "event_types": ["video.completed"]})
    assert endpoint.status_code == 200, endpoint.text
    tenant.post("/videos", json={**QUICK, "prompt": "its webhook's sender dies"})
    (first,) = receiver.wait_for(url, 1, timeout=RECOVERY_DEADLINE)  # the first attempt hangs at the receiver
    fault.app.stop_webhook_worker(signal.SIGKILL)
    fault.app.start_webhook_worker()

    lease = lease_duration(
        Settings(
            _env_file=None,
            webhook_connect_timeout_seconds=WEBHOOK_CONNECT_TIMEOUT_SECONDS,
            webhook_timeout_seconds=WEBHOOK_TIMEOUT_SECONDS,
        )
    ).total_seconds()
    _, second = receiver.wait_for(url, 2, timeout=lease + AFTER_LEASE_SLACK + 60)
    assert second.headers["webhook-id"] == first.headers["webhook-id"]
    assert second.at - first.at <= lease + AFTER_LEASE_SLACK, (
        f"re-sent {second.at - first.at:.0f}s after the first attempt; the lease is {lease:.0f}s"
    )
    fault.assert_processes_alive()


def test_a_job_whose_worker_was_killed_is_requeued_and_runs_again(fault: FaultStack, tenant: httpx.Client) -> None:
    # Long enough (a few seconds) that the worker is still rendering when it is killed, however
    # quickly the poll below sees it start.
    dying = {**QUICK, "prompt": "its worker dies", "size": "256x256", "num_inference_steps": 200}
    created = tenant.post("/videos", json=dying)
    video_id = created.json()["id"]
    wait_for(tenant, video_id, lambda v: v["status"] == "in_progress" and v["progress"] > 0, timeout=RECOVERY_DEADLINE)
    with LivenessWatch(fault.root_url) as live:
        fault.app.stop_worker(signal.SIGKILL)
        killed_at = time.monotonic()
        fault.app.start_worker()
        rows = wait_rows(
            fault, [video_id], completed, STALE_AFTER_SECONDS + RECOVERY_DEADLINE, "the requeued job to complete"
        )
        took = time.monotonic() - killed_at
    live.assert_alive()
    assert rows[video_id].attempts == 2  # the killed attempt, and the one that completed
    assert took <= STALE_AFTER_SECONDS + RECOVERY_DEADLINE
    fault.assert_processes_alive()
