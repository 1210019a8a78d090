"""Fixtures of the domain tests: a real database on each backend, a session per test, a broker
folder to watch nudges arrive in.

Every test that touches the database runs twice, on SQLite (a WAL file in a temporary folder,
made by ``videogen.database.make_engine`` as in production) and on PostgreSQL (a database created
for this session, ``videogen_domain_<hex>``, dropped ``WITH (FORCE)`` at the end; set
``VIDEOGEN_TEST_POSTGRES_URL`` to use another server, as for the other tests). The schema is
``videogen.tables.metadata.create_all``.

Isolation: tests commit for real, and every table is emptied (``DELETE``, children first) after
each test. The "join an external transaction" recipe (a session on a savepoint inside a
connection-level transaction that is rolled back) was rejected because of what the domain does
after a commit: the nudges of ``after_commit`` (a new job, a reactivated organization, a webhook
delivery) record ``dispatched_at`` in a unit of work of their own, on another connection. That
connection cannot see rows the outer transaction never committed, and on SQLite it would wait
30 s for the write lock the outer transaction holds. Real commits also let a test play two
processes with two sessions (two workers racing for a claim), and let the batch jobs that commit
per batch (the reconciler, the webhook sweep) do exactly that. Emptying nine small tables costs a
few milliseconds a test on either backend.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tests.helpers import scratch_database
from videogen import broker
from videogen.database import get_engine, make_engine
from videogen.settings import Settings
from videogen.tables import metadata

BACKENDS = ["sqlite", "postgresql"]


def _forget_engine(url: str) -> None:
    """Close the pool that ``session_scope(url)`` (the after-commit nudges) may have opened."""
    get_engine(url).dispose()
    get_engine.cache_clear()


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database with the current schema, for this test session only."""
    if request.param == "sqlite":
        url = f"sqlite:///{(tmp_path_factory.mktemp('domain-db') / 'videogen.db').as_posix()}"
        engine = make_engine(url)
        metadata.create_all(engine)
        engine.dispose()
        try:
            yield url
        finally:
            _forget_engine(url)
        return

    with scratch_database("videogen_domain") as url:
        engine = make_engine(url)
        metadata.create_all(engine)
        engine.dispose()
        try:
            yield url
        finally:
            _forget_engine(url)


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[sa.Engine]:
    engine = make_engine(database_url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def new_session(engine: sa.Engine) -> Iterator[Callable[[], Session]]:
    """Opens sessions like the service's (``expire_on_commit=False``), each another "process";
    closes them all, then empties every table."""
    opened: list[Session] = []

    def open_session() -> Session:
        session = Session(engine, expire_on_commit=False)
        opened.append(session)
        return session

    try:
        yield open_session
    finally:
        for session in opened:
            session.close()
        with engine.begin() as conn:
            for table in reversed(metadata.sorted_tables):
                conn.execute(table.delete())


@pytest.fixture
def session(new_session: Callable[[], Session]) -> Session:
    """The test's unit of work. Commit it to make rows visible to other sessions."""
    return new_session()


# --- the broker, as the embedded configuration has it --------------------------------------------


@dataclass(frozen=True)
class Message:
    task: str
    subject: str  # the video or delivery id the nudge is about
    queue: str


@dataclass
class Nudges:
    """The embedded filesystem broker, enabled in this process, and what arrived in it."""

    settings: Settings

    @property
    def folder(self) -> Path:
        return self.settings.broker_dir

    def messages(self) -> list[Message]:
        found = []
        for path in sorted(self.folder.glob("*.msg")):
            raw = json.loads(path.read_text())
            args, _kwargs, _embed = json.loads(base64.b64decode(raw["body"]))
            found.append(Message(raw["headers"]["task"], args[0], raw["properties"]["delivery_info"]["routing_key"]))
        return found

    def subjects(self, task: str) -> list[str]:
        return sorted(m.subject for m in self.messages() if m.task == task)


def domain_settings(database_url: str, data_dir: Path) -> Settings:
    """Settings for the domain under test, independent of any ``VIDEOGEN_*`` around the run."""
    return Settings(
        _env_file=None,
        data_dir=data_dir,
        database_url=database_url,
        broker_url="",  # the embedded filesystem broker, under data_dir/broker
        rate_limit_url="memory://",
        models=["hunyuanvideo-tiny"],
        default_model="hunyuanvideo-tiny",
        models_file=None,
        tiers_file=None,
        max_metadata_pairs=16,
        idempotency_ttl_hours=24,
    )


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return domain_settings(database_url, tmp_path / "data")


@pytest.fixture(autouse=True)
def no_nudges() -> Iterator[None]:
    """No nudges unless a test asks for them (``nudges``): whatever another module of the run
    enabled (importing ``api.app`` or a worker does) is set aside, and restored afterwards."""
    previous = broker.enabled_settings()
    broker.enable(None)
    try:
        yield
    finally:
        broker.enable(previous)


@pytest.fixture
def nudges(settings: Settings, no_nudges: None) -> Nudges:
    """This process sends nudges after commits (``videogen.broker.enable``), into a broker folder
    of the test's own; ``no_nudges`` disables them again afterwards."""
    broker.enable(settings)
    return Nudges(settings)
