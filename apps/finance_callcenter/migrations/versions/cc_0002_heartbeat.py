"""finance call-center: a heartbeat on calls in progress (a stale one is queued again)

Revision ID: cc_0002
Revises: cc_0001
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "cc_0002"
down_revision = "cc_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cc_calls") as batch:
        batch.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cc_calls") as batch:
        batch.drop_column("heartbeat_at")
