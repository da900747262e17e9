"""What the supervisor dashboard can do: upload calls, watch the queues, read a call, re-route,
edit the routing table, analyse and export. The UI calls these; these call crud and the pipeline.

Processing is a durable queue in the database: an upload stores the audio and a 'queued' row at
once; one background worker takes calls in order; a failure stores its message and keeps the audio
(retry re-queues it); a server restart re-queues calls it was working on.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from apps.finance_callcenter import crud
from apps.finance_callcenter.config import get_callcenter_settings
from apps.finance_callcenter.models import Call, RoutingDecisionRow, Turn
from apps.finance_callcenter.routing import RoutingTable, default_table_text, parse_table
from core import accounts
from core.archive import archive_file
from core.audio import AudioError
from core.db import session_scope

APP = "finance_callcenter"


class CallCenterError(ValueError):
    """A request the service refuses; the message is for the person."""


def as_utc(dt: datetime | None) -> datetime | None:
    return dt.replace(tzinfo=UTC) if dt is not None and dt.tzinfo is None else dt


def audit(session, username: str | None, action: str, object_type: str, object_id="", detail=None) -> None:
    user = accounts.get_user(session=session, username=username) if username else None
    accounts.record_audit(session=session, user=user, app=APP, action=action, object_type=object_type,
                          object_id=object_id, detail=detail)


def known_intents() -> list[str]:
    from core.text.intent import get_intent_classifier

    clf = get_intent_classifier()
    return [lab for i, lab in enumerate(clf.labels) if i != clf.oos_index]


# --- routing table ----------------------------------------------------------------------------------
def ensure_setup() -> None:
    """First run: the shipped routing table becomes version 1 and its queues are created."""
    with session_scope() as s:
        if crud.latest_table(session=s) is None:
            table = parse_table(default_table_text())
            crud.add_table(session=s, document=default_table_text(), created_by="", note="shipped default")
            crud.upsert_queues(session=s, queues={k: (q.name, q.sla_minutes) for k, q in table.queues.items()})


def current_table() -> tuple[int, str, RoutingTable]:
    ensure_setup()
    with session_scope() as s:
        row = crud.latest_table(session=s)
        return row.version, row.document, parse_table(row.document)


def save_table(document: str, *, username: str, note: str = "") -> int:
    """Validate and store a new version; raises RoutingTableError (unknown queue/intent, bad YAML)."""
    table = parse_table(document, known_intents())
    with session_scope() as s:
        row = crud.add_table(session=s, document=document, created_by=username, note=note)
        crud.upsert_queues(session=s, queues={k: (q.name, q.sla_minutes) for k, q in table.queues.items()})
        audit(s, username, "update", "routing_table", row.version, {"note": note[:200]})
        return row.version


def table_history() -> list[dict]:
    with session_scope() as s:
        return [{"version": r.version, "by": r.created_by or "(shipped)", "at": as_utc(r.created_at), "note": r.note}
                for r in crud.list_tables(session=s)]


# --- uploads and processing -------------------------------------------------------------------------
def store_upload(path: str | Path, *, username: str, filename: str | None = None, agent_channel: int = 0) -> int:
    """Copy the recording into the archive and queue it; returns the call id. Never decodes it."""
    src = Path(path)
    if not src.is_file():
        raise CallCenterError(f"The upload '{filename or src.name}' did not arrive; please try again.")
    target, sha, size = archive_file(src, get_callcenter_settings().resolved_audio_dir)
    with session_scope() as s:
        call = crud.add_call(session=s, filename=filename or src.name, audio_path=str(target), audio_sha256=sha,
                             audio_bytes=size, uploaded_by=username, agent_channel=agent_channel)
        audit(s, username, "upload", "call", call.id, {"file": call.filename, "bytes": call.audio_bytes})
        return call.id


def submit_uploads(paths: list[str], *, username: str, agent_channel: int = 0) -> list[int]:
    limit = get_callcenter_settings().max_files_per_upload
    if not paths:
        raise CallCenterError("Choose one or more call recordings first.")
    if len(paths) > limit:
        raise CallCenterError(f"{len(paths)} files at once is more than the limit of {limit}; upload them in parts.")
    ids = [store_upload(p, username=username, filename=Path(p).name, agent_channel=agent_channel) for p in paths]
    ensure_worker()
    return ids


def process_call(call_id: int) -> str:
    """Run one claimed call through the pipeline and store the results; returns its final status."""
    from apps.finance_callcenter.pipeline import analyse_call

    with session_scope() as s:
        call = crud.get_call(session=s, call_id=call_id)
        path, agent_channel, filename = call.audio_path, call.agent_channel, call.filename
    version, _, table = current_table()
    started = time.perf_counter()

    def report(fraction: float, note: str) -> None:
        with session_scope() as s:
            crud.set_progress(session=s, call_id=call_id, progress=round(fraction, 3), note=note)

    try:
        result = analyse_call(path, table, agent_channel=agent_channel, progress=report)
    except AudioError as exc:  # name the file as the person uploaded it, not as it is archived
        return _fail(call_id, exc.message.replace(Path(path).name, filename))
    except Exception as exc:  # noqa: BLE001 - any failure is stored with the call, audio kept, retry possible
        return _fail(call_id, f"Processing failed ({type(exc).__name__}: {str(exc)[:300]}). The recording is kept; "
                              "press Retry.")
    turns = [Turn(index=a.turn.index, speaker=a.turn.speaker, start_s=a.turn.start, end_s=a.turn.end,
                  text=a.turn.text, asr_confidence=a.turn.confidence, intent=a.intent,
                  intent_probability=a.intent_probability, out_of_scope=a.out_of_scope, top_intents=a.top_intents,
                  emotion=a.emotion.label, emotion_scores=a.emotion.probabilities,
                  emotion_sources=list(a.emotion.sources), distress=a.emotion.distress) for a in result.turns]
    d = result.decision
    decision = RoutingDecisionRow(queue_key=d.queue, escalated=d.escalated, primary_intent=d.primary_intent,
                                  reasons=list(d.reasons), table_version=version, decided_by="auto")
    with session_scope() as s:
        call = crud.get_call(session=s, call_id=call_id, with_turns=True)
        crud.save_results(session=s, call=call, turns=turns, decision=decision, duration_s=result.segmented.duration,
                          layout=result.segmented.layout, processing_s=round(time.perf_counter() - started, 2),
                          warnings=list(result.segmented.warnings))
        audit(s, None, "process", "call", call_id, {"queue": d.queue, "escalated": d.escalated,
                                                     "turns": len(turns)})
    return "done"


def _fail(call_id: int, message: str) -> str:
    with session_scope() as s:
        crud.fail_call(session=s, call_id=call_id, error=message)
        audit(s, None, "process_failed", "call", call_id, {"error": message[:200]})
    return "failed"


def process_pending(max_calls: int | None = None) -> int:
    """Work through queued calls in upload order (what the worker thread runs); returns how many."""
    done = 0
    while max_calls is None or done < max_calls:
        with session_scope() as s:
            call = crud.claim_next_call(session=s)
            call_id = call.id if call else None
        if call_id is None:
            break
        process_call(call_id)
        done += 1
    return done


def retry_call(call_id: int, *, username: str) -> None:
    with session_scope() as s:
        if not crud.requeue_call(session=s, call_id=call_id):
            raise CallCenterError(f"Call {call_id} cannot be retried now (it is queued or being processed).")
        audit(s, username, "retry", "call", call_id)
    ensure_worker()


class _Worker(threading.Thread):
    def __init__(self):
        super().__init__(name="callcenter-worker", daemon=True)
        self.wake = threading.Event()
        self.stopping = False

    def run(self) -> None:
        while not self.stopping:
            try:
                process_pending()
            except Exception:  # noqa: BLE001 - keep serving; the failing call is already marked
                time.sleep(2.0)
            self.wake.wait(timeout=2.0)
            self.wake.clear()


_worker: _Worker | None = None
_worker_lock = threading.Lock()


def stop_worker(timeout: float = 60.0) -> None:
    """Let the worker finish the call in hand and end (server shutdown, tests)."""
    global _worker
    with _worker_lock:
        if _worker is not None:
            _worker.stopping = True
            _worker.wake.set()
            _worker.join(timeout)
            _worker = None


def ensure_worker() -> None:
    """Start the background worker once per process (and re-queue calls a restart interrupted)."""
    global _worker
    if not get_callcenter_settings().start_worker:
        return
    with _worker_lock:
        if _worker is None or not _worker.is_alive():
            with session_scope() as s:
                crud.requeue_interrupted(session=s)
            _worker = _Worker()
            _worker.start()
        _worker.wake.set()


# --- supervisor actions -------------------------------------------------------------------------------
def reroute_call(call_id: int, queue: str, *, username: str, reason: str) -> None:
    _, _, table = current_table()
    if queue not in table.queues:
        raise CallCenterError(f"Unknown queue '{queue}'. Queues: {', '.join(sorted(table.queues))}.")
    if not reason.strip():
        raise CallCenterError("Say why the call is re-routed (it is stored with the decision).")
    with session_scope() as s:
        call = crud.get_call(session=s, call_id=call_id, with_turns=True)
        if call is None or call.status != "done":
            raise CallCenterError(f"Call {call_id} has not been processed yet.")
        row = RoutingDecisionRow(queue_key=queue, escalated=queue == table.escalation.queue,
                                 primary_intent=call.primary_intent, reasons=[f"Re-routed by {username}: {reason.strip()}"],
                                 decided_by=username)
        crud.reroute(session=s, call=call, decision=row)
        audit(s, username, "reroute", "call", call_id, {"queue": queue, "reason": reason[:200]})


def take_call(call_id: int, *, username: str) -> None:
    """An agent picked the call up: it stops waiting (SLA clock stops)."""
    with session_scope() as s:
        call = crud.get_call(session=s, call_id=call_id)
        if call is None or call.status != "done":
            raise CallCenterError(f"Call {call_id} is not waiting in a queue.")
        crud.mark_handled(session=s, call=call)
        audit(s, username, "handled", "call", call_id)


@dataclass(frozen=True)
class CallView:
    call: dict
    turns: list[dict]
    decisions: list[dict]


def call_detail(call_id: int, *, username: str) -> CallView:
    with session_scope() as s:
        call = crud.get_call(session=s, call_id=call_id, with_turns=True)
        if call is None:
            raise CallCenterError(f"There is no call {call_id}.")
        audit(s, username, "read", "call", call_id)
        return CallView(call=_call_dict(call),
                        turns=[{c: getattr(t, c) for c in ("index", "speaker", "start_s", "end_s", "text", "intent",
                                                           "intent_probability", "out_of_scope", "top_intents",
                                                           "emotion", "emotion_scores", "distress", "asr_confidence",
                                                           "emotion_sources")} for t in call.turns],
                        decisions=[{"queue": d.queue_key, "escalated": d.escalated, "reasons": list(d.reasons),
                                    "by": d.decided_by, "at": as_utc(d.decided_at), "version": d.table_version}
                                   for d in call.decisions])


def _call_dict(call: Call) -> dict:
    cols = ("id", "filename", "audio_path", "status", "progress", "progress_note", "error", "uploaded_by",
            "duration_s", "layout", "processing_s", "queue_key", "escalated", "primary_intent", "peak_distress",
            "attempts")
    d = {c: getattr(call, c) for c in cols}
    d.update(uploaded_at=as_utc(call.uploaded_at), processed_at=as_utc(call.processed_at),
             handled_at=as_utc(call.handled_at), warnings=list(call.warnings or []))
    return d


def list_call_dicts(**filters) -> list[dict]:
    with session_scope() as s:
        return [_call_dict(c) for c in crud.list_calls(session=s, **filters)]


def known_intents_or_empty() -> list[str]:
    """Intent names for filters; empty (not an error) while the model artifact is missing."""
    try:
        return known_intents()
    except Exception:  # noqa: BLE001 - the dashboard still opens without the intent model
        return []
