"""Webhooks, as a client's receiver experiences them: one signed event per outcome, verified with the
`standardwebhooks` library and the `openai` SDK (never with our own code); retries with one
webhook-id; a receiver that hangs or fails for long; SSRF refused; nothing lost when a worker dies."""

from __future__ import annotations

import json
import secrets
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import openai
import pytest
import redis
import sqlalchemy as sa
from standardwebhooks import Webhook, WebhookVerificationError

from tests.helpers import JOB_DEADLINE, LONG_JOB, WEBHOOK_DISABLE_AFTER_SECONDS, assert_error, finished, wait_for
from tests.stack import ServiceStack, videogen_cli, wait_until
from tests.webhook_receiver import Received, Script, WebhookReceiver

QUICK = {"prompt": "a lighthouse at dusk", "seconds": "1", "size": "128x128", "num_inference_steps": 1}


@dataclass
class Org:
    """A fresh organization with its own key, so its endpoints see only its own videos."""

    stack: ServiceStack
    key: str
    http: httpx.Client
    sdk: openai.OpenAI


@contextmanager
def new_org(stack: ServiceStack) -> Iterator[Org]:
    key = stack.create_key(f"hooks-{secrets.token_hex(4)}")
    headers = {"Authorization": f"Bearer {key}"}
    with (
        httpx.Client(base_url=stack.base_url, headers=headers, timeout=30) as http,
        openai.OpenAI(base_url=stack.base_url, api_key=key, max_retries=0) as sdk,
    ):
        yield Org(stack, key, http, sdk)


@pytest.fixture
def org(stack: ServiceStack) -> Iterator[Org]:
    with new_org(stack) as created:
        yield created


@pytest.fixture
def production_org(production_stack: ServiceStack) -> Iterator[Org]:
    with new_org(production_stack) as created:
        yield created


def verified(request: Received, secret: str) -> dict:  # type: ignore[type-arg]
    """The event, verified as a receiver would: the standardwebhooks library, then the openai SDK."""
    event = Webhook(secret).verify(request.body, request.headers)
    with openai.OpenAI(api_key="unused", base_url="http://127.0.0.1:9/v1") as sdk:
        sdk.webhooks.verify_signature(request.body, request.headers, secret=secret)
        unwrapped = sdk.webhooks.unwrap(request.body, request.headers, secret=secret)
    assert unwrapped.type == event["type"]
    assert unwrapped.data.id == event["data"]["id"]  # type: ignore[union-attr]
    return event  # type: ignore[no-any-return]


def create_endpoint(org: Org, url: str, event_types: list[str] | None = None) -> tuple[str, str]:
    """Register ``url`` with the openai SDK; returns (endpoint id, signing secret)."""
    endpoint = org.sdk.webhooks.create(
        url=url,
        name="test receiver",
        event_types=event_types or ["video.completed", "video.failed", "video.cancelled"],  # type: ignore[list-item]
    )
    assert endpoint.signing_secret.startswith("whsec_")
    return endpoint.id, endpoint.signing_secret


def deliveries_of(org: Org, video_id: str) -> list[dict]:  # type: ignore[type-arg]
    return org.http.get(f"/videos/{video_id}/webhook_deliveries").json()["data"]  # type: ignore[no-any-return]


def settled(org: Org, video_id: str, count: int = 1) -> list[dict]:  # type: ignore[type-arg]
    """The video's deliveries once ``count`` of them are no longer pending."""

    def done() -> list[dict] | None:  # type: ignore[type-arg]
        found = [d for d in deliveries_of(org, video_id) if d["status"] != "pending"]
        return found if len(found) >= count else None

    return wait_until(done, JOB_DEADLINE, message=f"deliveries of {video_id}")  # type: ignore[no-any-return]


# --- what a receiver gets ----------------------------------------------------------------------


def test_completed_failed_and_cancelled_jobs_each_deliver_one_signed_event(org: Org, receiver: WebhookReceiver) -> None:
    url = receiver.url()
    _, secret = create_endpoint(org, url)

    completed = org.http.post("/videos", json=QUICK).json()
    failed = org.http.post("/videos", json={**QUICK, "model": "tiny-misfit", "size": "136x136"}).json()
    long_job = org.http.post("/videos", json={**LONG_JOB, "prompt": "never finished"}).json()
    wait_for(org.http, completed["id"], finished)
    wait_for(org.http, failed["id"], finished)
    org.http.post(f"/videos/{long_job['id']}/cancel").raise_for_status()

    events = {event["data"]["id"]: event for event in (verified(r, secret) for r in receiver.wait_for(url, 3))}
    time.sleep(1)  # nothing more arrives: one event per outcome
    assert len(receiver.requests(url)) == 3

    assert events[completed["id"]]["type"] == "video.completed"
    assert events[failed["id"]]["type"] == "video.failed"
    assert events[long_job["id"]]["type"] == "video.cancelled"
    done = events[completed["id"]]
    assert done["object"] == "event" and done["id"].startswith("evt_") and isinstance(done["created_at"], int)
    assert done["data"] == org.http.get(f"/videos/{completed['id']}").json()  # the video object, as of then
    assert events[failed["id"]]["data"]["error"]["code"] == "generation_failed"
    assert events[long_job["id"]]["data"]["status"] == "cancelled"

    request = receiver.requests(url)[0]
    assert request.headers["webhook-id"].startswith("msg_")
    assert request.headers["Content-Type"] == "application/json"
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 43 + "=").verify(request.body, request.headers)  # another secret fails


def test_a_videos_own_webhook_url_is_signed_with_the_organizations_secret(org: Org, receiver: WebhookReceiver) -> None:
    url = receiver.url()
    refused = org.http.post("/videos", json={**QUICK, "webhook_url": url})
    assert_error(refused, 400, "invalid_request_error", "webhook_secret_missing")
    assert refused.json()["error"]["param"] == "webhook_url"

    created = org.http.post("/webhook_secret").json()
    assert created["signing_secret"].startswith("whsec_")
    shown_again = org.http.get("/webhook_secret").json()
    assert (
        shown_again["signing_secret"] is None and shown_again["signing_secret_hint"] == created["signing_secret_hint"]
    )

    video = org.http.post("/videos", json={**QUICK, "webhook_url": url}).json()
    assert video["webhook_url"] == url
    (request,) = receiver.wait_for(url, 1)
    event = verified(request, created["signing_secret"])
    assert (event["type"], event["data"]["id"]) == ("video.completed", video["id"])
    (delivery,) = settled(org, video["id"])
    assert delivery["webhook_endpoint_id"] is None and delivery["status"] == "succeeded"


def test_in_progress_events_go_only_to_endpoints_that_ask_for_them(org: Org, receiver: WebhookReceiver) -> None:
    everything, terminal_only = receiver.url(), receiver.url()
    _, secret = create_endpoint(org, everything, ["video.in_progress", "video.completed"])
    create_endpoint(org, terminal_only)

    video = org.http.post("/videos", json=QUICK).json()
    # Deliveries are sent concurrently and may arrive in either order (as with OpenAI's webhooks);
    # each event carries the video as it was at that moment.
    events = [verified(r, secret) for r in receiver.wait_for(everything, 2)]
    assert sorted((e["type"], e["data"]["status"]) for e in events) == [
        ("video.completed", "completed"),
        ("video.in_progress", "in_progress"),
    ]
    assert [json.loads(r.body)["type"] for r in receiver.wait_for(terminal_only, 1)] == ["video.completed"]
    assert wait_for(org.http, video["id"], finished)["status"] == "completed"


# --- retries, slow and failing receivers -------------------------------------------------------


def test_a_receiver_that_fails_twice_gets_the_same_webhook_id_three_times(org: Org, receiver: WebhookReceiver) -> None:
    url = receiver.url(Script(fail_first=2, fail_status=503))
    endpoint_id, secret = create_endpoint(org, url)
    video = org.http.post("/videos", json=QUICK).json()

    requests = receiver.wait_for(url, 3)
    assert len({r.headers["webhook-id"] for r in requests}) == 1
    assert all(verified(r, secret)["data"]["id"] == video["id"] for r in requests)

    (delivery,) = settled(org, video["id"])
    assert delivery["id"] == requests[0].headers["webhook-id"]
    assert delivery["status"] == "succeeded" and delivery["attempts"] == 3
    assert [a["status_code"] for a in delivery["attempt_log"]] == [503, 503, 200]
    assert all(a["next_attempt_at"] for a in delivery["attempt_log"][:2])
    by_endpoint = org.http.get(f"/webhook_endpoints/{endpoint_id}/deliveries").json()["data"]
    assert [d["id"] for d in by_endpoint] == [delivery["id"]]


def test_client_errors_are_not_retried_and_retry_after_is_honoured(org: Org, receiver: WebhookReceiver) -> None:
    rejecting = receiver.url(Script(status=400))
    throttling = receiver.url(Script(fail_first=1, fail_status=429, headers={"Retry-After": "3"}))
    create_endpoint(org, rejecting)
    create_endpoint(org, throttling)
    video = org.http.post("/videos", json=QUICK).json()

    first, second = receiver.wait_for(throttling, 2)
    assert second.at - first.at >= 2.9  # the schedule says 0.5 s; the receiver asked for 3
    deliveries = {d["url"]: d for d in settled(org, video["id"], 2)}
    assert deliveries[rejecting]["status"] == "failed" and deliveries[rejecting]["attempts"] == 1
    assert deliveries[rejecting]["last_error"] == "receiver answered HTTP 400"
    assert deliveries[throttling]["status"] == "succeeded"
    assert len(receiver.requests(rejecting)) == 1


def test_a_receiver_that_never_answers_does_not_hold_up_the_next_job(org: Org, receiver: WebhookReceiver) -> None:
    # It hangs far longer than the next job may take, so a job held up by it could not pass.
    hanging = receiver.url(Script(fail_first=1000, hang=True, hang_seconds=600))
    create_endpoint(org, hanging)
    first = org.http.post("/videos", json=QUICK).json()
    wait_for(org.http, first["id"], finished)
    receiver.wait_for(hanging, 1)  # its delivery is now stuck waiting on the receiver

    started = time.monotonic()
    second = org.http.post("/videos", json=QUICK).json()
    assert wait_for(org.http, second["id"], finished)["status"] == "completed"
    assert time.monotonic() - started < 120

    def timed_out() -> dict | None:  # type: ignore[type-arg]
        log = [d for d in deliveries_of(org, first["id"]) if d["attempt_log"]]
        return log[0] if log else None

    attempt = wait_until(timed_out, 120, message="the first attempt to time out")["attempt_log"][0]
    assert attempt["status_code"] is None and attempt["error"] == "timed out (total timeout of 2 s)"
    assert 1900 <= attempt["latency_ms"] < 6000


def test_an_endpoint_failing_for_too_long_is_disabled_then_reenabled_and_redelivered(
    production_org: Org, receiver: WebhookReceiver
) -> None:
    org = production_org
    script = Script(status=500)
    url = receiver.url(script)
    endpoint_id, secret = create_endpoint(org, url)
    video = org.http.post("/videos", json=QUICK).json()

    endpoint = wait_until(
        lambda: (e := org.http.get(f"/webhook_endpoints/{endpoint_id}").json())["status"] == "disabled" and e,
        WEBHOOK_DISABLE_AFTER_SECONDS + JOB_DEADLINE,
        message="the endpoint to be disabled",
    )
    assert "failed" in endpoint["disabled_reason"] and "HTTP 500" in endpoint["disabled_reason"]
    (delivery,) = settled(org, video["id"])
    assert delivery["status"] == "failed" and delivery["attempts"] >= 3
    metrics = httpx.get(f"{org.stack.root_url}/metrics").text
    disabled = next(line for line in metrics.splitlines() if line.startswith("videogen_webhook_endpoints_disabled "))
    assert float(disabled.split()[1]) >= 1
    assert_error(
        org.http.post(f"/webhook_deliveries/{delivery['id']}/redeliver"),
        400,
        "invalid_request_error",
        "webhook_endpoint_disabled",
    )

    script.status = 200  # the owner fixes the receiver, re-enables the endpoint and asks for the event again
    assert org.sdk.webhooks.update(endpoint_id, extra_body={"enabled": True}).model_extra["status"] == "enabled"
    assert org.http.post(f"/webhook_deliveries/{delivery['id']}/redeliver").json()["status"] == "pending"
    redelivered = wait_until(
        lambda: (d := org.http.get(f"/webhook_deliveries/{delivery['id']}").json())["status"] == "succeeded" and d,
        120,
        message="the redelivery",
    )
    last = receiver.requests(url)[-1]
    assert last.headers["webhook-id"] == delivery["id"]
    assert verified(last, secret)["data"]["id"] == video["id"]
    assert redelivered["attempt_log"][-1]["status_code"] == 200


# --- nothing is lost --------------------------------------------------------------------------


@pytest.mark.timeout(600)  # restarts the webhook worker: each wait has its own deadline, this bounds them all
def test_a_delivery_whose_message_was_lost_is_still_sent(
    production_org: Org, receiver: WebhookReceiver, redis_url: str
) -> None:
    """The process that ends a job can die right after its commit, before telling the broker. The
    delivery is already in the database (the outbox), so the sweep sends it anyway."""
    org, stack = production_org, production_org.stack
    url = receiver.url()
    _, secret = create_endpoint(org, url)
    broker = redis.Redis.from_url(redis_url)
    stack.stop_webhook_worker(signal.SIGKILL)
    try:
        video = org.http.post("/videos", json=QUICK).json()
        wait_for(org.http, video["id"], finished)
        wait_until(lambda: broker.llen("videogen.webhooks") > 0, 60, message="the nudge in Redis")
        broker.delete("videogen.webhooks")  # lost, as if the worker had died before sending it
        (pending,) = deliveries_of(org, video["id"])
        assert pending["status"] == "pending" and pending["attempts"] == 0
    finally:
        broker.close()
        stack.start_webhook_worker()

    (request,) = receiver.wait_for(url, 1, timeout=JOB_DEADLINE)
    assert verified(request, secret)["data"]["id"] == video["id"]
    (delivery,) = settled(org, video["id"])
    assert delivery["status"] == "succeeded" and delivery["attempts"] == 1


@pytest.mark.timeout(600)  # restarts the webhook worker: each wait has its own deadline, this bounds them all
def test_a_delivery_whose_sender_died_mid_request_is_sent_again(production_org: Org, receiver: WebhookReceiver) -> None:
    """SIGKILL while a receiver is still answering: the claim's lease runs out and the delivery,
    same webhook-id, goes out again from a new worker."""
    org, stack = production_org, production_org.stack
    url = receiver.url(Script(fail_first=1, hang=True))
    _, secret = create_endpoint(org, url)
    video = org.http.post("/videos", json=QUICK).json()
    receiver.wait_for(url, 1)  # the first attempt is in flight
    stack.stop_webhook_worker(signal.SIGKILL)
    stack.start_webhook_worker()

    first, second = receiver.wait_for(url, 2, timeout=JOB_DEADLINE)
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert verified(second, secret)["data"]["id"] == video["id"]
    (delivery,) = settled(org, video["id"])
    assert delivery["status"] == "succeeded" and delivery["attempts"] == 2
    assert delivery["attempt_log"][-1]["status_code"] == 200


# --- endpoints through the openai SDK ----------------------------------------------------------


def test_endpoints_are_managed_with_the_openai_sdk(org: Org, receiver: WebhookReceiver) -> None:
    url = receiver.url()
    endpoint_id, secret = create_endpoint(org, url)
    assert [e.id for e in org.sdk.webhooks.list()] == [endpoint_id]
    retrieved = org.sdk.webhooks.retrieve(endpoint_id)
    assert retrieved.url == url and retrieved.signing_secret_hint and secret not in retrieved.model_dump_json()
    assert org.http.get("/webhook_event_types").json()["data"] == [
        "video.completed",
        "video.failed",
        "video.cancelled",
        "video.in_progress",
    ]

    updated = org.sdk.webhooks.update(endpoint_id, name="renamed", event_types=["video.failed"])  # type: ignore[list-item]
    assert (updated.name, updated.event_types) == ("renamed", ["video.failed"])

    test = org.sdk.webhooks.test(endpoint_id, event_type="video.failed")  # type: ignore[arg-type]
    assert (test.status_code, test.event_type) == (200, "video.failed")
    assert verified(receiver.wait_for(url, 1)[0], secret)["type"] == "video.failed"

    other_org = org.stack.create_key(f"hooks-other-{secrets.token_hex(4)}")
    stranger = httpx.get(
        f"{org.stack.base_url}/webhook_endpoints/{endpoint_id}", headers={"Authorization": f"Bearer {other_org}"}
    )
    assert_error(stranger, 404, "invalid_request_error", "not_found")

    assert org.sdk.webhooks.delete(endpoint_id).deleted is True
    assert list(org.sdk.webhooks.list()) == []
    assert_error(org.http.get(f"/webhook_endpoints/{endpoint_id}"), 404, "invalid_request_error", "not_found")


def test_a_rotated_secret_overlaps_with_the_old_one(org: Org, receiver: WebhookReceiver) -> None:
    url = receiver.url()
    endpoint_id, old_secret = create_endpoint(org, url)
    rotated = org.sdk.webhooks.rotate_secret(endpoint_id, keep_old_secret_active_for_24_hours=True)
    assert rotated.signing_secret != old_secret
    assert rotated.model_extra["previous_secret_expires_at"] is not None

    org.http.post("/videos", json=QUICK)
    (request,) = receiver.wait_for(url, 1)
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    assert verified(request, old_secret) == verified(request, rotated.signing_secret)

    org.sdk.webhooks.rotate_secret(endpoint_id)  # no overlap: only the newest secret signs
    org.sdk.webhooks.test(endpoint_id, event_type="video.completed")  # type: ignore[arg-type]
    latest = receiver.wait_for(url, 2)[-1]
    assert len(latest.headers["webhook-signature"].split(" ")) == 1
    with pytest.raises(WebhookVerificationError):
        Webhook(rotated.signing_secret).verify(latest.body, latest.headers)


# --- security --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://10.0.0.1/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://localhost:8080/hook",  # a name that resolves to loopback
        "http://[::1]/hook",
        "ftp://example.com/hook",
        "http://user:pass@127.0.0.2/hook",
        "http://127.0.0.2/hook\u0000",  # an allowed host, but a NUL (refused by PostgreSQL, and no URL has one)
        "http://127.0.0.2/ho\nok",  # a line break: header injection
    ],
)
def test_webhook_urls_that_point_inside_are_refused(org: Org, url: str) -> None:
    endpoint = org.http.post("/webhook_endpoints", json={"url": url})
    assert_error(endpoint, 400, "invalid_request_error", "invalid_webhook_url")
    assert endpoint.json()["error"]["param"] == "url"

    org.http.post("/webhook_secret").raise_for_status()
    video = org.http.post("/videos", json={**QUICK, "webhook_url": url})
    assert_error(video, 400, "invalid_request_error", "invalid_webhook_url")
    assert video.json()["error"]["param"] == "webhook_url"


def test_bad_endpoint_input_gets_a_clear_error(org: Org, receiver: WebhookReceiver) -> None:
    unknown = org.http.post("/webhook_endpoints", json={"url": receiver.url(), "event_types": ["video.exploded"]})
    assert_error(unknown, 400, "invalid_request_error", "invalid_event_type")
    assert unknown.json()["error"]["param"] == "event_types"
    missing = org.http.post("/webhook_endpoints", json={"event_types": ["video.completed"]})
    assert_error(missing, 400, "invalid_request_error", "missing_required_parameter")
    overlap = org.http.post("/webhook_secret", json={"overlap_seconds": 30 * 86400})
    assert_error(overlap, 400, "invalid_request_error", "invalid_value")
    assert_error(org.http.post("/webhook_deliveries/msg_nope/redeliver"), 404, "invalid_request_error", "not_found")


def test_signing_secrets_are_not_in_the_database(production_org: Org, receiver: WebhookReceiver) -> None:
    """A database dump alone cannot sign: secrets are encrypted with a key kept outside it."""
    org = production_org
    _, endpoint_secret = create_endpoint(org, receiver.url())
    org_secret = org.http.post("/webhook_secret").json()["signing_secret"]

    engine = sa.create_engine(org.stack.env["VIDEOGEN_DATABASE_URL"])
    with engine.connect() as conn:
        dump = "\n".join(
            str(row)
            for table in ("webhook_endpoints", "organizations")
            for row in conn.execute(sa.text(f"SELECT * FROM {table}"))  # noqa: S608 - fixed table names
        )
    engine.dispose()
    for secret in (endpoint_secret, org_secret):
        assert secret not in dump and secret.removeprefix("whsec_") not in dump


# --- the operator's CLI ------------------------------------------------------------------------


def test_the_cli_shows_the_delivery_log_and_redelivers(org: Org, receiver: WebhookReceiver) -> None:
    url = receiver.url()
    endpoint_id, _ = create_endpoint(org, url)
    video = org.http.post("/videos", json=QUICK).json()
    (delivery,) = settled(org, video["id"])

    listed = videogen_cli(org.stack.env, "webhooks", "deliveries", "--video", video["id"], "--json").stdout
    (row,) = [json.loads(line) for line in listed.splitlines()]
    assert (row["id"], row["status"], row["event_type"]) == (delivery["id"], "succeeded", "video.completed")
    assert row["attempt_log"][0]["status_code"] == 200

    endpoints = videogen_cli(org.stack.env, "webhooks", "endpoints", "--json").stdout
    assert endpoint_id in [json.loads(line)["id"] for line in endpoints.splitlines()]

    videogen_cli(org.stack.env, "webhooks", "redeliver", delivery["id"])
    second = receiver.wait_for(url, 2)[-1]
    assert second.headers["webhook-id"] == delivery["id"]
    missing = videogen_cli(org.stack.env, "webhooks", "redeliver", "msg_missing", check=False)
    assert missing.returncode == 1 and "No webhook delivery found" in missing.stderr


def test_old_delivery_logs_are_removed_by_housekeeping(production_org: Org, receiver: WebhookReceiver) -> None:
    org = production_org
    create_endpoint(org, receiver.url())
    video = org.http.post("/videos", json=QUICK).json()
    (delivery,) = settled(org, video["id"])

    engine = sa.create_engine(org.stack.env["VIDEOGEN_DATABASE_URL"])
    with engine.begin() as conn:  # 31 days pass
        conn.execute(
            sa.text("UPDATE webhook_events SET created_at = created_at - interval '31 days' WHERE video_id = :v"),
            {"v": video["id"]},
        )
    engine.dispose()
    videogen_cli(org.stack.env, "reconcile")

    assert deliveries_of(org, video["id"]) == []
    assert_error(org.http.get(f"/webhook_deliveries/{delivery['id']}"), 404, "invalid_request_error", "not_found")
