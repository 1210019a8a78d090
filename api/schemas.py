"""Wire format: OpenAI's Videos API objects, plus our extensions (marked below).

Every request body derives from ``RequestBody``: a field we do not know is refused, never ignored,
and no string may carry what no database stores and no encoder writes (NUL, lone surrogates;
``videogen.text``). Path, query and header parameters get the same check in ``api.parameters``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from videogen.accounts.tables import AccessRequestStatus, OrganizationStatus
from videogen.text import unstorable_reason
from videogen.videos.objects import VideoErrorObject, VideoObject, unix
from videogen.videos.parameters import MAX_SEED
from videogen.webhooks.events import EVENT_TYPES
from videogen.webhooks.signing import MAX_ROTATION_OVERLAP
from videogen.webhooks.tables import WebhookDeliveryStatus

__all__ = ["VideoErrorObject", "VideoObject", "unix"]  # re-exported: part of the wire format


def _strings(value: Any) -> Iterator[str]:
    """Every string in a request value as sent: itself, or inside lists and objects (keys too)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)


def _unstorable_error(reason: str) -> PydanticCustomError:
    # The message never quotes the value: a lone surrogate cannot even be written into the response.
    return PydanticCustomError("unstorable_text", "must not contain {reason}", {"reason": reason})


class RequestBody(BaseModel):
    """The base of every request body: unknown fields are refused (a misspelt field is an error,
    not a default), and so is any string, at any depth, that cannot be stored."""

    model_config = ConfigDict(extra="forbid")

    # Fields holding URLs: their NUL (like any control character) is left to the URL policy, which
    # refuses it with its own code (invalid_webhook_url, invalid_image_url). Lone surrogates are not.
    url_fields: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="before")
    @classmethod
    def _only_storable_strings(cls, value: Any, info: ValidationInfo) -> Any:
        for text in _strings(value):
            reason = unstorable_reason(text, allow_nul=info.field_name in cls.url_fields)
            if reason is not None:
                raise _unstorable_error(reason)
        return value


MetadataKey = Annotated[str, StringConstraints(min_length=1, max_length=64)]
MetadataValue = Annotated[str, StringConstraints(max_length=512)]
# OpenAI's limit, and the default of VIDEOGEN_MAX_METADATA_PAIRS, which the domain enforces.
MAX_METADATA_PAIRS = 16


class ImageReference(RequestBody):
    """OpenAI's JSON form of ``input_reference``."""

    url_fields = frozenset({"image_url"})

    image_url: str | None = Field(None, description="A data: URL (base64) or an https URL of a PNG, JPEG or WebP.")
    file_id: str | None = Field(None, description="Not supported here: send the image itself or an image_url.")


class VideoCreateRequest(RequestBody):
    """Body of ``POST /v1/videos``, as JSON or multipart/form-data (what the ``openai`` SDK sends)."""

    # input_reference is an ImageReference, which checks its own fields.
    url_fields = frozenset({"webhook_url", "input_reference"})

    prompt: str = Field(description="What the video should show.")
    model: str | None = Field(None, description="Model name; see GET /v1/models. Default: the deployment's.")
    seconds: str | int | float | None = Field(None, description='Clip length, e.g. "4" (OpenAI sends a string).')
    size: str | None = Field(None, description='"WIDTHxHEIGHT", one of the model\'s sizes.')
    # --- extensions ---
    negative_prompt: str | None = Field(None, description="What to steer away from (enables true CFG).")
    seed: int | None = Field(
        None, ge=0, le=MAX_SEED, description="Random seed; the same seed and parameters give the same video."
    )
    num_inference_steps: int | None = Field(
        None, ge=1, description="Denoising steps: more is slower and finer (each model's range: GET /v1/models)."
    )
    guidance_scale: float | None = Field(
        None, ge=0, allow_inf_nan=False, description="HunyuanVideo's embedded guidance strength."
    )
    fps: int | None = Field(
        None, ge=1, description="Frames per second of the output (each model's range: GET /v1/models)."
    )
    metadata: dict[MetadataKey, MetadataValue] | None = Field(
        None,
        description=f"Up to {MAX_METADATA_PAIRS} string pairs, stored and returned with the video.",
        json_schema_extra={"maxProperties": MAX_METADATA_PAIRS},
    )
    webhook_url: str | None = Field(
        None,
        description="Where to POST this video's video.completed / video.failed / video.cancelled event, signed with "
        "your organization's webhook secret (POST /v1/webhook_secret).",
    )
    input_reference: ImageReference | None = Field(
        None,
        description="The image to animate (image-to-video). In multipart/form-data: the file part "
        "`input_reference`. In JSON: {image_url}.",
    )
    input_fit: Literal["exact", "crop", "pad"] | None = Field(
        None,
        description="How an input_reference of another size becomes the video's size: exact (default, OpenAI's "
        "rule: it must already match), crop (cover, center crop) or pad (fit inside, black bars).",
    )


class VideoRemixRequest(RequestBody):
    """Body of ``POST /v1/videos/{id}/remix``."""

    prompt: str = Field(description="The new prompt; everything else (and the seed) comes from the source video.")


class VideoList(BaseModel):
    object: Literal["list"] = "list"
    data: list[VideoObject]
    first_id: str | None
    last_id: str | None
    has_more: bool


class VideoDeleted(BaseModel):
    id: str
    object: Literal["video.deleted"] = "video.deleted"
    deleted: bool = True


class ModelObject(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str = "videogen"
    description: str
    kind: str = Field(description="The pipeline kind, e.g. hunyuanvideo, hunyuanvideo-i2v, hunyuanvideo-1.5.")
    capabilities: list[str] = Field(description="text_to_video and/or image_to_video (takes input_reference).")
    sizes: list[str]
    max_frames: int
    fps: dict[str, int]
    num_inference_steps: dict[str, int]
    defaults: dict[str, str | int | float]


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelObject]


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None
    code: str | None
    request_id: str | None = Field(
        None, description="The request's id, as in its x-request-id header: what to quote to an operator."
    )


class ErrorResponse(BaseModel):
    error: ErrorDetail


# --- organizations, keys, tiers, usage, access requests --------------------------------------


class TierObject(BaseModel):
    object: Literal["tier"] = "tier"
    name: str
    description: str
    models: list[str]
    capabilities: list[str]
    max_seconds: float
    max_size: str
    max_steps: int
    requests_per_minute: int
    max_concurrent_jobs: int
    video_seconds_per_day: float
    priority: int
    retention_hours: float


class OrganizationObject(BaseModel):
    id: str
    object: Literal["organization"] = "organization"
    name: str
    tier: str
    status: OrganizationStatus
    created_at: int
    suspended_at: int | None


class ApiKeyObject(BaseModel):
    id: str
    object: Literal["api_key"] = "api_key"
    organization_id: str
    name: str
    prefix: str
    created_at: int
    last_used_at: int | None
    expires_at: int | None
    revoked_at: int | None
    secret: str | None = Field(None, description="The key itself: present only in the response that created it.")


class UsageBucketObject(BaseModel):
    date: str
    model: str
    jobs: int
    completed: int
    failed: int
    cancelled: int
    video_seconds: float = Field(description="Rendered seconds that count against the daily quota.")
    gpu_seconds: float = Field(
        description="GPU time the jobs took, prompt encoding through the VAE decode (failed and cancelled runs "
        "included): what a GPU cloud bills."
    )


class UsageObject(BaseModel):
    object: Literal["usage"] = "usage"
    organization_id: str
    tier: str
    start_date: str
    end_date: str
    data: list[UsageBucketObject]
    today: dict[str, float]


class AccessRequestCreate(RequestBody):
    company: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    contact_email: EmailStr
    use_case: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]


class AccessRequestObject(BaseModel):
    id: str
    object: Literal["access_request"] = "access_request"
    company: str
    contact_email: str
    use_case: str
    status: AccessRequestStatus
    created_at: int
    decided_at: int | None
    decision_reason: str | None
    tier: str | None
    organization_id: str | None


class AccessApproval(BaseModel):
    access_request: AccessRequestObject
    organization: OrganizationObject
    api_key: ApiKeyObject


class TierList(BaseModel):
    """The tiers file's tiers: configuration, not rows, so one page with no cursor (as ``ModelList``)."""

    object: Literal["list"] = "list"
    data: list[TierObject]


class OrganizationList(BaseModel):
    object: Literal["list"] = "list"
    data: list[OrganizationObject]
    first_id: str | None
    last_id: str | None
    has_more: bool


class ApiKeyList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ApiKeyObject]
    first_id: str | None
    last_id: str | None
    has_more: bool


class AccessRequestList(BaseModel):
    object: Literal["list"] = "list"
    data: list[AccessRequestObject]
    first_id: str | None
    last_id: str | None
    has_more: bool


# --- webhooks (OpenAI's /v1/webhook_endpoints shape, plus extensions) ------------------------


# An event type as the schema lists them; the domain refuses others with its own code (invalid_event_type).
EventType = Annotated[str, Field(json_schema_extra={"enum": list(EVENT_TYPES)})]


class WebhookEndpointCreate(RequestBody):
    url_fields = frozenset({"url"})

    url: str = Field(description="Where events are POSTed: https (http only if the operator allows it).")
    event_types: list[EventType] | None = Field(
        None, description="Event types to receive. Default: video.completed, video.failed, video.cancelled."
    )
    name: Annotated[str, StringConstraints(max_length=200)] = ""


class WebhookEndpointUpdate(RequestBody):
    url_fields = frozenset({"url"})

    url: str | None = None
    event_types: list[EventType] | None = None
    name: Annotated[str, StringConstraints(max_length=200)] | None = None
    enabled: bool | None = Field(None, description="Extension: re-enable an endpoint that was disabled (or disable).")


class SecretRotation(RequestBody):
    keep_old_secret_active_for_24_hours: bool = False
    overlap_seconds: int | None = Field(
        None,
        ge=0,
        le=int(MAX_ROTATION_OVERLAP.total_seconds()),
        description=f"Extension: keep the old secret signing for this long (up to {MAX_ROTATION_OVERLAP.days} days).",
    )


class WebhookTestRequest(RequestBody):
    event_type: EventType


class WebhookEndpointObject(BaseModel):
    id: str
    object: Literal["webhook_endpoint"] = "webhook_endpoint"
    name: str
    url: str
    event_types: list[str]
    created_at: int
    updated_at: int | None
    signing_secret_hint: str
    # --- extensions ---
    status: Literal["enabled", "disabled"]
    disabled_reason: str | None
    disabled_at: int | None
    failing_since: int | None
    previous_secret_expires_at: int | None


class WebhookEndpointWithSecretObject(WebhookEndpointObject):
    signing_secret: str = Field(description="Shown once, in this response only.")


class WebhookEndpointList(BaseModel):
    object: Literal["list"] = "list"
    data: list[WebhookEndpointObject]
    first_id: str | None
    last_id: str | None
    has_more: bool


class WebhookEndpointDeleted(BaseModel):
    id: str
    object: Literal["webhook_endpoint.deleted"] = "webhook_endpoint.deleted"
    deleted: bool = True


class WebhookTestResult(BaseModel):
    object: Literal["webhook_endpoint.test"] = "webhook_endpoint.test"
    webhook_endpoint_id: str
    event_type: str
    success: Literal[True] = True
    status_code: int = Field(description="The receiver's HTTP status; 0 if it gave none (see error).")
    error: str | None
    latency_ms: int


class WebhookEventTypeList(BaseModel):
    object: Literal["list"] = "list"
    data: list[str]


class WebhookSecretObject(BaseModel):
    object: Literal["webhook_secret"] = "webhook_secret"
    signing_secret: str | None = Field(None, description="Shown once, when created or rotated.")
    signing_secret_hint: str
    created_at: int
    previous_secret_expires_at: int | None


class WebhookAttemptObject(BaseModel):
    attempted_at: int
    status_code: int | None
    latency_ms: int
    error: str | None
    response_excerpt: str | None
    next_attempt_at: int | None


class WebhookDeliveryObject(BaseModel):
    id: str = Field(description="Also the webhook-id header: the same on every attempt.")
    object: Literal["webhook_delivery"] = "webhook_delivery"
    event_id: str
    event_type: str
    video_id: str
    webhook_endpoint_id: str | None = Field(description="None for the video's own webhook_url.")
    url: str
    status: WebhookDeliveryStatus
    attempts: int
    next_attempt_at: int | None
    last_status_code: int | None
    last_error: str | None
    created_at: int
    completed_at: int | None
    attempt_log: list[WebhookAttemptObject]


class WebhookDeliveryList(BaseModel):
    object: Literal["list"] = "list"
    data: list[WebhookDeliveryObject]
    first_id: str | None
    last_id: str | None
    has_more: bool


# --- the operator's view of webhooks (admin API) ---------------------------------------------


class OperatorWebhookEndpointObject(WebhookEndpointObject):
    """An endpoint as the operator sees it, across organizations: whose it is, too."""

    organization_id: str


class OperatorWebhookEndpointList(BaseModel):
    object: Literal["list"] = "list"
    data: list[OperatorWebhookEndpointObject]
    first_id: str | None
    last_id: str | None
    has_more: bool


# --- the operator's view of jobs (admin API) -------------------------------------------------


class OperatorVideoObject(VideoObject):
    """A video as the operator sees it, across organizations: the public object, plus whose it is
    and who ran it."""

    organization_id: str = Field(description="Whose video it is.")
    organization_name: str = Field(description="That organization's name, as the operator commands take it.")
    attempts: int = Field(description="Runs started: more than 1 after a lost worker's job was requeued.")
    worker: str | None = Field(description="The worker (host:pid) that took its latest run; null if never claimed.")


class OperatorVideoList(BaseModel):
    object: Literal["list"] = "list"
    data: list[OperatorVideoObject]
    first_id: str | None
    last_id: str | None
    has_more: bool


class QueueObject(BaseModel):
    """One model's queue, from the database."""

    object: Literal["queue"] = "queue"
    model: str
    served: bool = Field(
        description="In this deployment's VIDEOGEN_MODELS; false for a model no longer served that still has "
        "active jobs."
    )
    queued: int = Field(description="Jobs waiting, suspended organizations' included.")
    running: int = Field(description="Jobs in progress.")
    oldest_queued_seconds: float = Field(description="How long the oldest queued job has waited; 0 when none.")
    workers_seen: list[str] = Field(
        description="Workers (host:pid) that ran one of this model's jobs within window_seconds (its heartbeat) "
        "or ended one in that window. An idle worker that ran nothing in the window is not seen."
    )
    running_videos: list[str] = Field(description="The ids of the jobs in progress, oldest first.")


class QueueList(BaseModel):
    """Every served model's queue (zeros when idle), then any other model that still has active jobs."""

    object: Literal["list"] = "list"
    data: list[QueueObject]
    window_seconds: int = Field(description="How far back workers_seen looks.")
    generated_at: int = Field(description="When these numbers were read (Unix seconds).")
