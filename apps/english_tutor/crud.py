"""Database reads and writes of the English tutor (keyword-only, one Session passed in). Every
read that a person asks for is filtered by who may see it: a teacher's classes, a student's own
attempts, the students of a teacher's classes."""
from __future__ import annotations

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from apps.english_tutor.models import (Assignment, Attempt, Enrolment, Lesson, PhoneResult, Prompt, TutorClass,
                                       WordResult)
from core.accounts import User
from core.db import utcnow


# --- lessons ----------------------------------------------------------------------------------------
def upsert_lesson(*, session: Session, key: str, title: str, kind: str, level: int, focus: str,
                  prompts: list[str]) -> Lesson:
    """A built-in lesson by its key; its prompts are added or updated in place (never deleted, since
    attempts point at them)."""
    lesson = session.scalars(select(Lesson).where(Lesson.key == key)).first()
    if lesson is None:
        lesson = Lesson(key=key, title=title, kind=kind, level=level, focus=focus)
        session.add(lesson)
        session.flush()
    lesson.title, lesson.kind, lesson.level, lesson.focus = title, kind, level, focus
    existing = {p.position: p for p in lesson.prompts}
    for i, text in enumerate(prompts):
        if i in existing:
            existing[i].text = text
        else:
            lesson.prompts.append(Prompt(position=i, text=text))
    session.flush()
    return lesson


def list_lessons(*, session: Session) -> list[Lesson]:
    return list(session.scalars(select(Lesson).order_by(Lesson.level, Lesson.id)))


def get_lesson(*, session: Session, lesson_id: int) -> Lesson | None:
    return session.get(Lesson, lesson_id)


def get_prompt(*, session: Session, prompt_id: int) -> Prompt | None:
    return session.get(Prompt, prompt_id)


# --- classes ----------------------------------------------------------------------------------------
def add_class(*, session: Session, teacher_id: int, name: str) -> TutorClass:
    c = TutorClass(teacher_id=teacher_id, name=name)
    session.add(c)
    session.flush()
    return c


def list_classes(*, session: Session, teacher_id: int) -> list[TutorClass]:
    return list(session.scalars(select(TutorClass).where(TutorClass.teacher_id == teacher_id)
                                .order_by(TutorClass.name)))


def get_class(*, session: Session, teacher_id: int, class_id: int) -> TutorClass | None:
    return session.scalars(select(TutorClass).where(TutorClass.id == class_id,
                                                    TutorClass.teacher_id == teacher_id)).first()


def get_class_any(*, session: Session, class_id: int) -> TutorClass | None:
    """A class whoever teaches it (the operator's command line)."""
    return session.get(TutorClass, class_id)


def queue_class_attempts(*, session: Session, class_id: int, statuses: tuple[str, ...]) -> int:
    """Queue the class's students' attempts in ``statuses`` for scoring again; how many."""
    students = select(Enrolment.student_id).where(Enrolment.class_id == class_id)
    done = session.execute(update(Attempt).where(Attempt.student_id.in_(students), Attempt.status.in_(statuses))
                           .values(status="queued", attempts=0, heartbeat_at=None))
    return int(done.rowcount or 0)


def enrol(*, session: Session, tutor_class: TutorClass, student: User) -> bool:
    """Adds the student to the class; False when already there."""
    if session.scalars(select(Enrolment).where(Enrolment.class_id == tutor_class.id,
                                               Enrolment.student_id == student.id)).first():
        return False
    session.add(Enrolment(class_id=tutor_class.id, student_id=student.id))
    session.flush()
    return True


def unenrol(*, session: Session, tutor_class: TutorClass, student_id: int) -> None:
    session.execute(delete(Enrolment).where(Enrolment.class_id == tutor_class.id, Enrolment.student_id == student_id))


def class_students(*, session: Session, class_id: int) -> list[User]:
    return list(session.scalars(select(User).join(Enrolment, Enrolment.student_id == User.id)
                                .where(Enrolment.class_id == class_id).order_by(User.username)))


def teaches(*, session: Session, teacher_id: int, student_id: int) -> bool:
    """Whether the student is in one of the teacher's classes."""
    return session.scalars(select(Enrolment.id).join(TutorClass, TutorClass.id == Enrolment.class_id)
                           .where(TutorClass.teacher_id == teacher_id, Enrolment.student_id == student_id)
                           ).first() is not None


def assign(*, session: Session, tutor_class: TutorClass, lesson: Lesson, teacher_id: int) -> bool:
    if session.scalars(select(Assignment).where(Assignment.class_id == tutor_class.id,
                                                Assignment.lesson_id == lesson.id)).first():
        return False
    session.add(Assignment(class_id=tutor_class.id, lesson_id=lesson.id, assigned_by=teacher_id))
    session.flush()
    return True


def assigned_lessons(*, session: Session, student_id: int) -> set[int]:
    """Lesson ids assigned to any class the student is in."""
    return set(session.scalars(select(Assignment.lesson_id).join(Enrolment, Enrolment.class_id == Assignment.class_id)
                               .where(Enrolment.student_id == student_id)))


def class_assignments(*, session: Session, class_id: int) -> list[Lesson]:
    return list(session.scalars(select(Lesson).join(Assignment, Assignment.lesson_id == Lesson.id)
                                .where(Assignment.class_id == class_id).order_by(Lesson.level)))


# --- attempts ---------------------------------------------------------------------------------------
def add_attempt(*, session: Session, student_id: int, prompt: Prompt, audio_path: str, audio_sha256: str,
                audio_bytes: int) -> Attempt:
    a = Attempt(student_id=student_id, prompt_id=prompt.id, audio_path=audio_path, audio_sha256=audio_sha256,
                audio_bytes=audio_bytes, status="stored", error="", result={}, model="")
    session.add(a)
    session.flush()
    return a


def get_attempt(*, session: Session, attempt_id: int) -> Attempt | None:
    return session.get(Attempt, attempt_id)


def save_result(*, session: Session, attempt: Attempt, result: dict, model: str) -> None:
    """Scores, the full result and its word/phone rows (replacing an earlier scoring of the attempt)."""
    session.execute(delete(WordResult).where(WordResult.attempt_id == attempt.id))
    session.execute(delete(PhoneResult).where(PhoneResult.attempt_id == attempt.id))
    for key in ("accuracy", "fluency", "completeness", "prosody", "total"):
        setattr(attempt, key, result[key])
    attempt.duration_s = result.get("duration_s")
    attempt.result, attempt.model, attempt.status, attempt.error = result, model, "scored", ""
    attempt.scored_at = utcnow()
    for w in result["words"]:
        session.add(WordResult(attempt_id=attempt.id, position=w["index"], text=w["text"][:120],
                               accuracy=w["accuracy"], error=w["error"]))
        for k, p in enumerate(w["phones"]):
            session.add(PhoneResult(attempt_id=attempt.id, word_position=w["index"], position=k, phone=p["phone"],
                                    score=p["score"], heard=p["heard"]))
    session.flush()


def mark(*, session: Session, attempt: Attempt, status: str, error: str, duration_s: float | None = None) -> None:
    attempt.status, attempt.error = status, error
    if duration_s is not None:
        attempt.duration_s = duration_s
    session.flush()


def student_attempts(*, session: Session, student_id: int, limit: int = 200) -> list[Attempt]:
    return list(session.scalars(select(Attempt).where(Attempt.student_id == student_id)
                                .order_by(Attempt.created_at.desc(), Attempt.id.desc()).limit(limit)))


def class_attempts(*, session: Session, class_id: int) -> list[Attempt]:
    return list(session.scalars(select(Attempt).join(Enrolment, Enrolment.student_id == Attempt.student_id)
                                .where(Enrolment.class_id == class_id).order_by(Attempt.created_at, Attempt.id)))


def class_phone_errors(*, session: Session, class_id: int) -> list[tuple[str, int, int]]:
    """(phone, times attempted, times wrong or accented) over the class's scored attempts."""
    wrong = func.sum((PhoneResult.score < 2).cast(PhoneResult.score.type))
    q = (select(PhoneResult.phone, func.count(PhoneResult.id), wrong)
         .join(Attempt, Attempt.id == PhoneResult.attempt_id)
         .join(Enrolment, Enrolment.student_id == Attempt.student_id)
         .where(Enrolment.class_id == class_id).group_by(PhoneResult.phone))
    return [(p, int(n), int(w or 0)) for p, n, w in session.execute(q)]
