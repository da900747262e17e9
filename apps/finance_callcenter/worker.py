"""The call-center's task: "process call N" (segmentation + ASR -> intent and emotion per turn ->
routing), on the suite's processing layer (``core.tasks``: worker threads in the server by default,
Celery workers on other machines when ``PARLANCE_TASK_MODE=celery``).

A worker claims the call (queued -> processing, one UPDATE: two workers never both take it), reads the
recording from the shared storage with its content hash checked, and writes the turns and the routing
decision only while its claim still holds, so each call's routing decision is written once even when
a message is delivered twice. While it works, the call's heartbeat is written every ``HEARTBEAT_S``;
a call whose heartbeat is older than ``service.STALE_AFTER`` (its worker died) is queued again by the
server's dispatcher, at most ``MAX_ATTEMPTS`` times. A machine that cannot see the recording gives the
call back for another worker. Every failure is logged with its traceback under the call's job id and
stored with the call in plain words (the audio is kept; Retry queues it again).
"""
from __future__ import annotations

import logging
import time
from datetime import datetime
from pathlib import Path

from apps.finance_callcenter import crud
from apps.finance_callcenter.models import Call, RoutingDecisionRow, Turn
from apps.finance_callcenter.service import STALE_AFTER, active_table, audit
from core.audio import AudioError
from core.db import session_scope, utcnow
from core.logs import job_context
from core.storage import RecordingChanged
from core.tasks import claims, dispatcher
from core.tasks.registry import Retry, TaskKind

log = logging.getLogger(__name__)
HEARTBEAT_S = 10.0  # how often a call in progress says it is alive
MAX_ATTEMPTS = 3  # a call claimed this many times without an outcome is failed, not tried again


def process_call(call_id: int) -> str:
    """Claim call ``call_id`` and run it through the pipeline, storing the results; returns "done",
    "failed", "skipped" (not queued: another worker has it, it is finished or deleted) or
    "unrecorded" (even the failure could not be written: its heartbeat goes stale, and the
    dispatcher queues it again). Raises ``Retry`` when this machine cannot read the recording."""
    with session_scope() as s:
        attempt = claims.claim(session=s, model=Call, record_id=int(call_id), progress=0.0, progress_note="starting")
    if attempt is None:
        log.info("call %s is not queued (taken, finished or deleted); nothing to do", call_id)
        return "skipped"
    with job_context(f"call-{call_id}"), claims.Heartbeat(Call, call_id, attempt, HEARTBEAT_S):
        try:
            return _process(call_id, attempt)
        except Retry:
            raise
        except Exception:  # noqa: BLE001 - the database failed us; log it, the stale check re-queues the call
            log.exception("call %s: its outcome could not be recorded; it will be queued again", call_id)
            return "unrecorded"


def _process(call_id: int, attempt: int) -> str:
    from apps.finance_callcenter.pipeline import analyse_call

    with session_scope() as s:
        call = crud.get_call(session=s, call_id=call_id)
        key, sha, agent_channel, filename = call.audio_path, call.audio_sha256, call.agent_channel, call.filename
    if attempt > MAX_ATTEMPTS:
        log.error("call %s was claimed %d times without an outcome; failing it", call_id, attempt)
        return _fail(call_id, attempt, f"Processing was interrupted {attempt - 1} times; the recording is kept. "
                                       "Press Retry to try again.")
    try:
        path = claims.claimed_recording(model=Call, record_id=call_id, attempt=attempt, key=key, sha256=sha,
                                        progress_note=claims.WAITING_NOTE)
    except RecordingChanged as exc:
        log.error("call %s: %s", call_id, exc)
        return _fail(call_id, attempt, "The stored recording is not the file that was uploaded (it changed on "
                                       "disk), so it was not analysed. Please upload the call again.")
    version, table = active_table()
    started = time.perf_counter()
    log.info("processing call %s (%s), attempt %d", call_id, filename, attempt)

    def report(fraction: float, note: str) -> None:
        with session_scope() as s:
            claims.beat(session=s, model=Call, record_id=call_id, attempt=attempt, progress=round(fraction, 3),
                        progress_note=note[:200])

    try:
        result = analyse_call(path, table, agent_channel=agent_channel, progress=report)
    except AudioError as exc:  # name the file as the person uploaded it, not as it is archived
        log.warning("call %s refused: %s", call_id, exc.message)
        return _fail(call_id, attempt, exc.message.replace(Path(path).name, filename))
    except Exception:  # noqa: BLE001 - any failure is stored with the call, audio kept, retry possible
        log.exception("call %s failed in the pipeline", call_id)
        return _fail(call_id, attempt, "Processing failed because of an internal error (the details are in the "
                                       "server log). The recording is kept; press Retry.")
    turns = [Turn(index=a.turn.index, speaker=a.turn.speaker, start_s=a.turn.start, end_s=a.turn.end,
                  text=a.turn.text, asr_confidence=a.turn.confidence, intent=a.intent,
                  intent_probability=a.intent_probability, out_of_scope=a.out_of_scope,
                  top_intents=a.top_intents, emotion=a.emotion.label, emotion_scores=a.emotion.probabilities,
                  emotion_sources=list(a.emotion.sources), emotion_evidence=a.evidence,
                  distress=a.emotion.distress) for a in result.turns]
    d = result.decision
    decision = RoutingDecisionRow(queue_key=d.queue, escalated=d.escalated, primary_intent=d.primary_intent,
                                  reasons=list(d.reasons), table_version=version, decided_by="auto")
    with session_scope() as s:
        if not claims.finish(session=s, model=Call, record_id=call_id, attempt=attempt, status="done"):
            log.warning("call %s: this worker's claim was lost (it was presumed dead and the call given to another);"
                        " its results are discarded", call_id)
            return "skipped"
        call = crud.get_call(session=s, call_id=call_id, with_turns=True)
        crud.save_results(session=s, call=call, turns=turns, decision=decision,
                          duration_s=result.segmented.duration, layout=result.segmented.layout,
                          processing_s=round(time.perf_counter() - started, 2),
                          warnings=list(result.segmented.warnings))
        audit(s, None, "process", "call", call_id, {"queue": d.queue, "escalated": d.escalated,
                                                     "turns": len(turns)})
    log.info("call %s done: queue %s, escalated %s, %d turns", call_id, d.queue, d.escalated, len(turns))
    return "done"


def _fail(call_id: int, attempt: int | None, message: str) -> str:
    """Store the failure (when ``attempt`` is given, only while that claim holds)."""
    with session_scope() as s:
        if attempt is not None and not claims.finish(session=s, model=Call, record_id=call_id, attempt=attempt,
                                                     status="failed"):
            log.warning("call %s: claim lost before its failure was written; the new owner decides", call_id)
            return "skipped"
        crud.fail_call(session=s, call_id=call_id, error=message)
        audit(s, None, "process_failed", "call", call_id, {"error": message[:200]})
    return "failed"


def give_up(call_id: int, message: str) -> None:
    """Retries spent (no worker could read it, or none runs the server's models): fail the call."""
    with session_scope() as s:
        if crud.get_call(session=s, call_id=call_id) is None:
            return
    _fail(call_id, None, message)


def pending(stale_before: datetime | None = None) -> list[int]:
    """Calls waiting for a worker, oldest first (claims with no heartbeat since ``stale_before``,
    by default ``STALE_AFTER`` ago, put back in the queue first)."""
    requeue_stale(stale_before)
    with session_scope() as s:
        return claims.queued_ids(session=s, model=Call)


def process_pending(max_calls: int | None = None) -> int:
    """Work through queued calls in upload order in this thread (tests, benchmarks, batch runs);
    returns how many were processed."""
    done = 0
    for call_id in pending():
        if max_calls is not None and done >= max_calls:
            break
        if process_call(call_id) != "skipped":
            done += 1
    return done


KIND = TaskKind(name="callcenter.process_call", run=process_call, pending=pending, fail=give_up)
KINDS = (KIND,)


def requeue_stale(stale_before: datetime | None = None) -> list[int]:
    """Queue again the calls stuck 'processing' with a stale heartbeat (logged)."""
    with session_scope() as s:
        ids = crud.requeue_stale(session=s, older_than=stale_before or utcnow() - STALE_AFTER)
    if ids:
        log.warning("re-queued calls whose processing stopped: %s", ids)
    return ids


def wake() -> None:
    """A call was queued: send it to a worker now rather than at the next poll."""
    dispatcher.wake()
