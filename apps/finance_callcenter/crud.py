"""Database reads and writes of the call-center (keyword-only, one Session passed in; no logic)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from apps.finance_callcenter.models import Agent, Call, CallQueue, RoutingDecisionRow, RoutingTableVersion, Turn
from core.db import utcnow
from core.tasks import claims


# --- routing tables and queues -------------------------------------------------------------------
def latest_table(*, session: Session) -> RoutingTableVersion | None:
    return session.scalars(select(RoutingTableVersion).order_by(RoutingTableVersion.version.desc()).limit(1)).first()


def list_tables(*, session: Session, limit: int = 20) -> list[RoutingTableVersion]:
    return list(session.scalars(select(RoutingTableVersion).order_by(RoutingTableVersion.version.desc()).limit(limit)))


def add_table(*, session: Session, document: str, created_by: str, note: str = "") -> RoutingTableVersion:
    current = session.scalar(select(func.max(RoutingTableVersion.version))) or 0
    row = RoutingTableVersion(version=current + 1, document=document, created_by=created_by, note=note[:200])
    session.add(row)
    session.flush()
    return row


def upsert_queues(*, session: Session, queues: dict[str, tuple[str, float]]) -> None:
    """Create or update queues (key -> (name, sla_minutes)); queues no longer named are kept (history)."""
    for key, (name, sla) in queues.items():
        row = session.get(CallQueue, key)
        if row is None:
            session.add(CallQueue(key=key, name=name, sla_minutes=sla))
        else:
            row.name, row.sla_minutes = name, sla
    session.flush()


def list_queues(*, session: Session) -> list[CallQueue]:
    return list(session.scalars(select(CallQueue).order_by(CallQueue.key)))


def add_agent(*, session: Session, name: str, queue_key: str | None) -> Agent:
    agent = Agent(name=name, queue_key=queue_key)
    session.add(agent)
    session.flush()
    return agent


def list_agents(*, session: Session) -> list[Agent]:
    return list(session.scalars(select(Agent).order_by(Agent.name)))


# --- calls -----------------------------------------------------------------------------------------
def add_call(*, session: Session, filename: str, audio_path: str, audio_sha256: str, audio_bytes: int,
             uploaded_by: str, agent_channel: int = 0) -> Call:
    call = Call(filename=filename[:255], audio_path=audio_path, audio_sha256=audio_sha256, audio_bytes=audio_bytes,
                uploaded_by=uploaded_by, agent_channel=agent_channel, status="queued", warnings=[])
    session.add(call)
    session.flush()
    return call


def get_call(*, session: Session, call_id: int, with_turns: bool = False) -> Call | None:
    query = select(Call).where(Call.id == call_id)
    if with_turns:
        query = query.options(selectinload(Call.turns), selectinload(Call.decisions))
    return session.scalars(query).first()


def requeue_stale(*, session: Session, older_than: datetime) -> list[int]:
    """Calls 'processing' whose worker gave no sign of life since ``older_than`` (it died, or could
    not record the outcome) go back to the queue; returns their ids."""
    return claims.requeue_stale(session=session, model=Call, older_than=older_than, progress=0.0,
                                progress_note="re-queued: its processing stopped")


def fail_call(*, session: Session, call_id: int, error: str) -> None:
    session.execute(update(Call).where(Call.id == call_id).values(status="failed", error=error, progress=0.0,
                                                                  progress_note=""))


def requeue_call(*, session: Session, call_id: int, stale_before: datetime) -> bool:
    """Queue a failed or finished call again, or one stuck 'processing' with no heartbeat since
    ``stale_before``; False when it is queued or being worked on."""
    result = session.execute(update(Call).where(Call.id == call_id, or_(Call.status.in_(["failed", "done"]),
                                                                        claims.stale(Call, stale_before)))
                             .values(status="queued", error="", progress=0.0, progress_note="queued for retry",
                                     attempts=0))
    return bool(result.rowcount)


def requeue_period(*, session: Session, since: datetime, until: datetime) -> list[int]:
    """Queue again every finished or failed call uploaded in [since, until) (a model update); their ids.
    Their results stay until the new ones are written; each new routing decision is added to the history."""
    period = and_(Call.uploaded_at >= since, Call.uploaded_at < until, Call.status.in_(["done", "failed"]))
    ids = list(session.scalars(select(Call.id).where(period).order_by(Call.id)))
    if ids:
        session.execute(update(Call).where(Call.id.in_(ids), period)
                        .values(status="queued", error="", progress=0.0, progress_note="queued again (batch)",
                                attempts=0))
    return ids


def save_results(*, session: Session, call: Call, turns: list[Turn], decision: RoutingDecisionRow,
                 duration_s: float, layout: str, processing_s: float, warnings: list[str]) -> None:
    """Replace the call's turns, add the decision, and mark it done and waiting in its queue."""
    call.turns.clear()
    session.flush()
    call.turns.extend(turns)
    call.decisions.append(decision)
    call.status, call.progress, call.progress_note, call.error = "done", 1.0, "", ""
    call.duration_s, call.layout, call.processing_s = duration_s, layout, processing_s
    call.queue_key, call.escalated, call.primary_intent = decision.queue_key, decision.escalated, decision.primary_intent
    call.peak_distress = max((t.distress for t in turns if t.speaker == "customer"), default=0.0)
    call.warnings = list(warnings)
    call.processed_at = utcnow()
    call.handled_at = None
    session.flush()


def reroute(*, session: Session, call: Call, decision: RoutingDecisionRow) -> None:
    call.decisions.append(decision)
    call.queue_key, call.escalated = decision.queue_key, decision.escalated
    session.flush()


def mark_handled(*, session: Session, call: Call) -> None:
    call.handled_at = utcnow()
    session.flush()


def list_calls(*, session: Session, since: datetime | None = None, until: datetime | None = None,
               queue: str | None = None, intent: str | None = None, status: str | None = None,
               limit: int = 500) -> list[Call]:
    query = select(Call).order_by(Call.id.desc()).limit(limit)
    if since is not None:
        query = query.where(Call.uploaded_at >= since)
    if until is not None:
        query = query.where(Call.uploaded_at < until)
    if queue:
        query = query.where(Call.queue_key == queue)
    if intent:
        query = query.where(Call.primary_intent == intent)
    if status:
        query = query.where(Call.status == status)
    return list(session.scalars(query))


def list_turns(*, session: Session, call_ids: list[int]) -> list[Turn]:
    if not call_ids:
        return []
    return list(session.scalars(select(Turn).where(Turn.call_id.in_(call_ids)).order_by(Turn.call_id, Turn.index)))


def count_by_status(*, session: Session) -> dict[str, int]:
    return dict(session.execute(select(Call.status, func.count()).group_by(Call.status)).all())
