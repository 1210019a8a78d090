"""The rate limiter when its shared store (Redis, private to this test) stops answering: every
check still answers within the Redis timeout, and RATE_LIMIT_ON_OUTAGE decides what it says."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from prometheus_client import REGISTRY

from tests.faults.services import PrivateRedis
from tests.stack import wait_until
from videogen.accounts.ratelimit import OutagePolicy, RateLimiter
from videogen.errors import ServiceUnavailableError

TIMEOUT = 0.5  # VIDEOGEN_REDIS_TIMEOUT_SECONDS for these limiters
RETRY = 1.0  # VIDEOGEN_DEPENDENCY_RETRY_SECONDS


@pytest.fixture(scope="module")
def paused_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path_factory.mktemp("ratelimit-redis"))
    server.start()
    try:
        yield server
    finally:
        server.close()


def limiter(redis: PrivateRedis, policy: OutagePolicy) -> RateLimiter:
    return RateLimiter(redis.url, timeout_seconds=TIMEOUT, on_outage=policy, retry_seconds=RETRY)


def fallbacks(policy: str) -> float:
    return REGISTRY.get_sample_value("videogen_rate_limit_fallbacks_total", {"policy": policy}) or 0.0


def timed(check):  # type: ignore[no-untyped-def]
    started = time.monotonic()
    result = check()
    return result, time.monotonic() - started


def test_limits_hold_per_process_while_redis_is_paused_and_shared_again_after(paused_redis: PrivateRedis) -> None:
    limits = limiter(paused_redis, "local")
    assert [limits.hit_per_minute("test", "org-a", 3).allowed for _ in range(2)] == [True, True]  # shared, in Redis
    before = fallbacks("local")
    paused_redis.pause()
    try:
        first, waited = timed(lambda: limits.hit_per_minute("test", "org-a", 3))
        assert first.allowed and waited < TIMEOUT + 1.0  # one bounded wait for the store...
        rest, waited = timed(lambda: [limits.hit_per_minute("test", "org-a", 3).allowed for _ in range(3)])
        assert waited < 0.5  # ...then none: the store is left alone for RETRY seconds
        assert rest == [True, True, False]  # the limit still binds, counted in this process
        assert fallbacks("local") - before == 4
    finally:
        paused_redis.resume()
    # Once RETRY has passed, checks go to the shared store again: what one replica counts, another sees.
    wait_until(
        lambda: limits.hit_per_minute("test", "probe", 1000) and paused_redis.client().keys("*probe*"),
        RETRY * 10,
        message="the limiter to use Redis again",
    )
    other_replica = limiter(paused_redis, "local")
    assert limits.hit_per_minute("test", "org-b", 1).allowed
    assert not other_replica.hit_per_minute("test", "org-b", 1).allowed


def test_an_open_policy_lets_requests_through_while_redis_is_paused(paused_redis: PrivateRedis) -> None:
    limits = limiter(paused_redis, "open")
    paused_redis.pause()
    try:
        answers = [limits.hit_per_minute("test", "org-open", 1) for _ in range(5)]
    finally:
        paused_redis.resume()
    assert all(a.allowed for a in answers)


def test_a_closed_policy_answers_503_with_retry_after_while_redis_is_paused(paused_redis: PrivateRedis) -> None:
    limits = limiter(paused_redis, "closed")
    paused_redis.pause()
    try:
        with pytest.raises(ServiceUnavailableError) as refused:
            limits.hit_per_minute("test", "org-closed", 10)
    finally:
        paused_redis.resume()
    assert refused.value.status_code == 503 and int(refused.value.headers["Retry-After"]) >= 1


def test_a_stopped_redis_is_an_outage_too(paused_redis: PrivateRedis) -> None:
    limits = limiter(paused_redis, "local")
    paused_redis.stop()
    try:
        answer, waited = timed(lambda: limits.hit_per_minute("test", "org-stopped", 2))
    finally:
        paused_redis.start()
    assert answer.allowed and waited < TIMEOUT + 1.0
