"""Request rate limits shared by every API process, on the ``limits`` library.

With Redis (production) the moving-window check-and-count is one Lua script, so two API replicas
never double a limit; the embedded configuration (one API process) keeps counters in memory.
When Redis is unreachable, ``RATE_LIMIT_ON_OUTAGE`` says what happens instead (see ``RateLimiter``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from limits import RateLimitItemPerHour, RateLimitItemPerMinute
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter
from prometheus_client import Counter

from videogen.errors import ServiceUnavailableError
from videogen.outages import OutageWindow
from videogen.settings import Settings

log = logging.getLogger(__name__)

OutagePolicy = Literal["local", "open", "closed"]

RATE_LIMIT_FALLBACKS = Counter(
    "videogen_rate_limit_fallbacks",
    "Rate-limit checks answered without the shared store (it was unreachable), by outage policy.",
    ["policy"],
)


@dataclass(frozen=True)
class RateLimitResult:
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: float

    def headers(self, kind: str = "requests") -> dict[str, str]:
        """OpenAI's rate-limit headers, e.g. ``x-ratelimit-reset-requests: 12s``."""
        return {
            f"x-ratelimit-limit-{kind}": str(self.limit),
            f"x-ratelimit-remaining-{kind}": str(self.remaining),
            f"x-ratelimit-reset-{kind}": f"{max(0.0, self.reset_seconds):.0f}s",
        }


class RateLimiter:
    """Moving-window limits in ``storage_url``, with a policy for when that store is unreachable.

    The limits are a guard, not the truth (jobs and quotas are counted in the database), so a
    Redis outage must not take video creation down with it. After a failure the store is left
    alone for ``retry_seconds`` (no request pays a timeout meanwhile) and ``on_outage`` decides:
    ``local`` (the default) counts in this process, so every limit still holds, at most once per
    API replica, which is the closest to the shared limit that needs no shared store; ``open`` lets
    requests through; ``closed`` refuses them with a 503. Each fallback is logged and counted.
    """

    def __init__(
        self,
        storage_url: str,
        *,
        timeout_seconds: float = 2.0,
        on_outage: OutagePolicy = "local",
        retry_seconds: float = 5.0,
    ):
        options: dict[str, float] = {}
        if storage_url.startswith(("redis://", "rediss://")):
            options = {"socket_timeout": timeout_seconds, "socket_connect_timeout": timeout_seconds}
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage_url, **options))
        self._shared = not storage_url.startswith("memory://")
        self._local = MovingWindowRateLimiter(MemoryStorage())
        self.on_outage = on_outage
        self.retry_seconds = retry_seconds
        self._outage = OutageWindow()

    def _count(
        self, limiter: MovingWindowRateLimiter, item: RateLimitItemPerMinute | RateLimitItemPerHour, *ids: str
    ) -> RateLimitResult:
        allowed = limiter.hit(item, *ids)
        stats = limiter.get_window_stats(item, *ids)
        return RateLimitResult(
            allowed=allowed,
            limit=item.amount,
            remaining=max(0, stats.remaining),
            reset_seconds=stats.reset_time - time.time(),
        )

    def _hit(self, item: RateLimitItemPerMinute | RateLimitItemPerHour, *identifiers: str) -> RateLimitResult:
        if not self._outage.active():
            try:
                return self._count(self._limiter, item, *identifiers)
            except Exception as exc:  # noqa: BLE001 - any failure of the store is an outage of it
                if not self._shared:
                    raise
                if self._outage.begin(self.retry_seconds):
                    log.warning(
                        "rate-limit store unreachable (%s); limits fall back to '%s' for %g s",
                        type(exc).__name__,
                        self.on_outage,
                        self.retry_seconds,
                    )
        RATE_LIMIT_FALLBACKS.labels(policy=self.on_outage).inc()
        if self.on_outage == "closed":
            raise ServiceUnavailableError(
                "Request limits cannot be checked at the moment; try again shortly.",
                code="rate_limiter_unavailable",
                retry_after=max(1, round(self.retry_seconds)),
            )
        if self.on_outage == "open":
            return RateLimitResult(allowed=True, limit=item.amount, remaining=item.amount, reset_seconds=0.0)
        return self._count(self._local, item, *identifiers)

    def hit_per_minute(self, scope: str, key: str, per_minute: int) -> RateLimitResult:
        return self._hit(RateLimitItemPerMinute(per_minute, namespace="videogen"), scope, key)

    def hit_per_hour(self, scope: str, key: str, per_hour: int) -> RateLimitResult:
        return self._hit(RateLimitItemPerHour(per_hour, namespace="videogen"), scope, key)


def rate_limiter_for(settings: Settings) -> RateLimiter:
    """This process's limiter for ``settings`` (one per store, shared by every request)."""
    return _rate_limiter(
        settings.rate_limit_url,
        settings.redis_timeout_seconds,
        settings.rate_limit_on_outage,
        settings.dependency_retry_seconds,
    )


@lru_cache(maxsize=4)
def _rate_limiter(url: str, timeout: float, on_outage: OutagePolicy, retry: float) -> RateLimiter:
    return RateLimiter(url, timeout_seconds=timeout, on_outage=on_outage, retry_seconds=retry)
