"""medical dictation: each clinician's vocabulary, typed or learnt from signed notes and corrections

Revision ID: md_0003
Revises: md_0002
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "md_0003"
down_revision = "md_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "md_vocabulary",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("clinician_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("term", sa.String(80), nullable=False),
        sa.Column("key", sa.String(80), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("clinician_id", "key", name="uq_md_vocabulary_clinician_id"),
    )
    op.create_index("ix_md_vocabulary_clinician_id", "md_vocabulary", ["clinician_id"])


def downgrade() -> None:
    op.drop_index("ix_md_vocabulary_clinician_id", "md_vocabulary")
    op.drop_table("md_vocabulary")
