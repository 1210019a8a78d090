"""A request id on every response (``x-request-id``), in every log line written while the request
is handled, and in every error body (``api.errors.error_body``).

The caller's ``x-request-id`` is kept when it is sane (1-128 characters of an HTTP token, plus
``/ : = @``, as base64, UUIDs and most proxies' ids are), so that a request can be followed from a
gateway or a client's own logs; anything else (too long, spaces, control characters) is replaced,
since it goes verbatim into log lines and headers. A generated one looks like our other ids:
``req_`` + the time + randomness (``videogen.ids``), so ids sort by when they were made.

Pure ASGI, the outermost of our middleware: the answers ``api.limits`` writes itself (a body too
large, a server too busy, the last resort for an unmapped exception) carry the id too, and so do
uvicorn's access log lines, which uvicorn writes from within the response's ``send``.
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from videogen import tracing
from videogen.ids import new_id
from videogen.logs import log_context

HEADER = b"x-request-id"
MAX_LENGTH = 128
SANE = re.compile(rf"[A-Za-z0-9!#$%&'*+\-.^_`|~/:=@]{{1,{MAX_LENGTH}}}")


def new_request_id() -> str:
    return new_id("req")


def accepted_request_id(value: str | None) -> str | None:
    """The caller's id if it is sane, else None (one is generated)."""
    return value if value is not None and SANE.fullmatch(value) else None


def _callers_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == HEADER:
            return bytes(value).decode("latin-1")
    return None


class RequestIds:
    """Give each HTTP request an id: bound to the log context while it is handled, set on its
    server span when tracing, and sent back as ``x-request-id`` on its response."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = accepted_request_id(_callers_request_id(scope)) or new_request_id()
        header = (HEADER, request_id.encode("ascii"))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(name, value) for name, value in message.get("headers", ()) if name.lower() != HEADER]
                message = {**message, "headers": [*headers, header]}
            await send(message)

        with log_context(request_id=request_id):
            tracing.annotate({"videogen.request_id": request_id})
            await self.app(scope, receive, send_with_id)
