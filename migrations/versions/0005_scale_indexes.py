"""indexes that keep hot queries flat with data: the queue, active and unsent jobs, expiring files, old events

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 09:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

QUEUED = sa.text("status = 'queued' AND deleted_at IS NULL")
HAS_FILES = sa.text("video_key IS NOT NULL")
UNSENT = sa.text("status = 'queued' AND dispatched_at IS NULL")


def upgrade() -> None:
    op.create_index("ix_videos_org_status", "videos", ["organization_id", "status"])
    op.create_index(
        "ix_videos_queue",
        "videos",
        ["model", sa.desc(sa.column("priority")), "id", "organization_id"],
        postgresql_where=QUEUED,
        sqlite_where=QUEUED,
    )
    op.create_index("ix_videos_unsent", "videos", ["created_at"], postgresql_where=UNSENT, sqlite_where=UNSENT)
    op.create_index(
        "ix_videos_files_expire", "videos", ["expires_at"], postgresql_where=HAS_FILES, sqlite_where=HAS_FILES
    )
    op.create_index("ix_webhook_events_created_at", "webhook_events", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_webhook_events_created_at", table_name="webhook_events")
    op.drop_index("ix_videos_files_expire", table_name="videos")
    op.drop_index("ix_videos_unsent", table_name="videos")
    op.drop_index("ix_videos_queue", table_name="videos")
    op.drop_index("ix_videos_org_status", table_name="videos")
