"""Retrying a step while a dependency is unreachable: jittered exponential backoff, bounded in time.

The worker waits rather than fails when storage or the database is briefly away (a restart, a
failover, a network blip), because what it holds is expensive: a finished render, or a broker
message that would otherwise be acknowledged and lost. Waits double from ``FIRST_DELAY`` up to
``MAX_DELAY``, each drawn from its upper half (so replicas that failed together do not retry
together, and no wait is so short that it becomes a tight loop), and never run past the deadline.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from worker import metrics

log = logging.getLogger(__name__)

T = TypeVar("T")

FIRST_DELAY = 0.5
MAX_DELAY = 15.0


def delays(first: float = FIRST_DELAY, cap: float = MAX_DELAY) -> Callable[[int], float]:
    """The wait before retry ``n`` (0-based): between half and all of ``min(cap, first * 2**n)``."""

    def delay(n: int) -> float:
        ceiling = min(cap, first * 2 ** min(n, 32))
        return random.uniform(ceiling / 2, ceiling)

    return delay


def retry_until(
    deadline: float,
    step: str,
    call: Callable[[], T],
    *,
    transient: Callable[[BaseException], bool],
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """``call()``, tried again after each ``transient`` failure until the ``clock`` reaches
    ``deadline``; then the last failure is raised (as is any other failure, at once). ``sleep``
    may raise to abandon the wait (a job that was cancelled meanwhile)."""
    delay = delays()
    failures = 0
    while True:
        try:
            return call()
        except Exception as exc:
            remaining = deadline - clock()
            if not transient(exc) or remaining <= 0:
                raise
            wait = min(remaining, delay(failures))
            failures += 1
            log.warning("%s failed (%s); trying again in %.1f s", step, type(exc).__name__, wait)
            metrics.RETRIES.labels(step=step).inc()
            sleep(wait)
