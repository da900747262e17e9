"""Hostile file paths: a handler only ever reads files uploaded to this server (issue 11, item 1)."""
from __future__ import annotations

import os
from types import SimpleNamespace

import pytest

from apps.common.uploads import REFUSAL, UploadRefused, checked_upload, upload_root


@pytest.fixture
def uploads(tmp_path, monkeypatch):
    root = tmp_path / "gradio-uploads"
    root.mkdir()
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(root))
    return root


def test_only_regular_files_inside_the_upload_folder_pass(uploads, tmp_path):
    good = uploads / "3f2a" / "dictation.wav"
    good.parent.mkdir()
    good.write_bytes(b"RIFF")
    assert upload_root() == uploads.resolve()
    assert checked_upload(str(good)) == good.resolve()
    assert checked_upload({"path": str(good)}) == good.resolve()  # Gradio's FileData shapes
    assert checked_upload(SimpleNamespace(name=str(good))) == good.resolve()
    secret = tmp_path / "parlance.sqlite3"
    secret.write_text("patients")
    (uploads / "3f2a" / "link.wav").symlink_to(secret)
    hostile = ["/etc/passwd", "/proc/self/environ", str(secret), str(uploads / ".." / "parlance.sqlite3"),
               str(uploads / "3f2a" / "link.wav"), str(uploads), str(uploads / "missing.wav"), "", None,
               f"{uploads}/../{secret.name}"]
    for value in hostile:
        with pytest.raises(UploadRefused) as err:
            checked_upload(value)
        assert str(err.value) == REFUSAL  # one sentence: whether the path exists is not revealed


@pytest.mark.slow
def test_the_dictation_handler_refuses_a_foreign_path_before_reading_it(uploads, engine, monkeypatch):
    from apps.medical_dictation import service, ui
    from core import accounts
    from core.db import session_scope, set_engine

    set_engine(engine)
    with session_scope() as s:
        accounts.create_user(session=s, username="dr.x", password="stethoscope 99", role="clinician")
    pid = service.create_patient(username="dr.x", mrn="P1", name="Pat")
    enc = service.start_encounter(username="dr.x", patient_id=pid)
    stored = []
    monkeypatch.setattr(service, "store_recording", lambda **kw: stored.append(kw) or 1)
    out = ui.dictate(enc, "/etc/passwd", "", SimpleNamespace(username="dr.x"), progress=lambda *a, **k: None)
    assert REFUSAL in out[0] and stored == []


def test_the_call_upload_and_transcription_handlers_refuse_foreign_paths(uploads, monkeypatch):
    from apps.common import transcription
    from apps.finance_callcenter import service, ui

    monkeypatch.setattr(ui, "refresh_board", lambda request: ("", "", ""))
    monkeypatch.setattr(service, "submit_uploads", lambda *a, **k: pytest.fail("nothing may be stored"))
    status, *_ = ui.upload_calls(["/etc/passwd", os.devnull], "Left channel is the agent",
                                 SimpleNamespace(username="sup"))
    assert REFUSAL in status
    with pytest.raises(transcription.UserFacingError, match="not uploaded here"):
        transcription.transcribe_upload("/etc/hostname")
