"""What the tutor's pages can do. Students: lessons, the reference voice, submit a reading (audio
stored first, then scored; kept on any failure and retryable), their results and progress.
Teachers: classes, enrolling students, assigning lessons, each student's trend, the class's
weakest sounds, CSV export. Every function checks the caller's role and ownership itself: a
student sees only their own attempts, a teacher only their classes' students.
"""
from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import yaml

from apps.common.spreadsheet import csv_text
from apps.english_tutor import crud
from apps.english_tutor.config import APP_ID, get_tutor_settings
from core import accounts
from core.audio import AudioError, load_audio
from core.db import session_scope
from core.storage import local_path, store
from core.pronunciation.assess import AssessmentError, assess
from core.pronunciation.phones import PHONE_INFO, ipa
from core.pronunciation.tips import tips_for

log = logging.getLogger(__name__)
LESSONS_FILE = Path(__file__).resolve().parent / "lessons.yaml"
RETRYABLE = ("stored", "failed")  # a crash interrupted scoring, or scoring failed: score again
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_lessons_ready = threading.Event()


class TutorError(ValueError):
    """A request the service refuses; the message is for the person."""


@dataclass(frozen=True)
class AttemptView:
    id: int
    student: str
    prompt: str
    lesson: str
    status: str  # stored / scored / refused / failed
    message: str  # why it was refused or failed ("" when scored)
    scores: dict  # accuracy, fluency, completeness, prosody, total (0-100) when scored
    words: list  # word dicts with phones (expected, heard, IPA, score)
    insertions: list
    tips: list
    created_at: object
    duration_s: float | None


def _user(session, username: str):
    user = accounts.user_who_may_open(session=session, username=username, app_id=APP_ID)
    if user is None:
        raise TutorError("Please sign in as a student or a teacher to use the tutor.")
    return user


def _teacher(session, username: str):
    user = _user(session, username)
    if user.role not in ("teacher", "admin"):
        raise TutorError("Only a teacher can manage classes.")
    return user


def _audit(session, user, action: str, object_type: str, object_id, detail: dict | None = None) -> None:
    accounts.record_audit(session=session, user=user, app=APP_ID, action=action, object_type=object_type,
                          object_id=object_id, detail=detail)


def ensure_lessons() -> None:
    """The built-in lessons (``lessons.yaml``) in the database, once per process (idempotent)."""
    if _lessons_ready.is_set():
        return
    data = yaml.safe_load(LESSONS_FILE.read_text())
    with session_scope() as s:
        for item in data:
            crud.upsert_lesson(session=s, key=item["key"], title=item["title"], kind=item["kind"],
                               level=int(item["level"]), focus=item.get("focus", ""), prompts=list(item["prompts"]))
    _lessons_ready.set()


# --- lessons and the reference voice ----------------------------------------------------------------
def list_lessons(*, username: str) -> list[dict]:
    ensure_lessons()
    with session_scope() as s:
        user = _user(s, username)
        assigned = crud.assigned_lessons(session=s, student_id=user.id)
        rows = [{"id": l.id, "title": l.title, "kind": l.kind, "level": l.level, "focus": l.focus,
                 "prompts": len(l.prompts), "assigned": l.id in assigned} for l in crud.list_lessons(session=s)]
    return sorted(rows, key=lambda r: (not r["assigned"], r["level"], r["id"]))


def lesson_prompts(*, username: str, lesson_id: int) -> list[dict]:
    ensure_lessons()
    with session_scope() as s:
        _user(s, username)
        lesson = crud.get_lesson(session=s, lesson_id=int(lesson_id))
        if lesson is None:
            raise TutorError("That lesson does not exist.")
        return [{"id": p.id, "text": p.text, "position": p.position} for p in lesson.prompts]


def _prompt_text(session, prompt_id: int) -> tuple[str, str]:
    prompt = crud.get_prompt(session=session, prompt_id=int(prompt_id))
    if prompt is None:
        raise TutorError("That prompt does not exist.")
    return prompt.text, crud.get_lesson(session=session, lesson_id=prompt.lesson_id).title


def prompt_text(*, username: str, prompt_id: int) -> str:
    with session_scope() as s:
        _user(s, username)
        return _prompt_text(s, prompt_id)[0]


@lru_cache(maxsize=256)
def _reference(text: str) -> np.ndarray:
    from core.pronunciation.espeak import synthesize

    return synthesize(text)


def reference_audio(*, username: str, prompt_id: int) -> tuple[int, np.ndarray]:
    """The prompt read by the reference voice (espeak-ng, clearly synthetic): (16000, samples)."""
    with session_scope() as s:
        _user(s, username)
        text, _ = _prompt_text(s, prompt_id)
    return 16000, _reference(text)


# --- attempts ---------------------------------------------------------------------------------------
def submit_attempt(*, username: str, prompt_id: int, upload: str | Path) -> AttemptView:
    """Store the recording (before anything reads it), then score it."""
    key, sha, size = store(upload, get_tutor_settings().resolved_audio_dir)
    with session_scope() as s:
        user = _user(s, username)
        prompt = crud.get_prompt(session=s, prompt_id=int(prompt_id))
        if prompt is None:
            raise TutorError("That prompt does not exist.")
        attempt = crud.add_attempt(session=s, student_id=user.id, prompt=prompt, audio_path=key,
                                   audio_sha256=sha, audio_bytes=size)
        _audit(s, user, "create", "attempt", attempt.id, {"prompt": prompt.id, "bytes": size})
        attempt_id = attempt.id
    return score_attempt(username=username, attempt_id=attempt_id)


def _own_attempt(session, user, attempt_id: int, *, write: bool = False):
    """The attempt if this person may see it: its student; their teacher or an admin for reading."""
    attempt = crud.get_attempt(session=session, attempt_id=int(attempt_id))
    allowed = attempt is not None and (
        attempt.student_id == user.id
        or (not write and user.role == "admin")
        or (not write and user.role == "teacher" and crud.teaches(session=session, teacher_id=user.id,
                                                                  student_id=attempt.student_id)))
    if not allowed:
        raise TutorError("That attempt does not exist or is not yours.")
    return attempt


def score_attempt(*, username: str, attempt_id: int) -> AttemptView:
    """Score a stored attempt (a new one, or a retry of one that was interrupted or failed)."""
    with session_scope() as s:
        user = _user(s, username)
        attempt = _own_attempt(s, user, attempt_id, write=True)
        if attempt.status not in RETRYABLE:
            raise TutorError("That attempt is already scored; record a new one to try again.")
        key, text = attempt.audio_path, attempt.prompt.text
    status, message, result, duration = assess_recording(local_path(key), text, attempt_id)
    with session_scope() as s:
        user = _user(s, username)
        attempt = _own_attempt(s, user, attempt_id, write=True)
        if result is not None:
            crud.save_result(session=s, attempt=attempt, result=result, model=_model_name())
        else:
            crud.mark(session=s, attempt=attempt, status=status, error=message, duration_s=duration)
        return _view(s, attempt)


def assess_recording(path: Path, text: str, attempt_id: int) -> tuple[str, str, dict | None, float | None]:
    """Score a reading of ``text`` (model work: no transaction open): (status, message for the
    student, the assessment, seconds) with status "scored", "refused" (bad audio, explained) or
    "failed" (our fault; the recording is kept)."""
    status, message, result, duration = "failed", "", None, None
    try:
        audio = load_audio(path)
        duration = audio.duration
        limit = get_tutor_settings().max_seconds
        if duration > limit:
            raise AssessmentError(f"The recording is {duration:.0f} s long; please keep a reading under "
                                  f"{limit:.0f} s.", "too_long")
        assessment = assess(audio.samples, text, recognizer=_recognizer(), scorer=_scorer())
        result, status = assessment.to_dict(), "scored"
    except (AudioError, AssessmentError) as exc:
        log.info("attempt %s refused: %s", attempt_id, exc.message, exc_info=True)
        status, message = "refused", exc.message
    except Exception:  # noqa: BLE001 - the recording is kept; the student can retry
        log.exception("scoring attempt %s failed", attempt_id)
        message = "Scoring failed on the server; your recording is kept. Please press Retry."
    return status, message, result, duration


def _recognizer():
    from core.pronunciation.recognizer import default_recognizer

    return default_recognizer(get_tutor_settings().recogniser)


def _scorer():
    from core.pronunciation.scorer import default_scorer

    return default_scorer(get_tutor_settings().scorer)


def _model_name() -> str:
    return Path(get_tutor_settings().scorer or "scorer-tiny.json").stem[:64]


def _view(session, attempt) -> AttemptView:
    from core.accounts import User

    student = session.get(User, attempt.student_id)
    text, lesson = _prompt_text(session, attempt.prompt_id)
    r = attempt.result or {}
    words = [{**w, "phones": [{**p, "ipa": ipa(p["phone"]), "heard_ipa": ipa(p["heard"]) if p["heard"] else ""}
                              for p in w["phones"]]} for w in r.get("words", [])]
    scores = {k: r[k] for k in ("accuracy", "fluency", "completeness", "prosody", "total")} if r else {}
    return AttemptView(id=attempt.id, student=student.username if student else "", prompt=text, lesson=lesson,
                       status=attempt.status, message=attempt.error, scores=scores, words=words,
                       insertions=r.get("insertions", []), tips=tips_for(words) if words else [],
                       created_at=attempt.created_at, duration_s=attempt.duration_s)


def get_attempt(*, username: str, attempt_id: int) -> AttemptView:
    with session_scope() as s:
        user = _user(s, username)
        attempt = _own_attempt(s, user, attempt_id)
        if attempt.student_id != user.id:
            _audit(s, user, "view", "attempt", attempt.id)
        return _view(s, attempt)


def attempt_audio(*, username: str, attempt_id: int) -> Path:
    """The stored recording of an attempt this person may see (for the player)."""
    with session_scope() as s:
        user = _user(s, username)
        return local_path(_own_attempt(s, user, attempt_id).audio_path)


def history(*, username: str) -> list[dict]:
    """The student's own attempts, newest first."""
    with session_scope() as s:
        user = _user(s, username)
        return [_row(a) for a in crud.student_attempts(session=s, student_id=user.id)]


def _row(a) -> dict:
    return {"id": a.id, "when": a.created_at, "prompt": a.prompt.text, "status": a.status,
            "total": a.total, "accuracy": a.accuracy, "fluency": a.fluency, "completeness": a.completeness,
            "prosody": a.prosody, "message": a.error}


# --- teachers ---------------------------------------------------------------------------------------
def clean_name(text: str | None) -> str:
    value = _CONTROL.sub("", text or "").strip()
    if not value:
        raise TutorError("Please give the class a name.")
    limit = get_tutor_settings().max_name_chars
    if len(value) > limit:
        raise TutorError(f"The name is too long (at most {limit} characters).")
    return value


def create_class(*, username: str, name: str) -> int:
    with session_scope() as s:
        user = _teacher(s, username)
        c = crud.add_class(session=s, teacher_id=user.id, name=clean_name(name))
        _audit(s, user, "create", "class", c.id)
        return c.id


def list_classes(*, username: str) -> list[dict]:
    with session_scope() as s:
        user = _teacher(s, username)
        return [{"id": c.id, "name": c.name, "students": len(crud.class_students(session=s, class_id=c.id))}
                for c in crud.list_classes(session=s, teacher_id=user.id)]


def _class(session, user, class_id):
    c = crud.get_class(session=session, teacher_id=user.id, class_id=int(class_id or 0))
    if c is None:
        raise TutorError("That class does not exist or is not yours.")
    return c


def add_student(*, username: str, class_id: int, student: str) -> str:
    with session_scope() as s:
        user = _teacher(s, username)
        c = _class(s, user, class_id)
        other = accounts.get_user(session=s, username=(student or "").strip().lower())
        if other is None or other.role != "student" or not other.is_active:
            raise TutorError(f"There is no active student account '{(student or '').strip()[:40]}'. "
                             "An administrator creates student accounts.")
        added = crud.enrol(session=s, tutor_class=c, student=other)
        _audit(s, user, "enrol", "class", c.id, {"student": other.username})
        return f"{other.username} added to {c.name}." if added else f"{other.username} is already in {c.name}."


def assign_lesson(*, username: str, class_id: int, lesson_id: int) -> str:
    ensure_lessons()
    with session_scope() as s:
        user = _teacher(s, username)
        c = _class(s, user, class_id)
        lesson = crud.get_lesson(session=s, lesson_id=int(lesson_id or 0))
        if lesson is None:
            raise TutorError("That lesson does not exist.")
        new = crud.assign(session=s, tutor_class=c, lesson=lesson, teacher_id=user.id)
        _audit(s, user, "assign", "class", c.id, {"lesson": lesson.key})
        return f"'{lesson.title}' assigned to {c.name}." if new else f"'{lesson.title}' was already assigned."


def class_report(*, username: str, class_id: int) -> dict:
    """Students (attempts, mean and latest total, trend per attempt), weakest sounds, assignments."""
    with session_scope() as s:
        user = _teacher(s, username)
        c = _class(s, user, class_id)
        students = crud.class_students(session=s, class_id=c.id)
        attempts = [a for a in crud.class_attempts(session=s, class_id=c.id)]
        by_student: dict[int, list] = {}
        for a in attempts:
            if a.status == "scored":
                by_student.setdefault(a.student_id, []).append(a)
        rows, trend = [], []
        for st in students:
            mine = by_student.get(st.id, [])
            totals = [a.total for a in mine]
            slope = float(np.polyfit(np.arange(len(totals)), totals, 1)[0]) if len(totals) >= 3 else None
            rows.append({"student": st.username, "attempts": len(mine),
                         "mean_total": round(float(np.mean(totals)), 1) if totals else None,
                         "latest_total": totals[-1] if totals else None,
                         "trend_per_attempt": round(slope, 2) if slope is not None else None})
            trend += [{"student": st.username, "attempt": i + 1, "when": a.created_at, "total": a.total}
                      for i, a in enumerate(mine)]
        weak = [{"phone": p, "sound": f"/{ipa(p)}/ ({PHONE_INFO[p][1]})", "attempted": n,
                 "error_rate": round(w / n, 3)} for p, n, w in crud.class_phone_errors(session=s, class_id=c.id) if n]
        weak.sort(key=lambda r: (-r["error_rate"], -r["attempted"]))
        lessons = [{"id": l.id, "title": l.title} for l in crud.class_assignments(session=s, class_id=c.id)]
        _audit(s, user, "view", "class", c.id)
        return {"class": c.name, "students": rows, "trend": trend, "weak_phonemes": weak[:12], "assigned": lessons}


CSV_COLUMNS = ["class", "student", "attempt_id", "when", "lesson", "prompt", "status", "accuracy", "fluency",
               "completeness", "prosody", "total", "weakest_words"]


def export_csv(*, username: str, class_id: int) -> str:
    """Every attempt of the class's students, one row each (the CSV text; nothing written to disk)."""
    with session_scope() as s:
        user = _teacher(s, username)
        c = _class(s, user, class_id)
        from core.accounts import User

        rows = []
        for a in crud.class_attempts(session=s, class_id=c.id):
            student = s.get(User, a.student_id)
            words = sorted((a.result or {}).get("words", []), key=lambda w: w["accuracy"])[:3]
            rows.append([c.name, student.username, a.id, a.created_at.isoformat(),
                         _prompt_text(s, a.prompt_id)[1], a.prompt.text, a.status, a.accuracy, a.fluency,
                         a.completeness, a.prosody, a.total, " ".join(w["text"] for w in words)])
        _audit(s, user, "export", "class", c.id, {"rows": len(rows)})
        return csv_text(CSV_COLUMNS, rows)
