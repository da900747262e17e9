"""Medical dictation tables: patients, encounters, recordings, transcripts (versioned), notes
(draft -> signed, immutable once signed; changes become addenda), note versions, entities.

Clinicians are core accounts (role "clinician"); every read and write of a note goes to core's
audit log. A recording row and its audio file exist before any processing, so nothing is lost
when processing fails.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, utcnow


class Patient(Base):
    __tablename__ = "md_patients"
    __table_args__ = (UniqueConstraint("clinician_id", "mrn", name="uq_md_patients_clinician_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    clinician_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)  # whose patient
    mrn: Mapped[str] = mapped_column(String(32))  # medical record number, unique per clinician
    name: Mapped[str] = mapped_column(String(120))
    birth_date: Mapped[date | None] = mapped_column(Date, default=None)
    sex: Mapped[str] = mapped_column(String(16), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Encounter(Base):
    __tablename__ = "md_encounters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("md_patients.id", ondelete="CASCADE"), index=True)
    clinician_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    reason: Mapped[str] = mapped_column(String(200), default="")
    started_at: Mapped[datetime] = mapped_column(default=utcnow)

    patient: Mapped[Patient] = relationship()


class Recording(Base):
    __tablename__ = "md_recordings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    encounter_id: Mapped[int] = mapped_column(ForeignKey("md_encounters.id", ondelete="CASCADE"), index=True)
    audio_path: Mapped[str] = mapped_column(String(500))  # stored before processing
    audio_sha256: Mapped[str] = mapped_column(String(64))
    audio_bytes: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(255), default="")
    # queued / processing / done / failed ("stored": kept before the task queue, never processed)
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    error: Mapped[str] = mapped_column(Text, default="")
    duration_s: Mapped[float | None] = mapped_column(Float, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    vocabulary: Mapped[list] = mapped_column(JSON, default=list)  # terms typed with this dictation
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # claims by workers (core.tasks.claims)
    heartbeat_at: Mapped[datetime | None] = mapped_column(default=None)  # last sign of life while processing
    progress: Mapped[float] = mapped_column(Float, default=0.0)  # 0..1 while processing
    progress_note: Mapped[str] = mapped_column(String(200), default="")


class Transcript(Base):
    __tablename__ = "md_transcripts"
    __table_args__ = (UniqueConstraint("encounter_id", "version", name="uq_md_transcripts_encounter_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    encounter_id: Mapped[int] = mapped_column(ForeignKey("md_encounters.id", ondelete="CASCADE"), index=True)
    recording_id: Mapped[int | None] = mapped_column(ForeignKey("md_recordings.id", ondelete="SET NULL"))
    version: Mapped[int] = mapped_column(Integer)  # 1 = as recognised; later versions = clinician edits
    raw_text: Mapped[str] = mapped_column(Text, default="")  # recogniser output (version 1)
    text: Mapped[str] = mapped_column(Text)  # normalised / edited text
    source: Mapped[str] = mapped_column(String(16), default="asr")  # "asr" or "edit"
    model: Mapped[str] = mapped_column(String(64), default="")
    repairs: Mapped[list] = mapped_column(JSON, default=list)  # medication spelling repairs applied
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Note(Base):
    __tablename__ = "md_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    encounter_id: Mapped[int] = mapped_column(ForeignKey("md_encounters.id", ondelete="CASCADE"), index=True,
                                              unique=True)
    status: Mapped[str] = mapped_column(String(16), default="draft")  # draft / signed
    subjective: Mapped[str] = mapped_column(Text, default="")
    objective: Mapped[str] = mapped_column(Text, default="")
    assessment: Mapped[str] = mapped_column(Text, default="")
    plan: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)  # optimistic lock: every save increments it
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(64), default="")
    signed_at: Mapped[datetime | None] = mapped_column(default=None)
    signed_by: Mapped[str] = mapped_column(String(64), default="")
    signed_sha256: Mapped[str] = mapped_column(String(64), default="")  # hash of the signed content
    # entities of the signed text (label, text, assertions, attributes, code), found when it was signed
    signed_entities: Mapped[list | None] = mapped_column(JSON, default=None)

    encounter: Mapped[Encounter] = relationship()
    addenda: Mapped[list[Addendum]] = relationship(back_populates="note", order_by="Addendum.id")


class NoteVersion(Base):
    __tablename__ = "md_note_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    note_id: Mapped[int] = mapped_column(ForeignKey("md_notes.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    sections: Mapped[dict] = mapped_column(JSON)  # {"subjective": ..., "objective": ..., ...}
    status: Mapped[str] = mapped_column(String(16))
    saved_by: Mapped[str] = mapped_column(String(64), default="")
    saved_at: Mapped[datetime] = mapped_column(default=utcnow)


class Addendum(Base):
    __tablename__ = "md_addenda"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    note_id: Mapped[int] = mapped_column(ForeignKey("md_notes.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    note: Mapped[Note] = relationship(back_populates="addenda")


class EntityRow(Base):
    __tablename__ = "md_entities"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    transcript_id: Mapped[int] = mapped_column(ForeignKey("md_transcripts.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(16))  # MEDICATION, PROBLEM, PROCEDURE, TEST, ANATOMY
    text: Mapped[str] = mapped_column(String(200))
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    assertions: Mapped[list] = mapped_column(JSON, default=list)
    attributes: Mapped[dict] = mapped_column(JSON, default=dict)
    code: Mapped[str] = mapped_column(String(32), default="")
    source: Mapped[str] = mapped_column(String(16), default="")


class VocabularyTerm(Base):
    """A clinician's own vocabulary (drug names, terms): typed by them, or learnt from the drugs in
    their signed notes and from the names they corrected in the editor. It biases the recogniser
    and is searched first by the drug-name repair."""

    __tablename__ = "md_vocabulary"
    __table_args__ = (UniqueConstraint("clinician_id", "key", name="uq_md_vocabulary_clinician_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    clinician_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    term: Mapped[str] = mapped_column(String(80))  # as written ("Seroquel")
    key: Mapped[str] = mapped_column(String(80))  # lower case, for uniqueness
    source: Mapped[str] = mapped_column(String(16), default="typed")  # typed / signed / correction
    uses: Mapped[int] = mapped_column(Integer, default=1)  # times typed, signed or corrected
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

