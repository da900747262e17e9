"""finance call-center: queues, agents, routing tables, calls, turns, routing decisions

Revision ID: cc_0001
Revises:
Create Date: 2026-11-21
"""
import sqlalchemy as sa
from alembic import op

revision = "cc_0001"
down_revision = None
branch_labels = ("finance_callcenter",)
depends_on = "0001_core"

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "cc_queues",
        sa.Column("key", sa.String(32), nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("sla_minutes", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_cc_queues"),
    )
    op.create_table(
        "cc_agents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("queue_key", sa.String(32), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cc_agents"),
        sa.ForeignKeyConstraint(["queue_key"], ["cc_queues.key"], name="fk_cc_agents_queue_key_cc_queues",
                                ondelete="SET NULL"),
        sa.UniqueConstraint("name", name="uq_cc_agents_name"),
    )
    op.create_index("ix_cc_agents_queue_key", "cc_agents", ["queue_key"])
    op.create_table(
        "cc_routing_tables",
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("note", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("version", name="pk_cc_routing_tables"),
    )
    op.create_table(
        "cc_calls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("audio_path", sa.String(500), nullable=False),
        sa.Column("audio_sha256", sa.String(64), nullable=False),
        sa.Column("audio_bytes", sa.Integer(), nullable=False),
        sa.Column("agent_channel", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("progress_note", sa.String(200), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("uploaded_by", sa.String(64), nullable=False),
        sa.Column("uploaded_at", TS, nullable=False),
        sa.Column("processed_at", TS, nullable=True),
        sa.Column("handled_at", TS, nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("layout", sa.String(8), nullable=False),
        sa.Column("processing_s", sa.Float(), nullable=True),
        sa.Column("queue_key", sa.String(32), nullable=True),
        sa.Column("escalated", sa.Boolean(), nullable=False),
        sa.Column("primary_intent", sa.String(64), nullable=True),
        sa.Column("peak_distress", sa.Float(), nullable=True),
        sa.Column("warnings", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cc_calls"),
        sa.ForeignKeyConstraint(["queue_key"], ["cc_queues.key"], name="fk_cc_calls_queue_key_cc_queues"),
    )
    for col in ("audio_sha256", "status", "uploaded_at", "processed_at", "queue_key", "escalated", "primary_intent"):
        op.create_index(f"ix_cc_calls_{col}", "cc_calls", [col])
    op.create_table(
        "cc_turns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("speaker", sa.String(16), nullable=False),
        sa.Column("start_s", sa.Float(), nullable=False),
        sa.Column("end_s", sa.Float(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("asr_confidence", sa.Float(), nullable=False),
        sa.Column("intent", sa.String(64), nullable=True),
        sa.Column("intent_probability", sa.Float(), nullable=True),
        sa.Column("out_of_scope", sa.Boolean(), nullable=False),
        sa.Column("top_intents", sa.JSON(), nullable=False),
        sa.Column("emotion", sa.String(16), nullable=False),
        sa.Column("emotion_scores", sa.JSON(), nullable=False),
        sa.Column("emotion_sources", sa.JSON(), nullable=False),
        sa.Column("distress", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cc_turns"),
        sa.ForeignKeyConstraint(["call_id"], ["cc_calls.id"], name="fk_cc_turns_call_id_cc_calls", ondelete="CASCADE"),
    )
    op.create_index("ix_cc_turns_call_id", "cc_turns", ["call_id"])
    op.create_index("ix_cc_turns_intent", "cc_turns", ["intent"])
    op.create_table(
        "cc_routing_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("queue_key", sa.String(32), nullable=False),
        sa.Column("escalated", sa.Boolean(), nullable=False),
        sa.Column("primary_intent", sa.String(64), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("table_version", sa.Integer(), nullable=True),
        sa.Column("decided_by", sa.String(64), nullable=False),
        sa.Column("decided_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cc_routing_decisions"),
        sa.ForeignKeyConstraint(["call_id"], ["cc_calls.id"], name="fk_cc_routing_decisions_call_id_cc_calls",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["queue_key"], ["cc_queues.key"], name="fk_cc_routing_decisions_queue_key_cc_queues"),
        sa.ForeignKeyConstraint(["table_version"], ["cc_routing_tables.version"],
                                name="fk_cc_routing_decisions_table_version_cc_routing_tables"),
    )
    op.create_index("ix_cc_routing_decisions_call_id", "cc_routing_decisions", ["call_id"])


def downgrade() -> None:
    for table in ("cc_routing_decisions", "cc_turns", "cc_calls", "cc_routing_tables", "cc_agents", "cc_queues"):
        op.drop_table(table)
