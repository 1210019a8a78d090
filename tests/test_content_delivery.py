"""Downloads as browsers' video players, ``curl`` and caches use them: HEAD, one ``Range`` at a
time (206, 416), validators (``ETag``, ``Last-Modified``, 304, ``If-Range``), ``Cache-Control``
and ``Content-Disposition``; on local disk and on S3, and through presigned redirects.

One small video per stack, made once for the module and read many times."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx
import pytest

from tests.helpers import JOB_DEADLINE, QUICK, assert_error, wait_for
from tests.stack import ServiceStack


@dataclass(frozen=True)
class Clip:
    """A completed video of the stack, the key of its organization, and its whole MP4 and JPEG."""

    video_id: str
    key: str
    mp4: bytes
    jpeg: bytes


_clips: dict[str, Clip] = {}


# The shortest clip the tiny model makes (5 frames, one step): what is served matters here, not what it shows.
SHORTEST: dict[str, object] = {**QUICK, "size": "128x128", "fps": 4}


def clip_of(stack: ServiceStack, key: str | None = None) -> Clip:
    """The module's one video on ``stack``, made on first use, by ``key``'s organization (a new one
    if None)."""
    if stack.name not in _clips:
        key = key or stack.create_key(f"content-{secrets.token_hex(3)}")
        with httpx.Client(base_url=stack.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as http:
            created = http.post("/videos", json=SHORTEST)
            assert created.status_code == 200, created.text
            video_id = created.json()["id"]
            video = wait_for(http, video_id, lambda v: v["status"] in ("completed", "failed"), JOB_DEADLINE)
            assert video["status"] == "completed", video
            mp4 = http.get(f"/videos/{video_id}/content")
            jpeg = http.get(f"/videos/{video_id}/content", params={"variant": "thumbnail"})
            assert mp4.status_code == jpeg.status_code == 200
        _clips[stack.name] = Clip(video_id, key, mp4.content, jpeg.content)
    return _clips[stack.name]


@pytest.fixture(scope="module")
def clip(stack: ServiceStack, api_key: str) -> Clip:
    return clip_of(stack, api_key)


@pytest.fixture
def owner(stack: ServiceStack, clip: Clip) -> Iterator[httpx.Client]:
    """HTTP as the clip's organization, redirects not followed."""
    with httpx.Client(base_url=stack.base_url, headers={"Authorization": f"Bearer {clip.key}"}, timeout=60) as http:
        yield http


def content(clip: Clip) -> str:
    return f"/videos/{clip.video_id}/content"


def test_head_has_the_headers_of_a_get_and_no_body(owner: httpx.Client, clip: Clip) -> None:
    got = owner.get(content(clip))
    head = owner.head(content(clip))
    assert head.status_code == 200
    assert head.content == b""
    assert int(head.headers["content-length"]) == len(clip.mp4) == len(got.content)
    for name in ("content-type", "etag", "last-modified", "accept-ranges", "cache-control", "content-disposition"):
        assert head.headers[name] == got.headers[name], name
    assert got.headers["content-type"] == "video/mp4"
    assert got.headers["accept-ranges"] == "bytes"
    assert got.headers["content-disposition"] == f'attachment; filename="{clip.video_id}.mp4"'
    cache_control = [part.strip() for part in got.headers["cache-control"].split(",")]
    assert "private" in cache_control and "immutable" in cache_control  # the content is per organization
    max_age = next(int(part.split("=")[1]) for part in cache_control if part.startswith("max-age="))
    assert 0 < max_age <= 24 * 3600  # no longer than the tier's retention keeps the files

    ranged_head = owner.head(content(clip), headers={"Range": "bytes=0-9"})  # ranges are for GET only
    assert ranged_head.status_code == 200 and ranged_head.headers["content-length"] == str(len(clip.mp4))


def test_one_range_is_answered_206_with_exactly_those_bytes(owner: httpx.Client, clip: Clip) -> None:
    size = len(clip.mp4)
    for header, start, stop in [
        ("bytes=10-99", 10, 100),  # first-last
        (f"bytes={size - 30}-", size - 30, size),  # open: to the end
        ("bytes=-50", size - 50, size),  # suffix: the last 50 bytes
        ("bytes=0-", 0, size),
        (f"bytes=5-{size * 10}", 5, size),  # a last byte past the end is clipped
        (f"bytes=-{size * 10}", 0, size),  # so is a suffix longer than the content
    ]:
        response = owner.get(content(clip), headers={"Range": header})
        assert response.status_code == 206, (header, response.text)
        assert response.content == clip.mp4[start:stop], header
        assert response.headers["content-range"] == f"bytes {start}-{stop - 1}/{size}", header
        assert response.headers["content-length"] == str(stop - start), header
        assert response.headers["content-type"] == "video/mp4"
        assert response.headers["accept-ranges"] == "bytes"


def test_a_range_that_starts_past_the_end_is_a_416_in_the_error_format(owner: httpx.Client, clip: Clip) -> None:
    size = len(clip.mp4)
    for header in (f"bytes={size}-", f"bytes={size + 100}-{size + 200}", "bytes=-0"):
        response = owner.get(content(clip), headers={"Range": header})
        assert_error(response, 416, "invalid_request_error", "range_not_satisfiable")
        assert response.headers["content-range"] == f"bytes */{size}", header


def test_several_or_malformed_ranges_get_the_whole_content(owner: httpx.Client, clip: Clip) -> None:
    for header in ("bytes=0-9,20-29", "bytes=50-10", "bytes=-", "bytes=abc", "items=0-9", ""):
        response = owner.get(content(clip), headers={"Range": header})
        assert response.status_code == 200, header
        assert response.content == clip.mp4, header
        assert "content-range" not in response.headers


def test_etag_and_last_modified_answer_conditional_requests_with_304(owner: httpx.Client, clip: Clip) -> None:
    first = owner.head(content(clip))
    etag, last_modified = first.headers["etag"], first.headers["last-modified"]
    assert etag.startswith('"') and etag.endswith('"') and not etag.startswith("W/")  # strong
    assert owner.get(content(clip)).headers["etag"] == etag  # the same object, the same tag
    assert parsedate_to_datetime(last_modified) <= datetime.now(UTC)

    for method in ("GET", "HEAD"):
        for condition in (
            {"If-None-Match": etag},
            {"If-None-Match": f'"other", W/{etag}'},  # If-None-Match compares weakly
            {"If-None-Match": "*"},
            {"If-Modified-Since": last_modified},
        ):
            response = owner.request(method, content(clip), headers=condition)
            assert response.status_code == 304, (method, condition)
            assert response.content == b""
            assert response.headers["etag"] == etag
            assert response.headers["last-modified"] == last_modified

    changed = owner.get(content(clip), headers={"If-None-Match": '"an-older-copy"'})
    assert changed.status_code == 200 and changed.content == clip.mp4
    # If-None-Match decides alone when both are sent (RFC 9110 13.2.2).
    both = owner.get(content(clip), headers={"If-None-Match": '"an-older-copy"', "If-Modified-Since": last_modified})
    assert both.status_code == 200
    # The thumbnail is another resource, with its own tag.
    assert owner.head(content(clip), params={"variant": "thumbnail"}).headers["etag"] != etag


def test_if_range_resumes_only_the_same_copy(owner: httpx.Client, clip: Clip) -> None:
    head = owner.head(content(clip))
    for validator in (head.headers["etag"], head.headers["last-modified"]):
        resumed = owner.get(content(clip), headers={"Range": "bytes=100-", "If-Range": validator})
        assert resumed.status_code == 206 and resumed.content == clip.mp4[100:]
    stale = owner.get(content(clip), headers={"Range": "bytes=100-", "If-Range": '"an-older-copy"'})
    assert stale.status_code == 200 and stale.content == clip.mp4  # a changed copy comes whole


def test_the_thumbnail_is_served_the_same_way(owner: httpx.Client, clip: Clip) -> None:
    assert clip.jpeg[:3] == b"\xff\xd8\xff"
    params = {"variant": "thumbnail"}
    head = owner.head(content(clip), params=params)
    assert head.status_code == 200 and head.headers["content-length"] == str(len(clip.jpeg))
    assert head.headers["content-type"] == "image/jpeg"
    assert head.headers["content-disposition"] == f'attachment; filename="{clip.video_id}.jpg"'
    part = owner.get(content(clip), params=params, headers={"Range": "bytes=-100"})
    assert part.status_code == 206 and part.content == clip.jpeg[-100:]
    unchanged = owner.get(content(clip), params=params, headers={"If-None-Match": head.headers["etag"]})
    assert unchanged.status_code == 304


def test_content_of_an_unknown_video_is_still_a_404_whatever_the_headers(owner: httpx.Client) -> None:
    missing = "/videos/video_nope/content"
    assert_error(owner.get(missing, headers={"Range": "bytes=0-1"}), 404, "invalid_request_error")
    assert_error(owner.get(missing, headers={"If-None-Match": "*"}), 404, "invalid_request_error")
    assert owner.head(missing).status_code == 404


def test_presigned_redirects_keep_working_for_head_and_ranges(
    production_stack: ServiceStack, redirecting_api: ServiceStack
) -> None:
    clip = clip_of(production_stack)
    headers = {"Authorization": f"Bearer {clip.key}"}
    url = f"{redirecting_api.base_url}{content(clip)}"

    head = httpx.head(url, headers=headers)
    assert head.status_code == 302
    signed_head = httpx.head(head.headers["location"])  # signed for HEAD: S3 checks the method
    assert signed_head.status_code == 200
    assert signed_head.headers["content-length"] == str(len(clip.mp4))

    get = httpx.get(url, headers={**headers, "Range": "bytes=10-99"})
    assert get.status_code == 302
    part = httpx.get(get.headers["location"], headers={"Range": "bytes=10-99"})  # S3 honours Range itself
    assert part.status_code == 206 and part.content == clip.mp4[10:100]
    followed = httpx.get(url, headers={**headers, "Range": "bytes=-20"}, follow_redirects=True)
    assert followed.status_code == 206 and followed.content == clip.mp4[-20:]
