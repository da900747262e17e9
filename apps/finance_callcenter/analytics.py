"""The supervisor's numbers: the live queue board, aggregate charts and the CSV export. Each
checks the caller's role itself (``service.require_supervisor``)."""
from __future__ import annotations

import csv
import io
import logging
from collections import Counter
from datetime import UTC, datetime, timedelta

import pandas as pd

from apps.common.spreadsheet import safe_cell
from apps.finance_callcenter import crud
from apps.finance_callcenter.service import audit, current_table, list_call_dicts
from core.db import session_scope

log = logging.getLogger(__name__)

AMBER_AT = 0.5  # share of the SLA after which a waiting call turns amber (red past the SLA)


def sla_colour(waited_min: float, sla_min: float) -> str:
    if waited_min >= sla_min:
        return "red"
    return "amber" if waited_min >= AMBER_AT * sla_min else "green"


def queue_board(*, username: str, now: datetime | None = None) -> dict:
    """Per queue: calls waiting, escalations waiting, the longest wait and its SLA colour; plus the
    calls still being processed (with progress) and the waiting calls, escalations first."""
    now = now or datetime.now(UTC)
    _, _, table = current_table(username=username)
    with session_scope() as s:
        queues = {q.key: q for q in crud.list_queues(session=s)}
        calls = crud.list_calls(session=s, limit=2000)
        waiting, processing = [], []
        for c in calls:
            if c.status in ("queued", "processing", "failed"):
                processing.append({"id": c.id, "file": c.filename, "status": c.status, "progress": c.progress,
                                   "note": c.progress_note, "error": c.error})
            elif c.status == "done" and c.handled_at is None and c.queue_key:
                waited = (now - c.processed_at).total_seconds() / 60.0
                sla = queues[c.queue_key].sla_minutes if c.queue_key in queues else 30.0
                waiting.append({"id": c.id, "file": c.filename, "queue": c.queue_key, "escalated": c.escalated,
                                "intent": c.primary_intent or "out of scope", "waited_min": round(waited, 1),
                                "sla_min": sla, "colour": sla_colour(waited, sla),
                                "distress": round(c.peak_distress or 0.0, 2)})
    rows = []
    for key in table.queues:  # the table's order
        q = queues.get(key)
        mine = [w for w in waiting if w["queue"] == key]
        longest = max((w["waited_min"] for w in mine), default=0.0)
        sla = q.sla_minutes if q else table.queues[key].sla_minutes
        rows.append({"queue": key, "name": table.queues[key].name, "waiting": len(mine),
                     "escalated": sum(w["escalated"] for w in mine), "longest_wait_min": longest, "sla_min": sla,
                     "colour": sla_colour(longest, sla) if mine else "green"})
    waiting.sort(key=lambda w: (not w["escalated"], -w["waited_min"]))
    processing.sort(key=lambda p: ({"processing": 0, "queued": 1, "failed": 2}[p["status"]], p["id"]))
    return {"queues": rows, "waiting": waiting, "processing": processing, "workers": processing_overview()}


def processing_overview() -> dict | None:
    """The processing layer as the dashboard shows it (mode, broker queue depth, workers alive);
    None when it cannot be read (the board still shows the calls)."""
    from core.tasks import dispatcher

    try:
        return dispatcher.overview()
    except Exception:  # noqa: BLE001 - e.g. the workers table is locked; the board still opens
        log.exception("the processing overview could not be read")
        return None


def _window(days: int | None, now: datetime | None = None) -> datetime | None:
    if not days:
        return None
    return (now or datetime.now(UTC)) - timedelta(days=days)


def filtered_calls(*, username: str, days: int | None = None, queue: str | None = None,
                   intent: str | None = None) -> list[dict]:
    return [c for c in list_call_dicts(username=username, since=_window(days), queue=queue or None, intent=intent or None, limit=5000)
            if c["status"] == "done"]


def aggregates(*, username: str, days: int | None = None, queue: str | None = None,
               intent: str | None = None) -> dict:
    """DataFrames for the charts: intent distribution, escalation rate per day, emotion mix per queue per day."""
    calls = filtered_calls(username=username, days=days, queue=queue, intent=intent)
    intents = Counter(c["primary_intent"] or "out of scope" for c in calls)
    intent_df = pd.DataFrame({"intent": list(intents), "calls": list(intents.values())}).sort_values(
        "calls", ascending=False).head(20) if intents else pd.DataFrame({"intent": [], "calls": []})
    by_day: dict[str, list[bool]] = {}
    for c in calls:
        by_day.setdefault(c["processed_at"].date().isoformat(), []).append(bool(c["escalated"]))
    esc_df = pd.DataFrame({"day": list(by_day), "escalation_rate": [sum(v) / len(v) for v in by_day.values()],
                           "calls": [len(v) for v in by_day.values()]}).sort_values("day") if by_day else \
        pd.DataFrame({"day": [], "escalation_rate": [], "calls": []})
    with session_scope() as s:
        turns = crud.list_turns(session=s, call_ids=[c["id"] for c in calls])
        queue_of = {c["id"]: c["queue_key"] for c in calls}
        day_of = {c["id"]: c["processed_at"].date().isoformat() for c in calls}
        mix = Counter((day_of[t.call_id], queue_of[t.call_id], t.emotion) for t in turns if t.speaker == "customer")
    emo_df = pd.DataFrame([{"day": d, "queue": q, "emotion": e, "turns": n} for (d, q, e), n in sorted(mix.items())]) \
        if mix else pd.DataFrame({"day": [], "queue": [], "emotion": [], "turns": []})
    total = len(calls)
    return {"intents": intent_df, "escalations": esc_df, "emotions": emo_df, "calls": total,
            "escalation_rate": (sum(c["escalated"] for c in calls) / total) if total else 0.0}


CSV_COLUMNS = ["call_id", "file", "uploaded_at", "processed_at", "duration_s", "layout", "queue", "escalated",
               "primary_intent", "peak_distress", "turn", "speaker", "start_s", "end_s", "text", "intent",
               "intent_probability", "out_of_scope", "emotion", "distress", "routing_reasons"]


def export_csv(*, username: str, days: int | None = None, queue: str | None = None, intent: str | None = None) -> str:
    """One row per turn of every matching call (with the call's routing), for spreadsheets: the CSV
    text (served by the suite as a download; nothing is written to disk)."""
    calls = filtered_calls(username=username, days=days, queue=queue, intent=intent)
    out = io.StringIO()
    with session_scope() as s:
        turns = crud.list_turns(session=s, call_ids=[c["id"] for c in calls])
        by_call: dict[int, list] = {}
        for t in turns:
            by_call.setdefault(t.call_id, []).append(t)
        reasons = {c["id"]: " | ".join(d.reasons[0] if d.reasons else "" for d in
                                       crud.get_call(session=s, call_id=c["id"], with_turns=True).decisions)
                   for c in calls}
        w = csv.writer(out)
        w.writerow(CSV_COLUMNS)
        for c in calls:
            for t in by_call.get(c["id"], []) or [None]:
                base = [c["id"], c["filename"], c["uploaded_at"].isoformat(), c["processed_at"].isoformat(),
                        c["duration_s"], c["layout"], c["queue_key"], c["escalated"], c["primary_intent"] or "",
                        c["peak_distress"]]
                turn = ["", "", "", "", "", "", "", "", "", ""] if t is None else [
                    t.index, t.speaker, t.start_s, t.end_s, t.text, t.intent or "",
                    t.intent_probability if t.intent_probability is not None else "", t.out_of_scope, t.emotion,
                    t.distress]
                w.writerow([safe_cell(v) if isinstance(v, str) else v for v in base + turn + [reasons[c["id"]]]])
        audit(s, username, "export", "calls", "", {"calls": len(calls), "days": days, "queue": queue,
                                                     "intent": intent})
    return out.getvalue()

