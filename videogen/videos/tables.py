"""The videos table, the source of truth for every job, and the idempotency keys of submissions."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from videogen.database import Base, StatusColumn, utcnow


class VideoStatus(enum.StrEnum):
    QUEUED = "queued"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        """Completed, failed or cancelled: nothing will happen to the job any more."""
        return self in TERMINAL_STATUSES

    @property
    def is_active(self) -> bool:
        """Queued or in progress: the job counts against the organization's concurrency limit."""
        return self in ACTIVE_STATUSES

    @property
    def is_billed(self) -> bool:
        """Counts against the daily quota: everything but failed and cancelled jobs."""
        return self not in UNBILLED_STATUSES


TERMINAL_STATUSES = frozenset({VideoStatus.COMPLETED, VideoStatus.FAILED, VideoStatus.CANCELLED})
ACTIVE_STATUSES = frozenset({VideoStatus.QUEUED, VideoStatus.IN_PROGRESS})
UNBILLED_STATUSES = frozenset({VideoStatus.FAILED, VideoStatus.CANCELLED})


# Partial indexes hold only the rows a hot query looks for, so they stay as small as the queue (or
# the stored files) however many finished jobs the table keeps. The predicates are SQL text, the
# same on PostgreSQL and SQLite; a query uses the index when its WHERE implies the predicate.
QUEUED_PREDICATE = text("status = 'queued' AND deleted_at IS NULL")
HAS_FILES_PREDICATE = text("video_key IS NOT NULL")
UNSENT_PREDICATE = text("status = 'queued' AND dispatched_at IS NULL")
RAN_PREDICATE = text("worker IS NOT NULL AND completed_at IS NOT NULL")


class Video(Base):
    """One generation job and, once it is done, its result."""

    __tablename__ = "videos"
    __table_args__ = (
        # A client's videos in id (creation) order: list pages.
        Index("ix_videos_org_id", "organization_id", "id"),
        # Running jobs without a recent heartbeat (the reconciler), jobs by status in operators' queries.
        Index("ix_videos_status_model", "status", "model"),
        # What an organization was billed today (admission's quota, usage).
        Index("ix_videos_org_created", "organization_id", "created_at"),
        # Queued jobs no nudge went out for (normally none): the reconciler sends them.
        Index("ix_videos_unsent", "created_at", postgresql_where=UNSENT_PREDICATE, sqlite_where=UNSENT_PREDICATE),
        # Stored files by expiry: the purge of expired assets.
        # Jobs a worker ran, by when they ended: the workers the operator's queue view has seen lately.
        # completed_at is written once, when the job ends, so heartbeats stay HOT updates on PostgreSQL.
        Index(
            "ix_videos_finished",
            "completed_at",
            "model",
            "worker",
            postgresql_where=RAN_PREDICATE,
            sqlite_where=RAN_PREDICATE,
        ),
        Index(
            "ix_videos_files_expire",
            "expires_at",
            postgresql_where=HAS_FILES_PREDICATE,
            sqlite_where=HAS_FILES_PREDICATE,
        ),
    )

    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    api_key_id: Mapped[str | None] = mapped_column(ForeignKey("api_keys.id", ondelete="SET NULL"), default=None)
    status: Mapped[VideoStatus] = mapped_column(StatusColumn(VideoStatus), default=VideoStatus.QUEUED)
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
    # Image-to-video: the client's image, fitted to the video's size and stored with the job; the
    # digest, byte count and pixel size of what the client sent; how it was fitted.
    input_image_key: Mapped[str | None] = mapped_column(String(300), default=None)
    input_image_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    input_image_bytes: Mapped[int | None] = mapped_column(Integer, default=None)
    input_image_width: Mapped[int | None] = mapped_column(Integer, default=None)
    input_image_height: Mapped[int | None] = mapped_column(Integer, default=None)
    input_fit: Mapped[str | None] = mapped_column(String(16), default=None)
    remixed_from_video_id: Mapped[str | None] = mapped_column(String(48), default=None)
    # The W3C traceparent of the request that created the job, when tracing was on: the worker's job
    # span continues that trace (``videogen.tracing``), however many times its nudge was re-sent.
    traceparent: Mapped[str | None] = mapped_column(String(55), default=None)

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

    # Live, while in progress (the worker's heartbeat writes them; ``videogen.videos.phases``): what
    # the job is doing, how many denoising steps are done, and when it should end, from the
    # worker's measured step and decode times. Cleared when the job ends or is requeued.
    phase: Mapped[str | None] = mapped_column(String(32), default=None)
    denoising_step: Mapped[int | None] = mapped_column(Integer, default=None)
    estimated_completion_at: Mapped[datetime | None] = mapped_column(default=None)
    # Once it ran: seconds per phase (``objects.TimingsObject``'s fields) and the GPU's busy time for
    # it, what a cloud bills (``/v1/usage``); kept for failed and cancelled runs too.
    timings: Mapped[dict[str, float | None] | None] = mapped_column(JSON, default=None)
    gpu_seconds: Mapped[float | None] = mapped_column(Float, default=None)

    # Outcome.
    error_code: Mapped[str | None] = mapped_column(String(64), default=None)
    error_message: Mapped[str | None] = mapped_column(Text, default=None)
    video_key: Mapped[str | None] = mapped_column(String(300), default=None)
    thumbnail_key: Mapped[str | None] = mapped_column(String(300), default=None)
    spritesheet_key: Mapped[str | None] = mapped_column(String(300), default=None)
    video_bytes: Mapped[int | None] = mapped_column(BigInteger, default=None)

    @property
    def size(self) -> str:
        return f"{self.width}x{self.height}"


# The queue, in the order workers take it (highest priority, then oldest): claim_next, queue
# positions, lost nudges. Declared on the mapped columns because the sort order is part of it; the
# organization and the nudge's time are carried along so that skipping suspended organizations and
# picking the nudged jobs to re-send (the reconciler) need no table read.
Index(
    "ix_videos_queue",
    Video.model,
    Video.priority.desc(),
    Video.id,
    Video.organization_id,
    Video.dispatched_at,
    postgresql_where=QUEUED_PREDICATE,
    sqlite_where=QUEUED_PREDICATE,
)


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
