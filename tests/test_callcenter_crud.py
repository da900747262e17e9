"""Call-center persistence (SQLite and PostgreSQL): the durable processing queue and results."""
from __future__ import annotations

from datetime import timedelta

from apps.finance_callcenter import crud
from apps.finance_callcenter.models import Call, RoutingDecisionRow, Turn
from core.db import utcnow
from core.tasks import claims


def _call(session, name="a.wav"):
    return crud.add_call(session=session, filename=name, audio_path=f"/x/{name}", audio_sha256="0" * 64,
                         audio_bytes=10, uploaded_by="sup")


def _claim(session, call):
    return claims.claim(session=session, model=Call, record_id=call.id)


def test_a_call_is_claimed_once_and_only_its_claim_writes_the_outcome(session):
    first, second = _call(session, "1.wav"), _call(session, "2.wav")
    assert claims.queued_ids(session=session, model=Call) == [first.id, second.id]
    assert _claim(session, first) == 1
    assert _claim(session, first) is None  # a second delivery of the same task gets nothing
    session.refresh(first)
    assert first.status == "processing" and first.attempts == 1
    assert claims.queued_ids(session=session, model=Call) == [second.id]
    # its worker went silent: the call is queued again and a second worker claims it (attempt 2)
    assert crud.requeue_stale(session=session, older_than=utcnow() + timedelta(seconds=1)) == [first.id]
    assert _claim(session, first) == 2
    # the first worker wakes up: its claim (1) no longer holds, so it writes nothing
    assert not claims.finish(session=session, model=Call, record_id=first.id, attempt=1, status="done")
    assert claims.finish(session=session, model=Call, record_id=first.id, attempt=2, status="done")
    session.refresh(first)
    assert first.status == "done"


def test_a_worker_that_cannot_read_the_recording_gives_the_claim_back(session):
    call = _call(session)
    attempt = _claim(session, call)
    assert claims.release(session=session, model=Call, record_id=call.id, attempt=attempt, progress_note="elsewhere")
    session.refresh(call)
    assert call.status == "queued" and call.attempts == 0 and call.progress_note == "elsewhere"
    assert not claims.release(session=session, model=Call, record_id=call.id, attempt=attempt)  # not held any more


def test_failure_keeps_the_call_and_retry_requeues_it(session):
    call = _call(session)
    _claim(session, call)
    crud.fail_call(session=session, call_id=call.id, error="The file is empty.")
    session.refresh(call)
    assert call.status == "failed" and call.error == "The file is empty." and call.audio_path
    assert crud.requeue_call(session=session, call_id=call.id, stale_before=utcnow() - timedelta(minutes=1))
    session.refresh(call)
    assert call.status == "queued" and call.error == ""
    assert not crud.requeue_call(session=session, call_id=call.id, stale_before=utcnow() - timedelta(minutes=1))  # already queued


def test_results_are_stored_with_turns_and_decision(session):
    crud.upsert_queues(session=session, queues={"cards": ("Cards", 15.0), "priority": ("Priority", 2.0)})
    table = crud.add_table(session=session, document="queues: {}", created_by="")
    call = _call(session)
    turns = [Turn(index=0, speaker="agent", start_s=0, end_s=1, text="hello", emotion_scores={}, top_intents=[]),
             Turn(index=1, speaker="customer", start_s=1.2, end_s=3, text="my card has not arrived",
                  intent="card_arrival", intent_probability=0.97, top_intents=[["card_arrival", 0.97]],
                  emotion="anger", emotion_scores={"anger": 0.7}, distress=0.7)]
    decision = RoutingDecisionRow(queue_key="cards", escalated=False, primary_intent="card_arrival",
                                  reasons=["Customer intent 'card_arrival'"], table_version=table.version)
    crud.save_results(session=session, call=call, turns=turns, decision=decision, duration_s=3.0, layout="mono",
                      processing_s=0.5, warnings=[])
    again = crud.get_call(session=session, call_id=call.id, with_turns=True)
    assert again.status == "done" and again.queue_key == "cards" and again.peak_distress == 0.7
    assert [t.text for t in again.turns] == ["hello", "my card has not arrived"]
    assert again.decisions[0].reasons == ["Customer intent 'card_arrival'"]
    assert [c.id for c in crud.list_calls(session=session, queue="cards", intent="card_arrival")] == [call.id]
    assert crud.list_calls(session=session, queue="priority") == []
    reroute = RoutingDecisionRow(queue_key="priority", escalated=True, reasons=["by hand"], decided_by="sup")
    crud.reroute(session=session, call=again, decision=reroute)
    assert again.queue_key == "priority" and len(again.decisions) == 2


def test_routing_table_versions_increase(session):
    a = crud.add_table(session=session, document="a", created_by="")
    b = crud.add_table(session=session, document="b", created_by="sup", note="more queues")
    assert (a.version, b.version) == (1, 2)
    assert crud.latest_table(session=session).document == "b"
    assert [t.version for t in crud.list_tables(session=session)] == [2, 1]


def test_a_call_with_a_stale_heartbeat_is_queued_again(session):
    """Processing that stopped without an outcome (its worker died or could not write) is not lost."""
    alive, stuck = _call(session, "alive.wav"), _call(session, "stuck.wav")
    attempt = _claim(session, alive)
    _claim(session, stuck)
    now = utcnow()
    claims.beat(session=session, model=Call, record_id=alive.id, attempt=attempt)
    session.execute(crud.update(crud.Call).where(crud.Call.id == stuck.id).values(heartbeat_at=now - timedelta(minutes=5)))
    assert crud.requeue_stale(session=session, older_than=now - timedelta(minutes=1)) == [stuck.id]
    session.refresh(alive)
    session.refresh(stuck)
    assert (alive.status, stuck.status) == ("processing", "queued") and stuck.heartbeat_at.tzinfo is not None
