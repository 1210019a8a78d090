"""image to video: input images, remixes, spritesheets

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 18:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("videos") as batch:
        batch.add_column(sa.Column("input_image_key", sa.String(length=300), nullable=True))
        batch.add_column(sa.Column("input_image_sha256", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("input_image_bytes", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("input_image_width", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("input_image_height", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("input_fit", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("remixed_from_video_id", sa.String(length=48), nullable=True))
        batch.add_column(sa.Column("spritesheet_key", sa.String(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("videos") as batch:
        for column in (
            "spritesheet_key",
            "remixed_from_video_id",
            "input_fit",
            "input_image_height",
            "input_image_width",
            "input_image_bytes",
            "input_image_sha256",
            "input_image_key",
        ):
            batch.drop_column(column)
