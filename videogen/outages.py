"""Which failures mean "a dependency is down" rather than "a bug".

The database, the broker (Redis), the rate-limit store (Redis) and object storage (S3) each fail in
their own library's exceptions. A caller that must tell an outage (answer 503, retry later, keep a
message) from a defect (answer 500, fail the job) asks ``outage_of``, which knows those exception
types in one place and looks through the chain of causes (SQLAlchemy wraps psycopg, Celery wraps
kombu wraps redis-py). The answer names the kind of dependency only, never its host or address,
so it is safe to show to clients. ``OutageWindow`` is how a process remembers that one is down.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from enum import StrEnum

from videogen.storage import is_transient_s3_error


class Dependency(StrEnum):
    DATABASE = "database"
    BROKER = "broker"
    STORAGE = "storage"


def _database(exc: BaseException) -> bool:
    from sqlalchemy import exc as sa

    if isinstance(exc, sa.TimeoutError | sa.OperationalError | sa.InterfaceError):
        return True
    if isinstance(exc, sa.DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, sqlite3.OperationalError):
        return True  # "database is locked" past the busy timeout, "unable to open database file"
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a main dependency
        return False
    return isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError)


def _broker(exc: BaseException) -> bool:
    import kombu.exceptions
    import redis.exceptions

    return isinstance(
        exc, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError | kombu.exceptions.OperationalError
    )


def _storage(exc: BaseException) -> bool:
    # One rule for what S3 failure is worth retrying: the store's (``StorageUnavailableError``,
    # which the store raises, carries its verdict as ``transient``; this reads boto's own errors).
    return is_transient_s3_error(exc)


_CHECKS = ((Dependency.DATABASE, _database), (Dependency.BROKER, _broker), (Dependency.STORAGE, _storage))


def causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, then what caused it (``raise ... from``, or the exception being handled), and so on."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def outage_of(exc: BaseException) -> Dependency | None:
    """The dependency whose outage ``exc`` (or one of its causes) reports, or None."""
    for cause in causes(exc):
        for dependency, check in _CHECKS:
            if check(cause):
                return dependency
    return None


class OutageWindow:
    """A process's memory of a dependency's last failure: for ``seconds`` after one, callers skip
    the dependency at once instead of each paying its timeout, and the outage is logged once."""

    def __init__(self) -> None:
        self._until = 0.0
        self._lock = threading.Lock()

    def active(self) -> bool:
        return time.monotonic() < self._until

    def begin(self, seconds: float) -> bool:
        """Note a failure; True if it starts an outage (so it is logged once, not per call)."""
        with self._lock:
            first = not self.active()
            self._until = time.monotonic() + seconds
            return first
