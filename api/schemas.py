"""Wire format: OpenAI's Videos API objects, plus our extensions (marked below)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

MetadataKey = Annotated[str, StringConstraints(min_length=1, max_length=64)]
MetadataValue = Annotated[str, StringConstraints(max_length=512)]


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


class VideoErrorObject(BaseModel):
    code: str
    message: str


class VideoObject(BaseModel):
    id: str
    object: Literal["video"] = "video"
    model: str
    status: Literal["queued", "in_progress", "completed", "failed", "cancelled"]
    progress: int
    created_at: int
    completed_at: int | None
    expires_at: int | None
    seconds: str
    size: str
    prompt: str
    error: VideoErrorObject | None
    remixed_from_video_id: str | None = None
    # --- extensions ---
    started_at: int | None
    seed: int
    queue_position: int | None = Field(description="1 = next to run, while queued.")
    fps: int
    num_frames: int
    num_inference_steps: int
    guidance_scale: float
    negative_prompt: str | None
    metadata: dict[str, str]


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
    sizes: list[str]
    max_frames: int
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


def unix(value: datetime | None) -> int | None:
    return int(value.timestamp()) if value is not None else None


# --- organizations, keys, tiers, usage, access requests --------------------------------------


class TierObject(BaseModel):
    object: Literal["tier"] = "tier"
    name: str
    description: str
    models: list[str]
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
    status: Literal["active", "suspended"]
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
    status: Literal["pending", "approved", "rejected"]
    created_at: int
    decided_at: int | None
    decision_reason: str | None
    tier: str | None
    organization_id: str | None


class AccessApproval(BaseModel):
    access_request: AccessRequestObject
    organization: OrganizationObject
    api_key: ApiKeyObject
