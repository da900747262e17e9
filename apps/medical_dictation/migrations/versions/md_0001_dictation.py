"""medical dictation: patients, encounters, recordings, transcripts, notes, versions, addenda, entities

Revision ID: md_0001
Revises:
Create Date: 2026-11-21
"""
import sqlalchemy as sa
from alembic import op

revision = "md_0001"
down_revision = None
branch_labels = ("medical_dictation",)
depends_on = "0001_core"

TS = sa.DateTime(timezone=True)


def _pk(table: str) -> sa.PrimaryKeyConstraint:
    return sa.PrimaryKeyConstraint("id", name=f"pk_{table}")


def _fk(table: str, col: str, ref: str, ondelete: str | None = None) -> sa.ForeignKeyConstraint:
    target = ref.split(".")[0]
    return sa.ForeignKeyConstraint([col], [ref], name=f"fk_{table}_{col}_{target}", ondelete=ondelete)


def upgrade() -> None:
    op.create_table(
        "md_patients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinician_id", sa.Integer(), nullable=False),
        sa.Column("mrn", sa.String(32), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("sex", sa.String(16), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        _pk("md_patients"), _fk("md_patients", "clinician_id", "users.id"),
        sa.UniqueConstraint("clinician_id", "mrn", name="uq_md_patients_clinician_id"),
    )
    op.create_index("ix_md_patients_clinician_id", "md_patients", ["clinician_id"])
    op.create_table(
        "md_encounters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("clinician_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        _pk("md_encounters"), _fk("md_encounters", "patient_id", "md_patients.id", "CASCADE"),
        _fk("md_encounters", "clinician_id", "users.id"),
    )
    op.create_index("ix_md_encounters_patient_id", "md_encounters", ["patient_id"])
    op.create_index("ix_md_encounters_clinician_id", "md_encounters", ["clinician_id"])
    op.create_table(
        "md_recordings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("encounter_id", sa.Integer(), nullable=False),
        sa.Column("audio_path", sa.String(500), nullable=False),
        sa.Column("audio_sha256", sa.String(64), nullable=False),
        sa.Column("audio_bytes", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        _pk("md_recordings"), _fk("md_recordings", "encounter_id", "md_encounters.id", "CASCADE"),
    )
    op.create_index("ix_md_recordings_encounter_id", "md_recordings", ["encounter_id"])
    op.create_table(
        "md_transcripts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("encounter_id", sa.Integer(), nullable=False),
        sa.Column("recording_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("raw_text", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("repairs", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        _pk("md_transcripts"), _fk("md_transcripts", "encounter_id", "md_encounters.id", "CASCADE"),
        _fk("md_transcripts", "recording_id", "md_recordings.id", "SET NULL"),
        sa.UniqueConstraint("encounter_id", "version", name="uq_md_transcripts_encounter_id"),
    )
    op.create_index("ix_md_transcripts_encounter_id", "md_transcripts", ["encounter_id"])
    op.create_table(
        "md_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("encounter_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("subjective", sa.Text(), nullable=False),
        sa.Column("objective", sa.Text(), nullable=False),
        sa.Column("assessment", sa.Text(), nullable=False),
        sa.Column("plan", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.Column("signed_at", TS, nullable=True),
        sa.Column("signed_by", sa.String(64), nullable=False),
        sa.Column("signed_sha256", sa.String(64), nullable=False),
        _pk("md_notes"), _fk("md_notes", "encounter_id", "md_encounters.id", "CASCADE"),
    )
    op.create_index("ix_md_notes_encounter_id", "md_notes", ["encounter_id"], unique=True)
    op.create_table(
        "md_note_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("note_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sections", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("saved_by", sa.String(64), nullable=False),
        sa.Column("saved_at", TS, nullable=False),
        _pk("md_note_versions"), _fk("md_note_versions", "note_id", "md_notes.id", "CASCADE"),
    )
    op.create_index("ix_md_note_versions_note_id", "md_note_versions", ["note_id"])
    op.create_table(
        "md_addenda",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("note_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        _pk("md_addenda"), _fk("md_addenda", "note_id", "md_notes.id", "CASCADE"),
    )
    op.create_index("ix_md_addenda_note_id", "md_addenda", ["note_id"])
    op.create_table(
        "md_entities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("transcript_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(16), nullable=False),
        sa.Column("text", sa.String(200), nullable=False),
        sa.Column("start", sa.Integer(), nullable=False),
        sa.Column("end", sa.Integer(), nullable=False),
        sa.Column("assertions", sa.JSON(), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        _pk("md_entities"), _fk("md_entities", "transcript_id", "md_transcripts.id", "CASCADE"),
    )
    op.create_index("ix_md_entities_transcript_id", "md_entities", ["transcript_id"])


def downgrade() -> None:
    for table in ("md_entities", "md_addenda", "md_note_versions", "md_notes", "md_transcripts", "md_recordings",
                  "md_encounters", "md_patients"):
        op.drop_table(table)
