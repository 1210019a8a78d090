"""Database tables. The ``videos`` table is the source of truth for every job."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, str]: JSON(), list[str]: JSON()}


class VideoStatus(enum.StrEnum):
    QUEUED = "queued"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset({VideoStatus.COMPLETED, VideoStatus.FAILED, VideoStatus.CANCELLED})


class OrganizationStatus(enum.StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    tier: Mapped[str] = mapped_column(String(64), server_default="standard")
    status: Mapped[str] = mapped_column(String(16), server_default=OrganizationStatus.ACTIVE.value)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    suspended_at: Mapped[datetime | None] = mapped_column(default=None)
    # Signs deliveries to per-request ``webhook_url``s (encrypted; see videogen.secret_box).
    webhook_secret_ciphertext: Mapped[str | None] = mapped_column(Text, default=None)
    webhook_secret_hint: Mapped[str | None] = mapped_column(String(32), default=None)
    webhook_secret_created_at: Mapped[datetime | None] = mapped_column(default=None)
    webhook_previous_secret_ciphertext: Mapped[str | None] = mapped_column(Text, default=None)
    webhook_previous_secret_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    # Bumped at the start of every admission: the row lock it takes serializes one organization's
    # submissions on PostgreSQL and SQLite alike, which makes concurrency and quota checks exact.
    admission_seq: Mapped[int] = mapped_column(Integer, server_default="0")

    api_keys: Mapped[list[ApiKey]] = relationship(back_populates="organization")


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    prefix: Mapped[str] = mapped_column(String(32))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)

    organization: Mapped[Organization] = relationship(back_populates="api_keys")


class Video(Base):
    """One generation job and, once it is done, its result."""

    __tablename__ = "videos"
    __table_args__ = (
        Index("ix_videos_org_id", "organization_id", "id"),
        Index("ix_videos_status_model", "status", "model"),
        Index("ix_videos_org_created", "organization_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    api_key_id: Mapped[str | None] = mapped_column(ForeignKey("api_keys.id", ondelete="SET NULL"), default=None)
    status: Mapped[str] = mapped_column(String(16), default=VideoStatus.QUEUED)
    progress: Mapped[int] = mapped_column(Integer, default=0)

    # What was asked for, resolved against the model's defaults.
    model: Mapped[str] = mapped_column(String(100))
    prompt: Mapped[str] = mapped_column(Text)
    negative_prompt: Mapped[str | None] = mapped_column(Text, default=None)
    seconds: Mapped[str] = mapped_column(String(16))
    duration_seconds: Mapped[float] = mapped_column(Float, server_default="0")
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    fps: Mapped[int] = mapped_column(Integer)
    num_frames: Mapped[int] = mapped_column(Integer)
    num_inference_steps: Mapped[int] = mapped_column(Integer)
    guidance_scale: Mapped[float] = mapped_column(Float)
    seed: Mapped[int] = mapped_column(BigInteger)
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata", default=dict)
    # Snapshots of the organization's tier at submission: a later tier change does not reorder or
    # re-expire work already accepted.
    priority: Mapped[int] = mapped_column(Integer, server_default="5")
    retention_hours: Mapped[float] = mapped_column(Float, server_default="24")
    webhook_url: Mapped[str | None] = mapped_column(String(2048), default=None)

    # Lifecycle.
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    dispatched_at: Mapped[datetime | None] = mapped_column(default=None)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    heartbeat_at: Mapped[datetime | None] = mapped_column(default=None)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str | None] = mapped_column(String(200), default=None)

    # Outcome.
    error_code: Mapped[str | None] = mapped_column(String(64), default=None)
    error_message: Mapped[str | None] = mapped_column(Text, default=None)
    video_key: Mapped[str | None] = mapped_column(String(300), default=None)
    thumbnail_key: Mapped[str | None] = mapped_column(String(300), default=None)
    video_bytes: Mapped[int | None] = mapped_column(BigInteger, default=None)

    @property
    def size(self) -> str:
        return f"{self.width}x{self.height}"


class IdempotencyKey(Base):
    """An ``Idempotency-Key`` a client sent with a create, and what it created (Stripe's semantics)."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("organization_id", "key", name="uq_idempotency_org_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    video_id: Mapped[str] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class AccessRequestStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class AccessRequest(Base):
    """A company's application for API access, reviewed by an operator."""

    __tablename__ = "access_requests"

    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    company: Mapped[str] = mapped_column(String(200))
    contact_email: Mapped[str] = mapped_column(String(320))
    use_case: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=AccessRequestStatus.PENDING.value, index=True)
    client_ip: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    decision_reason: Mapped[str | None] = mapped_column(Text, default=None)
    tier: Mapped[str | None] = mapped_column(String(64), default=None)
    organization_id: Mapped[str | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="SET NULL"), default=None
    )


class WebhookEndpoint(Base):
    """Where an organization wants events, and the (encrypted) secret its deliveries are signed with."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (Index("ix_webhook_endpoints_org_id", "organization_id", "id"),)

    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200), default="")
    url: Mapped[str] = mapped_column(String(2048))
    event_types: Mapped[list[str]] = mapped_column(JSON)
    secret_ciphertext: Mapped[str] = mapped_column(Text)
    secret_hint: Mapped[str] = mapped_column(String(32))
    # During a rotation the old secret also signs, until it expires, so receivers can switch over.
    previous_secret_ciphertext: Mapped[str | None] = mapped_column(Text, default=None)
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(Text, default=None)
    disabled_at: Mapped[datetime | None] = mapped_column(default=None)
    # Set by the first failure after a success, cleared by the next success: how long it has been down.
    failing_since: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)


class WebhookEvent(Base):
    """Something that happened to a video, frozen as the exact bytes receivers will get."""

    __tablename__ = "webhook_events"

    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    video_id: Mapped[str] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookDeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class WebhookDelivery(Base):
    """One event to one URL: the outbox row, written in the transaction that changes the job.

    Its id is the ``webhook-id`` header, the same on every attempt, so receivers can deduplicate.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_endpoint", "endpoint_id", "id"),
    )

    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("webhook_events.id", ondelete="CASCADE"), index=True)
    # None for a video's own ``webhook_url``, which is signed with the organization's secret.
    endpoint_id: Mapped[str | None] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), default=None
    )
    url: Mapped[str] = mapped_column(String(2048))
    status: Mapped[str] = mapped_column(String(16), default=WebhookDeliveryStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Attempts since the delivery was created or last redelivered: the position in the retry schedule.
    series_attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=utcnow)
    # A sender holds the delivery until then; a sender that dies mid-request loses it when it passes.
    lease_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    # When the broker was last nudged about it: the sweep re-sends nudges that look lost.
    dispatched_at: Mapped[datetime | None] = mapped_column(default=None)
    last_status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)

    event: Mapped[WebhookEvent] = relationship(lazy="joined")
    attempt_log: Mapped[list[WebhookAttempt]] = relationship(order_by="WebhookAttempt.id", lazy="selectin")


class WebhookAttempt(Base):
    """One HTTP try of a delivery, for the delivery log."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True)
    attempted_at: Mapped[datetime] = mapped_column(default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    latency_ms: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    response_excerpt: Mapped[str | None] = mapped_column(Text, default=None)
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
