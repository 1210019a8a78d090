"""Request rate limits shared by every API process, on the ``limits`` library.

With Redis (production) the moving-window check-and-count is one Lua script, so two API replicas
never double a limit; the embedded configuration (one API process) keeps counters in memory.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache

from limits import RateLimitItemPerHour, RateLimitItemPerMinute
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter


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
    def __init__(self, storage_url: str):
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage_url))

    def _hit(self, item: RateLimitItemPerMinute | RateLimitItemPerHour, *identifiers: str) -> RateLimitResult:
        allowed = self._limiter.hit(item, *identifiers)
        stats = self._limiter.get_window_stats(item, *identifiers)
        return RateLimitResult(
            allowed=allowed,
            limit=item.amount,
            remaining=max(0, stats.remaining),
            reset_seconds=stats.reset_time - time.time(),
        )

    def hit_per_minute(self, scope: str, key: str, per_minute: int) -> RateLimitResult:
        return self._hit(RateLimitItemPerMinute(per_minute, namespace="videogen"), scope, key)

    def hit_per_hour(self, scope: str, key: str, per_hour: int) -> RateLimitResult:
        return self._hit(RateLimitItemPerHour(per_hour, namespace="videogen"), scope, key)


@lru_cache(maxsize=4)
def rate_limiter_for(storage_url: str) -> RateLimiter:
    return RateLimiter(storage_url)
