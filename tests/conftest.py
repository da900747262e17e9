"""Shared fixtures. Tests never need ../shared: audio comes from tests/fixtures or is synthesised."""
from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

FIXTURES = Path(__file__).parent / "fixtures"
AUDIO_FIXTURES = FIXTURES / "audio"
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SR = 16000


@pytest.fixture(autouse=True, scope="session")
def _isolated_data_dir(tmp_path_factory):
    """Never touch the person's real data dir."""
    os.environ["PARLANCE_DATA_DIR"] = str(tmp_path_factory.mktemp("parlance-data"))
    from core.config import get_settings

    get_settings.cache_clear()
    from apps.suite.registry import register_apps

    register_apps()  # the apps' roles and migrations, as the suite's server registers them
    yield


@pytest.fixture(scope="session")
def speech_clips() -> dict[Path, str]:
    """Committed real speech clips -> their reference text."""
    refs = json.loads((AUDIO_FIXTURES / "transcripts.json").read_text())
    return {AUDIO_FIXTURES / name: text for name, text in refs.items()}


@pytest.fixture(scope="session")
def transcriber():
    from core.asr import get_transcriber

    return get_transcriber("tiny.en")


def tone(seconds: float = 1.0, freq: float = 440.0, rate: int = SR, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def white_noise(seconds: float, amp: float = 0.05, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(int(seconds * SR)) * amp).astype(np.float32)


# -- databases: the same persistence tests run on SQLite and on PostgreSQL -------------------------
POSTGRES_URL = os.environ.get("PARLANCE_TEST_POSTGRES_URL", "")


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request, tmp_path):
    """A migrated, empty database: a SQLite file, or a fresh schema on the PostgreSQL server."""
    from sqlalchemy import text

    from core.db import make_engine, migrate

    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'test.sqlite3'}")
        migrate(eng)
        yield eng
        eng.dispose()
        return
    if not POSTGRES_URL:
        pytest.skip("no PostgreSQL server (set PARLANCE_TEST_POSTGRES_URL)")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    from sqlalchemy import create_engine

    eng = create_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"}, pool_pre_ping=True)
    try:
        migrate(eng)
        yield eng
    finally:
        eng.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
def session(engine):
    from core.db import session_scope

    with session_scope(engine) as s:
        yield s


def login_form(client, username: str, password: str, next_path: str = "/") -> dict:
    """The sign-in form as a browser sends it: GET /login first (its anti-forgery cookie), then the
    fields with the hidden token."""
    import re

    page = client.get("/login").text
    token = re.search(r"name='csrf' value='([^']*)'", page).group(1)
    return {"username": username, "password": password, "next": next_path, "csrf": token}


def run_suite_signed_in(db_path: Path, username: str, password: str, role: str):
    """Start the whole suite (uvicorn, own SQLite file) in a thread with one account signed in;
    yields (port, session cookie) and stops the server afterwards. For gradio_client UI tests."""
    import socket
    import threading
    import time

    import uvicorn
    from fastapi.testclient import TestClient

    from core import accounts
    from core.db import make_engine, migrate, session_scope, set_engine

    eng = make_engine(f"sqlite:///{db_path}")
    migrate(eng)
    set_engine(eng)
    with session_scope(eng) as s:
        accounts.create_user(session=s, username=username, password=password, role=role)
    from apps.suite.server import build_app

    app = build_app()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(100):
        if srv.started:
            break
        time.sleep(0.1)
    client = TestClient(app)
    r = client.post("/login", data=login_form(client, username, password), follow_redirects=False)
    assert r.status_code == 303
    try:
        yield port, client.cookies.get("parlance_session")
    finally:
        srv.should_exit = True
        thread.join(timeout=10)
