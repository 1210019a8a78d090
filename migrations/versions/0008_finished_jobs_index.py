"""an index of finished jobs by when they ended: the workers an operator's queue view has seen

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-16 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RAN = sa.text("worker IS NOT NULL AND completed_at IS NOT NULL")


def upgrade() -> None:
    op.create_index(
        "ix_videos_finished", "videos", ["completed_at", "model", "worker"], postgresql_where=RAN, sqlite_where=RAN
    )


def downgrade() -> None:
    op.drop_index("ix_videos_finished", table_name="videos")
