"""english tutor: classes, enrolments, lessons, prompts, assignments, attempts, word and phone results

Revision ID: et_0001
Revises:
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "et_0001"
down_revision = None
branch_labels = ("english_tutor",)
depends_on = "0001_core"

TS = sa.DateTime(timezone=True)


def _pk(table: str) -> sa.PrimaryKeyConstraint:
    return sa.PrimaryKeyConstraint("id", name=f"pk_{table}")


def _fk(table: str, col: str, ref: str, ondelete: str | None = None) -> sa.ForeignKeyConstraint:
    target = ref.split(".")[0]
    return sa.ForeignKeyConstraint([col], [ref], name=f"fk_{table}_{col}_{target}", ondelete=ondelete)


def _index(table: str, *cols: str) -> None:
    for c in cols:
        op.create_index(f"ix_{table}_{c}", table, [c])


def upgrade() -> None:
    op.create_table(
        "et_classes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("teacher_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        _pk("et_classes"), _fk("et_classes", "teacher_id", "users.id"),
    )
    _index("et_classes", "teacher_id")
    op.create_table(
        "et_enrolments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("class_id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        _pk("et_enrolments"), _fk("et_enrolments", "class_id", "et_classes.id", "CASCADE"),
        _fk("et_enrolments", "student_id", "users.id"),
        sa.UniqueConstraint("class_id", "student_id", name="uq_et_enrolments_class_id"),
    )
    _index("et_enrolments", "class_id", "student_id")
    op.create_table(
        "et_lessons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("title", sa.String(120), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("focus", sa.String(200), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        _pk("et_lessons"), sa.UniqueConstraint("key", name="uq_et_lessons_key"),
    )
    op.create_table(
        "et_prompts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lesson_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(2000), nullable=False),
        _pk("et_prompts"), _fk("et_prompts", "lesson_id", "et_lessons.id", "CASCADE"),
        sa.UniqueConstraint("lesson_id", "position", name="uq_et_prompts_lesson_id"),
    )
    _index("et_prompts", "lesson_id")
    op.create_table(
        "et_assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("class_id", sa.Integer(), nullable=False),
        sa.Column("lesson_id", sa.Integer(), nullable=False),
        sa.Column("assigned_by", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        _pk("et_assignments"), _fk("et_assignments", "class_id", "et_classes.id", "CASCADE"),
        _fk("et_assignments", "lesson_id", "et_lessons.id", "CASCADE"), _fk("et_assignments", "assigned_by", "users.id"),
        sa.UniqueConstraint("class_id", "lesson_id", name="uq_et_assignments_class_id"),
    )
    _index("et_assignments", "class_id", "lesson_id")
    op.create_table(
        "et_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("prompt_id", sa.Integer(), nullable=False),
        sa.Column("audio_path", sa.String(500), nullable=False),
        sa.Column("audio_sha256", sa.String(64), nullable=False),
        sa.Column("audio_bytes", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=True),
        *[sa.Column(c, sa.Float(), nullable=True) for c in ("accuracy", "fluency", "completeness", "prosody", "total")],
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("scored_at", TS, nullable=True),
        _pk("et_attempts"), _fk("et_attempts", "student_id", "users.id"), _fk("et_attempts", "prompt_id", "et_prompts.id"),
    )
    _index("et_attempts", "student_id", "prompt_id")
    op.create_table(
        "et_word_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(120), nullable=False),
        sa.Column("accuracy", sa.Float(), nullable=False),
        sa.Column("error", sa.String(16), nullable=False),
        _pk("et_word_results"), _fk("et_word_results", "attempt_id", "et_attempts.id", "CASCADE"),
    )
    _index("et_word_results", "attempt_id")
    op.create_table(
        "et_phone_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("word_position", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(4), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("heard", sa.String(4), nullable=False),
        _pk("et_phone_results"), _fk("et_phone_results", "attempt_id", "et_attempts.id", "CASCADE"),
    )
    _index("et_phone_results", "attempt_id", "phone")


def downgrade() -> None:
    for table in ("et_phone_results", "et_word_results", "et_attempts", "et_assignments", "et_prompts",
                  "et_lessons", "et_enrolments", "et_classes"):
        op.drop_table(table)
