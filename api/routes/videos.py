"""``/v1/videos``: OpenAI's Videos API, plus ``POST /v1/videos/{id}/cancel``."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from api.deps import (
    ApiKeyDep,
    RateLimiterDep,
    RegistryDep,
    SessionDep,
    SettingsDep,
    StorageDep,
    TiersDep,
    WebhookPolicyDep,
)
from api.schemas import ErrorResponse, VideoCreateRequest, VideoDeleted, VideoList, VideoObject
from api.serializers import cursor_list
from model import ModelRegistry
from videogen import jobs, videos, webhooks
from videogen.admission import admit, check_tier, request_fingerprint
from videogen.errors import (
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestTooLargeError,
    UnsupportedMediaTypeError,
)
from videogen.orm import ApiKey, Video
from videogen.queue import dispatch_generation
from videogen.ratelimit import RateLimiter
from videogen.settings import Settings
from videogen.storage import ObjectNotFoundError
from videogen.tiers import Tier, TierCatalog, TierConfigError
from videogen.video_object import to_video_object as video_object
from videogen.video_requests import resolve_video_parameters
from videogen.webhook_security import WebhookURLPolicy

router = APIRouter(
    prefix="/v1/videos",
    tags=["videos"],
    responses={code: {"model": ErrorResponse} for code in (400, 401, 404)},
)

_METADATA_FIELD = re.compile(r"metadata\[(.+)\]")
# A create request is a prompt and a few numbers; anything near this size is a mistake or abuse.
MAX_BODY_BYTES = 256 * 1024


def to_video_object(session: Session, video: Video) -> VideoObject:
    return video_object(video, queue_position=jobs.queue_position(session, video))


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


def tier_of(tiers: TierCatalog, api_key: ApiKey) -> Tier:
    try:
        return tiers.get(api_key.organization.tier)
    except TierConfigError:
        raise PermissionDeniedError(
            f"Your organization's tier '{api_key.organization.tier}' is not configured on this server.",
            code="tier_unavailable",
        ) from None


@dataclass(frozen=True)
class CreateResult:
    video: VideoObject
    headers: dict[str, str]


def _create_video(
    settings: Settings,
    registry: ModelRegistry,
    tiers: TierCatalog,
    limiter: RateLimiter,
    policy: WebhookURLPolicy,
    session: Session,
    api_key: ApiKey,
    raw: dict[str, Any],
    idempotency_key: str | None,
) -> CreateResult:
    tier = tier_of(tiers, api_key)
    limit = limiter.hit_per_minute("videos.create", api_key.organization_id, tier.requests_per_minute)
    if not limit.allowed:
        raise RateLimitError(
            f"Rate limit reached: your tier ({tier.name}) allows {tier.requests_per_minute} video requests per minute.",
            retry_after=limit.reset_seconds,
            headers=limit.headers(),
        )
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= 255:
        raise InvalidRequestError("Idempotency-Key must be 1 to 255 characters.", param="Idempotency-Key")
    body = VideoCreateRequest.model_validate(raw)
    model_name = body.model or settings.default_model
    if model_name not in settings.models or model_name not in registry:
        available = ", ".join(m for m in settings.models if m in registry)
        raise InvalidRequestError(
            f"The model '{model_name}' does not exist or is not served here. Available: {available}.",
            param="model",
            code="model_not_found",
        )
    if body.metadata and len(body.metadata) > settings.max_metadata_pairs:
        raise InvalidRequestError(
            f"metadata has {len(body.metadata)} keys; at most {settings.max_metadata_pairs} are allowed.",
            param="metadata",
        )
    params = resolve_video_parameters(
        registry.get(model_name),
        prompt=body.prompt,
        seconds=body.seconds,
        size=body.size,
        fps=body.fps,
        num_inference_steps=body.num_inference_steps,
        guidance_scale=body.guidance_scale,
        seed=body.seed,
        negative_prompt=body.negative_prompt,
        metadata=body.metadata,
    )
    check_tier(tier, params)
    webhook_url = None
    if body.webhook_url is not None:
        webhook_url = webhooks.check_video_webhook_url(policy, api_key.organization, body.webhook_url)
    admission = admit(
        session,
        api_key=api_key,
        tier=tier,
        params=params,
        idempotency_key=idempotency_key,
        fingerprint=request_fingerprint(raw),
        idempotency_ttl=timedelta(hours=settings.idempotency_ttl_hours),
        webhook_url=webhook_url,
    )
    session.commit()  # the job exists before any message about it does
    video = admission.video
    headers = limit.headers()
    if admission.replayed:
        headers["Idempotent-Replayed"] = "true"
    elif dispatch_generation(settings, video.id, video.model):
        jobs.mark_dispatched(session, video.id)
        session.commit()
    session.refresh(video)
    return CreateResult(video=to_video_object(session, video), headers=headers)


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
    request: Request,
    response: Response,
    settings: SettingsDep,
    registry: RegistryDep,
    tiers: TiersDep,
    limiter: RateLimiterDep,
    policy: WebhookPolicyDep,
    session: SessionDep,
    api_key: ApiKeyDep,
) -> VideoObject:
    raw = await _read_body(request)
    result = await run_in_threadpool(
        _create_video,
        settings,
        registry,
        tiers,
        limiter,
        policy,
        session,
        api_key,
        raw,
        request.headers.get("idempotency-key"),
    )
    response.headers.update(result.headers)
    return result.video


@router.get("", response_model=VideoList, summary="List videos")
def list_videos(
    session: SessionDep,
    api_key: ApiKeyDep,
    after: Annotated[str | None, Query(description="Cursor: the id of the last video of the previous page.")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    order: Annotated[Literal["asc", "desc"], Query()] = "desc",
) -> VideoList:
    page = videos.list_videos(session, api_key.organization_id, after=after, limit=limit, order=order)
    return cursor_list(VideoList, [to_video_object(session, v) for v in page.items], page.has_more)


@router.get("/{video_id}", response_model=VideoObject, summary="Retrieve a video")
def retrieve_video(video_id: str, session: SessionDep, api_key: ApiKeyDep) -> VideoObject:
    return to_video_object(session, videos.get_video(session, api_key.organization_id, video_id))


@router.delete("/{video_id}", response_model=VideoDeleted, summary="Delete a video (cancels it if still running)")
def delete_video(video_id: str, session: SessionDep, storage: StorageDep, api_key: ApiKeyDep) -> VideoDeleted:
    video = videos.get_video(session, api_key.organization_id, video_id)
    videos.delete_video(session, storage, video)
    return VideoDeleted(id=video.id)


@router.post("/{video_id}/cancel", response_model=VideoObject, summary="Cancel a queued or running video")
def cancel_video(video_id: str, session: SessionDep, api_key: ApiKeyDep) -> VideoObject:
    video = videos.get_video(session, api_key.organization_id, video_id)
    return to_video_object(session, videos.cancel_video(session, video))


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
    video = videos.get_video(session, api_key.organization_id, video_id)
    key = videos.content_key(video, variant)
    filename = f"{video.id}.{'mp4' if variant == 'video' else 'jpg'}"
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
        media_type=videos.CONTENT_TYPES[variant],
        headers={"Content-Length": str(stored.size), "Content-Disposition": f'attachment; filename="{filename}"'},
    )
