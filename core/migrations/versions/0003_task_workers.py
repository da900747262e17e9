"""core: task_workers (who is processing: the server's embedded threads or Celery workers)

Revision ID: 0003_core_task_workers
Revises: 0002_core_throttle
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "0003_core_task_workers"
down_revision = "0002_core_throttle"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "task_workers",
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("models_version", sa.String(32), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("last_seen", TS, nullable=False),
        sa.Column("current", sa.String(200), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("note", sa.String(300), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_task_workers"),
    )
    op.create_index("ix_task_workers_last_seen", "task_workers", ["last_seen"])


def downgrade() -> None:
    op.drop_index("ix_task_workers_last_seen", table_name="task_workers")
    op.drop_table("task_workers")
