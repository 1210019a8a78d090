"""``/v1/videos``: OpenAI's Videos API, plus ``POST /v1/videos/{id}/cancel``."""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from starlette.datastructures import UploadFile

from api.deps import ApiKeyDep, SessionDep, SettingsDep, StorageDep, SubmitterDep
from api.schemas import ErrorResponse, VideoCreateRequest, VideoDeleted, VideoList, VideoObject
from api.serializers import cursor_list
from videogen.errors import InvalidRequestError, NotFoundError, RequestTooLargeError, UnsupportedMediaTypeError
from videogen.storage import ObjectNotFoundError
from videogen.videos import service
from videogen.videos.assets import CONTENT_TYPES, EXTENSIONS
from videogen.videos.parameters import VideoRequest

router = APIRouter(
    prefix="/v1/videos",
    tags=["videos"],
    responses={code: {"model": ErrorResponse} for code in (400, 401, 404)},
)

_METADATA_FIELD = re.compile(r"metadata\[(.+)\]")
# A create request is a prompt and a few numbers; anything near this size is a mistake or abuse.
MAX_BODY_BYTES = 256 * 1024


async def _read_body(request: Request) -> dict[str, Any]:
    """The create parameters from JSON or a form, as one dict for the pydantic model.

    Forms carry ``metadata`` the way the ``openai`` SDK encodes nested objects
    (``metadata[key]=value``) or as a JSON string.
    """
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise RequestTooLargeError(f"The request body is larger than {MAX_BODY_BYTES // 1024} KiB.")
    if content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
        form = await request.form()
        data: dict[str, Any] = {}
        metadata: dict[str, Any] = {}
        for key, value in form.multi_items():
            if isinstance(value, UploadFile) or key == "input_reference":
                raise InvalidRequestError(
                    "input_reference (image-to-video) is not supported by this server yet.",
                    param="input_reference",
                    code="unsupported_parameter",
                )
            if match := _METADATA_FIELD.fullmatch(key):
                metadata[match.group(1)] = value
            elif key == "metadata":
                try:
                    data["metadata"] = json.loads(value)
                except ValueError:
                    raise InvalidRequestError("metadata must be a JSON object of strings", param="metadata") from None
            else:
                data[key] = value
        if metadata:
            data["metadata"] = {**data.get("metadata", {}), **metadata}
        return data
    if content_type in ("application/json", ""):
        raw = await request.body()
        if len(raw) > MAX_BODY_BYTES:
            raise RequestTooLargeError(f"The request body is larger than {MAX_BODY_BYTES // 1024} KiB.")
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise InvalidRequestError(
                f"We could not parse the JSON body of your request ({exc}).", code="invalid_json"
            ) from None
        if not isinstance(data, dict):
            raise InvalidRequestError("The request body must be a JSON object.", code="invalid_json")
        if "input_reference" in data:
            raise InvalidRequestError(
                "input_reference (image-to-video) is not supported by this server yet.",
                param="input_reference",
                code="unsupported_parameter",
            )
        return data
    raise UnsupportedMediaTypeError(
        f"Unsupported Content-Type {content_type!r}; send application/json or multipart/form-data."
    )


_CREATE_BODY_SCHEMA = {"$ref": "#/components/schemas/VideoCreateRequest"}


@router.post(
    "",
    response_model=VideoObject,
    summary="Create a video",
    description=(
        "Queues a generation job. Send `Idempotency-Key` to make retries safe: the same key and body within "
        "24 h return the original video; the same key with another body is a 409."
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
    responses={403: {"model": ErrorResponse}, 409: {"model": ErrorResponse}, 429: {"model": ErrorResponse}},
)
async def create_video(
    request: Request, response: Response, submitter: SubmitterDep, session: SessionDep, api_key: ApiKeyDep
) -> VideoObject:
    body = VideoCreateRequest.model_validate(await _read_body(request))
    video_request = VideoRequest(**body.model_dump())
    idempotency_key = request.headers.get("idempotency-key")

    def submit() -> VideoObject:
        submission = submitter.submit(session, api_key, video_request, idempotency_key)
        response.headers.update(submission.rate_limit.headers())
        if submission.replayed:
            response.headers["Idempotent-Replayed"] = "true"
        return service.describe(session, submission.video)

    return await run_in_threadpool(submit)


@router.get("", response_model=VideoList, summary="List videos")
def list_videos(
    session: SessionDep,
    api_key: ApiKeyDep,
    after: Annotated[str | None, Query(description="Cursor: the id of the last video of the previous page.")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    order: Annotated[Literal["asc", "desc"], Query()] = "desc",
) -> VideoList:
    page = service.list_videos(session, api_key.organization_id, after=after, limit=limit, order=order)
    return cursor_list(VideoList, [service.describe(session, v) for v in page.items], page.has_more)


@router.get("/{video_id}", response_model=VideoObject, summary="Retrieve a video")
def retrieve_video(video_id: str, session: SessionDep, api_key: ApiKeyDep) -> VideoObject:
    return service.describe(session, service.get_video(session, api_key.organization_id, video_id))


@router.delete("/{video_id}", response_model=VideoDeleted, summary="Delete a video (cancels it if still running)")
def delete_video(video_id: str, session: SessionDep, storage: StorageDep, api_key: ApiKeyDep) -> VideoDeleted:
    video = service.get_video(session, api_key.organization_id, video_id)
    service.delete_video(session, storage, video)
    return VideoDeleted(id=video.id)


@router.post("/{video_id}/cancel", response_model=VideoObject, summary="Cancel a queued or running video")
def cancel_video(video_id: str, session: SessionDep, api_key: ApiKeyDep) -> VideoObject:
    video = service.get_video(session, api_key.organization_id, video_id)
    return service.describe(session, service.cancel_video(session, video))


@router.get(
    "/{video_id}/content",
    summary="Download a video or its thumbnail",
    response_class=Response,
    responses={200: {"content": {"video/mp4": {}, "image/jpeg": {}}}, 302: {"description": "Presigned URL"}},
)
def download_content(
    video_id: str,
    settings: SettingsDep,
    session: SessionDep,
    storage: StorageDep,
    api_key: ApiKeyDep,
    variant: Annotated[Literal["video", "thumbnail", "spritesheet"], Query()] = "video",
) -> Response:
    if variant == "spritesheet":
        raise InvalidRequestError(
            "The spritesheet variant is not supported.", param="variant", code="unsupported_variant"
        )
    video = service.get_video(session, api_key.organization_id, video_id)
    key = service.content_key(video, variant)
    filename = f"{video.id}.{EXTENSIONS[variant]}"
    if settings.content_redirect:
        url = storage.presigned_url(key, settings.presign_expiry_seconds, filename=filename)
        if url:
            return RedirectResponse(url, status_code=302)
    try:
        stored = storage.open(key)
    except ObjectNotFoundError:
        raise NotFoundError(f"The content of video '{video.id}' is no longer available.", param="video_id") from None
    return StreamingResponse(
        stored.chunks,
        media_type=CONTENT_TYPES[variant],
        headers={"Content-Length": str(stored.size), "Content-Disposition": f'attachment; filename="{filename}"'},
    )
