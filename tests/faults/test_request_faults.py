"""Hostile and heavy traffic: huge chunked bodies are refused with 413 before they are read (the API's
memory stays flat), malformed JSON is a 400, a tenant flooding webhook tests at a slow receiver
cannot stall another tenant, and 128 requests at once on PostgreSQL all get their answer."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.faults.helpers import (
    Answer,
    assert_answered,
    assert_error_format,
    concurrently,
    rss_kib,
    stream_chunked_body,
    timed,
)
from tests.faults.services import FaultStack
from tests.helpers import ADMIN_TOKEN, QUICK
from tests.stack import wait_until
from tests.webhook_receiver import Script, WebhookReceiver

GIB = 1 << 30
MIB = 1 << 20
# What may be in flight (socket buffers on both sides) when the server answers: far below the body.
SENT_BEFORE_ANSWER_LIMIT = 32 * MIB
# How much the API process may grow while refusing a body; past ABORT_GROWTH the test stops
# sending (the API is buffering the body) rather than push a gibibyte into it.
RSS_GROWTH_LIMIT = 64 * MIB
ABORT_GROWTH = 256 * MIB
# Another tenant's read while one floods: answered within this (as fast as liveness; it takes
# milliseconds unloaded, and a flood that holds the API's threads for the receiver's timeout stalls it
# by seconds).
READ_BOUND = 1.0
# 128 requests at once all answered within this (the API's own queue timeout is 30 s).
CROWD_BOUND = 20.0

# Route, who calls it, and the start of a JSON body whose one string value then never ends.
HUGE_BODY_ROUTES = [
    pytest.param(
        "/v1/access_requests",
        None,
        b'{"company": "acme", "contact_email": "ops@example.com", "use_case": "',
        id="access_requests-unauthenticated",
    ),
    pytest.param("/v1/videos", "tenant", b'{"prompt": "', id="videos"),
    pytest.param("/v1/webhook_endpoints", "tenant", b'{"url": "https://example.com/', id="webhook_endpoints"),
    pytest.param("/v1/admin/organizations", "admin", b'{"tier": "enterprise", "name": "', id="admin"),
]


def bearer(who: str | None, tenant: httpx.Client) -> dict[str, str]:
    if who == "tenant":
        return {"Authorization": tenant.headers["Authorization"]}
    if who == "admin":
        return {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    return {}


@pytest.mark.parametrize(("path", "who", "prefix"), HUGE_BODY_ROUTES)
def test_a_gibibyte_chunked_body_is_refused_with_413_before_it_is_read(
    fault: FaultStack, tenant: httpx.Client, path: str, who: str | None, prefix: bytes
) -> None:
    assert fault.app.api is not None
    pid = fault.app.api.pid
    before = rss_kib(pid) * 1024

    def abort(sent: int) -> str | None:
        grown = rss_kib(pid) * 1024 - before
        return f"the API grew by {grown // MIB} MiB after {sent // MIB} MiB sent" if grown > ABORT_GROWTH else None

    streamed = stream_chunked_body(
        f"{fault.root_url}{path}",
        {"Content-Type": "application/json", **bearer(who, tenant)},
        prefix,
        total_bytes=GIB,
        abort=abort,
    )
    grown = rss_kib(pid) * 1024 - before
    assert streamed.status == 413, (
        f"{streamed.status} after {streamed.sent_bytes // MIB} MiB in {streamed.seconds:.1f}s "
        f"({streamed.stopped_because}): {streamed.body[:300]!r}"
    )
    assert streamed.sent_bytes <= SENT_BEFORE_ANSWER_LIMIT, f"answered only after {streamed.sent_bytes // MIB} MiB"
    error = streamed.json()["error"]
    assert set(streamed.json()) == {"error"} and set(error) == {"message", "type", "param", "code", "request_id"}
    assert grown <= RSS_GROWTH_LIMIT, f"the API process grew by {grown // MIB} MiB refusing the body"
    assert fault.app.api.poll() is None
    assert httpx.get(f"{fault.root_url}/healthz", timeout=5).status_code == 200


MALFORMED_BODIES = [
    pytest.param(b'{"prompt": "cut short', id="truncated"),
    pytest.param(b"\xff\xfe\x00{not json}", id="binary"),
    pytest.param(b"[" * 30_000 + b"]" * 30_000, id="nested-30000-deep"),
    pytest.param(b'{"prompt": "a", "prompt": ', id="truncated-after-key"),
    pytest.param(b"[]", id="array"),
    pytest.param(b"null", id="null"),
]


@pytest.mark.parametrize("body", MALFORMED_BODIES)
def test_malformed_json_is_a_400_on_every_route(fault: FaultStack, tenant: httpx.Client, body: bytes) -> None:
    routes = [("/v1/access_requests", None), ("/v1/videos", "tenant"), ("/v1/webhook_endpoints", "tenant")]
    for path, who in routes:
        response = httpx.post(
            f"{fault.root_url}{path}",
            content=body,
            headers={"Content-Type": "application/json", **bearer(who, tenant)},
            timeout=30,
        )
        assert response.status_code == 400, f"{path}: {response.status_code} {response.text[:300]}"
        assert_error_format(response)
        assert response.json()["error"]["type"] == "invalid_request_error"


def test_a_tenant_flooding_webhook_tests_at_a_slow_receiver_cannot_stall_another_tenant(
    fault: FaultStack, tenant: httpx.Client, receiver: WebhookReceiver
) -> None:
    slow = receiver.url(Script(fail_first=10**9, hang=True, hang_seconds=10))
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    flood_answers: list[Answer] = []
    stop = threading.Event()
    headers = {"Authorization": f"Bearer {fault.new_key('flooder')}"}
    with httpx.Client(base_url=fault.base_url, headers=headers, timeout=60, limits=limits) as flooder:
        endpoint = flooder.post("/webhook_endpoints", json={"url": slow, "event_types": ["video.completed"]})
        assert endpoint.status_code == 200, endpoint.text
        test_url = f"/webhook_endpoints/{endpoint.json()['id']}/test"

        def flood() -> None:
            while not stop.is_set():
                answer = timed(flooder, "POST", test_url, json={"event_type": "video.completed"})
                flood_answers.append(answer)
                if answer.status != 200:
                    stop.wait(0.25)  # refused: a client paces itself (and the test keeps a core for the API)

        with ThreadPoolExecutor(max_workers=40) as pool:
            for _ in range(40):
                pool.submit(flood)
            try:
                wait_until(lambda: len(flood_answers) >= 40, 60, message="the flood to be in full swing")
                reads = [timed(tenant, "GET", "/videos", params={"limit": 1}) for _ in range(10)]
            finally:
                stop.set()
    assert_answered(reads, READ_BOUND, statuses={200})
    assert_answered(flood_answers, 30, statuses={200, 429, 503})
    fault.assert_processes_alive()


def test_128_concurrent_requests_on_postgresql_all_answer(fault: FaultStack, tenant: httpx.Client) -> None:
    limits = httpx.Limits(max_connections=128, max_keepalive_connections=128)
    log_before = len(fault.log("api"))
    with httpx.Client(base_url=fault.base_url, headers=dict(tenant.headers), timeout=90, limits=limits) as crowd:

        def call(i: int) -> Answer:
            if i % 4 == 0:
                return timed(crowd, "POST", "/videos", json={**QUICK, "prompt": f"crowd {i}"})
            return timed(crowd, "GET", "/videos", params={"limit": 10})

        began = time.monotonic()
        answers = concurrently([lambda i=i: call(i) for i in range(128)])  # type: ignore[misc]
        took = time.monotonic() - began
    created: list[Any] = [a.response.json()["id"] for a in answers if a.what.startswith("POST") and a.status == 200]
    for video_id in created:  # spare the worker 32 renders
        tenant.delete(f"/videos/{video_id}")
    assert_answered(answers, CROWD_BOUND, statuses={200, 201})
    assert took <= CROWD_BOUND
    assert "QueuePool limit" not in fault.log("api")[log_before:]
    fault.assert_processes_alive()
