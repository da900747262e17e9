"""What the supervisor dashboard can do: upload calls, read a call, re-route, take, retry, edit
the routing table. The UI calls these; these call crud. Every function that acts for a person
checks that person's role itself (``require_supervisor``), not only the page guard.

Processing is a durable queue in the database: an upload stores the audio and a 'queued' row at
once; the worker (``worker.py``) takes calls in order; a failure stores its message and keeps the
audio (retry re-queues it).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from apps.finance_callcenter import crud
from apps.finance_callcenter.config import APP_ID, get_callcenter_settings
from apps.finance_callcenter.models import Call, RoutingDecisionRow
from apps.finance_callcenter.routing import RoutingTable, default_table_text, parse_table
from core import accounts
from core.storage import local_path, store
from core.tasks import claims
from core.db import session_scope, utcnow

log = logging.getLogger(__name__)
STALE_AFTER = claims.STALE_AFTER  # a call 'processing' with no heartbeat this long is stuck: re-queued


class CallCenterError(ValueError):
    """A request the service refuses; the message is for the person."""


def require_supervisor(session, username: str | None) -> accounts.User:
    """The signed-in person, if their role may use the call center (supervisor or admin)."""
    user = accounts.user_who_may_open(session=session, username=username, app_id=APP_ID)
    if user is None:
        raise CallCenterError("Only a signed-in supervisor can use the call-center dashboard.")
    return user


def audit(session, username: str | None, action: str, object_type: str, object_id="", detail=None) -> None:
    user = accounts.get_user(session=session, username=username) if username else None
    accounts.record_audit(session=session, user=user, app=APP_ID, action=action, object_type=object_type,
                          object_id=object_id, detail=detail)


def known_intents() -> list[str]:
    """The intent names a routing table may use: read from the intent model's artifact (its label
    list), without loading the model."""
    from core.text.intent import intent_labels

    return list(intent_labels())


# --- routing table ----------------------------------------------------------------------------------
def ensure_setup() -> None:
    """First run: the shipped routing table becomes version 1 and its queues are created."""
    with session_scope() as s:
        if crud.latest_table(session=s) is None:
            table = parse_table(default_table_text())
            crud.add_table(session=s, document=default_table_text(), created_by="", note="shipped default")
            crud.upsert_queues(session=s, queues={k: (q.name, q.sla_minutes) for k, q in table.queues.items()})


def active_table() -> tuple[int, RoutingTable]:
    """The routing table in force (for the worker; no person involved): (version, table)."""
    ensure_setup()
    with session_scope() as s:
        row = crud.latest_table(session=s)
        return row.version, parse_table(row.document)


def current_table(*, username: str) -> tuple[int, str, RoutingTable]:
    ensure_setup()
    with session_scope() as s:
        require_supervisor(s, username)
        row = crud.latest_table(session=s)
        return row.version, row.document, parse_table(row.document)


def save_table(document: str, *, username: str, note: str = "") -> int:
    """Validate and store a new version; raises RoutingTableError (unknown queue/intent, bad YAML)."""
    with session_scope() as s:
        require_supervisor(s, username)
    table = parse_table(document, known_intents())
    with session_scope() as s:
        row = crud.add_table(session=s, document=document, created_by=username, note=note)
        crud.upsert_queues(session=s, queues={k: (q.name, q.sla_minutes) for k, q in table.queues.items()})
        audit(s, username, "update", "routing_table", row.version, {"note": note[:200]})
        return row.version


def table_history(*, username: str) -> list[dict]:
    with session_scope() as s:
        require_supervisor(s, username)
        return [{"version": r.version, "by": r.created_by or "(shipped)", "at": r.created_at, "note": r.note}
                for r in crud.list_tables(session=s)]


# --- uploads and processing -------------------------------------------------------------------------
def store_upload(path: str | Path, *, username: str, filename: str | None = None, agent_channel: int = 0) -> int:
    """Copy the recording into the archive and queue it; returns the call id. Never decodes it."""
    src = Path(path)
    if not src.is_file():
        raise CallCenterError(f"The upload '{filename or src.name}' did not arrive; please try again.")
    with session_scope() as s:
        require_supervisor(s, username)
    key, sha, size = store(src, get_callcenter_settings().resolved_audio_dir)
    with session_scope() as s:
        call = crud.add_call(session=s, filename=filename or src.name, audio_path=key, audio_sha256=sha,
                             audio_bytes=size, uploaded_by=username, agent_channel=agent_channel)
        audit(s, username, "upload", "call", call.id, {"file": call.filename, "bytes": call.audio_bytes})
        return call.id


def submit_uploads(paths: list[str], *, username: str, agent_channel: int = 0) -> list[int]:
    """Store and queue every file (the caller wakes the worker)."""
    limit = get_callcenter_settings().max_files_per_upload
    with session_scope() as s:
        require_supervisor(s, username)
    if not paths:
        raise CallCenterError("Choose one or more call recordings first.")
    if len(paths) > limit:
        raise CallCenterError(f"{len(paths)} files at once is more than the limit of {limit}; upload them in parts.")
    return [store_upload(p, username=username, filename=Path(p).name, agent_channel=agent_channel) for p in paths]


def retry_call(call_id: int, *, username: str) -> None:
    """Queue a failed (or finished) call again (the caller wakes the worker)."""
    with session_scope() as s:
        require_supervisor(s, username)
        if not crud.requeue_call(session=s, call_id=call_id, stale_before=utcnow() - STALE_AFTER):
            raise CallCenterError(f"Call {call_id} cannot be retried now (it is queued or being processed).")
        audit(s, username, "retry", "call", call_id)


def reprocess_period(*, since: datetime, until: datetime, username: str | None = None) -> list[int]:
    """Queue again the calls uploaded in [since, until) that are finished or failed (after a model or
    routing-table update); their ids. ``username``: a supervisor (checked); None: the operator's
    command line (audited as such). The caller wakes the dispatcher (a server picks them up anyway)."""
    if until <= since:
        raise CallCenterError("The period is empty: its end must come after its start.")
    with session_scope() as s:
        if username is not None:
            require_supervisor(s, username)
        ids = crud.requeue_period(session=s, since=since, until=until)
        audit(s, username, "reprocess_period", "call", "", {"since": since.isoformat(), "until": until.isoformat(),
                                                            "calls": len(ids)})
    log.info("%d calls uploaded in [%s, %s) queued again", len(ids), since, until)
    return ids


# --- supervisor actions -------------------------------------------------------------------------------
def reroute_call(call_id: int, queue: str, *, username: str, reason: str) -> None:
    _, _, table = current_table(username=username)
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
        require_supervisor(s, username)
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


def call_recording(call_id: int, *, username: str) -> tuple[Path, str]:
    """(archived file, the name it was uploaded as) for playback; audited."""
    with session_scope() as s:
        require_supervisor(s, username)
        call = crud.get_call(session=s, call_id=call_id)
        if call is None or not local_path(call.audio_path).is_file():
            raise CallCenterError(f"There is no recording for call {call_id}.")
        audit(s, username, "play", "call", call_id)
        return local_path(call.audio_path), call.filename


def call_detail(call_id: int, *, username: str) -> CallView:
    with session_scope() as s:
        require_supervisor(s, username)
        call = crud.get_call(session=s, call_id=call_id, with_turns=True)
        if call is None:
            raise CallCenterError(f"There is no call {call_id}.")
        audit(s, username, "read", "call", call_id)
        return CallView(call=_call_dict(call),
                        turns=[{c: getattr(t, c) for c in ("index", "speaker", "start_s", "end_s", "text", "intent",
                                                           "intent_probability", "out_of_scope", "top_intents",
                                                           "emotion", "emotion_scores", "distress", "asr_confidence",
                                                           "emotion_sources", "emotion_evidence")} for t in call.turns],
                        decisions=[{"queue": d.queue_key, "escalated": d.escalated, "reasons": list(d.reasons),
                                    "by": d.decided_by, "at": d.decided_at, "version": d.table_version}
                                   for d in call.decisions])


def _call_dict(call: Call) -> dict:
    cols = ("id", "filename", "audio_path", "status", "progress", "progress_note", "error", "uploaded_by",
            "duration_s", "layout", "processing_s", "queue_key", "escalated", "primary_intent", "peak_distress",
            "attempts")
    d = {c: getattr(call, c) for c in cols}
    d.update(uploaded_at=call.uploaded_at, processed_at=call.processed_at, handled_at=call.handled_at,
             warnings=list(call.warnings or []))
    return d


def list_call_dicts(*, username: str, **filters) -> list[dict]:
    with session_scope() as s:
        require_supervisor(s, username)
        return [_call_dict(c) for c in crud.list_calls(session=s, **filters)]


def known_intents_or_empty() -> list[str]:
    """Intent names for filters; empty (not an error) while the model artifact is missing."""
    try:
        return known_intents()
    except (OSError, RuntimeError, KeyError, ValueError):  # the dashboard still opens without the intent model
        log.exception("intent labels could not be read; the intent filter is empty")
        return []
