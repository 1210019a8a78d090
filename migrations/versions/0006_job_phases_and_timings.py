"""job phases, estimated completion, stage timings and GPU-seconds

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("videos") as batch:
        batch.add_column(sa.Column("phase", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("denoising_step", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("estimated_completion_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("timings", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("gpu_seconds", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("videos") as batch:
        for column in ("gpu_seconds", "timings", "estimated_completion_at", "denoising_step", "phase"):
            batch.drop_column(column)
