"""Send one request to a host a client named, to the vetted address only, within hard limits.

Two uses: ``send`` POSTs a webhook, ``fetch`` GETs a client's file (an ``input_reference`` image
URL). Either way the other end is someone else's server: it may be slow, hang after the headers,
stream a huge body or redirect us somewhere internal. So, in ``_exchange``, which both use:
connect and total timeouts (the total is enforced between body chunks too, so a trickling answer
cannot hold us; a read that stalls outright ends after one more read timeout, so the worst case is
about twice the total), at most ``max_bytes`` of the body read, redirects never followed, no proxy
from the environment, and the TCP connection made to ``Destination.address`` with the original
name kept for the Host header, TLS SNI and certificate verification. Neither raises for anything
the server or the network does: the result says what happened.
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

from videogen.outbound.url_policy import Destination

USER_AGENT = "videogen-webhooks/1.0"
FETCH_USER_AGENT = "videogen-fetch/1.0"
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


@dataclass(frozen=True)
class FetchResult:
    """What a ``fetch`` got: ``body`` is the whole body when ``ok``, and empty when ``too_large``
    (nothing past ``max_bytes`` was read). ``error`` says why it is not ``ok``."""

    status_code: int | None
    content_type: str | None
    body: bytes
    error: str | None
    latency_ms: int
    too_large: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None and self.status_code == 200


class _TotalTimeout(Exception):
    pass


@dataclass(frozen=True)
class _Answer:
    status_code: int
    headers: httpx.Headers
    body: bytes  # at most max_bytes
    overflow: bool  # more than max_bytes arrived, or was declared (then nothing was read)


@lru_cache(maxsize=1)
def _tls_context() -> ssl.SSLContext:
    """One verifying TLS context for every request: building one costs ~15 ms, and it is safe to
    share. Connections are not shared: each request has its own client, so a connection opened to
    one IP under one name (SNI) never carries a request for another name."""
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


def _exchange(
    method: str,
    destination: Destination,
    *,
    headers: dict[str, str],
    content: bytes | None,
    connect_timeout: float,
    total_timeout: float,
    max_bytes: int,
    whole: bool,
    tls_context: ssl.SSLContext | None,
) -> _Answer | str:
    """One request to ``destination.connect_url``, within the limits above: the answer, or why
    there is none. With ``whole`` the caller needs the entire body: a declared ``Content-Length``
    over ``max_bytes`` stops before reading, and one more read tells a body of exactly
    ``max_bytes`` from a longer one. Without it, reading stops once ``max_bytes`` are in (an
    excerpt is all the caller wants)."""
    deadline = time.monotonic() + total_timeout
    request_headers = {**headers, "Host": destination.host_header}
    extensions = {"sni_hostname": destination.host} if destination.scheme == "https" else {}
    timeout = httpx.Timeout(total_timeout, connect=min(connect_timeout, total_timeout))
    try:
        with (
            httpx.Client(
                timeout=timeout, follow_redirects=False, trust_env=False, verify=tls_context or _tls_context()
            ) as client,
            client.stream(
                method, destination.connect_url, content=content, headers=request_headers, extensions=extensions
            ) as response,
        ):
            received = bytearray()
            declared = response.headers.get("content-length", "")
            overflow = whole and declared.isdigit() and int(declared) > max_bytes
            if not overflow:
                for chunk in response.iter_raw():
                    if time.monotonic() > deadline:
                        raise _TotalTimeout
                    room = max_bytes - len(received)
                    received += chunk[:room]
                    if len(chunk) > room:
                        overflow = True
                        break
                    if not whole and len(received) >= max_bytes:
                        break
            return _Answer(response.status_code, response.headers, bytes(received), overflow)
    except (_TotalTimeout, httpx.TimeoutException) as exc:
        kind = "connect" if isinstance(exc, httpx.ConnectTimeout) else "total"
        limit = connect_timeout if kind == "connect" else total_timeout
        return f"timed out ({kind} timeout of {limit:g} s)"
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"[:500]


def _redirect_error(answer: _Answer) -> str:
    return f"redirect to {answer.headers.get('location', '?')!r} not followed"


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
    answer = _exchange(
        "POST",
        destination,
        headers={**headers, "Content-Type": "application/json", "User-Agent": USER_AGENT},
        content=body,
        connect_timeout=connect_timeout,
        total_timeout=total_timeout,
        max_bytes=max_response_bytes,
        whole=False,
        tls_context=tls_context,
    )
    latency_ms = int((time.monotonic() - started) * 1000)
    if isinstance(answer, str):
        return SendResult(None, answer, latency_ms)
    error = None
    if 300 <= answer.status_code < 400:
        error = _redirect_error(answer)
    elif not 200 <= answer.status_code < 300:
        error = f"receiver answered HTTP {answer.status_code}"
    return SendResult(
        status_code=answer.status_code,
        error=error,
        latency_ms=latency_ms,
        retry_after_seconds=parse_retry_after(answer.headers.get("retry-after")),
        response_excerpt=answer.body[:EXCERPT_CHARS].decode("utf-8", errors="replace") or None,
    )


def fetch(
    destination: Destination,
    *,
    connect_timeout: float,
    total_timeout: float,
    max_bytes: int,
    tls_context: ssl.SSLContext | None = None,
    accept: str = "*/*",
) -> FetchResult:
    """GET ``destination``'s body, whole, if the server answers 200 with at most ``max_bytes``;
    never raises for anything the server or network does. The body is asked for and taken
    unencoded (``Accept-Encoding: identity``): a compressed answer is refused rather than inflated,
    so ``max_bytes`` bounds what we hold. ``tls_context`` as for ``send``."""
    started = time.monotonic()
    answer = _exchange(
        "GET",
        destination,
        headers={"User-Agent": FETCH_USER_AGENT, "Accept": accept, "Accept-Encoding": "identity"},
        content=None,
        connect_timeout=connect_timeout,
        total_timeout=total_timeout,
        max_bytes=max_bytes,
        whole=True,
        tls_context=tls_context,
    )
    latency_ms = int((time.monotonic() - started) * 1000)
    if isinstance(answer, str):
        return FetchResult(None, None, b"", answer, latency_ms)
    content_type = answer.headers.get("content-type")
    encoding = answer.headers.get("content-encoding", "identity").strip().lower()

    def failed(error: str, too_large: bool = False) -> FetchResult:
        return FetchResult(answer.status_code, content_type, b"", error, latency_ms, too_large)

    if 300 <= answer.status_code < 400:
        return failed(_redirect_error(answer))
    if answer.status_code != 200:
        return failed(f"the server answered HTTP {answer.status_code}")
    if answer.overflow:
        return failed(f"the body is larger than {max_bytes} bytes", too_large=True)
    if encoding not in ("", "identity"):
        return failed(f"the server sent a {encoding}-encoded body (we ask for identity and do not inflate)")
    return FetchResult(answer.status_code, content_type, answer.body, None, latency_ms)
