"""Live status: a video followed as server-sent events (``GET /v1/videos/{id}/events``), and
answers that wait for a video's end (``Prefer: wait=N``), through HTTP in both configurations.

The test stacks poll every 0.2 s and send a keep-alive every second (``tests/conftest.py``). A job
that must stay queued for a while waits behind a ``blocker``: the slowest job the tiny model
accepts, running on the stack's one worker until the test cancels it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.helpers import JOB_DEADLINE, LONG_JOB, QUICK, assert_error, finished, status_of, wait_for
from tests.stack import ServiceStack, wait_until

STATUS_ORDER = ["queued", "in_progress", "completed"]


@dataclass(frozen=True)
class Event:
    """One block of an event stream: an event (type, id, data), a ``retry:`` or a comment."""

    type: str | None = None
    id: str | None = None
    data: dict[str, Any] | None = None
    retry: int | None = None
    comment: str | None = None


def read_events(response: httpx.Response) -> Iterator[Event]:
    """The blocks of ``response``'s body as they arrive, parsed as the HTML standard says."""
    fields: dict[str, str] = {}
    for line in response.iter_lines():
        if line.startswith(":"):
            yield Event(comment=line[1:].strip())
        elif line:
            name, _, value = line.partition(":")
            fields[name] = value[1:] if value.startswith(" ") else value
        elif fields:
            yield Event(
                type=fields.get("event"),
                id=fields.get("id"),
                data=json.loads(fields["data"]) if "data" in fields else None,
                retry=int(fields["retry"]) if "retry" in fields else None,
            )
            fields = {}


def events_of(stream: Iterator[Event]) -> Iterator[Event]:
    """Only the events (no retry lines, no comments)."""
    return (event for event in stream if event.type is not None)


def create(http: httpx.Client, **body: Any) -> dict[str, Any]:
    response = http.post("/videos", json={**QUICK, **body})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def cancel_if_running(http: httpx.Client, video_id: str) -> None:
    video = status_of(http, video_id)
    if "status" in video and not finished(video):  # not deleted, not ended
        http.post(f"/videos/{video_id}/cancel")


@pytest.fixture
def blocker(http: httpx.Client) -> Iterator[str]:
    """A long job running on the stack's one worker, so that the next ones stay queued until the
    test cancels it (at teardown at the latest)."""
    video = create(http, **LONG_JOB, prompt="blocker")
    wait_for(http, video["id"], lambda v: v["status"] != "queued")
    try:
        yield video["id"]
    finally:
        cancel_if_running(http, video["id"])


@pytest.fixture
def queued(http: httpx.Client, blocker: str) -> Iterator[dict[str, Any]]:
    """A short video (a run of about a second: long enough to be seen running), queued behind the blocker."""
    video = create(http, prompt="behind the blocker", num_inference_steps=10)
    assert video["status"] == "queued"
    try:
        yield video
    finally:
        cancel_if_running(http, video["id"])


def follow(http: httpx.Client, video_id: str, **headers: str) -> Any:
    return http.stream("GET", f"/videos/{video_id}/events", headers=headers, timeout=JOB_DEADLINE)


# --- the stream -------------------------------------------------------------------------------


def test_a_stream_follows_a_queued_video_through_its_run_to_completed_then_closes(
    http: httpx.Client, blocker: str, queued: dict[str, Any]
) -> None:
    with follow(http, queued["id"]) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-cache"
        assert response.headers["x-accel-buffering"] == "no"
        stream = read_events(response)
        assert next(stream) == Event(retry=2000)
        first = next(events_of(stream))
        assert (first.type, first.data["status"]) == ("video.updated", "queued")
        assert first.data["queue_position"] >= 1
        http.post(f"/videos/{blocker}/cancel")  # the queued video runs next
        received = [first, *events_of(stream)]  # to the end: the server closes the stream
    statuses = [event.data["status"] for event in received]
    assert "in_progress" in statuses
    assert statuses == sorted(statuses, key=STATUS_ORDER.index)
    progress = [event.data["progress"] for event in received]
    assert progress == sorted(progress) and progress[-1] == 100
    assert [event.type for event in received] == ["video.updated"] * (len(received) - 1) + ["video.completed"]
    ids = [event.id for event in received]
    assert all(a != b for a, b in zip(ids, ids[1:], strict=False)), ids  # an event per change, never a repeat
    # The data is the video object as a retrieve answers it.
    assert received[-1].data == http.get(f"/videos/{queued['id']}").json()


def test_a_reconnect_with_the_last_event_id_gets_only_what_it_has_not_seen(
    stack: ServiceStack, http: httpx.Client, queued: dict[str, Any]
) -> None:
    with follow(http, queued["id"]) as response:
        seen = next(events_of(read_events(response)))
    assert seen.data["status"] == "queued"

    with follow(http, queued["id"], **{"Last-Event-ID": seen.id}) as response:
        stream = read_events(response)
        assert next(stream) == Event(retry=2000)
        # Nothing has changed: no event, only keep-alives (one a second on the test stacks)...
        started = time.monotonic()
        assert next(stream) == Event(comment="keep-alive")
        assert next(stream) == Event(comment="keep-alive")
        keepalive = float(stack.env["VIDEOGEN_EVENTS_KEEPALIVE_SECONDS"])
        assert time.monotonic() - started >= keepalive * 0.9
        # ...until something does: a cancellation is seen live, and ends the stream.
        http.post(f"/videos/{queued['id']}/cancel")
        rest = list(events_of(stream))
    assert [(event.type, event.data["status"]) for event in rest] == [("video.cancelled", "cancelled")]

    # The final state seen: 204, which tells an EventSource to stop reconnecting.
    with follow(http, queued["id"], **{"Last-Event-ID": rest[-1].id}) as response:
        assert response.status_code == 204
        assert response.read() == b""
    # An older state seen: the current one at once, then the end.
    with follow(http, queued["id"], **{"Last-Event-ID": seen.id}) as response:
        assert [(event.type, event.id) for event in events_of(read_events(response))] == [
            ("video.cancelled", rest[-1].id)
        ]


def test_cancelling_a_running_video_is_seen_live(http: httpx.Client, blocker: str) -> None:
    with follow(http, blocker) as response:
        stream = events_of(read_events(response))
        first = next(stream)
        assert (first.type, first.data["status"]) == ("video.updated", "in_progress")
        assert http.post(f"/videos/{blocker}/cancel").status_code == 200
        last = list(stream)[-1]
    assert (last.type, last.data["status"], last.data["error"]) == ("video.cancelled", "cancelled", None)


def test_a_video_deleted_while_followed_ends_its_stream_with_video_deleted(
    http: httpx.Client, queued: dict[str, Any]
) -> None:
    with follow(http, queued["id"]) as response:
        stream = events_of(read_events(response))
        assert next(stream).data["status"] == "queued"
        assert http.delete(f"/videos/{queued['id']}").status_code == 200
        rest = list(stream)
    assert [(event.type, event.id, event.data) for event in rest] == [
        ("video.deleted", "deleted", {"id": queued["id"], "object": "video.deleted", "deleted": True})
    ]
    assert http.get(f"/videos/{queued['id']}/events").status_code == 404  # and it is gone for good


def test_a_finished_video_streams_its_final_state_and_closes(http: httpx.Client) -> None:
    video = http.post("/videos", json=QUICK, headers={"Prefer": "wait=60"}).json()
    assert video["status"] == "completed"
    started = time.monotonic()
    with follow(http, video["id"]) as response:
        received = list(read_events(response))
    assert time.monotonic() - started < 10  # closed at once, not after a keep-alive or the stream's limit
    assert [event.type for event in received] == [None, "video.completed"]
    assert received[1].data == http.get(f"/videos/{video['id']}").json()


# --- Prefer: wait -----------------------------------------------------------------------------


def test_prefer_wait_answers_a_create_and_a_retrieve_once_the_video_has_completed(http: httpx.Client) -> None:
    response = http.post("/videos", json=QUICK, headers={"Prefer": "wait=60"}, timeout=90)
    assert response.status_code == 200, response.text
    assert response.headers["Preference-Applied"] == "wait=60"
    assert "x-ratelimit-limit-requests" in response.headers  # the create's own headers stay
    video = response.json()
    assert (video["status"], video["progress"]) == ("completed", 100)
    assert video == http.get(f"/videos/{video['id']}").json()

    # A retrieve of a finished video answers at once, saying that it would have waited.
    started = time.monotonic()
    response = http.get(f"/videos/{video['id']}", headers={"Prefer": "respond-async, WAIT=30; x=y"})
    assert time.monotonic() - started < 10
    assert (response.status_code, response.headers["Preference-Applied"]) == (200, "wait=30")
    assert response.headers["Vary"] == "Prefer"
    assert response.json() == video


def test_prefer_wait_answers_after_n_seconds_with_the_state_the_video_is_in(
    http: httpx.Client, queued: dict[str, Any]
) -> None:
    started = time.monotonic()
    response = http.get(f"/videos/{queued['id']}", headers={"Prefer": "wait=1"})
    elapsed = time.monotonic() - started
    assert response.status_code == 200, response.text
    assert response.headers["Preference-Applied"] == "wait=1"
    assert response.json()["status"] == "queued"
    assert 1 <= elapsed < 15

    started = time.monotonic()
    response = http.post("/videos", json=QUICK, headers={"Prefer": "wait=1"})
    assert response.status_code == 200, response.text
    assert time.monotonic() - started >= 1
    assert (response.headers["Preference-Applied"], response.json()["status"]) == ("wait=1", "queued")
    cancel_if_running(http, response.json()["id"])


def test_prefer_wait_without_a_wait_changes_nothing(http: httpx.Client, queued: dict[str, Any]) -> None:
    response = http.get(f"/videos/{queued['id']}", headers={"Prefer": "return=minimal"})
    assert response.status_code == 200
    assert "Preference-Applied" not in response.headers
    assert response.json()["status"] == "queued"


@pytest.mark.parametrize("preference", ["wait=61", "wait=abc", "wait=-1", "wait=", "wait=1.5"])
def test_a_wait_that_is_not_0_to_60_whole_seconds_is_a_400(http: httpx.Client, preference: str) -> None:
    listed = http.get("/videos", params={"limit": 1}).json()["data"]
    for response in (
        http.post("/videos", json=QUICK, headers={"Prefer": preference}),
        http.get(f"/videos/{listed[0]['id'] if listed else 'video_x'}", headers={"Prefer": preference}),
    ):
        error = assert_error(response, 400, "invalid_request_error", "invalid_value")
        assert error["param"] == "Prefer"
        assert "0 to 60" in error["message"]


# --- tenancy ----------------------------------------------------------------------------------


def test_another_organizations_video_is_404_to_its_stream_and_its_waits(
    stack: ServiceStack, http: httpx.Client
) -> None:
    ours = create(http, prompt="ours")
    other = stack.create_key(f"stranger-{stack.name}")
    with httpx.Client(base_url=stack.base_url, headers={"Authorization": f"Bearer {other}"}, timeout=30) as stranger:
        for response in (
            stranger.get(f"/videos/{ours['id']}/events"),
            stranger.get(f"/videos/{ours['id']}", headers={"Prefer": "wait=30"}),
            stranger.get("/videos/video_0123456789abcdef/events"),
        ):
            assert_error(response, 404, "invalid_request_error", "not_found")
            assert response.elapsed.total_seconds() < 10  # before any stream or wait starts
    assert_error(httpx.get(f"{stack.base_url}/videos/{ours['id']}/events"), 401, "authentication_error")


# --- one process's streams and waits at shutdown ---------------------------------------------


def _gauge(metrics: str, name: str) -> float:
    for line in metrics.splitlines():
        if line.startswith(f"{name} "):
            return float(line.split()[1])
    return 0.0


def test_an_api_stopped_with_open_streams_and_waits_stops_at_once_and_ends_them(
    production_stack: ServiceStack,
) -> None:
    replica = ServiceStack("live-status", production_stack.env, production_stack.log_dir)
    replica.start_api()
    key = production_stack.create_key("live-status-shutdown")
    headers = {"Authorization": f"Bearer {key}"}
    http = httpx.Client(base_url=replica.base_url, headers=headers, timeout=JOB_DEADLINE)
    video = create(http, **LONG_JOB, prompt="followed at shutdown")
    try:
        waited: list[httpx.Response] = []
        waiter = threading.Thread(
            target=lambda: waited.append(http.get(f"/videos/{video['id']}", headers={"Prefer": "wait=60"}))
        )
        with follow(http, video["id"]) as response:
            stream = read_events(response)
            next(stream)  # retry: the stream is open
            waiter.start()

            def counted() -> str | None:
                metrics = httpx.get(f"{replica.root_url}/metrics").text
                return metrics if _gauge(metrics, "videogen_prefer_waits") == 1 else None

            metrics = wait_until(counted, 30, message="the wait to be counted")
            assert _gauge(metrics, "videogen_event_streams_open") == 1
            started = time.monotonic()
            replica.stop_api_only()
            stopped_in = time.monotonic() - started
            list(stream)  # the stream has ended: this returns
        waiter.join(30)
        assert stopped_in < 5, f"SIGTERM took {stopped_in:.1f} s with a stream and a wait open"
        assert waited[0].status_code == 200
        assert waited[0].json()["id"] == video["id"]
        assert "Preference-Applied" not in waited[0].headers  # cut short: it did not wait 60 s
    finally:
        replica.stop_api_only()
        with httpx.Client(base_url=production_stack.base_url, headers=headers, timeout=30) as main:
            cancel_if_running(main, video["id"])
        http.close()
