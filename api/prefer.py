"""``Prefer: wait=N`` (RFC 7240, as Replicate offers it) on ``POST /v1/videos`` and
``GET /v1/videos/{id}``: the answer comes once the video has ended (completed, failed, cancelled) or
after N seconds, whichever is first, so a client can create and get the result in one request, or
poll with long waits instead of many short ones.

N is a whole number of seconds from 0 to ``MAX_WAIT_SECONDS``; a bare ``wait`` is the most. Other
preferences are ignored (RFC 7240 §2), and only the first ``wait`` counts. An honoured wait is said
so: ``Preference-Applied: wait=N`` (and ``Vary: Prefer`` on a GET, whose answer it changes).

The request's unit of work is over before the wait starts (a create has committed and nudged its
worker): the waiting response gives its request slot back and waits on the process's
``VideoWatcher`` on the event loop, holding no thread and no connection, and its answer is the
watcher's snapshot, which cost no query of its own.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from typing import Annotated, Literal

from fastapi import Depends, Header
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from api.events import unless_disconnected
from api.limits import release_request_slot, send_error
from api.metrics import PREFER_WAITS
from videogen.errors import InvalidRequestError, ServiceUnavailableError
from videogen.videos.service import video_not_found
from videogen.videos.watcher import Snapshot, Subscription, VideoWatcher

MAX_WAIT_SECONDS = 60
_SECONDS = re.compile(r"[0-9]{1,4}")


def _preferences(header: str) -> list[str]:
    """The comma-separated preferences of one ``Prefer`` header (commas inside quotes kept)."""
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for char in header:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [part.strip() for part in parts if part.strip()]


def wait_preference(headers: Sequence[str]) -> int | None:
    """The seconds a request's ``Prefer`` headers ask to wait, or None if they do not ask."""
    for header in headers:
        for preference in _preferences(header):
            token, _, _parameters = preference.partition(";")
            name, equals, value = token.partition("=")
            if name.strip().lower() != "wait":
                continue
            if not equals:
                return MAX_WAIT_SECONDS
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            if not _SECONDS.fullmatch(value) or int(value) > MAX_WAIT_SECONDS:
                raise InvalidRequestError(
                    f"Invalid Prefer header: wait must be a whole number of seconds from 0 to {MAX_WAIT_SECONDS}, "
                    "e.g. 'Prefer: wait=30'.",
                    param="Prefer",
                )
            return int(value)
    return None


async def prefer_wait(
    prefer: Annotated[
        list[str] | None,
        Header(
            alias="Prefer",
            description=f"`wait=N` (0-{MAX_WAIT_SECONDS}; a bare `wait` is {MAX_WAIT_SECONDS}): answer once the "
            "video has completed, failed or been cancelled, or after N seconds, whichever is first; the answer "
            "then says `Preference-Applied: wait=N`. Other preferences are ignored (RFC 7240).",
        ),
    ] = None,
) -> int | None:
    return wait_preference(prefer or [])


PreferWaitDep = Annotated[int | None, Depends(prefer_wait)]


class WaitingResponse(Response):
    """The video object once ``snapshot``'s video has ended or ``seconds`` have passed.

    ``when_busy`` says what happens if the watcher is full when the wait would start: ``refuse``
    (a 503, for a GET the client can repeat) or ``answer`` (the current state at once, without
    ``Preference-Applied``: a create has already made its video and must say so)."""

    media_type = "application/json"

    def __init__(
        self,
        watcher: VideoWatcher,
        snapshot: Snapshot,
        seconds: int,
        *,
        headers: dict[str, str] | None = None,
        vary: bool = False,
        when_busy: Literal["refuse", "answer"] = "refuse",
    ):
        super().__init__()  # the answer is made when the wait ends (``__call__``), with these headers
        self.watcher = watcher
        self.snapshot = snapshot
        self.seconds = seconds
        self.extra_headers = dict(headers or {})
        self.vary = vary
        self.when_busy = when_busy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        release_request_slot(scope)
        applied = True
        final = self.snapshot
        if not self.snapshot.terminal and self.seconds > 0:
            try:
                subscription = self.watcher.subscribe(self.snapshot)
            except ServiceUnavailableError as error:
                if self.when_busy == "refuse":
                    await send_error(send, error)
                    return
                applied = False
            else:
                with subscription, PREFER_WAITS.track_inprogress():
                    left, last = await unless_disconnected(receive, lambda: self._until_ended(subscription))
                if left or last is None:
                    return  # nobody is left to answer
                final = last
                # Cut short because the process is stopping: the state now, and no claim to have waited.
                applied = not (subscription.closed and not final.terminal)
        if final.deleted or final.json is None:
            await send_error(send, video_not_found(final.video_id))
            return
        headers = dict(self.extra_headers)
        if applied:
            headers["Preference-Applied"] = f"wait={self.seconds}"
            if self.vary:
                headers["Vary"] = "Prefer"
        await Response(final.json, media_type=self.media_type, headers=headers)(scope, receive, send)

    async def _until_ended(self, subscription: Subscription) -> Snapshot:
        loop = asyncio.get_running_loop()
        ends_at = loop.time() + self.seconds
        seen = subscription.latest.state_id
        while not subscription.closed and (remaining := ends_at - loop.time()) > 0:
            snapshot = await subscription.next(seen, remaining)
            if snapshot is None:
                break
            if snapshot.terminal:
                return snapshot
            seen = snapshot.state_id
        return subscription.latest
