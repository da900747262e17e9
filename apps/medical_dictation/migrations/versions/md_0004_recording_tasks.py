"""medical dictation: recordings become tasks (queued / processing / done / failed) with the terms
typed for them, claims, a heartbeat and progress

Revision ID: md_0004
Revises: md_0003
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "md_0004"
down_revision = "md_0003"
branch_labels = None
depends_on = "0003_core_task_workers"


def upgrade() -> None:
    with op.batch_alter_table("md_recordings") as batch:
        batch.add_column(sa.Column("vocabulary", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("progress", sa.Float(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("progress_note", sa.String(200), nullable=False, server_default=""))
        batch.create_index("ix_md_recordings_status", ["status"])


def downgrade() -> None:
    with op.batch_alter_table("md_recordings") as batch:
        batch.drop_index("ix_md_recordings_status")
        for name in ("progress_note", "progress", "heartbeat_at", "attempts", "vocabulary"):
            batch.drop_column(name)
