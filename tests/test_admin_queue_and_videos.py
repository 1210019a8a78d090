"""What the operator sees of the jobs (issue 13): the queue per model (``GET /v1/admin/queue``),
every organization's videos and the recent failures (``GET /v1/admin/videos``), and the filters of
a client's own list (``GET /v1/videos?status=&model=``).

Through HTTP against the real application in this process, on a PostgreSQL database of each test's
own, so the queue a test reads is the one it made. No worker runs there: the states a worker would
leave (a claimed job, its heartbeat, a completion, a failure) are made with the job state machine's
own functions, under the worker names a worker records, as a worker calls them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from starlette.testclient import TestClient

from tests.helpers import assert_error, scratch_database
from tests.in_process import ADMIN_TOKEN, MODELS, InProcessApi, in_process_api
from tests.stack import wait_until
from videogen.database import get_engine, session_scope, utcnow
from videogen.videos import jobs
from videogen.videos.phases import Phase
from videogen.videos.stats import queue_report

TEXT_MODEL, IMAGE_MODEL = MODELS
SMALL = {"prompt": "a lighthouse at dusk", "seconds": "1", "size": "256x256"}


@pytest.fixture
def api(tmp_path: Path) -> Iterator[InProcessApi]:
    with scratch_database("videogen_admin_queue") as url, in_process_api(tmp_path, url) as app:
        yield app


@pytest.fixture
def admin(api: InProcessApi) -> Iterator[TestClient]:
    with api.client(Authorization=f"Bearer {ADMIN_TOKEN}") as client:
        yield client


@pytest.fixture
def customer(api: InProcessApi) -> Iterator[TestClient]:
    with api.client() as client:
        yield client


def submit(client: TestClient, **fields: Any) -> dict[str, Any]:
    response = client.post("/v1/videos", json={**SMALL, **fields})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def run(api: InProcessApi, video_id: str, worker: str) -> None:
    """A worker claims the job and reports it is denoising."""
    with session_scope(api.settings.database_url) as session:
        assert jobs.claim(session, video_id, worker)
        assert jobs.heartbeat(session, video_id, 1, jobs.LiveState(progress=10, phase=Phase.DENOISING))


def complete(api: InProcessApi, video_id: str, worker: str) -> None:
    run(api, video_id, worker)
    with session_scope(api.settings.database_url) as session:
        assert jobs.complete(
            session,
            video_id,
            attempt=1,
            video_key=f"videos/{video_id}/video.mp4",
            thumbnail_key=f"videos/{video_id}/thumbnail.jpg",
            video_bytes=1000,
            retention=timedelta(hours=1),
        )


def fail(api: InProcessApi, video_id: str, worker: str, message: str = "CUDA out of memory") -> None:
    run(api, video_id, worker)
    with session_scope(api.settings.database_url) as session:
        assert jobs.fail(session, video_id, "generation_failed", message, attempt=1)


def queues(admin: TestClient, **params: Any) -> dict[str, dict[str, Any]]:
    response = admin.get("/v1/admin/queue", params=params)
    assert response.status_code == 200, response.text
    return {q["model"]: q for q in response.json()["data"]}


# --- the queue per model --------------------------------------------------------------------------


def test_every_served_model_has_a_queue_of_zeros_when_idle(api: InProcessApi, admin: TestClient) -> None:
    before = int(time.time())
    body = admin.get("/v1/admin/queue").json()
    assert (body["object"], body["window_seconds"]) == ("list", 600)
    assert before <= body["generated_at"] <= time.time() + 1
    assert [q["model"] for q in body["data"]] == api.settings.models
    for queue in body["data"]:
        assert queue == {
            "object": "queue",
            "model": queue["model"],
            "served": True,
            "queued": 0,
            "running": 0,
            "oldest_queued_seconds": 0,
            "workers_seen": [],
            "running_videos": [],
        }


def test_queued_jobs_are_counted_per_model_with_the_oldest_wait(
    api: InProcessApi, admin: TestClient, customer: TestClient
) -> None:
    started = time.time()
    oldest = submit(customer)
    oldest_submitted = time.time()
    wait_until(lambda: time.time() - oldest_submitted >= 1, 10)  # the two jobs' ages a second apart at least
    newer_submitted = time.time()
    submit(api.client(Authorization=f"Bearer {api.new_key()}"))  # another organization's: the same queue

    asked = time.time()
    found = queues(admin)
    answered = time.time()
    text = found[TEXT_MODEL]
    assert (text["queued"], text["running"], text["running_videos"]) == (2, 0, [])
    # The oldest job's wait: no less than it had waited when asked, which the newer job had not.
    assert asked - oldest_submitted <= text["oldest_queued_seconds"] <= answered - started
    assert (found[IMAGE_MODEL]["queued"], found[IMAGE_MODEL]["oldest_queued_seconds"]) == (0, 0)

    # Once the oldest runs, the oldest wait is the newer job's.
    run(api, oldest["id"], "gpu-a:101")
    text = queues(admin)[TEXT_MODEL]
    assert (text["queued"], text["running"], text["running_videos"]) == (1, 1, [oldest["id"]])
    assert 0 < text["oldest_queued_seconds"] <= time.time() - newer_submitted

    # A model no longer served still shows while it has active jobs (the domain function, with the
    # text model taken off the served list).
    with session_scope(api.settings.database_url) as session:
        report = queue_report(session, [IMAGE_MODEL], utcnow(), timedelta(minutes=10))
    assert [(q.model, q.served, q.queued, q.running) for q in report] == [
        (IMAGE_MODEL, True, 0, 0),
        (TEXT_MODEL, False, 1, 1),
    ]


def test_workers_are_seen_while_they_run_or_finish_jobs_within_the_window(
    api: InProcessApi, admin: TestClient, customer: TestClient
) -> None:
    running, done, failed, waiting = (submit(customer) for _ in range(4))
    run(api, running["id"], "gpu-a:101")
    complete(api, done["id"], "gpu-b:202")
    fail(api, failed["id"], "gpu-c:303")
    with session_scope(api.settings.database_url) as session:
        assert jobs.cancel(session, waiting["id"])  # never ran: no worker to see

    text = queues(admin)[TEXT_MODEL]
    assert text["workers_seen"] == ["gpu-a:101", "gpu-b:202", "gpu-c:303"]
    assert (text["queued"], text["running"], text["running_videos"]) == (0, 1, [running["id"]])
    assert queues(admin)[IMAGE_MODEL]["workers_seen"] == []

    # Only the heartbeats count: a second later nothing beat within a one-second window, though the
    # running job is still counted; a wider window still sees them all.
    def aged() -> dict[str, Any] | None:
        found = queues(admin, window_seconds=1)[TEXT_MODEL]
        return found if found["workers_seen"] == [] else None

    assert wait_until(aged, 30, message="the heartbeats to leave the window")["running"] == 1
    assert queues(admin, window_seconds=3600)[TEXT_MODEL]["workers_seen"] == ["gpu-a:101", "gpu-b:202", "gpu-c:303"]


def test_the_queue_costs_the_same_statements_however_many_jobs(
    api: InProcessApi, admin: TestClient, customer: TestClient
) -> None:
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    engine = get_engine(api.settings.database_url)
    event.listen(engine, "before_cursor_execute", count)
    try:
        queues(admin)
        idle = len(statements)
        for index in range(6):
            video = submit(customer)
            if index % 3 == 1:
                complete(api, video["id"], f"gpu-{index}:1")
            elif index % 3 == 2:
                fail(api, video["id"], f"gpu-{index}:1")
        statements.clear()
        assert len(queues(admin)[TEXT_MODEL]["workers_seen"]) == 4
        assert len(statements) == idle == 4
    finally:
        event.remove(engine, "before_cursor_execute", count)


@pytest.mark.parametrize("window", ["0", "86401", "-5", "ten"])
def test_the_window_is_one_second_to_one_day(admin: TestClient, window: str) -> None:
    error = assert_error(admin.get("/v1/admin/queue", params={"window_seconds": window}), 400, "invalid_request_error")
    assert error["param"] == "window_seconds"


def test_the_operators_views_take_the_admin_token_only(api: InProcessApi, customer: TestClient) -> None:
    video = submit(customer)
    for path in ("/v1/admin/queue", "/v1/admin/videos", f"/v1/admin/videos/{video['id']}"):
        with api.client(Authorization="") as anonymous:
            del anonymous.headers["Authorization"]
            assert_error(anonymous.get(path), 401, "authentication_error", "missing_api_key")
        assert_error(customer.get(path), 401, "authentication_error", "invalid_admin_token")  # an API key is not one
        with api.client(Authorization="Bearer not-the-token") as wrong:
            assert_error(wrong.get(path), 401, "authentication_error", "invalid_admin_token")


# --- every organization's videos ------------------------------------------------------------------


def test_recent_failures_across_organizations_newest_first(
    api: InProcessApi, admin: TestClient, customer: TestClient
) -> None:
    other = api.client(Authorization=f"Bearer {api.new_key()}")
    ours, theirs = submit(customer, prompt="ours"), submit(other, prompt="theirs")
    fine, queued = submit(customer), submit(other)
    fail(api, ours["id"], "gpu-a:1", "CUDA out of memory")
    fail(api, theirs["id"], "gpu-b:2", "the decoder ran out of memory")
    complete(api, fine["id"], "gpu-a:1")

    failures = admin.get("/v1/admin/videos", params={"status": "failed"}).json()
    assert set(failures) == {"object", "data", "first_id", "last_id", "has_more"}
    assert [v["id"] for v in failures["data"]] == [theirs["id"], ours["id"]]  # newest first
    newest = failures["data"][0]
    assert newest["error"] == {"code": "generation_failed", "message": "the decoder ran out of memory"}
    assert (newest["worker"], newest["attempts"], newest["prompt"]) == ("gpu-b:2", 1, "theirs")
    their_org = other.get("/v1/usage").json()["organization_id"]
    their_name = admin.get(f"/v1/admin/organizations/{their_org}").json()["name"]
    assert (newest["organization_id"], newest["organization_name"]) == (their_org, their_name)
    # The rest is the public object, as its owner sees it.
    public = other.get(f"/v1/videos/{theirs['id']}").json()
    assert {k: v for k, v in newest.items() if k in public} == public
    assert set(newest) - set(public) == {"organization_id", "organization_name", "worker", "attempts"}

    only_theirs = admin.get("/v1/admin/videos", params={"status": "failed", "organization": their_name}).json()
    assert [v["id"] for v in only_theirs["data"]] == [theirs["id"]]
    everything = admin.get("/v1/admin/videos").json()["data"]
    assert [v["id"] for v in everything] == [queued["id"], fine["id"], theirs["id"], ours["id"]]
    assert everything[0]["queue_position"] == 1 and everything[0]["worker"] is None
    assert admin.get("/v1/admin/videos", params={"model": IMAGE_MODEL}).json()["data"] == []
    by_model = admin.get("/v1/admin/videos", params={"model": TEXT_MODEL, "status": "completed"}).json()["data"]
    assert [v["id"] for v in by_model] == [fine["id"]]

    assert_error(admin.get("/v1/admin/videos", params={"organization": "no-such-org"}), 404, "invalid_request_error")
    bad = assert_error(admin.get("/v1/admin/videos", params={"status": "broken"}), 400, "invalid_request_error")
    assert bad["param"] == "status"


def test_every_organizations_videos_page_like_the_public_list(
    api: InProcessApi, admin: TestClient, customer: TestClient
) -> None:
    other = api.client(Authorization=f"Bearer {api.new_key()}")
    made = [submit(client)["id"] for client in (customer, other, customer, other, customer)]

    first = admin.get("/v1/admin/videos", params={"limit": 2}).json()
    assert [v["id"] for v in first["data"]] == made[::-1][:2] and first["has_more"] is True
    assert first["last_id"] == made[3]
    rest = admin.get("/v1/admin/videos", params={"limit": 100, "after": first["last_id"]}).json()
    assert [v["id"] for v in rest["data"]] == made[::-1][2:] and rest["has_more"] is False
    oldest = admin.get("/v1/admin/videos", params={"limit": 2, "order": "asc"}).json()
    assert [v["id"] for v in oldest["data"]] == made[:2]


def test_any_organizations_video_by_id_unless_deleted(
    api: InProcessApi, admin: TestClient, customer: TestClient
) -> None:
    video = submit(customer)
    found = admin.get(f"/v1/admin/videos/{video['id']}")
    assert found.status_code == 200, found.text
    assert (found.json()["id"], found.json()["object"], found.json()["status"]) == (video["id"], "video", "queued")
    assert found.json()["organization_id"] == customer.get("/v1/usage").json()["organization_id"]

    assert customer.delete(f"/v1/videos/{video['id']}").status_code == 200
    assert_error(admin.get(f"/v1/admin/videos/{video['id']}"), 404, "invalid_request_error", "not_found")
    assert video["id"] not in [v["id"] for v in admin.get("/v1/admin/videos").json()["data"]]
    assert_error(admin.get("/v1/admin/videos/video_nope"), 404, "invalid_request_error", "not_found")


# --- a client's own list, filtered ---------------------------------------------------------------


def test_a_clients_list_filters_by_status_and_model_within_its_own_videos(
    api: InProcessApi, customer: TestClient
) -> None:
    other = api.client(Authorization=f"Bearer {api.new_key()}")
    ours_failed, ours_queued = submit(customer), submit(customer)
    theirs_failed = submit(other)
    fail(api, ours_failed["id"], "gpu-a:1")
    fail(api, theirs_failed["id"], "gpu-a:1")

    def ids(**params: str) -> list[str]:
        response = customer.get("/v1/videos", params=params)
        assert response.status_code == 200, response.text
        assert "organization_id" not in (response.json()["data"] or [{}])[0]  # the public object, untouched
        return [v["id"] for v in response.json()["data"]]

    assert ids(status="failed") == [ours_failed["id"]]  # never another organization's
    assert ids(status="queued") == [ours_queued["id"]]
    assert ids(status="completed") == []
    assert ids(model=TEXT_MODEL) == [ours_queued["id"], ours_failed["id"]]
    assert ids(model=IMAGE_MODEL) == []
    assert ids(model=TEXT_MODEL, status="failed", limit="1") == [ours_failed["id"]]

    error = assert_error(customer.get("/v1/videos", params={"status": "done"}), 400, "invalid_request_error")
    assert error["param"] == "status"
