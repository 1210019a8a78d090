"""Wire format: OpenAI's Videos API objects, plus our extensions (marked below)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from videogen.accounts.tables import AccessRequestStatus, OrganizationStatus
from videogen.videos.objects import VideoErrorObject, VideoObject, unix
from videogen.webhooks.tables import WebhookDeliveryStatus

__all__ = ["VideoErrorObject", "VideoObject", "unix"]  # re-exported: part of the wire format

MetadataKey = Annotated[str, StringConstraints(min_length=1, max_length=64)]
MetadataValue = Annotated[str, StringConstraints(max_length=512)]


class ImageReference(BaseModel):
    """OpenAI's JSON form of ``input_reference``."""

    model_config = ConfigDict(extra="forbid")

    image_url: str | None = Field(None, description="A data: URL (base64) or an https URL of a PNG, JPEG or WebP.")
    file_id: str | None = Field(None, description="Not supported here: send the image itself or an image_url.")


class VideoCreateRequest(BaseModel):
    """Body of ``POST /v1/videos``, as JSON or multipart/form-data (what the ``openai`` SDK sends)."""

    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(description="What the video should show.")
    model: str | None = Field(None, description="Model name; see GET /v1/models. Default: the deployment's.")
    seconds: str | int | float | None = Field(None, description='Clip length, e.g. "4" (OpenAI sends a string).')
    size: str | None = Field(None, description='"WIDTHxHEIGHT", one of the model\'s sizes.')
    # --- extensions ---
    negative_prompt: str | None = Field(None, description="What to steer away from (enables true CFG).")
    seed: int | None = Field(None, description="Random seed; the same seed and parameters give the same video.")
    num_inference_steps: int | None = Field(None, description="Denoising steps: more is slower and finer.")
    guidance_scale: float | None = Field(None, description="HunyuanVideo's embedded guidance strength.")
    fps: int | None = Field(None, description="Frames per second of the output.")
    metadata: dict[MetadataKey, MetadataValue] | None = Field(
        None, description="Up to 16 string pairs, stored and returned with the video."
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


class VideoRemixRequest(BaseModel):
    """Body of ``POST /v1/videos/{id}/remix``."""

    model_config = ConfigDict(extra="forbid")

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
    video_seconds: float


class UsageObject(BaseModel):
    object: Literal["usage"] = "usage"
    organization_id: str
    tier: str
    start_date: str
    end_date: str
    data: list[UsageBucketObject]
    today: dict[str, float]


class AccessRequestCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

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


# --- webhooks (OpenAI's /v1/webhook_endpoints shape, plus extensions) ------------------------


class WebhookEndpointCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(description="Where events are POSTed: https (http only if the operator allows it).")
    event_types: list[str] | None = Field(
        None, description="Event types to receive. Default: video.completed, video.failed, video.cancelled."
    )
    name: Annotated[str, StringConstraints(max_length=200)] = ""


class WebhookEndpointUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str | None = None
    event_types: list[str] | None = None
    name: Annotated[str, StringConstraints(max_length=200)] | None = None
    enabled: bool | None = Field(None, description="Extension: re-enable an endpoint that was disabled (or disable).")


class SecretRotation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    keep_old_secret_active_for_24_hours: bool = False
    overlap_seconds: int | None = Field(
        None, ge=0, description="Extension: keep the old secret signing for this long (up to 7 days)."
    )


class WebhookTestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_type: str


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
