"""What one client can make the API take on is bounded: bodies on every route, the unauthenticated
route's per-address limit before any parsing, and webhook test sends per organization, so that no
tenant can stall another. (Dependency outages and saturation are in ``tests/faults``.)"""

from __future__ import annotations

import http.client
import json
import secrets
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.helpers import QUICK, assert_error, cancel_all, keyed_client
from tests.stack import ServiceStack
from tests.webhook_receiver import Script, WebhookReceiver

# The largest body of every route but video creation (the default of VIDEOGEN_API_MAX_BODY_BYTES).
DEFAULT_BODY_LIMIT = 64 * 1024
SAMPLE_EVENT = {"event_type": "video.completed"}


@pytest.fixture(scope="module")
def embedded_key(embedded_stack: ServiceStack) -> str:
    return embedded_stack.create_key(f"bounds-{secrets.token_hex(3)}")


def _chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    """A body sent with chunked transfer encoding: no Content-Length for the server to go by."""
    sent = 0
    while sent < total:
        sent += size
        yield b" " * size


@pytest.mark.parametrize(
    ("method", "path", "needs_key"),
    [
        ("POST", "/access_requests", False),
        ("POST", "/webhook_endpoints", True),
        ("POST", "/videos/video_x/remix", True),
        ("POST", "/webhook_secret", True),
    ],
)
def test_a_body_beyond_its_routes_limit_is_refused_with_413_whether_declared_or_chunked(
    embedded_stack: ServiceStack, embedded_key: str, method: str, path: str, needs_key: bool
) -> None:
    headers = {"Content-Type": "application/json"}
    if needs_key:
        headers["Authorization"] = f"Bearer {embedded_key}"
    # From a loopback address of this test's own: the chunked application counts against its address.
    transport = httpx.HTTPTransport(local_address="127.0.0.9")
    with httpx.Client(base_url=embedded_stack.base_url, headers=headers, timeout=30, transport=transport) as http:
        declared = http.request(method, path, content=b" " * (DEFAULT_BODY_LIMIT + 1))
        assert_error(declared, 413, "invalid_request_error", "request_too_large")
        chunked = http.request(method, path, content=_chunks(4 * 1024 * 1024))
        assert_error(chunked, 413, "invalid_request_error", "request_too_large")


def test_a_create_has_room_for_an_image_beyond_the_default_limit(
    embedded_stack: ServiceStack, embedded_key: str
) -> None:
    headers = {"Authorization": f"Bearer {embedded_key}"}
    with httpx.Client(base_url=embedded_stack.base_url, headers=headers, timeout=30) as http:
        # Over the default limit but within the create's own: read, and refused for what it says.
        long_prompt = http.post("/videos", json={**QUICK, "prompt": "x" * (2 * DEFAULT_BODY_LIMIT)})
        assert assert_error(long_prompt, 400, "invalid_request_error")["param"] == "prompt"


def test_an_address_over_its_access_request_limit_is_refused_before_its_body_is_read(
    embedded_stack: ServiceStack,
) -> None:
    # A loopback address of this test's own, so no other test's applications count against it.
    transport = httpx.HTTPTransport(local_address="127.0.0.7")
    application = {"company": "Flood Inc", "contact_email": "ops@flood.example", "use_case": "many"}
    with httpx.Client(base_url=embedded_stack.base_url, transport=transport, timeout=30) as http:
        statuses = [http.post("/access_requests", json=application).status_code for _ in range(5)]
        assert statuses == [200] * 5
        # Not even parsed: a body that is not JSON at all gets the 429, not a 400.
        refused = http.post("/access_requests", content=b"{not json", headers={"Content-Type": "application/json"})
        assert_error(refused, 429, "rate_limit_error", "rate_limit_exceeded")
        assert int(refused.headers["Retry-After"]) > 0


def test_an_error_answer_keeps_the_connection_open_for_the_next_request(embedded_stack: ServiceStack) -> None:
    # From an address of its own: the malformed application counts against it (see above).
    connection = http.client.HTTPConnection(
        "127.0.0.1", embedded_stack.port, timeout=30, source_address=("127.0.0.8", 0)
    )
    try:
        for method, path, body in [("GET", "/v1/videos", None), ("POST", "/v1/access_requests", b"{")]:
            connection.request(method, path, body=body, headers={"Content-Type": "application/json"})
            answer = connection.getresponse()
            assert answer.status in (400, 401) and json.loads(answer.read())["error"]["message"]
            assert not answer.will_close  # keep-alive: the server did not drop the connection
        connection.request("GET", "/healthz")
        assert connection.getresponse().status == 200
    finally:
        connection.close()


def test_one_organization_sends_one_test_event_at_a_time_and_stalls_nobody(
    embedded_stack: ServiceStack, receiver: WebhookReceiver
) -> None:
    # Never answers: each test event waits out the whole delivery timeout (2 s in the test stack).
    hanging = receiver.url(Script(hang=True, fail_first=1000, hang_seconds=30))
    with keyed_client(embedded_stack, "enterprise") as tenant, keyed_client(embedded_stack, "enterprise") as other:
        endpoint = tenant.post("/webhook_endpoints", json={"url": hanging}).json()["id"]
        start = threading.Barrier(4)
        answers: list[httpx.Response] = []

        def flood() -> None:
            start.wait()
            answers.append(tenant.post(f"/webhook_endpoints/{endpoint}/test", json=SAMPLE_EVENT))

        senders = [threading.Thread(target=flood, daemon=True) for _ in range(3)]
        for sender in senders:
            sender.start()
        start.wait()
        receiver.wait_for(hanging, 1, timeout=60)
        started = time.monotonic()
        assert other.get("/videos").status_code == 200  # another tenant is not held up
        assert time.monotonic() - started < 5
        for sender in senders:
            sender.join(timeout=60)

        refused = [a for a in answers if a.status_code == 429]
        sent = [a.json() for a in answers if a.status_code == 200]
        assert refused and sent and len(refused) + len(sent) == 3
        for answer in refused:
            assert_error(answer, 429, "rate_limit_error", "webhook_test_in_progress")
        assert all(s["status_code"] == 0 and s["error"] for s in sent)  # the receiver never answered
        assert len(receiver.requests(hanging)) == len(sent)


def test_test_events_are_limited_per_organization_per_minute(
    embedded_stack: ServiceStack, receiver: WebhookReceiver
) -> None:
    url = receiver.url()
    with keyed_client(embedded_stack, "enterprise") as tenant, keyed_client(embedded_stack, "enterprise") as other:
        endpoint = tenant.post("/webhook_endpoints", json={"url": url}).json()["id"]
        answers = [tenant.post(f"/webhook_endpoints/{endpoint}/test", json=SAMPLE_EVENT) for _ in range(10)]
        assert [a.json()["status_code"] for a in answers] == [200] * 10
        refused = tenant.post(f"/webhook_endpoints/{endpoint}/test", json=SAMPLE_EVENT)
        assert_error(refused, 429, "rate_limit_error", "rate_limit_exceeded")
        assert int(refused.headers["Retry-After"]) > 0

        own = other.post("/webhook_endpoints", json={"url": receiver.url()}).json()["id"]
        assert other.post(f"/webhook_endpoints/{own}/test", json=SAMPLE_EVENT).json()["status_code"] == 200


def test_the_api_logs_at_info_by_default(embedded_stack: ServiceStack) -> None:
    """The API's own INFO lines (its start, the reconciler's rounds, outages) are in its log with
    VIDEOGEN_LOG_LEVEL at its default, not only uvicorn's."""
    log = (embedded_stack.log_dir / f"{embedded_stack.name}-api.log").read_text(errors="replace")
    assert " INFO api.app: serving " in log


def test_64_concurrent_requests_on_sqlite_are_all_answered(embedded_stack: ServiceStack, embedded_key: str) -> None:
    """The embedded configuration once locked up at 64 concurrent requests (its pool was smaller
    than the thread pool); now each waits its turn for a request slot and all are answered."""
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    headers = {"Authorization": f"Bearer {embedded_key}"}
    with httpx.Client(base_url=embedded_stack.base_url, headers=headers, timeout=60, limits=limits) as http:

        def request(i: int) -> httpx.Response:
            if i % 8 == 0:
                return http.post("/videos", json={**QUICK, "prompt": f"concurrent {i}"})
            return http.get("/videos", params={"limit": 5})

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=64) as pool:
            answers = list(pool.map(request, range(64)))
        elapsed = time.monotonic() - started
        cancel_all(http, [a.json()["id"] for a in answers if a.request.method == "POST" and a.status_code == 200])
    assert [a.status_code for a in answers] == [200] * 64
    assert elapsed < 45, f"64 requests took {elapsed:.1f} s"
