"""The webhook tables: endpoints, events frozen as the bytes receivers get, and the outbox of
deliveries with the log of every attempt."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from videogen.database import Base, StatusColumn, utcnow


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
    # Indexed for the purge of old events (the reconciler), which must not scan every event kept.
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


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
    status: Mapped[WebhookDeliveryStatus] = mapped_column(
        StatusColumn(WebhookDeliveryStatus), default=WebhookDeliveryStatus.PENDING
    )
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
