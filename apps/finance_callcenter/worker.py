"""The call-center's background worker: takes queued calls in upload order and runs each through
the pipeline (segmentation + ASR -> intent and emotion per turn -> routing), storing the results.

It starts with the suite's server and stops on shutdown (``AppSpec.worker``); ``wake()`` after an
upload or a retry starts the next call without waiting for the poll. At start, calls a previous
process left in "processing" are queued again. While a call is processed its heartbeat is written
every ``HEARTBEAT_S``; a call whose heartbeat is older than ``service.STALE_AFTER`` (its outcome
could not be recorded, say the database was locked) is queued again, at most ``MAX_ATTEMPTS``
times. Every failure is logged with its traceback under the call's job id and stored with the call
in plain words (the audio is kept; Retry re-queues it).
"""
from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from apps.finance_callcenter import crud
from apps.finance_callcenter.config import get_callcenter_settings
from apps.finance_callcenter.models import RoutingDecisionRow, Turn
from apps.finance_callcenter.service import STALE_AFTER, active_table, audit
from core.audio import AudioError
from core.db import session_scope, utcnow
from core.logs import job_context

log = logging.getLogger(__name__)
POLL_S = 2.0  # how often the worker looks for queued calls when nobody wakes it
HEARTBEAT_S = 10.0  # how often a call in progress says it is alive
MAX_ATTEMPTS = 3  # a call claimed this many times without an outcome is failed, not tried again


def process_call(call_id: int) -> str:
    """Run one claimed call through the pipeline and store the results; returns its final status
    ("done" or "failed"; "unrecorded" when even the failure could not be written: the call then
    stays 'processing' until its heartbeat is stale and it is queued again)."""
    with job_context(f"call-{call_id}"), _Heartbeat(call_id):
        try:
            return _process(call_id)
        except Exception:  # noqa: BLE001 - the database failed us; log it, the stale check re-queues the call
            log.exception("call %s: its outcome could not be recorded; it will be queued again", call_id)
            return "unrecorded"


def _process(call_id: int) -> str:
    from apps.finance_callcenter.pipeline import analyse_call

    with session_scope() as s:
        call = crud.get_call(session=s, call_id=call_id)
        path, agent_channel, filename, attempts = call.audio_path, call.agent_channel, call.filename, call.attempts
    if attempts > MAX_ATTEMPTS:
        log.error("call %s was claimed %d times without an outcome; failing it", call_id, attempts)
        return _fail(call_id, f"Processing was interrupted {attempts - 1} times; the recording is kept. "
                              "Press Retry to try again.")
    version, table = active_table()
    started = time.perf_counter()
    log.info("processing call %s (%s)", call_id, filename)

    def report(fraction: float, note: str) -> None:
        with session_scope() as s:
            crud.set_progress(session=s, call_id=call_id, progress=round(fraction, 3), note=note)

    try:
        result = analyse_call(path, table, agent_channel=agent_channel, progress=report)
    except AudioError as exc:  # name the file as the person uploaded it, not as it is archived
        log.warning("call %s refused: %s", call_id, exc.message)
        return _fail(call_id, exc.message.replace(Path(path).name, filename))
    except Exception:  # noqa: BLE001 - any failure is stored with the call, audio kept, retry possible
        log.exception("call %s failed in the pipeline", call_id)
        return _fail(call_id, "Processing failed because of an internal error (the details are in the server "
                              "log). The recording is kept; press Retry.")
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
        call = crud.get_call(session=s, call_id=call_id, with_turns=True)
        crud.save_results(session=s, call=call, turns=turns, decision=decision,
                          duration_s=result.segmented.duration, layout=result.segmented.layout,
                          processing_s=round(time.perf_counter() - started, 2),
                          warnings=list(result.segmented.warnings))
        audit(s, None, "process", "call", call_id, {"queue": d.queue, "escalated": d.escalated,
                                                     "turns": len(turns)})
    log.info("call %s done: queue %s, escalated %s, %d turns", call_id, d.queue, d.escalated, len(turns))
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


class _Heartbeat:
    """``with _Heartbeat(call_id):`` writes the call's heartbeat every HEARTBEAT_S while the block runs."""

    def __init__(self, call_id: int):
        self.call_id, self.stop = call_id, threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"heartbeat-{call_id}", daemon=True)

    def _run(self) -> None:
        while not self.stop.wait(HEARTBEAT_S):
            try:
                with session_scope() as s:
                    crud.beat(session=s, call_id=self.call_id)
            except Exception:  # noqa: BLE001 - a missed beat is harmless; keep beating
                log.warning("call %s: heartbeat not written", self.call_id, exc_info=True)

    def __enter__(self) -> _Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()


def requeue_stale() -> list[int]:
    """Queue again the calls stuck 'processing' with a stale heartbeat (logged)."""
    with session_scope() as s:
        ids = crud.requeue_stale(session=s, older_than=utcnow() - STALE_AFTER)
    if ids:
        log.warning("re-queued calls whose processing stopped: %s", ids)
    return ids


class _Worker(threading.Thread):
    def __init__(self):
        super().__init__(name="callcenter-worker", daemon=True)
        self.wake = threading.Event()
        self.stopping = False

    def run(self) -> None:
        while not self.stopping:
            try:
                requeue_stale()
                process_pending()
            except Exception:  # noqa: BLE001 - keep serving; log why (e.g. the database is unreachable)
                log.exception("the call worker hit an error between calls; trying again in %.0f s", POLL_S)
                time.sleep(POLL_S)
            self.wake.wait(timeout=POLL_S)
            self.wake.clear()


_worker: _Worker | None = None
_worker_lock = threading.Lock()


def start_worker() -> None:
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
            log.info("call worker started")
        _worker.wake.set()


def wake() -> None:
    """A call was queued: start it now rather than at the next poll (starts the worker if needed)."""
    start_worker()


def stop_worker(timeout: float = 60.0) -> None:
    """Let the worker finish the call in hand and end (server shutdown, tests)."""
    global _worker
    with _worker_lock:
        if _worker is not None:
            _worker.stopping = True
            _worker.wake.set()
            _worker.join(timeout)
            _worker = None
            log.info("call worker stopped")
