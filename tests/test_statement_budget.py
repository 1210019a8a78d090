"""What one request costs the database: a regression guard on the hot paths.

Counted with SQLAlchemy's engine events on the real application in this process, on SQLite and
PostgreSQL: the statements each request sends, and the connections it checks out of the pool (on
PostgreSQL each checkout of a connection idle for a while is also a ping). A change that adds a
query to polling a video, or a second transaction to creating one, fails here, not in production.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, update
from starlette.testclient import TestClient

from tests.helpers import scratch_database
from tests.in_process import InProcessApi, in_process_api
from videogen.database import get_engine, session_scope, utcnow
from videogen.videos.tables import Video, VideoStatus

SMALL = {"prompt": "a lighthouse at dusk", "seconds": "1", "size": "256x256"}

# The budget of each path: statements, connections checked out.
GET_COMPLETED = (2, 1)  # the key with its organization; the video
GET_QUEUED = (3, 1)  # ...and the head of its model's queue, for an exact position near it
LIST_PAGE = (3, 1)  # the key; the page; the head of the queue, once for all of the page's queued videos
CREATE = (4, 1)  # the key; admission (the row, written as nudged, then the lock that moves the standing); its position


@dataclass
class Cost:
    statements: list[str] = field(default_factory=list)
    checkouts: int = 0

    def within(self, budget: tuple[int, int]) -> bool:
        statements, checkouts = budget
        return len(self.statements) <= statements and self.checkouts <= checkouts


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessApi]:
    data_dir = Path(tmp_path_factory.mktemp(f"budget-{request.param}"))
    # The queue snapshot is taken by the first request and not refreshed meanwhile (a refresh runs
    # in the background and would be counted against whichever request it overlaps).
    settings: dict[str, Any] = {"queue_snapshot_max_age_seconds": 3600}
    if request.param == "sqlite":
        with in_process_api(data_dir, **settings) as api:
            yield api
        return
    with scratch_database("videogen_in_process") as url, in_process_api(data_dir, url, **settings) as api:
        yield api


@pytest.fixture
def http(api: InProcessApi) -> Iterator[TestClient]:
    with api.client() as client:
        yield client


@contextmanager
def cost_of(api: InProcessApi) -> Iterator[Cost]:
    engine = get_engine(api.settings.database_url)
    cost = Cost()

    def statement(_conn: object, _cursor: object, sql: str, *_args: object) -> None:
        cost.statements.append(sql)

    def checkout(*_args: object) -> None:
        cost.checkouts += 1

    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "checkout", checkout)
    try:
        yield cost
    finally:
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(engine, "checkout", checkout)


def created(http: TestClient) -> str:
    response = http.post("/v1/videos", json=SMALL)
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def completed(api: InProcessApi, http: TestClient) -> str:
    video_id = created(http)
    with session_scope(api.settings.database_url) as session:
        session.execute(
            update(Video)
            .where(Video.id == video_id)
            .values(status=VideoStatus.COMPLETED, progress=100, completed_at=utcnow(), video_key="k")
        )
    return video_id


def test_polling_a_video_costs_a_statement_or_two_and_one_connection(api: InProcessApi, http: TestClient) -> None:
    done, waiting = completed(api, http), created(http)
    http.get(f"/v1/videos/{waiting}")  # the process's first poll of the queue takes its snapshot

    with cost_of(api) as poll_completed:
        assert http.get(f"/v1/videos/{done}").json()["status"] == "completed"
    with cost_of(api) as poll_queued:
        assert http.get(f"/v1/videos/{waiting}").json()["queue_position"] >= 1

    assert poll_completed.within(GET_COMPLETED), (poll_completed.checkouts, poll_completed.statements)
    assert poll_queued.within(GET_QUEUED), (poll_queued.checkouts, poll_queued.statements)


def test_a_page_of_videos_costs_the_same_whatever_it_holds(api: InProcessApi, http: TestClient) -> None:
    for _ in range(20):
        created(http)
    http.get("/v1/videos?limit=20")

    with cost_of(api) as page:
        listed = http.get("/v1/videos?limit=20").json()["data"]

    assert len(listed) == 20 and all(v["queue_position"] for v in listed)
    assert page.within(LIST_PAGE), (page.checkouts, page.statements)


def test_creating_a_video_is_one_transaction_of_a_few_statements(api: InProcessApi, http: TestClient) -> None:
    created(http)  # the key's last use is recorded (once a minute), the queue snapshot taken

    with cost_of(api) as create:
        created(http)

    assert create.within(CREATE), (create.checkouts, create.statements)
