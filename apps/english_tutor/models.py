"""English tutor tables: classes (a teacher, students), lessons of graded prompts, assignments,
attempts (audio stored first, kept on any failure, retryable) with their word and phone results.

Teachers and students are core accounts (roles "teacher" and "student"). A student's progress is
read from their scored attempts; the class's weakest sounds from its phone results.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, utcnow


class TutorClass(Base):
    __tablename__ = "et_classes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    teacher_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Enrolment(Base):
    __tablename__ = "et_enrolments"
    __table_args__ = (UniqueConstraint("class_id", "student_id", name="uq_et_enrolments_class_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("et_classes.id", ondelete="CASCADE"), index=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Lesson(Base):
    __tablename__ = "et_lessons"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)  # stable id of a built-in lesson ("th-s")
    title: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(16))  # words / minimal_pairs / sentences / passage
    level: Mapped[int] = mapped_column(Integer, default=1)  # 1 (first words) .. 4 (passages)
    focus: Mapped[str] = mapped_column(String(200), default="")  # the sounds it trains, for the teacher
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    prompts: Mapped[list["Prompt"]] = relationship(order_by="Prompt.position", cascade="all, delete-orphan")


class Prompt(Base):
    __tablename__ = "et_prompts"
    __table_args__ = (UniqueConstraint("lesson_id", "position", name="uq_et_prompts_lesson_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("et_lessons.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(String(2000))


class Assignment(Base):
    __tablename__ = "et_assignments"
    __table_args__ = (UniqueConstraint("class_id", "lesson_id", name="uq_et_assignments_class_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("et_classes.id", ondelete="CASCADE"), index=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("et_lessons.id", ondelete="CASCADE"), index=True)
    assigned_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Attempt(Base):
    __tablename__ = "et_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    prompt_id: Mapped[int] = mapped_column(ForeignKey("et_prompts.id"), index=True)
    audio_path: Mapped[str] = mapped_column(String(500))  # stored before scoring
    audio_sha256: Mapped[str] = mapped_column(String(64))
    audio_bytes: Mapped[int] = mapped_column(Integer)
    # stored / scored / refused / failed; queued / processing while a batch re-scores it
    status: Mapped[str] = mapped_column(String(16), default="stored")
    error: Mapped[str] = mapped_column(Text, default="")  # the sentence shown when refused or failed
    duration_s: Mapped[float | None] = mapped_column(Float, default=None)
    accuracy: Mapped[float | None] = mapped_column(Float, default=None)  # 0-100
    fluency: Mapped[float | None] = mapped_column(Float, default=None)
    completeness: Mapped[float | None] = mapped_column(Float, default=None)
    prosody: Mapped[float | None] = mapped_column(Float, default=None)
    total: Mapped[float | None] = mapped_column(Float, default=None)
    result: Mapped[dict] = mapped_column(JSON, default=dict)  # the full assessment (words, phones, insertions)
    model: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    scored_at: Mapped[datetime | None] = mapped_column(default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # re-scoring claims (core.tasks.claims)
    heartbeat_at: Mapped[datetime | None] = mapped_column(default=None)  # last sign of life while re-scored

    prompt: Mapped[Prompt] = relationship()


class WordResult(Base):
    __tablename__ = "et_word_results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("et_attempts.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(String(120))
    accuracy: Mapped[float] = mapped_column(Float)
    error: Mapped[str] = mapped_column(String(16), default="")  # "", mispronounced, substituted, omitted


class PhoneResult(Base):
    __tablename__ = "et_phone_results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("et_attempts.id", ondelete="CASCADE"), index=True)
    word_position: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)
    phone: Mapped[str] = mapped_column(String(4), index=True)  # expected, ARPAbet
    score: Mapped[int] = mapped_column(Integer)  # 0 wrong, 1 accented, 2 good
    heard: Mapped[str] = mapped_column(String(4), default="")
