"""english tutor: attempts can be re-scored by workers (claims and a heartbeat)

Revision ID: et_0002
Revises: et_0001
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "et_0002"
down_revision = "et_0001"
branch_labels = None
depends_on = "0003_core_task_workers"


def upgrade() -> None:
    with op.batch_alter_table("et_attempts") as batch:
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("et_attempts") as batch:
        batch.drop_column("heartbeat_at")
        batch.drop_column("attempts")
