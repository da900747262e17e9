"""medical dictation: the entities of a note as signed (the export reads them; NER is not run again)

Revision ID: md_0002
Revises: md_0001
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "md_0002"
down_revision = "md_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("md_notes") as batch:
        batch.add_column(sa.Column("signed_entities", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("md_notes") as batch:
        batch.drop_column("signed_entities")
