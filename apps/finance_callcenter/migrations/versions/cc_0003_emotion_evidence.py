"""finance call-center: each turn keeps its text and speech emotion evidence side by side

Revision ID: cc_0003
Revises: cc_0002
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "cc_0003"
down_revision = "cc_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cc_turns") as batch:
        batch.add_column(sa.Column("emotion_evidence", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cc_turns") as batch:
        batch.drop_column("emotion_evidence")
