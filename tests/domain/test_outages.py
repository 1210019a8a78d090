"""Which failures are a dependency's outage (answered 503, retried) rather than a bug (500):
real exceptions from the real libraries, and the database's own statement bound."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from botocore.exceptions import ClientError, EndpointConnectionError

from videogen.database import PoolBounds, make_engine
from videogen.outages import Dependency, outage_of


def test_a_statement_past_the_timeout_is_cancelled_and_reads_as_a_database_outage(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("statement timeouts are PostgreSQL's")
    engine = make_engine(database_url, PoolBounds(statement_timeout_seconds=0.2))
    try:
        with pytest.raises(sa.exc.OperationalError) as cancelled, engine.connect() as connection:
            connection.execute(sa.text("SELECT pg_sleep(5)"))
    finally:
        engine.dispose()
    assert "statement timeout" in str(cancelled.value)
    assert outage_of(cancelled.value) is Dependency.DATABASE


def test_an_unreachable_database_is_a_database_outage() -> None:
    engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:9/none", PoolBounds(connect_timeout_seconds=1))
    try:
        with pytest.raises(sa.exc.OperationalError) as refused:
            engine.connect()
    finally:
        engine.dispose()
    assert outage_of(refused.value) is Dependency.DATABASE


def test_an_unreachable_redis_is_a_broker_outage_through_any_wrapping() -> None:
    import kombu.exceptions
    import redis

    with pytest.raises(redis.exceptions.ConnectionError) as refused:
        redis.Redis(port=9, socket_connect_timeout=1).ping()
    try:
        raise kombu.exceptions.OperationalError("wrapped") from refused.value
    except kombu.exceptions.OperationalError as wrapped:
        assert outage_of(wrapped) is Dependency.BROKER
    assert outage_of(refused.value) is Dependency.BROKER


@pytest.mark.parametrize(
    ("error", "outage"),
    [
        (EndpointConnectionError(endpoint_url="http://s3.internal:9000"), Dependency.STORAGE),
        (
            ClientError({"Error": {"Code": "SlowDown"}, "ResponseMetadata": {"HTTPStatusCode": 503}}, "PutObject"),
            Dependency.STORAGE,
        ),
        (
            ClientError({"Error": {"Code": "InternalError"}, "ResponseMetadata": {"HTTPStatusCode": 500}}, "GetObject"),
            Dependency.STORAGE,
        ),
        (
            ClientError({"Error": {"Code": "AccessDenied"}, "ResponseMetadata": {"HTTPStatusCode": 403}}, "GetObject"),
            None,
        ),
        (ValueError("a bug"), None),
        (KeyError("also a bug"), None),
    ],
)
def test_storage_outages_are_told_from_refusals_and_bugs(error: Exception, outage: Dependency | None) -> None:
    assert outage_of(error) is outage
