"""Send one webhook request, to the vetted address only, within hard limits.

A receiver is someone else's server: it may be slow, hang after the headers, stream a huge body or
redirect us somewhere internal. So: connect and total timeouts (the total is enforced between
body chunks too, so a trickling response cannot hold a sender), at most ``max_response_bytes`` of
the body read, redirects never followed, and the TCP connection made to ``Destination.address``
with the original name kept for the Host header, TLS SNI and certificate verification.
"""

from __future__ import annotations

import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import lru_cache

import certifi
import httpx

from videogen.webhooks.url_policy import Destination

USER_AGENT = "videogen-webhooks/1.0"
# Besides 5xx, the codes that mean "try again later" rather than "this will never work".
RETRYABLE_STATUS_CODES = frozenset({408, 409, 425, 429})
EXCERPT_CHARS = 500


@dataclass(frozen=True)
class SendResult:
    status_code: int | None
    error: str | None
    latency_ms: int
    retry_after_seconds: float | None = None
    response_excerpt: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def retryable(self) -> bool:
        """Timeouts, connection errors, 408/409/425/429 and 5xx are retried; other answers are final."""
        if self.status_code is None:
            return True
        return self.status_code >= 500 or self.status_code in RETRYABLE_STATUS_CODES


class _TotalTimeout(Exception):
    pass


@lru_cache(maxsize=1)
def _tls_context() -> ssl.SSLContext:
    """One verifying TLS context for every send: building one costs ~15 ms, and it is safe to share.
    Connections are not shared: each send has its own client, so a connection opened to one IP
    under one name (SNI) never carries a request for another name."""
    return ssl.create_default_context(cafile=certifi.where())


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def send(
    destination: Destination,
    body: bytes,
    headers: dict[str, str],
    *,
    connect_timeout: float,
    total_timeout: float,
    max_response_bytes: int,
    tls_context: ssl.SSLContext | None = None,
) -> SendResult:
    """POST ``body`` to ``destination``; never raises for anything the receiver or network does.
    ``tls_context`` defaults to one that verifies against the public CAs (certifi)."""
    started = time.monotonic()
    deadline = started + total_timeout

    def elapsed_ms() -> int:
        return int((time.monotonic() - started) * 1000)

    request_headers = {
        **headers,
        "Host": destination.host_header,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
    }
    extensions = {"sni_hostname": destination.host} if destination.scheme == "https" else {}
    timeout = httpx.Timeout(total_timeout, connect=min(connect_timeout, total_timeout))
    try:
        with (
            httpx.Client(
                timeout=timeout, follow_redirects=False, trust_env=False, verify=tls_context or _tls_context()
            ) as client,
            client.stream(
                "POST", destination.connect_url, content=body, headers=request_headers, extensions=extensions
            ) as response,
        ):
            received = bytearray()
            for chunk in response.iter_raw():
                if time.monotonic() > deadline:
                    raise _TotalTimeout
                received += chunk[: max_response_bytes - len(received)]
                if len(received) >= max_response_bytes:
                    break
            excerpt = received[:EXCERPT_CHARS].decode("utf-8", errors="replace") or None
            error = None
            if 300 <= response.status_code < 400:
                error = f"redirect to {response.headers.get('location', '?')!r} not followed"
            elif not 200 <= response.status_code < 300:
                error = f"receiver answered HTTP {response.status_code}"
            return SendResult(
                status_code=response.status_code,
                error=error,
                latency_ms=elapsed_ms(),
                retry_after_seconds=parse_retry_after(response.headers.get("retry-after")),
                response_excerpt=excerpt,
            )
    except (_TotalTimeout, httpx.TimeoutException) as exc:
        kind = "connect" if isinstance(exc, httpx.ConnectTimeout) else "total"
        limit = connect_timeout if kind == "connect" else total_timeout
        return SendResult(None, f"timed out ({kind} timeout of {limit:g} s)", elapsed_ms())
    except httpx.HTTPError as exc:
        return SendResult(None, f"{type(exc).__name__}: {exc}"[:500], elapsed_ms())
