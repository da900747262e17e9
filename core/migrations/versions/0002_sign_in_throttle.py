"""core: sign-in throttling state (growing delays per account name and per address)

Revision ID: 0002_core_throttle
Revises: 0001_core
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "0002_core_throttle"
down_revision = "0001_core"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sign_in_throttle",
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("blocked_until", TS, nullable=True),
        sa.Column("last_failure_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("key", name="pk_sign_in_throttle"),
    )


def downgrade() -> None:
    op.drop_table("sign_in_throttle")
