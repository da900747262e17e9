"""Claims on records, written once for every app's table that carries ``status``, ``attempts`` and
``heartbeat_at`` (the record is the task's state; see ``core.tasks``).

``claim`` turns "queued" into "processing" in one UPDATE and returns the attempt number, which is the
claim's token; ``finish`` writes the outcome only while that token still holds (one UPDATE again),
so a worker that was presumed dead and replaced cannot write a second outcome; ``release`` gives a
claim back without counting it as an attempt; ``requeue_stale`` puts back records whose worker
stopped beating.
"""
from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from core.db import utcnow
from core.storage import RecordingUnavailable, verified_path
from core.tasks.registry import Retry

log = logging.getLogger(__name__)
QUEUED, PROCESSING = "queued", "processing"
STALE_AFTER = timedelta(seconds=60)  # a claim whose heartbeat is older than this is abandoned (its worker died)
WAITING_NOTE = "waiting for a worker that can read the recording"


def claim(*, session: Session, model, record_id: int, **values) -> int | None:
    """Mark a queued record as being processed; its attempt number (the claim token) or None when it
    is not queued (another worker has it, it is finished, or it was deleted)."""
    done = session.execute(update(model).where(model.id == record_id, model.status == QUEUED)
                           .values(status=PROCESSING, attempts=model.attempts + 1, heartbeat_at=utcnow(), **values))
    if done.rowcount != 1:
        return None
    return int(session.scalar(select(model.attempts).where(model.id == record_id)))


def _held(model, record_id: int, attempt: int):
    return and_(model.id == record_id, model.status == PROCESSING, model.attempts == attempt)


def finish(*, session: Session, model, record_id: int, attempt: int, status: str, **values) -> bool:
    """Write the outcome (``status`` and any columns) if the claim still holds; False when it was lost
    (the record was put back and claimed by another worker): write nothing else then."""
    done = session.execute(update(model).where(_held(model, record_id, attempt)).values(status=status, **values))
    return done.rowcount == 1


def release(*, session: Session, model, record_id: int, attempt: int, **values) -> bool:
    """Give the claim back (the record is queued again, this claim not counted as an attempt)."""
    done = session.execute(update(model).where(_held(model, record_id, attempt))
                           .values(status=QUEUED, attempts=model.attempts - 1, heartbeat_at=None, **values))
    return done.rowcount == 1


def beat(*, session: Session, model, record_id: int, attempt: int, **values) -> None:
    """The worker holding this claim is alive (and may report progress in ``values``)."""
    session.execute(update(model).where(_held(model, record_id, attempt)).values(heartbeat_at=utcnow(), **values))


def stale(model, older_than: datetime):
    """Records 'processing' whose worker gave no sign of life since ``older_than``."""
    return and_(model.status == PROCESSING, or_(model.heartbeat_at.is_(None), model.heartbeat_at < older_than))


def requeue_stale(*, session: Session, model, older_than: datetime, **values) -> list[int]:
    """Put stale records back in the queue (their worker died or lost the database); their ids."""
    ids = list(session.scalars(select(model.id).where(stale(model, older_than))))
    if ids:
        session.execute(update(model).where(model.id.in_(ids), stale(model, older_than))
                        .values(status=QUEUED, **values))
    return ids


def queued_ids(*, session: Session, model, limit: int = 1000) -> list[int]:
    """Queued records, oldest first."""
    return list(session.scalars(select(model.id).where(model.status == QUEUED).order_by(model.id).limit(limit)))


class Heartbeat:
    """``with Heartbeat(Model, record_id, attempt):`` writes the record's heartbeat every ``every``
    seconds while the block runs (a long transcription gives no progress for minutes; without the
    beat its record would look abandoned and be given to another worker)."""

    def __init__(self, model, record_id: int, attempt: int, every: float = 10.0):
        self.model, self.record_id, self.attempt, self.every = model, record_id, attempt, every
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"heartbeat-{record_id}", daemon=True)

    def _run(self) -> None:
        from core.db import session_scope

        while not self.stop.wait(self.every):
            try:
                with session_scope() as s:
                    beat(session=s, model=self.model, record_id=self.record_id, attempt=self.attempt)
            except Exception:  # noqa: BLE001 - a missed beat is harmless; keep beating
                log.warning("record %s: heartbeat not written", self.record_id, exc_info=True)

    def __enter__(self) -> "Heartbeat":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()


def claimed_recording(*, model, record_id: int, attempt: int, key: str, sha256: str, **values) -> Path:
    """The claimed record's recording on this machine, its content hash checked. When this machine
    cannot read it, the claim is given back (with ``values``, e.g. a progress note) and ``Retry`` is
    raised so another worker takes it; ``RecordingChanged`` passes through (nobody should analyse it)."""
    from core.db import session_scope

    try:
        return verified_path(key, sha256)
    except RecordingUnavailable as exc:
        log.warning("%s %s: %s; handing it to another worker", model.__tablename__, record_id, exc)
        with session_scope() as s:
            release(session=s, model=model, record_id=record_id, attempt=attempt, **values)
        raise Retry(str(exc)) from exc
