"""The accounts tables: organizations, their API keys, and applications for access."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from videogen.database import Base, StatusColumn, utcnow


class OrganizationStatus(enum.StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


class AccessRequestStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    tier: Mapped[str] = mapped_column(String(64), server_default="standard")
    status: Mapped[OrganizationStatus] = mapped_column(
        StatusColumn(OrganizationStatus), server_default=OrganizationStatus.ACTIVE.value
    )
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
    # What admission checks, kept with the lock it takes (``videogen.videos.admission``), so that a
    # submission costs the same however many jobs the organization has: its jobs queued or running,
    # and the billed seconds of the jobs it submitted on ``usage_day`` (a UTC day's start). Moved in
    # the transactions that admit a job or end one (``videogen.videos.jobs.transition``).
    active_jobs: Mapped[int] = mapped_column(Integer, server_default="0")
    usage_day: Mapped[datetime | None] = mapped_column(default=None)
    usage_day_seconds: Mapped[float] = mapped_column(Float, server_default="0")

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


class AccessRequest(Base):
    """A company's application for API access, reviewed by an operator."""

    __tablename__ = "access_requests"

    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    company: Mapped[str] = mapped_column(String(200))
    contact_email: Mapped[str] = mapped_column(String(320))
    use_case: Mapped[str] = mapped_column(Text)
    status: Mapped[AccessRequestStatus] = mapped_column(
        StatusColumn(AccessRequestStatus), default=AccessRequestStatus.PENDING, index=True
    )
    client_ip: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    decision_reason: Mapped[str | None] = mapped_column(Text, default=None)
    tier: Mapped[str | None] = mapped_column(String(64), default=None)
    organization_id: Mapped[str | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="SET NULL"), default=None
    )
