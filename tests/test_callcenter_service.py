"""Call-center service end to end on real audio: upload -> durable queue -> pipeline -> routing,
bad input, bulk uploads, supervisor actions, analytics and export (SQLite and PostgreSQL)."""
from __future__ import annotations

import csv
import shutil
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from apps.common.spreadsheet import safe_cell

from apps.finance_callcenter import analytics, crud, service, worker
from core import accounts
from apps.finance_callcenter.routing import RoutingTableError, default_table_text
from core.db import session_scope, set_engine

from .conftest import AUDIO_FIXTURES, SR

CALL = AUDIO_FIXTURES / "two_speaker_call.flac"
pytestmark = pytest.mark.slow


@pytest.fixture
def db(engine, monkeypatch):
    from apps.finance_callcenter.config import get_callcenter_settings

    monkeypatch.setenv("PARLANCE_CALLCENTER_START_WORKER", "0")
    get_callcenter_settings.cache_clear()
    set_engine(engine)
    with session_scope() as s:
        accounts.create_user(session=s, username="sup", password="queue-watcher-2026", role="supervisor")
        accounts.create_user(session=s, username="doc", password="stethoscope-2026", role="clinician")
    service.ensure_setup()
    yield engine
    get_callcenter_settings.cache_clear()


def _status(call_id: int) -> dict:
    return next(c for c in service.list_call_dicts(username="sup") if c["id"] == call_id)


def test_a_real_call_is_transcribed_analysed_routed_and_audited(db):
    call_id = service.store_upload(CALL, username="sup")
    stored = _status(call_id)
    assert stored["status"] == "queued" and stored["audio_path"].endswith(".flac")
    assert worker.process_pending() == 1
    view = service.call_detail(call_id, username="sup")
    assert view.call["status"] == "done" and view.call["layout"] == "mono" and view.call["queue_key"]
    customer = [t for t in view.turns if t["speaker"] == "customer"]
    assert customer and all(t["emotion"] and 0 <= t["distress"] <= 1 for t in view.turns)
    assert all(t["out_of_scope"] or t["intent"] for t in customer)  # every customer turn gets an intent verdict
    # small talk about New Jersey is no banking request: human triage, with the reason stored
    assert view.call["queue_key"] == "triage" and "No banking intent" in view.decisions[0]["reasons"][0]
    with session_scope() as s:
        from core.accounts import list_audit

        actions = {e.action for e in list_audit(session=s, app="finance_callcenter")}
    assert {"upload", "process", "read"} <= actions


@pytest.mark.parametrize("content, message", [
    (b"", "empty"),
    (b"RIFF\x00\x00\x00\x00WAVEfmt garbage", "damaged"),
    (b"hello, this is a text file", "not an audio file"),
])
def test_bad_files_fail_with_a_clear_message_and_are_kept_for_retry(db, tmp_path, content, message):
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    call_id = service.store_upload(path, username="sup")
    worker.process_pending()
    row = _status(call_id)
    assert row["status"] == "failed" and message in row["error"].lower(), row["error"]
    from core.storage import local_path

    assert local_path(row["audio_path"]).exists()
    service.retry_call(call_id, username="sup")
    assert _status(call_id)["status"] == "queued"


def test_silent_call_fails_clearly(db, tmp_path):
    import soundfile as sf

    path = tmp_path / "silent.wav"
    sf.write(path, np.zeros(SR * 4, np.float32), SR)
    call_id = service.store_upload(path, username="sup")
    worker.process_pending()
    assert "no speech" in _status(call_id)["error"].lower()


def test_twenty_calls_at_once_are_all_stored_queued_and_processed(db, tmp_path):
    paths = []
    clip = AUDIO_FIXTURES / "so762_007650078.opus"
    for i in range(20):
        p = tmp_path / f"call_{i:02d}.opus"
        shutil.copyfile(clip, p)
        paths.append(str(p))
    ids = service.submit_uploads(paths, username="sup")
    assert len(ids) == len(set(ids)) == 20
    board = analytics.queue_board(username="sup")
    assert sum(1 for p in board["processing"] if p["status"] == "queued") == 20
    assert worker.process_pending() == 20
    with session_scope() as s:
        assert crud.count_by_status(session=s) == {"done": 20}
    with pytest.raises(service.CallCenterError, match="more than the limit"):
        service.submit_uploads(paths * 3, username="sup")
    with pytest.raises(service.CallCenterError, match="Choose one or more"):
        service.submit_uploads([], username="sup")


def test_routing_table_edits_are_validated_and_versioned(db):
    bad = default_table_text().replace("cards: [card_arrival", "cardz: [card_arrival", 1)
    with pytest.raises(RoutingTableError, match="'cardz'"):
        service.save_table(bad, username="sup")
    version = service.save_table(default_table_text().replace("sla_minutes: 15}", "sla_minutes: 12}", 1),
                                 username="sup", note="cards SLA 12 min")
    assert version == 2 and service.table_history(username="sup")[0]["note"] == "cards SLA 12 min"
    _, _, table = service.current_table(username="sup")
    assert table.queues["cards"].sla_minutes == 12


def test_supervisor_reroutes_takes_and_exports(db, tmp_path):
    call_id = service.store_upload(CALL, username="sup")
    worker.process_pending()
    with pytest.raises(service.CallCenterError, match="Unknown queue"):
        service.reroute_call(call_id, "nowhere", username="sup", reason="x")
    with pytest.raises(service.CallCenterError, match="Say why"):
        service.reroute_call(call_id, "cards", username="sup", reason=" ")
    service.reroute_call(call_id, "cards", username="sup", reason="customer asked about a card later")
    view = service.call_detail(call_id, username="sup")
    assert view.call["queue_key"] == "cards" and view.decisions[-1]["by"] == "sup"
    board = analytics.queue_board(username="sup")
    cards = next(q for q in board["queues"] if q["queue"] == "cards")
    assert cards["waiting"] == 1 and cards["colour"] == "green"
    late = analytics.queue_board(username="sup", now=datetime.now(UTC) + timedelta(minutes=16))
    assert next(q for q in late["queues"] if q["queue"] == "cards")["colour"] == "red"
    service.take_call(call_id, username="sup")
    assert analytics.queue_board(username="sup")["waiting"] == []
    agg = analytics.aggregates(username="sup", days=1)
    assert agg["calls"] == 1 and not agg["intents"].empty and not agg["emotions"].empty
    text = analytics.export_csv(username="sup", days=7, queue="cards")
    rows = list(csv.DictReader(text.splitlines()))
    assert rows and rows[0]["call_id"] == str(call_id) and rows[0]["queue"] == "cards"
    assert {r["speaker"] for r in rows} == {"agent", "customer"}
    assert analytics.export_csv(username="sup", queue="loans").count("\n") == 1  # header only


def test_every_service_function_refuses_other_roles(db):
    """The service checks the role itself: a clinician (or nobody) gets nothing even without the page guard."""
    for who in ("doc", "", "ghost"):
        for call in (lambda: service.store_upload(CALL, username=who),
                     lambda: service.submit_uploads([str(CALL)], username=who),
                     lambda: service.list_call_dicts(username=who),
                     lambda: service.call_detail(1, username=who),
                     lambda: service.current_table(username=who),
                     lambda: service.table_history(username=who),
                     lambda: service.save_table(default_table_text(), username=who),
                     lambda: service.take_call(1, username=who),
                     lambda: service.retry_call(1, username=who),
                     lambda: service.reroute_call(1, "cards", username=who, reason="x"),
                     lambda: analytics.queue_board(username=who),
                     lambda: analytics.aggregates(username=who),
                     lambda: analytics.export_csv(username=who)):
            with pytest.raises(service.CallCenterError, match="Only a signed-in supervisor"):
                call()
    with session_scope() as s:
        assert crud.count_by_status(session=s) == {}  # nothing was stored


def test_a_pipeline_crash_is_logged_with_its_traceback_and_the_call_keeps_a_plain_message(db, monkeypatch, caplog):
    import logging

    from apps.finance_callcenter import pipeline

    def broken(*args, **kwargs):
        raise RuntimeError("model exploded: secret internal detail")

    monkeypatch.setattr(pipeline, "analyse_call", broken)
    call_id = service.store_upload(CALL, username="sup")
    with caplog.at_level(logging.ERROR, logger="apps.finance_callcenter.worker"):
        worker.process_pending()
    row = _status(call_id)
    assert row["status"] == "failed" and "Retry" in row["error"] and "secret" not in row["error"]
    failed = [r for r in caplog.records if f"call {call_id} failed" in r.getMessage()]
    assert failed and failed[0].exc_info and "model exploded" in str(failed[0].exc_info[1])


def test_csv_cells_cannot_smuggle_formulas():
    for bad in ("=HYPERLINK(\"x\")", "+1", "-2+3", "@SUM(A1)", "\t=cmd", "\r=cmd"):
        assert safe_cell(bad) == "'" + bad
    assert safe_cell("hello") == "hello"


def test_every_string_cell_of_the_export_is_guarded(db, tmp_path):
    """A file name (or queue, intent, reason) is as dangerous in a spreadsheet as turn text."""
    evil = tmp_path / "=HYPERLINK(x).flac"
    shutil.copyfile(CALL, evil)
    call_id = service.store_upload(evil, username="sup", filename="\t=HYPERLINK(\"http://x\").flac")
    worker.process_pending()
    rows = list(csv.reader(analytics.export_csv(username="sup").splitlines()))
    cells = [c for row in rows[1:] for c in row]
    assert rows[1][0] == str(call_id) and rows[1][1] == "'\t=HYPERLINK(\"http://x\").flac"
    assert not any(c.startswith(("=", "+", "@", "\t", "\r")) for c in cells)


def test_a_database_error_leaves_no_call_stuck_in_processing(db, monkeypatch, caplog):
    """Issue 11, item 9: when even recording the failure fails, the call used to stay 'processing'
    forever with nothing logged, and Retry refused it. Now: logged, heartbeat goes stale, queued
    again (or reset by Retry), and failed for good after MAX_ATTEMPTS claims."""
    import logging
    from datetime import timedelta

    from sqlalchemy.exc import OperationalError

    from apps.finance_callcenter import pipeline

    monkeypatch.setattr(pipeline, "analyse_call", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("model down")))
    real_fail = crud.fail_call

    def locked(**kwargs):
        raise OperationalError("UPDATE cc_calls ...", {}, Exception("database is locked"))

    monkeypatch.setattr(crud, "fail_call", locked)
    call_id = service.store_upload(CALL, username="sup")
    with caplog.at_level(logging.ERROR, logger="apps.finance_callcenter.worker"):
        worker.process_pending()
    assert _status(call_id)["status"] == "processing"
    assert any("could not be recorded" in r.getMessage() and r.exc_info for r in caplog.records)
    assert worker.requeue_stale() == []  # its heartbeat is fresh: maybe still being worked on
    with pytest.raises(service.CallCenterError, match="cannot be retried now"):
        service.retry_call(call_id, username="sup")
    monkeypatch.setattr(service, "STALE_AFTER", timedelta(seconds=-1))  # ... and now it is stale
    service.retry_call(call_id, username="sup")  # Retry resets a stuck call (and its count of claims)
    assert _status(call_id)["status"] == "queued" and _status(call_id)["attempts"] == 0
    worker.process_pending()
    monkeypatch.setattr(worker, "STALE_AFTER", timedelta(seconds=-1))
    assert worker.requeue_stale() == [call_id]  # the worker's own sweep finds it too
    worker.process_pending()  # second claim
    worker.requeue_stale()
    worker.process_pending()  # third claim
    worker.requeue_stale()
    monkeypatch.setattr(crud, "fail_call", real_fail)
    worker.process_pending()  # fourth claim: over MAX_ATTEMPTS, failed with a plain message
    row = _status(call_id)
    assert row["status"] == "failed" and "interrupted 3 times" in row["error"] and row["attempts"] == 4


def test_the_heartbeat_is_written_while_a_call_is_processed(db, monkeypatch):
    import time

    from apps.finance_callcenter import pipeline

    monkeypatch.setattr(worker, "HEARTBEAT_S", 0.05)
    beats = []

    def slow(path, table, **kwargs):
        with session_scope() as s:
            beats.append(crud.get_call(session=s, call_id=call_id).heartbeat_at)
        time.sleep(0.3)
        with session_scope() as s:
            beats.append(crud.get_call(session=s, call_id=call_id).heartbeat_at)
        raise RuntimeError("stop here")

    monkeypatch.setattr(pipeline, "analyse_call", slow)
    call_id = service.store_upload(CALL, username="sup")
    worker.process_pending()
    assert beats[0] is not None and beats[1] > beats[0]


def test_a_period_is_processed_again_after_a_model_update(db):
    """Issue 15: the batch command queues a period's calls again; each is processed once more and
    its new routing decision joins the history."""
    call_id = service.store_upload(CALL, username="sup")
    worker.process_pending()
    now = datetime.now(UTC)
    with pytest.raises(service.CallCenterError, match="period is empty"):
        service.reprocess_period(since=now, until=now)
    with pytest.raises(service.CallCenterError):
        service.reprocess_period(since=now - timedelta(hours=1), until=now, username="doc")
    assert service.reprocess_period(since=now - timedelta(days=2), until=now - timedelta(days=1)) == []
    assert service.reprocess_period(since=now - timedelta(hours=1), until=now + timedelta(minutes=1),
                                    username="sup") == [call_id]
    assert _status(call_id)["status"] == "queued"
    assert service.reprocess_period(since=now - timedelta(hours=1), until=now + timedelta(minutes=1)) == []
    assert worker.process_pending() == 1 and worker.process_pending() == 0
    with session_scope() as s:
        call = crud.get_call(session=s, call_id=call_id, with_turns=True)
        assert call.status == "done" and [d.decided_by for d in call.decisions] == ["auto", "auto"]
