"""``/v1/videos``: OpenAI's Videos API, plus ``POST /v1/videos/{id}/cancel``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal, cast

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from api.content import Content, content_response
from api.deps import (
    ApiKeyDep,
    ApiKeyNowDep,
    QueuePositionsDep,
    SessionDep,
    SettingsDep,
    StorageDep,
    SubmitterDep,
    UnitOfWorkRoute,
    VideoWatcherDep,
    commit_when_done,
)
from api.events import EVENT_STREAM, EventStream
from api.parameters import IdempotencyKey, storable_parameters
from api.prefer import PreferWaitDep, WaitingResponse
from api.request_bodies import read_create_body
from api.schemas import ErrorResponse, VideoCreateRequest, VideoDeleted, VideoList, VideoObject, VideoRemixRequest
from api.serializers import ModelResponse, cursor_list
from videogen.database import utcnow
from videogen.errors import InvalidRequestError, NotFoundError
from videogen.settings import Settings
from videogen.storage import ByteRange, ObjectNotFoundError, PresignedMethod, StoredObject
from videogen.videos import service
from videogen.videos.assets import CONTENT_TYPES, EXTENSIONS, Variant
from videogen.videos.objects import to_video_object
from videogen.videos.parameters import VideoRequest
from videogen.videos.queue_positions import QueuePositions
from videogen.videos.submission import Submission
from videogen.videos.tables import VideoStatus

router = APIRouter(
    route_class=UnitOfWorkRoute,
    prefix="/v1/videos",
    tags=["videos"],
    dependencies=[Depends(storable_parameters)],
    responses={code: {"model": ErrorResponse} for code in (400, 401, 403, 404)},
)
# What a create or remix can answer besides: a conflicting Idempotency-Key, a limit, and for a
# create, a body too large or of a type it does not read.
_SUBMIT_ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorResponse} for code in (409, 429)}

# OpenAI's Videos API endpoints that videogen does not offer, and what to use instead. Declared
# before ``/{video_id}`` so that ``GET /v1/videos/edits`` is not read as a video id.
UNSUPPORTED_ENDPOINTS = {
    "edits": "video edits (POST /v1/videos/edits); remix a completed video with POST /v1/videos/{id}/remix",
    "extensions": "video extensions (POST /v1/videos/extensions)",
    "characters": "characters (/v1/videos/characters)",
}


def _unsupported(feature: str) -> Callable[[], None]:
    def endpoint() -> None:
        raise NotFoundError(
            f"This server does not offer OpenAI's {UNSUPPORTED_ENDPOINTS[feature]}.", code="unsupported_endpoint"
        )

    return endpoint


for _feature in UNSUPPORTED_ENDPOINTS:
    for _path in (f"/{_feature}", f"/{_feature}/{{rest:path}}"):
        router.add_api_route(
            _path, _unsupported(_feature), methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False
        )


# A create request is a prompt and a few numbers, plus at most one image (base64 in JSON adds a third).
MAX_TEXT_BODY_BYTES = 256 * 1024


def create_body_limit(settings: Settings) -> int:
    """The largest create body: text fields plus one image in base64 (``api.limits`` enforces it)."""
    return MAX_TEXT_BODY_BYTES + settings.input_image_max_bytes * 4 // 3


def _video_request(body: VideoCreateRequest, upload: bytes | None) -> VideoRequest:
    """The wire request as the domain's ``VideoRequest`` (the image as bytes or as its URL)."""
    reference: bytes | str | None = upload
    if body.input_reference is not None:
        if body.input_reference.file_id is not None or body.input_reference.image_url is None:
            raise InvalidRequestError(
                "input_reference by file_id is not supported here: upload the image as the input_reference file "
                'part, or send {"image_url": "data:image/png;base64,..."} (or an https URL).',
                param="input_reference",
                code="unsupported_parameter",
            )
        if upload is not None:
            raise InvalidRequestError(
                "Send input_reference once: as a file or as an image_url.", param="input_reference"
            )
        reference = body.input_reference.image_url
    fields = body.model_dump(exclude={"input_reference"})
    return VideoRequest(**fields, input_reference=reference)


def _submission_headers(submission: Submission) -> dict[str, str]:
    """The rate-limit headers, and whether an Idempotency-Key replayed an earlier request."""
    headers = submission.rate_limit.headers()
    if submission.replayed:
        headers["Idempotent-Replayed"] = "true"
    return headers


def _submitted(session: Session, positions: QueuePositions, submission: Submission) -> ModelResponse:
    """A create's or remix's answer: the video and ``_submission_headers``."""
    video = service.describe(session, submission.video, positions)
    return ModelResponse(video, headers=_submission_headers(submission))


_CREATE_BODY_SCHEMA = {"$ref": "#/components/schemas/VideoCreateRequest"}


@router.post(
    "",
    response_model=VideoObject,
    summary="Create a video",
    description=(
        "Queues a generation job. Send `Idempotency-Key` to make retries safe: the same key and body within "
        "24 h return the original video; the same key with another body is a 409. With `Prefer: wait=N` the "
        "answer comes once the video has ended or after N seconds."
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": _CREATE_BODY_SCHEMA},
                "multipart/form-data": {"schema": _CREATE_BODY_SCHEMA},
            },
        }
    },
    responses={**_SUBMIT_ERRORS, 413: {"model": ErrorResponse}, 415: {"model": ErrorResponse}},
)
async def create_video(
    request: Request,
    submitter: SubmitterDep,
    session: SessionDep,
    positions: QueuePositionsDep,
    api_key: ApiKeyNowDep,
    watcher: VideoWatcherDep,
    wait: PreferWaitDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    raw = await read_create_body(request)
    video_request = _video_request(VideoCreateRequest.model_validate(raw.fields), raw.upload)
    if wait:
        watcher.check_room()  # a 503 now, before there is a video the client would not hear of

    def submit(session: Session) -> Response:
        submission = submitter.submit(session, api_key, video_request, idempotency_key)
        if wait is None:
            return _submitted(session, positions, submission)
        snapshot = watcher.snapshot(session, submission.video)
        # Sent once the unit of work has committed (and nudged the worker): waiting holds nothing.
        return WaitingResponse(watcher, snapshot, wait, headers=_submission_headers(submission), when_busy="answer")

    return cast(Response, await run_in_threadpool(commit_when_done(submit), session=session))


@router.post(
    "/{video_id}/remix",
    response_model=VideoObject,
    summary="Remix a completed video: same parameters, input image and seed, a new prompt",
    responses=_SUBMIT_ERRORS,
)
def remix_video(
    video_id: str,
    body: VideoRemixRequest,
    submitter: SubmitterDep,
    session: SessionDep,
    positions: QueuePositionsDep,
    api_key: ApiKeyDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    submission = submitter.remix(session, api_key, video_id, body.prompt, idempotency_key)
    return _submitted(session, positions, submission)


@router.get("", response_model=VideoList, summary="List videos")
def list_videos(
    session: SessionDep,
    positions: QueuePositionsDep,
    api_key: ApiKeyDep,
    after: Annotated[str | None, Query(description="Cursor: the id of the last video of the previous page.")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    order: Annotated[Literal["asc", "desc"], Query()] = "desc",
    status: Annotated[
        VideoStatus | None, Query(description="Extension: only videos in this status (e.g. failed).")
    ] = None,
    model: Annotated[str | None, Query(description="Extension: only videos of this model.")] = None,
) -> Response:
    page = service.list_videos(
        session, api_key.organization_id, after=after, limit=limit, order=order, status=status, model=model
    )
    return ModelResponse(cursor_list(VideoList, service.describe_all(session, page.items, positions), page.has_more))


@router.get(
    "/{video_id}",
    response_model=VideoObject,
    summary="Retrieve a video",
    description="With `Prefer: wait=N` the answer comes once the video has ended or after N seconds.",
)
def retrieve_video(
    video_id: str,
    session: SessionDep,
    positions: QueuePositionsDep,
    watcher: VideoWatcherDep,
    api_key: ApiKeyDep,
    wait: PreferWaitDep,
) -> Response:
    video = service.get_video(session, api_key.organization_id, video_id)
    if wait is None:
        return ModelResponse(service.describe(session, video, positions))
    watcher.check_room()
    return WaitingResponse(watcher, watcher.snapshot(session, video), wait, vary=True)


@router.get(
    "/{video_id}/events",
    summary="Follow a video's status live (server-sent events)",
    description=(
        "A `text/event-stream`: the video object at once (`event: video.updated`), then at every change of "
        "status, phase or progress, ending with `video.completed`, `video.failed` or `video.cancelled` (or "
        "`video.deleted`), after which the stream closes. Each event's `id` names the state: reconnect with "
        "`Last-Event-ID` to get only what you have not seen (204 if you saw the end). A `: keep-alive` comment "
        "is sent when nothing happens for a while."
    ),
    response_class=Response,
    responses={
        200: {
            "content": {EVENT_STREAM: {"schema": {"type": "string"}}},
            "description": "The stream of events (`event:`, `id:`, `data:` the video object as JSON)",
        },
        204: {"description": "Last-Event-ID is the final state's: nothing more will come"},
    },
)
def follow_video(
    video_id: str,
    session: SessionDep,
    settings: SettingsDep,
    watcher: VideoWatcherDep,
    api_key: ApiKeyDep,
    last_event_id: Annotated[
        str | None,
        Header(
            alias="Last-Event-ID",
            description="The `id` of the last event received (EventSource sends it when it reconnects).",
        ),
    ] = None,
) -> Response:
    video = service.get_video(session, api_key.organization_id, video_id)
    snapshot = watcher.snapshot(session, video)
    if snapshot.terminal and snapshot.state_id == last_event_id:
        return Response(status_code=204)  # tells an EventSource to stop reconnecting
    watcher.check_room()
    return EventStream(
        watcher,
        snapshot,
        last_event_id,
        keepalive_seconds=settings.events_keepalive_seconds,
        max_seconds=settings.events_max_stream_seconds,
    )


@router.delete("/{video_id}", response_model=VideoDeleted, summary="Delete a video (cancels it if still running)")
def delete_video(video_id: str, session: SessionDep, storage: StorageDep, api_key: ApiKeyDep) -> VideoDeleted:
    video = service.get_video(session, api_key.organization_id, video_id)
    service.delete_video(session, storage, video)
    return VideoDeleted(id=video.id)


@router.post("/{video_id}/cancel", response_model=VideoObject, summary="Cancel a queued or running video")
def cancel_video(video_id: str, session: SessionDep, api_key: ApiKeyDep) -> VideoObject:
    video = service.get_video(session, api_key.organization_id, video_id)
    return to_video_object(service.cancel_video(session, video))  # cancelled: no queue position


_CONTENT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"video/mp4": {}, "image/jpeg": {}}, "description": "The whole content"},
    206: {"content": {"video/mp4": {}, "image/jpeg": {}}, "description": "The one byte range asked for"},
    302: {"description": "Presigned URL (CONTENT_REDIRECT)"},
    304: {"description": "Not modified (If-None-Match, If-Modified-Since)"},
    416: {"model": ErrorResponse, "description": "The range starts past the end (Content-Range: bytes */size)"},
}


@router.get(
    "/{video_id}/content",
    summary="Download a video or its thumbnail (Range requests, ETag, conditional requests)",
    response_class=Response,
    responses=_CONTENT_RESPONSES,
)
@router.head(
    "/{video_id}/content",
    summary="The headers a download would have (size, ETag, Last-Modified), without the content",
    response_class=Response,
    responses=_CONTENT_RESPONSES,
)
def download_content(
    video_id: str,
    request: Request,
    settings: SettingsDep,
    session: SessionDep,
    storage: StorageDep,
    api_key: ApiKeyDep,
    variant: Annotated[
        Variant,
        Query(description="video (MP4), thumbnail (JPEG, the middle frame) or spritesheet (JPEG grid of frames)."),
    ] = "video",
    byte_range: Annotated[
        str | None, Header(alias="Range", description="One range, e.g. `bytes=0-1023`, `bytes=1024-`, `bytes=-4096`.")
    ] = None,
    if_range: Annotated[
        str | None,
        Header(alias="If-Range", description="Honour Range only if the content still has this ETag or Last-Modified."),
    ] = None,
    if_none_match: Annotated[
        str | None, Header(alias="If-None-Match", description="304 if the content has one of these ETags.")
    ] = None,
    if_modified_since: Annotated[
        str | None, Header(alias="If-Modified-Since", description="304 if unchanged since (without If-None-Match).")
    ] = None,
) -> Response:
    video = service.get_video(session, api_key.organization_id, video_id)
    key = service.content_key(video, variant)
    filename = f"{video.id}.{EXTENSIONS[variant]}"
    method: PresignedMethod = "HEAD" if request.method == "HEAD" else "GET"
    if settings.content_redirect:
        # Signed for the request's method (S3 signs it); S3 answers Range and conditionals itself.
        url = storage.presigned_url(key, settings.presign_expiry_seconds, filename=filename, method=method)
        if url:
            return RedirectResponse(url, status_code=302)
    gone = NotFoundError(f"The content of video '{video.id}' is no longer available.", param="video_id")
    try:
        info = storage.stat(key)
    except ObjectNotFoundError:
        raise gone from None

    def read(part: ByteRange | None) -> StoredObject:
        try:
            return storage.open(key, part)
        except ObjectNotFoundError:  # deleted since the stat (the video was deleted meanwhile)
            raise gone from None

    conditions = {
        "range": byte_range,
        "if-range": if_range,
        "if-none-match": if_none_match,
        "if-modified-since": if_modified_since,
    }
    content = Content(
        key=key,
        info=info,
        read=read,
        media_type=CONTENT_TYPES[variant],
        filename=filename,
        max_age_seconds=_seconds_until(video.expires_at),
    )
    return content_response(method, {name: value for name, value in conditions.items() if value is not None}, content)


# How long a client may keep content whose video has no expiry (retention is set per tier).
_DEFAULT_CONTENT_MAX_AGE_SECONDS = 24 * 3600


def _seconds_until(expires_at: datetime | None) -> int:
    """How long a client may reuse its copy: until the video's files expire."""
    if expires_at is None:
        return _DEFAULT_CONTENT_MAX_AGE_SECONDS
    return max(int((expires_at - utcnow()).total_seconds()), 0)
