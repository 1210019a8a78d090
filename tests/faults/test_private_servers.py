"""The fault controls themselves: each private server stops, starts again on its port, pauses and
resumes as the fault tests assume (so that a fault test failing means the service failed)."""

from __future__ import annotations

import httpx
import pytest
import redis

from tests.faults.services import FaultStack


def test_redis_stops_starts_pauses_resumes_and_flushes(fault: FaultStack) -> None:
    server = fault.redis
    port = server.port
    with server.client() as client:
        client.set("fault-probe", "1")
    server.flush()
    with server.client() as client:
        assert client.get("fault-probe") is None
        client.set("fault-probe", "1")

    server.pause()
    with server.client(timeout=0.5) as client, pytest.raises(redis.TimeoutError):
        client.ping()
    server.resume()
    assert server.ready()

    server.stop()
    with server.client(timeout=0.5) as client, pytest.raises(redis.ConnectionError):
        client.ping()
    server.start()
    assert server.port == port and server.ready()
    with server.client() as client:
        assert client.get("fault-probe") is None  # no persistence: a restart is an empty broker


def test_postgres_stops_and_starts_with_its_data(fault: FaultStack) -> None:
    server = fault.postgres
    before = fault.rows([])  # connects
    assert before == {}
    server.stop()
    assert not server.ready()
    server.start()
    assert server.ready()
    with fault.engine.connect() as conn:
        import sqlalchemy as sa

        assert conn.execute(sa.text("SELECT count(*) FROM videos")).scalar_one() >= 1  # the warm-up job


def test_s3_pauses_resumes_and_restarts_empty(fault: FaultStack) -> None:
    server = fault.s3
    server.pause()
    with pytest.raises(httpx.TimeoutException):
        httpx.get(f"{server.url}/moto-api/", timeout=0.5)
    server.resume()
    assert server.ready()
    server.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.url}/moto-api/", timeout=0.5)
    assert server.restore()  # started again, with the bucket re-created
    assert server.ready()
