"""Serving a stored object over HTTP: ``HEAD``, single ``Range`` requests, validators and caching.

What a browser's video player, ``curl -C -`` or a CDN in front of the API needs of a download
(RFC 9110): ``Accept-Ranges``, a ``206`` with ``Content-Range`` for one range, a ``416`` (in our
error format, with ``Content-Range: bytes */size``) for a range that starts past the end, a strong
``ETag`` and ``Last-Modified``, ``304`` for ``If-None-Match`` / ``If-Modified-Since``, ``If-Range``,
``Cache-Control`` and ``Content-Disposition``.

Starlette's ``FileResponse`` does ranges for local files, but not the way this API must answer:
its ``416`` and malformed-range ``400`` are plain text, several ranges become a multipart answer,
it has no ``304``, and its ETag hashes the file's mtime; and S3 objects are not files. So one path
serves both stores here, reading only the bytes it sends (``Storage.stat`` and a ranged
``Storage.open``). A ``Range`` that asks for several ranges, or that cannot be parsed, is ignored
and the whole object sent with a 200, as RFC 9110 allows: players ask for one range at a time.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Literal

from fastapi.responses import Response, StreamingResponse

from videogen.errors import VideogenError
from videogen.storage import ByteRange, ObjectInfo, StoredObject

Method = Literal["GET", "HEAD"]

# One range of bytes: "bytes=first-last", "bytes=first-" or "bytes=-suffix_length".
_SINGLE_RANGE = re.compile(r"bytes\s*=\s*(\d*)\s*-\s*(\d*)", re.IGNORECASE)


class RangeNotSatisfiableError(VideogenError):
    """416: the one range asked for starts at or past the end of the content."""

    status_code = 416
    type = "invalid_request_error"
    code = "range_not_satisfiable"

    def __init__(self, size: int):
        super().__init__(
            f"The requested range is not satisfiable: the content is {size} bytes.",
            param="Range",
            headers={"Content-Range": f"bytes */{size}", "Accept-Ranges": "bytes"},
        )


class _Unsatisfiable:
    """``parse_range``'s answer for a range that selects no byte of the content."""


UNSATISFIABLE = _Unsatisfiable()


def parse_range(header: str | None, size: int) -> ByteRange | _Unsatisfiable | None:
    """The one byte range ``header`` asks for, clipped to ``size``; ``UNSATISFIABLE`` when it
    selects nothing (it starts at or past the end, or asks for the last 0 bytes); None when the
    whole content should be sent: no header, another unit, several ranges, or a malformed one."""
    if header is None:
        return None
    match = _SINGLE_RANGE.fullmatch(header.strip())
    if match is None:  # several ranges, another unit, or not a range at all
        return None
    first_text, last_text = match.groups()
    try:
        first = int(first_text) if first_text else None
        last = int(last_text) if last_text else None
    except ValueError:  # more digits than int() reads: not a range worth honouring
        return None
    if first is None:
        if last is None:
            return None  # "bytes=-"
        if last == 0 or size == 0:
            return UNSATISFIABLE
        return ByteRange(max(size - last, 0), size)
    if last is not None and last < first:
        return None  # invalid: RFC 9110 says to ignore it
    if first >= size:
        return UNSATISFIABLE
    return ByteRange(first, size if last is None else min(last + 1, size))


def entity_tag(key: str, info: ObjectInfo) -> str:
    """A strong ETag for the object at ``key``: a hash of the key, the size and the store's version
    stamp (``ObjectInfo.version``). It needs no reading of the content and no record of its own,
    and every API replica computes the same one for the same object, before and after a restart;
    the hash keeps the store's key and stamp out of what clients see."""
    digest = hashlib.sha256(f"{key}\0{info.size}\0{info.version}".encode()).hexdigest()
    return f'"{digest[:32]}"'


def http_date(moment: datetime) -> str:
    return format_datetime(moment.replace(microsecond=0), usegmt=True)


def _entity_tags(header: str) -> list[str]:
    """The tags an ``If-None-Match`` lists, weak ones compared by their opaque part (RFC 9110 weak
    comparison); ``*`` stands for any."""
    return [tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()]


def _not_modified(headers: dict[str, str], etag: str, modified: datetime) -> bool:
    """Whether a conditional GET or HEAD should be answered 304 (RFC 9110 13.2.2: If-None-Match,
    and If-Modified-Since only without it)."""
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        tags = _entity_tags(if_none_match)
        return "*" in tags or etag in tags
    if_modified_since = headers.get("if-modified-since")
    if if_modified_since is not None:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False  # an invalid date is ignored
        if since.tzinfo is None:
            return False
        return modified.replace(microsecond=0) <= since
    return False


def _range_still_applies(headers: dict[str, str], etag: str, last_modified: str) -> bool:
    """``If-Range``: the range holds only if the client's copy is still this one (strong
    comparison: the same ETag, or exactly this Last-Modified)."""
    if_range = headers.get("if-range")
    if if_range is None:
        return True
    if_range = if_range.strip()
    return if_range == etag or if_range == last_modified


@dataclass(frozen=True)
class Content:
    """What a download serves: the object's key and what the store says of it, how to read it,
    and the headers that describe it."""

    key: str
    info: ObjectInfo
    read: Callable[[ByteRange | None], StoredObject]
    media_type: str
    filename: str
    max_age_seconds: int


def content_response(method: Method, headers: dict[str, str], content: Content) -> Response:
    """The answer to a ``GET`` or ``HEAD`` of ``content``, given the request's headers (lowercase
    names): 304, 206, 416 (raised) or 200. ``HEAD`` has the headers ``GET`` would have, no body, and
    ignores ``Range`` (RFC 9110 defines ranges for GET only)."""
    info = content.info
    etag = entity_tag(content.key, info)
    last_modified = http_date(info.modified)
    validators = {
        "ETag": etag,
        "Last-Modified": last_modified,
        # Per organization (the key decides who may read it), and never changed once made.
        "Cache-Control": f"private, max-age={max(content.max_age_seconds, 0)}, immutable",
    }
    if _not_modified(headers, etag, info.modified):
        return Response(status_code=304, headers=validators)

    described = {
        **validators,
        "Accept-Ranges": "bytes",
        "Content-Disposition": f'attachment; filename="{content.filename}"',
    }
    byte_range = None
    if method == "GET" and _range_still_applies(headers, etag, last_modified):
        parsed = parse_range(headers.get("range"), info.size)
        if isinstance(parsed, _Unsatisfiable):
            raise RangeNotSatisfiableError(info.size)
        byte_range = parsed
    if method == "HEAD":
        return Response(
            status_code=200, media_type=content.media_type, headers={**described, "Content-Length": str(info.size)}
        )
    if byte_range is None:
        stored = content.read(None)
        return StreamingResponse(
            stored.chunks,
            media_type=content.media_type,
            headers={**described, "Content-Length": str(stored.size)},
        )
    stored = content.read(byte_range)
    return StreamingResponse(
        stored.chunks,
        status_code=206,
        media_type=content.media_type,
        headers={
            **described,
            "Content-Length": str(byte_range.length),
            "Content-Range": f"bytes {byte_range.start}-{byte_range.stop - 1}/{info.size}",
        },
    )
