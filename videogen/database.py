"""The database: engines, the unit of work, the declarative base and its column types.

The SQL database is the source of truth for every job, so this module holds the one rule about
transactions: **domain functions add and flush; the unit of work commits.** A unit of work is one
``session_scope`` (a request, a job step in a worker, a CLI command) or a named batch job that says
it commits per batch (the reconciler, sweeps, purges). Anything that must happen only once a
transaction has committed, such as nudging a worker through the broker, is registered with
``after_commit`` and runs after the commit, or never if the transaction rolls back.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

import sqlalchemy
from sqlalchemy import JSON, CursorResult, DateTime, Engine, Result, String, TypeDecorator, event
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

if TYPE_CHECKING:
    from videogen.settings import Settings

log = logging.getLogger(__name__)

EnumT = TypeVar("EnumT", bound=enum.StrEnum)


def utcnow() -> datetime:
    return datetime.now(UTC)


# --- column types --------------------------------------------------------------------------------


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class StatusColumn(TypeDecorator[EnumT], Generic[EnumT]):
    """A ``StrEnum`` stored as its plain string value.

    Code reads and writes enum members (``VideoStatus.QUEUED``), the database keeps the same short
    strings it always has (no native ENUM type, so adding a status needs no ALTER TYPE and the
    schema stays identical on SQLite and PostgreSQL), and an unknown value read back fails loudly.
    """

    impl = String(16)
    cache_ok = True

    def __init__(self, enum_type: type[EnumT]) -> None:
        super().__init__()
        self.enum_type = enum_type

    def process_bind_param(self, value: EnumT | str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.enum_type(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> EnumT | None:
        return None if value is None else self.enum_type(value)

    @property
    def python_type(self) -> type[EnumT]:
        return self.enum_type


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, str]: JSON(), list[str]: JSON()}


# --- engines and the unit of work ----------------------------------------------------------------


@dataclass(frozen=True)
class PoolBounds:
    """How many connections a process may hold and how long anything waits on the database.

    The API admits at most ``concurrent_requests`` requests at a time (``api.limits``) and a request
    holds at most two connections (its unit of work, and a short one after its commit), so a pool of
    twice that many can never run dry while requests wait for a thread: a lock-up is impossible by
    construction, and a database that does not answer costs a bounded wait, then a 503.
    """

    concurrent_requests: int = 16
    connect_timeout_seconds: float = 5.0
    pool_timeout_seconds: float = 10.0
    # PostgreSQL cancels a statement that runs (or waits for a lock) longer; None: no limit (migrations).
    statement_timeout_seconds: float | None = None
    # A pooled PostgreSQL connection that sat idle this long is pinged before use: it may have been
    # dropped meanwhile (a database restart or failover, a proxy's idle timeout).
    ping_after_idle_seconds: float = 5.0

    @classmethod
    def from_settings(cls, settings: Settings) -> PoolBounds:
        return cls(
            settings.api_max_concurrent_requests,
            settings.database_connect_timeout_seconds,
            settings.database_pool_timeout_seconds,
            settings.database_statement_timeout_seconds,
        )


def make_engine(database_url: str, bounds: PoolBounds | None = None) -> Engine:
    """An engine tuned for the two databases we support.

    SQLite is shared by the API and worker processes of the embedded stack, so it runs in WAL
    mode (readers don't block the writer) with a busy timeout instead of failing on a lock.

    ``sqlalchemy.create_engine`` is looked up when called, not imported: tracing
    (``videogen.tracing``) instruments the engines it makes by wrapping it.
    """
    bounds = bounds or PoolBounds()
    pool = {
        "pool_size": bounds.concurrent_requests,
        "max_overflow": bounds.concurrent_requests,
        "pool_timeout": bounds.pool_timeout_seconds,
    }
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        in_memory = not url.database or url.database == ":memory:"
        engine = sqlalchemy.create_engine(
            url, connect_args={"timeout": 30, "check_same_thread": False}, **({} if in_memory else pool)
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    engine = sqlalchemy.create_engine(url, connect_args=_postgres_connect_args(bounds), **pool)
    _ping_connections_that_sat_idle(engine, bounds.ping_after_idle_seconds)
    return engine


def _ping_connections_that_sat_idle(engine: Engine, after_seconds: float) -> None:
    """SQLAlchemy's ``pool_pre_ping`` pings on every checkout: one round trip more per request, on
    connections a busy API used milliseconds ago. This pings only those idle for ``after_seconds``,
    with the dialect's own ping, and hands a dead one back to the pool
    as a ``DisconnectionError`` (the pool's documented way to replace it and retry). A connection
    that dies while busy fails its statement as it would with pre-ping; the pool then replaces
    every connection older than the failure."""

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None or time.monotonic() - idle_since < after_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError("a pooled connection did not answer its ping") from exc


def _postgres_connect_args(bounds: PoolBounds) -> dict[str, object]:
    args: dict[str, object] = {"connect_timeout": max(1, round(bounds.connect_timeout_seconds))}
    if bounds.statement_timeout_seconds:
        args["options"] = f"-c statement_timeout={round(bounds.statement_timeout_seconds * 1000)}"
    return args


_bounds = PoolBounds()


def configure(settings: Settings) -> None:
    """Size this process's pools and database timeouts from ``settings``; call it before the first
    engine is made (processes do at start-up)."""
    global _bounds
    bounds = PoolBounds.from_settings(settings)
    if bounds != _bounds:
        _bounds = bounds
        get_engine.cache_clear()
        get_sessionmaker.cache_clear()


@lru_cache(maxsize=8)
def get_engine(database_url: str) -> Engine:
    return make_engine(database_url, _bounds)


@lru_cache(maxsize=8)
def get_sessionmaker(database_url: str) -> sessionmaker[Session]:
    return sessionmaker(get_engine(database_url), expire_on_commit=False)


@contextmanager
def session_scope(database_url: str) -> Iterator[Session]:
    """A unit of work: commits on success, rolls back on error, always closes."""
    session = get_sessionmaker(database_url)()
    try:
        yield session
    except BaseException:
        discard(session)
        raise
    finish(session)


def finish(session: Session) -> None:
    """The end of a unit of work that succeeded: commit (rolled back if the commit fails), close."""
    try:
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def discard(session: Session) -> None:
    """The end of a unit of work that failed: roll back, close."""
    try:
        session.rollback()
    finally:
        session.close()


def rows_affected(result: Result[Any]) -> int:
    """How many rows an ``UPDATE`` or ``DELETE`` run through ``Session.execute`` matched.

    Such statements return a ``CursorResult``, but ``Session.execute`` is typed as returning a
    plain ``Result``, which has no ``rowcount``; a driver that cannot tell reports None (0 here).
    """
    return int(cast(CursorResult[Any], result).rowcount or 0)


# --- after the commit ----------------------------------------------------------------------------

_AFTER_COMMIT = "videogen.after_commit"


def after_commit(session: Session, action: Callable[[], object]) -> None:
    """Run ``action`` once the session's current transaction has committed; drop it on rollback.

    This is how the domain tells the outside world about what it wrote (a broker nudge for a new
    job or a webhook delivery): before the commit a worker could find nothing, or act on a change
    that is then rolled back. An action that fails is logged and forgotten: the commit stands, and
    whatever the action was for must be recoverable from the database (the reconciler re-sends
    lost nudges).
    """
    session.info.setdefault(_AFTER_COMMIT, []).append(action)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    for action in session.info.pop(_AFTER_COMMIT, []):
        try:
            action()
        except Exception:  # noqa: BLE001 - the commit stands; the reconciler recovers what was lost
            log.warning("an after-commit action failed; the reconciler will catch up", exc_info=True)


@event.listens_for(Session, "after_rollback")
def _drop_after_commit(session: Session) -> None:
    session.info.pop(_AFTER_COMMIT, None)
