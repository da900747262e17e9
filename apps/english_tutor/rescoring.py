"""Re-scoring on the suite's processing layer (``core.tasks``): after a scorer update, a teacher's
class (or, from the command line, any class) is scored again by the workers, one task per attempt.

An attempt being re-scored is "queued", then "processing"; it keeps its earlier scores until the new
ones are written (while the worker's claim holds), and a reading the new model refuses keeps its
explanation like a fresh one. The live path (a student reads, the page shows the score) stays
synchronous in ``service.submit_attempt``: it takes a fraction of a second.
"""
from __future__ import annotations

import logging
from datetime import datetime

from apps.english_tutor import crud
from apps.english_tutor.models import Attempt
from apps.english_tutor.service import TutorError, _audit, _class, _model_name, _teacher, assess_recording
from core.db import session_scope
from core.logs import job_context
from core.storage import RecordingChanged
from core.tasks import claims, dispatcher
from core.tasks.registry import TaskKind

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 3
RESCORABLE = ("scored", "refused", "failed", "stored")


def rescore_class(*, class_id: int, username: str | None = None) -> int:
    """Queue every attempt of the class's students for scoring again; returns how many. ``username``:
    the class's teacher (checked); None: the operator's command line (audited as such)."""
    with session_scope() as s:
        user = _teacher(s, username) if username is not None else None
        if user is not None:
            _class(s, user, class_id)
        elif crud.get_class_any(session=s, class_id=int(class_id)) is None:
            raise TutorError(f"There is no class {int(class_id)}.")
        count = crud.queue_class_attempts(session=s, class_id=int(class_id), statuses=RESCORABLE)
        _audit(s, user, "rescore", "class", int(class_id), {"attempts": count})
    log.info("class %s: %d attempts queued for scoring again", class_id, count)
    dispatcher.wake()
    return count


def run_rescore(attempt_id: int) -> str:
    """Claim attempt ``attempt_id`` and score it again: "done", "failed" or "skipped"."""
    with session_scope() as s:
        attempt = claims.claim(session=s, model=Attempt, record_id=int(attempt_id))
        row = s.get(Attempt, int(attempt_id)) if attempt else None
        key, sha, text = (row.audio_path, row.audio_sha256, row.prompt.text) if row else ("", "", "")
    if attempt is None or row is None:
        return "skipped"
    with job_context(f"attempt-{attempt_id}"), claims.Heartbeat(Attempt, int(attempt_id), attempt):
        if attempt > MAX_ATTEMPTS:
            return _finish(attempt_id, attempt, "failed", "Scoring was interrupted several times; please try again.")
        try:
            path = claims.claimed_recording(model=Attempt, record_id=int(attempt_id), attempt=attempt, key=key,
                                            sha256=sha)
        except RecordingChanged as exc:
            log.error("attempt %s: %s", attempt_id, exc)
            return _finish(attempt_id, attempt, "failed", "The stored recording changed on disk; please read again.")
        status, message, result, duration = assess_recording(path, text, int(attempt_id))
        return _finish(attempt_id, attempt, status, message, result, duration)


def _finish(attempt_id: int, attempt: int, status: str, message: str, result: dict | None = None,
            duration: float | None = None) -> str:
    with session_scope() as s:
        if not claims.finish(session=s, model=Attempt, record_id=int(attempt_id), attempt=attempt, status=status):
            log.warning("attempt %s: claim lost; this scoring is discarded", attempt_id)
            return "skipped"
        row = s.get(Attempt, int(attempt_id))
        if result is not None:
            crud.save_result(session=s, attempt=row, result=result, model=_model_name())
        else:
            crud.mark(session=s, attempt=row, status=status, error=message, duration_s=duration)
    return "done" if status in ("scored", "refused") else "failed"


def pending_rescores(stale_before: datetime) -> list[int]:
    with session_scope() as s:
        claims.requeue_stale(session=s, model=Attempt, older_than=stale_before)
        return claims.queued_ids(session=s, model=Attempt)


def give_up_rescore(attempt_id: int, message: str) -> None:
    with session_scope() as s:
        row = s.get(Attempt, int(attempt_id))
        if row is not None and row.status in (claims.QUEUED, claims.PROCESSING):
            crud.mark(session=s, attempt=row, status="failed", error=message)


KIND = TaskKind(name="tutor.rescore_attempt", run=run_rescore, pending=pending_rescores, fail=give_up_rescore)
KINDS = (KIND,)
