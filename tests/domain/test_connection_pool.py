"""The pool hands out live connections without paying a round trip per request.

A busy API reuses connections within milliseconds; only one that sat idle long enough to have been
dropped (a database restart, a proxy's idle timeout) is pinged, and a dead one is replaced before
the caller sees it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from tests.helpers import POSTGRES_ADMIN_URL, scratch_database
from videogen.database import PoolBounds, make_engine

IDLE = 0.2  # seconds a connection sits in the pool before it is pinged, in these tests


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    with scratch_database("videogen_pool") as url:
        yield url


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    engine = make_engine(database_url, PoolBounds(concurrent_requests=1, ping_after_idle_seconds=IDLE))
    yield engine
    engine.dispose()


def backend_pid(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())


def terminate(pid: int) -> None:
    """What a database restart does to a pooled connection."""
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
    finally:
        admin.dispose()


def test_a_connection_dropped_while_idle_is_replaced_before_anyone_uses_it(engine: sa.Engine) -> None:
    dropped = backend_pid(engine)
    terminate(dropped)
    time.sleep(IDLE * 2)  # idle long enough to be pinged at its next checkout

    assert backend_pid(engine) != dropped  # no error: the ping found it dead and the pool replaced it


def test_a_connection_in_steady_use_is_not_pinged(engine: sa.Engine) -> None:
    pings = 0
    ping = engine.dialect.do_ping

    def counted(dbapi_connection: object) -> bool:
        nonlocal pings
        pings += 1
        return ping(dbapi_connection)

    engine.dialect.do_ping = counted  # type: ignore[method-assign]
    pid = backend_pid(engine)
    for _ in range(20):
        assert backend_pid(engine) == pid
    assert pings == 0

    time.sleep(IDLE * 2)
    assert backend_pid(engine) == pid and pings == 1
