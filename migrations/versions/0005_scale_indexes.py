"""flat with data: organizations' standing counters; indexes on the queue, unsent jobs, expiring files, old events

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 09:30:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

QUEUED = sa.text("status = 'queued' AND deleted_at IS NULL")
HAS_FILES = sa.text("video_key IS NOT NULL")
UNSENT = sa.text("status = 'queued' AND dispatched_at IS NULL")


ACTIVE = ("queued", "in_progress")
UNBILLED = ("failed", "cancelled")


def upgrade() -> None:
    with op.batch_alter_table("organizations") as batch:
        batch.add_column(sa.Column("active_jobs", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("usage_day", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("usage_day_seconds", sa.Float(), server_default="0", nullable=False))
    _count_standing()
    op.create_index(
        "ix_videos_queue",
        "videos",
        ["model", sa.desc(sa.column("priority")), "id", "organization_id", "dispatched_at"],
        postgresql_where=QUEUED,
        sqlite_where=QUEUED,
    )
    op.create_index("ix_videos_unsent", "videos", ["created_at"], postgresql_where=UNSENT, sqlite_where=UNSENT)
    op.create_index(
        "ix_videos_files_expire", "videos", ["expires_at"], postgresql_where=HAS_FILES, sqlite_where=HAS_FILES
    )
    op.create_index("ix_webhook_events_created_at", "webhook_events", ["created_at"])


def _count_standing() -> None:
    """Each organization's active jobs and today's billed seconds, from its videos."""
    organizations = sa.table(
        "organizations",
        sa.column("id", sa.String()),
        sa.column("active_jobs", sa.Integer()),
        sa.column("usage_day", sa.DateTime(timezone=True)),
        sa.column("usage_day_seconds", sa.Float()),
    )
    videos = sa.table(
        "videos",
        sa.column("organization_id", sa.String()),
        sa.column("status", sa.String()),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("duration_seconds", sa.Float()),
    )
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    own = videos.c.organization_id == organizations.c.id
    active = sa.select(sa.func.count()).where(own, videos.c.status.in_(ACTIVE)).scalar_subquery()
    billed_today = (
        sa.select(sa.func.coalesce(sa.func.sum(videos.c.duration_seconds), 0.0))
        .where(own, videos.c.created_at >= today, videos.c.status.not_in(UNBILLED))
        .scalar_subquery()
    )
    op.execute(organizations.update().values(active_jobs=active, usage_day=today, usage_day_seconds=billed_today))


def downgrade() -> None:
    op.drop_index("ix_webhook_events_created_at", table_name="webhook_events")
    op.drop_index("ix_videos_files_expire", table_name="videos")
    op.drop_index("ix_videos_unsent", table_name="videos")
    op.drop_index("ix_videos_queue", table_name="videos")
    with op.batch_alter_table("organizations") as batch:
        batch.drop_column("usage_day_seconds")
        batch.drop_column("usage_day")
        batch.drop_column("active_jobs")
