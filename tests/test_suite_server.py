"""The suite's web server: sign-in, landing page, roles, admin, and the mounted Gradio apps."""
from __future__ import annotations

import socket
import threading
import time

import pytest
from fastapi.testclient import TestClient

from core import accounts as A
from core.db import make_engine, migrate, session_scope, set_engine

from .conftest import login_form

PASSWORDS = {"admin": "orchard lamp 41", "clin": "harbor violet 3", "stud": "maple cinder 12"}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    eng = make_engine(f"sqlite:///{tmp_path_factory.mktemp('suite') / 'suite.sqlite3'}")
    migrate(eng)
    set_engine(eng)
    with session_scope(eng) as s:
        A.bootstrap_admin(session=s, password=PASSWORDS["admin"])
        A.create_user(session=s, username="clin", password=PASSWORDS["clin"], role="clinician")
        A.create_user(session=s, username="stud", password=PASSWORDS["stud"], role="student")
    from apps.suite.server import build_app

    return build_app()


def signed_in(app, who: str) -> TestClient:
    client = TestClient(app)
    r = client.post("/login", data=login_form(client, who, PASSWORDS[who]), follow_redirects=False)
    assert r.status_code == 303, r.text
    return client


def test_anonymous_visitors_are_sent_to_sign_in(app):
    client = TestClient(app)
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"
    r = client.get("/dictation/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/dictation/"
    assert client.get("/healthz").json() == {"ok": True}


def test_wrong_password_is_refused_and_audited(app):
    client = TestClient(app)
    r = client.post("/login", data=login_form(client, "clin", "nope nope nope"))
    assert r.status_code == 401 and "Wrong username or password" in r.text
    with session_scope() as s:
        assert any(e.action == "login_failed" for e in A.list_audit(session=s))


def test_open_redirects_are_refused(app):
    client = TestClient(app)
    r = client.post("/login", data=login_form(client, "clin", PASSWORDS["clin"], "//evil.example"),
                    follow_redirects=False)
    assert r.headers["location"] == "/"


def test_clinician_sees_only_dictation(app):
    client = signed_in(app, "clin")
    page = client.get("/").text
    assert "href='/dictation/'" in page and "href='/tutor/'" not in page and "Audit log" not in page
    assert client.get("/dictation/").status_code == 200
    r = client.get("/tutor/")
    assert r.status_code == 403 and "cannot open" in r.text


def test_gradio_api_refuses_requests_without_the_right_role(app):
    client = signed_in(app, "stud")
    assert client.get("/dictation/config").status_code in (401, 403)
    assert client.get("/tutor/config").status_code == 200


def test_admin_creates_accounts_with_csrf_and_sees_audit(app):
    client = signed_in(app, "admin")
    page = client.get("/").text
    assert "Audit log" in page
    csrf = page.split("name='csrf' value='")[1].split("'")[0]
    r = client.post("/admin/users", data={"username": "sup1", "password": "supervisor pw 1", "role": "supervisor",
                                          "display_name": "<script>alert(1)</script>", "csrf": csrf})
    assert r.status_code == 200 and "created" in r.text
    assert "<script>alert(1)</script>" not in r.text
    bad = client.post("/admin/users", data={"username": "sup2", "password": "supervisor pw 1", "role": "supervisor",
                                            "csrf": "forged"})
    assert bad.status_code == 403
    dup = client.post("/admin/users", data={"username": "sup1", "password": "supervisor pw 1", "role": "supervisor",
                                            "csrf": csrf})
    assert dup.status_code == 400 and "taken" in dup.text


def test_non_admin_cannot_create_accounts(app):
    client = signed_in(app, "clin")
    r = client.post("/admin/users", data={"username": "x1x", "password": "long password 1", "role": "admin",
                                          "csrf": "whatever"})
    assert r.status_code == 403


def test_logout_is_a_post_with_the_sessions_token(app):
    """Issue 11, item 7: a link (GET) or a forged form cannot sign anyone out; the page's button can."""
    import re

    client = signed_in(app, "stud")
    page = client.get("/logout")
    assert page.status_code == 200 and "method='post' action='/logout'" in page.text
    assert client.get("/", follow_redirects=False).status_code == 200  # a GET signed nobody out
    client.post("/logout", data={"csrf": "forged"}, follow_redirects=False)
    assert client.get("/", follow_redirects=False).status_code == 200
    token = re.search(r"name='csrf' value='([^']*)'", page.text).group(1)
    assert client.post("/logout", data={"csrf": token}, follow_redirects=False).headers["location"] == "/login"
    assert client.get("/", follow_redirects=False).status_code == 303


def test_the_sign_in_form_needs_its_token(app):
    client = TestClient(app)
    r = client.post("/login", data={"username": "clin", "password": PASSWORDS["clin"]}, follow_redirects=False)
    assert r.status_code == 400 and "expired" in r.text  # no token: a forged cross-site sign-in
    form = login_form(client, "clin", PASSWORDS["clin"])
    assert client.post("/login", data={**form, "csrf": "x" + form["csrf"]}).status_code == 400
    assert client.post("/login", data=form, follow_redirects=False).status_code == 303


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_gradio_client_smoke_against_the_running_suite(app, speech_clips, tmp_path):
    import uvicorn
    from gradio_client import Client, handle_file

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(100):
            if server.started:
                break
            time.sleep(0.1)
        token = signed_in(app, "clin").cookies.get("parlance_session")
        client = Client(f"http://127.0.0.1:{port}/dictation/", headers={"Cookie": f"parlance_session={token}"},
                        verbose=False)
        path = next(p for p in speech_clips if "007650078" in p.name)
        status, view, files = client.predict(handle_file(str(path)), "", api_name="/transcribe")
        assert "words from" in status and "plant" in view.lower()
        assert files.count('href="data:') == 2 and 'download="transcript.srt"' in files  # nothing written to disk
        status, view, files = client.predict(None, "", api_name="/transcribe")
        assert "Please record or upload audio first" in status
        bogus = tmp_path / "not_audio.wav"
        bogus.write_text("this is not audio")
        status, _, _ = client.predict(handle_file(str(bogus)), "", api_name="/transcribe")
        assert "Could not transcribe" in status and "not an audio file" in status
        with session_scope() as s:
            events = [e for e in A.list_audit(session=s, app="medical_dictation") if e.action == "transcribe"]
        assert len(events) == 3 and all(e.username == "clin" for e in events)
        assert any('"words": 7' in e.detail for e in events) and any("error" in e.detail for e in events)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_the_call_worker_runs_with_the_server_and_a_queued_call_moves_without_anyone_watching(app, monkeypatch,
                                                                                              tmp_path):
    """After a restart, calls left queued are processed at once: the worker starts with the server
    (not when someone opens the dashboard) and stops with it."""
    from apps.finance_callcenter import crud, worker
    from apps.finance_callcenter.config import get_callcenter_settings
    from core.tasks import dispatcher

    monkeypatch.setenv("PARLANCE_CALLCENTER_AUDIO_DIR", str(tmp_path))
    get_callcenter_settings.cache_clear()
    processed = []
    from dataclasses import replace

    from core.tasks import registry

    monkeypatch.setitem(registry._kinds, worker.KIND.name,
                        replace(worker.KIND, run=lambda call_id: processed.append(call_id) or "done"))
    with session_scope() as s:
        call = crud.add_call(session=s, filename="left-over.wav", audio_path=str(tmp_path / "x.wav"),
                             audio_sha256="0" * 64, audio_bytes=1, uploaded_by="admin", agent_channel=0)
        call_id = call.id
    try:
        with TestClient(app):  # the server's lifespan: start ... shutdown
            assert dispatcher.running()
            for _ in range(50):
                if processed:
                    break
                time.sleep(0.1)
        assert processed == [call_id]
        assert not dispatcher.running()  # stopped on shutdown
    finally:
        dispatcher.stop()
        get_callcenter_settings.cache_clear()


def test_the_transcription_tab_checks_the_role_itself(app):
    from apps.common.transcription import _handle

    def progress(*args, **kwargs):
        raise AssertionError("nothing may be transcribed")

    for who in ("stud", None, "ghost"):
        status, view, files = _handle("medical_dictation", "/etc/hostname", "", who, progress)
        assert "Could not transcribe" in status and view == "" and files == ""


def test_other_sites_cannot_use_the_session_or_frame_the_pages(app):
    """Issue 11, item 4: same origin only, SameSite=Strict cookies, no framing, strict CSP on the suite's pages."""
    client = signed_in(app, "clin")
    evil = {"Origin": "http://127.0.0.1:9999"}  # another local site
    r = client.post("/login", data=login_form(client, "clin", PASSWORDS["clin"]), headers=evil,
                    follow_redirects=False)
    assert r.status_code == 403  # a cross-site form post (CSRF) is refused before anything happens
    assert client.options("/dictation/gradio_api/info", headers={**evil, "Access-Control-Request-Method": "POST"}
                          ).status_code == 403
    r = client.get("/dictation/config", headers={**evil, "Access-Control-Request-Method": "GET"})
    assert "access-control-allow-origin" not in r.headers and "access-control-allow-credentials" not in r.headers
    same = client.get("/dictation/config", headers={"Origin": "http://testserver"})
    assert same.status_code == 200
    page = client.get("/")
    assert page.headers["x-frame-options"] == "DENY" and "frame-ancestors 'none'" in page.headers[
        "content-security-policy"] and "default-src 'self'" in page.headers["content-security-policy"]
    assert client.get("/dictation/").headers["x-frame-options"] == "DENY"
    fresh = TestClient(app)
    cookie = fresh.post("/login", data=login_form(fresh, "clin", PASSWORDS["clin"]),
                                  follow_redirects=False).headers["set-cookie"].lower()
    assert "samesite=strict" in cookie and "httponly" in cookie and "secure" not in cookie  # Secure: PARLANCE_COOKIE_SECURE


def test_database_errors_reach_people_as_a_plain_sentence(app, monkeypatch):
    """Issue 11, item 10: a locked database used to answer sign-in with a 500 and pages with raw SQL."""
    import gradio as gr
    from sqlalchemy.exc import OperationalError

    from apps.common.errors import DATABASE_BUSY
    from apps.medical_dictation import service, ui

    locked = OperationalError("INSERT INTO audit_log ...", {}, Exception("database is locked"))

    def boom(**kwargs):
        raise locked

    monkeypatch.setattr(A, "authenticate", boom)
    fresh = TestClient(app)
    r = fresh.post("/login", data=login_form(fresh, "clin", PASSWORDS["clin"]))
    assert r.status_code == 503 and "busy" in r.text and "INSERT" not in r.text and "sqlite" not in r.text.lower()
    monkeypatch.setattr(service, "list_patients", boom)
    from types import SimpleNamespace

    with pytest.raises(gr.Error) as err:
        ui.patient_choices("", SimpleNamespace(username="clin"))
    assert err.value.message == DATABASE_BUSY


def test_the_server_keeps_its_files_private(tmp_path):
    """Issue 11, item 2: data dir 0700, files 0600 (umask 077), archived recordings 0600."""
    import os

    from apps.suite.__main__ import private_files
    from core.archive import archive_file

    before = os.umask(0o022)
    try:
        data = tmp_path / "data"
        data.mkdir(mode=0o755)
        private_files(data)
        assert data.stat().st_mode & 0o777 == 0o700
        (data / "x.log").write_text("x")
        assert (data / "x.log").stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(before)
    src = tmp_path / "r.wav"
    src.write_bytes(b"RIFF")
    stored, _, _ = archive_file(src, tmp_path / "audio")
    assert stored.stat().st_mode & 0o777 == 0o600 and (tmp_path / "audio").stat().st_mode & 0o777 == 0o700


def test_repeated_wrong_passwords_are_slowed_down_and_an_admin_can_lift_it(app, capsys):
    """Issue 11, item 3 through the server: 429 with Retry-After, no hard lock; `python -m apps.suite unlock`."""
    from apps.suite.__main__ import main
    from core import throttle

    client = TestClient(app)
    codes = [client.post("/login", data=login_form(client, "stud", "wrong password 9")).status_code
             for _ in range(throttle.FREE_FAILURES + 2)]
    assert codes[:throttle.FREE_FAILURES + 1] == [401] * (throttle.FREE_FAILURES + 1) and codes[-1] == 429
    r = client.post("/login", data=login_form(client, "stud", PASSWORDS["stud"]), follow_redirects=False)
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1 and "please wait" in r.text
    assert main(["unlock", "stud", "--address", "testclient"]) == 0 and "Unlocked." in capsys.readouterr().out
    r = client.post("/login", data=login_form(client, "stud", PASSWORDS["stud"]), follow_redirects=False)
    assert r.status_code == 303


def test_the_admin_manages_accounts_and_reads_a_filtered_paged_audit_log(app):
    """Issue 11, item 7: deactivate (signed out everywhere), reactivate, end sessions, change role,
    reset password; no self-lockout; other roles refused; audit filters and paging."""
    import re

    admin = signed_in(app, "admin")
    token = re.search(r"name='csrf' value='([^']*)'", admin.get("/").text).group(1)
    with session_scope() as s:
        A.create_user(session=s, username="temp.nurse", password="lilac station 4", role="clinician")
    nurse = TestClient(app)
    nurse.post("/login", data=login_form(nurse, "temp.nurse", "lilac station 4"))
    assert nurse.get("/dictation/", follow_redirects=False).status_code == 200

    def manage(action, **extra):
        return admin.post("/admin/accounts", data={"username": "temp.nurse", "action": action, "csrf": token, **extra})

    assert manage("deactivate").status_code == 200
    assert nurse.get("/", follow_redirects=False).status_code == 303  # signed out everywhere
    fresh = TestClient(app)
    assert fresh.post("/login", data=login_form(fresh, "temp.nurse", "lilac station 4")).status_code == 401
    assert "can sign in again" in manage("activate").text
    r = manage("role", role="student")
    assert "now student" in r.text
    assert "New password set" in manage("reset_password", password="copper window 8").text
    fresh = TestClient(app)
    assert fresh.post("/login", data=login_form(fresh, "temp.nurse", "copper window 8"),
                      follow_redirects=False).status_code == 303
    assert fresh.get("/tutor/", follow_redirects=False).status_code == 200  # the new role's app
    assert "Ended 1 session" in manage("end_sessions").text
    weak = manage("reset_password", password="password123")
    assert weak.status_code == 400 and "guessing tools" in weak.text
    r = admin.post("/admin/accounts", data={"username": "admin", "action": "deactivate", "csrf": token})
    assert r.status_code == 400 and "your own account" in r.text
    clin = signed_in(app, "clin")
    r = clin.post("/admin/accounts", data={"username": "temp.nurse", "action": "deactivate", "csrf": token})
    assert r.status_code == 403
    page = admin.get("/", params={"audit_action": "deactivate", "audit_app": "suite"}).text
    assert page.count("<td>deactivate</td>") == 1 and "<td>role</td>" not in page
    assert "page 1" in page and "Older" not in page


def test_failed_sign_ins_on_unknown_names_are_one_audit_row_per_address(app):
    client = TestClient(app)
    for k in range(4):
        client.post("/login", data=login_form(client, f"nobody{k}", "wrong guess 123"))
    from core.accounts import list_audit

    with session_scope() as s:
        rows = list_audit(session=s, action="login_failed_unknown")
        assert len(rows) == 1 and '"attempts": 4' in rows[0].detail and rows[0].object_id == "testclient"
    with session_scope() as s:
        A.unlock(session=s, address="testclient")
