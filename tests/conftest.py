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
