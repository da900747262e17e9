"""The processing layer (issue 15): one code path in two modes, the record as the task's state.

A test kind over the call-center's table stands in for the models (the real pipelines have their
own tests); it counts how often each record is processed, which is the figure that matters: once.
Celery runs against the real Redis on 127.0.0.1:6379 (skipped when it does not answer).
"""
from __future__ import annotations

import socket
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from apps.finance_callcenter import crud
from apps.finance_callcenter.models import Call
from core.config import get_settings
from core.db import session_scope, set_engine
from core.storage import RecordingChanged, RecordingUnavailable, local_path, store, verified_path
from core.tasks import claims, dispatcher, registry
from core.tasks.backends import BrokerUnavailable, CeleryBackend, EmbeddedBackend
from core.tasks.execute import VersionMismatch, execute
from core.tasks.versions import models_version
from core.tasks.workers import Presence, list_workers

REDIS_URL = "redis://127.0.0.1:6379/15"  # a database of its own; emptied by the test


class Counting:
    """A task kind that claims a call, reads its recording like the real ones, and writes an outcome."""

    name = "test.count"

    def __init__(self, delay: float = 0.0):
        self.processed: list[int] = []
        self.delay = delay

    def run(self, call_id: int) -> str:
        with session_scope() as s:
            attempt = claims.claim(session=s, model=Call, record_id=call_id)
            row = s.get(Call, call_id) if attempt else None
            key, sha = (row.audio_path, row.audio_sha256) if row else ("", "")
        if attempt is None:
            return "skipped"
        claims.claimed_recording(model=Call, record_id=call_id, attempt=attempt, key=key, sha256=sha,
                                 progress_note=claims.WAITING_NOTE)
        time.sleep(self.delay)
        with session_scope() as s:
            if not claims.finish(session=s, model=Call, record_id=call_id, attempt=attempt, status="done"):
                return "skipped"
        self.processed.append(call_id)
        return "done"

    def pending(self, stale_before) -> list[int]:
        with session_scope() as s:
            claims.requeue_stale(session=s, model=Call, older_than=stale_before)
            return claims.queued_ids(session=s, model=Call)

    def fail(self, call_id: int, message: str) -> None:
        with session_scope() as s:
            crud.fail_call(session=s, call_id=call_id, error=message)

    def kind(self) -> registry.TaskKind:
        return registry.TaskKind(name=self.name, run=self.run, pending=self.pending, fail=self.fail)


@pytest.fixture
def db(engine, monkeypatch):
    set_engine(engine)
    counting = Counting()
    monkeypatch.setattr(registry, "_kinds", {counting.name: counting.kind()})
    yield counting
    dispatcher.stop(5)
    get_settings.cache_clear()


def _recording(tmp_path: Path, seed: int) -> Path:
    path = tmp_path / f"clip{seed}.wav"
    sf.write(path, np.random.default_rng(seed).standard_normal(1600).astype(np.float32) * 0.1, 16000)
    return path


def _calls(tmp_path: Path, n: int) -> list[int]:
    ids = []
    for i in range(n):
        key, sha, size = store(_recording(tmp_path, i), get_settings().data_dir / "test-audio" / tmp_path.name)
        with session_scope() as s:
            ids.append(crud.add_call(session=s, filename=f"{i}.wav", audio_path=key, audio_sha256=sha,
                                     audio_bytes=size, uploaded_by="sup").id)
    return ids


def _status(call_id: int) -> tuple[str, str, int]:
    with session_scope() as s:
        c = s.get(Call, call_id)
        return c.status, c.error, c.attempts


def _wait(predicate, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_storage_keys_are_relative_and_reads_are_checked(tmp_path, db):
    key, sha, _ = store(_recording(tmp_path, 99), get_settings().data_dir / "test-audio" / tmp_path.name)  # spoilt below
    assert not Path(key).is_absolute() and key.startswith("test-audio/")
    assert verified_path(key, sha) == local_path(key)
    local_path(key).write_bytes(b"not the same bytes")
    with pytest.raises(RecordingChanged):
        verified_path(key, sha)
    with pytest.raises(RecordingUnavailable, match="PARLANCE_STORAGE_DIR"):
        verified_path("test-audio/missing.wav", sha)


def test_embedded_mode_processes_every_queued_call_once_and_shows_its_worker(tmp_path, db, monkeypatch):
    monkeypatch.setenv("PARLANCE_EMBEDDED_WORKERS", "2")
    get_settings.cache_clear()
    ids = _calls(tmp_path, 6)
    dispatcher.start()
    assert _wait(lambda: len(db.processed) == 6)
    assert sorted(db.processed) == ids  # each once, though the dispatcher polled many times
    assert all(_status(i)[0] == "done" for i in ids)
    # the worker's row is updated just after each task returns
    assert _wait(lambda: any(w["role"] == "server" and w["done"] == 6 for w in dispatcher.overview()["workers"]))
    view = dispatcher.overview()
    assert view["mode"] == "embedded" and view["workers_alive"] == 1 and view["mismatched"] == []
    dispatcher.stop(5)
    assert not any(w["alive"] for w in list_workers())  # its row is removed on a clean stop


def test_a_message_delivered_twice_is_processed_once(tmp_path, db):
    (call_id,) = _calls(tmp_path, 1)
    assert execute(db.name, call_id, models_version()) == "done"
    assert execute(db.name, call_id, models_version()) == "skipped"
    assert db.processed == [call_id]


def test_a_worker_that_cannot_read_the_recording_gives_it_back_then_it_fails_plainly(tmp_path, db, monkeypatch,
                                                                                     caplog):
    (call_id,) = _calls(tmp_path, 1)
    with session_scope() as s:
        local_path(s.get(Call, call_id).audio_path).unlink()  # this machine lacks the share
    with pytest.raises(registry.Retry, match="cannot read the recording"):
        execute(db.name, call_id, models_version())
    assert _status(call_id) == ("queued", "", 0)  # given back, not counted as an attempt
    monkeypatch.setattr("core.tasks.backends.MAX_RETRIES", 3)
    backend = EmbeddedBackend(1, None)
    try:
        backend._again(db.name, call_id, models_version(), 2, "no share here", 0.0)  # retries spent
        status, error, _ = _status(call_id)
        assert status == "failed" and "No worker could process this recording" in error
        assert "no share" not in error and str(tmp_path) not in error  # the detail goes to the log, not the page
        assert any("no share here" in r.getMessage() for r in caplog.records)
    finally:
        backend.stop(2)


def test_a_worker_on_other_models_refuses_the_task(tmp_path, db):
    (call_id,) = _calls(tmp_path, 1)
    presence = Presence("worker", "celery", models_version())
    presence.write()
    with pytest.raises(VersionMismatch, match="refused"):
        execute(db.name, call_id, "0123456789ab", presence)
    assert _status(call_id)[0] == "queued" and db.processed == []
    assert "refused" in next(w for w in list_workers() if w["name"] == presence.name)["note"]


def test_the_worker_command_will_not_start_beside_a_server_on_other_models(db, monkeypatch, capsys):
    from core.tasks.celery_worker import run_worker

    assert run_worker() == 2  # the default mode has no separate workers: it says so
    monkeypatch.setenv("PARLANCE_TASK_MODE", "celery")
    get_settings.cache_clear()
    Presence("server", "celery", "0123456789ab").write()
    assert run_worker() == 3
    assert "Refusing to start" in capsys.readouterr().err


def test_broker_down_keeps_uploads_queued_and_says_so(tmp_path, db, caplog):
    ids = _calls(tmp_path, 2)
    backend = CeleryBackend("redis://127.0.0.1:1/0")  # nothing listens there
    started = time.monotonic()
    with pytest.raises(BrokerUnavailable):
        backend.send(db.name, ids[0], models_version())
    assert time.monotonic() - started < 15  # a person's upload is never held for long
    d = dispatcher.Dispatcher(backend, models_version())
    assert d.tick() == 0 and d.broker_down_since is not None
    assert [_status(i)[0] for i in ids] == ["queued", "queued"]
    assert any("uploads are kept" in r.getMessage() for r in caplog.records)
    assert backend.depth() is None


def _redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.mark.skipif(not _redis_answers(), reason="no Redis on 127.0.0.1:6379")
def test_celery_mode_on_redis_processes_each_call_once(tmp_path, db):
    from celery.contrib.testing.worker import start_worker

    from core.tasks.celery_app import QUEUE, make_celery

    app = make_celery(REDIS_URL)
    with app.connection_for_write() as conn:
        conn.default_channel.client.flushdb()
    ids = _calls(tmp_path, 4)
    backend = CeleryBackend(REDIS_URL)
    d = dispatcher.Dispatcher(backend, models_version())
    assert d.tick() == 4 and d.tick() == 0  # each sent once, then nothing new
    assert backend.depth() == 4
    with start_worker(app, pool="solo", concurrency=1, perform_ping_check=False, loglevel="WARNING",
                      queues=[QUEUE], shutdown_timeout=10):
        assert _wait(lambda: len(db.processed) == 4, timeout=60)
        backend.send(db.name, ids[0], models_version())  # a duplicate message, as after a lost ack
        assert _wait(lambda: backend.depth() == 0, timeout=30), backend.depth()
        time.sleep(0.5)
    assert sorted(db.processed) == ids
    assert all(_status(i)[0] == "done" for i in ids)


def test_a_restarted_server_alone_takes_back_what_its_killed_predecessor_held(tmp_path, db):
    """The embedded server was killed mid-call: its presence row says a dead pid, its call says
    'processing' with a fresh heartbeat. Alone on the database, the new server queues it at once
    (rather than a minute later, when the heartbeat is stale); with another worker alive it waits."""
    from core.tasks.workers import WorkerRow, forget_dead_local, process_name

    (call_id,) = _calls(tmp_path, 1)
    with session_scope() as s:
        claims.claim(session=s, model=Call, record_id=call_id)
        s.add(WorkerRow(name=process_name().rsplit(":", 1)[0] + ":999999999", role="server", mode="embedded",
                        models_version=models_version()))
    d = dispatcher.Dispatcher(EmbeddedBackend(1, None), models_version(), recover_all=False)
    try:
        assert d.tick() == 0  # fresh heartbeat: maybe someone is on it
        assert forget_dead_local() == [process_name().rsplit(":", 1)[0] + ":999999999"]
        d.recover_all = True
        assert d.tick() == 1 and _wait(lambda: db.processed == [call_id])
    finally:
        d.backend.stop(2)


def test_processing_resumes_when_the_broker_answers_again(tmp_path, db):
    """Broker down mid-run: nothing is sent (the records wait, queued); back: all are sent, once."""

    class Flaky:
        def __init__(self):
            self.up, self.sent = False, []

        def send(self, kind, record_id, version, retries=0):
            if not self.up:
                raise BrokerUnavailable("the task broker did not answer (test)")
            self.sent.append(record_id)

        def depth(self):
            return len(self.sent) if self.up else None

    ids = _calls(tmp_path, 3)
    backend = Flaky()
    d = dispatcher.Dispatcher(backend, models_version())
    assert d.tick() == 0 and d.broker_down_since is not None
    backend.up = True
    assert d.tick() == 3 and d.broker_down_since is None and backend.sent == ids
    assert d.tick() == 0  # sent once


def test_a_task_for_a_deleted_recording_ends_quietly(tmp_path, db):
    (call_id,) = _calls(tmp_path, 1)
    with session_scope() as s:
        s.delete(s.get(Call, call_id))
    assert execute(db.name, call_id, models_version()) == "skipped" and db.processed == []


def test_in_the_embedded_mode_a_dictation_never_waits_behind_a_backlog_of_calls(monkeypatch):
    done: dict[str, list[float]] = {"calls": [], "dictation": []}
    started = time.monotonic()

    def slow(record_id: int) -> str:
        time.sleep(0.3)
        done["calls"].append(time.monotonic() - started)
        return "done"

    def quick(record_id: int) -> str:
        done["dictation"].append(time.monotonic() - started)
        return "done"

    kinds = {name: registry.TaskKind(name=name, run=run, pending=lambda stale: [], fail=lambda i, m: None)
             for name, run in (("calls", slow), ("dictation", quick))}
    monkeypatch.setattr(registry, "_kinds", kinds)
    backend = EmbeddedBackend(1, None)
    try:
        for i in range(5):
            backend.send("calls", i, models_version())
        backend.send("dictation", 1, models_version())
        assert _wait(lambda: len(done["calls"]) == 5, timeout=10)
        assert done["dictation"] and done["dictation"][0] < 0.3 < done["calls"][-1]  # not after 5 x 0.3 s
        assert backend.depth() == 0
    finally:
        backend.stop(2)
