"""One settings object for the whole suite; every field can be overridden by an environment
variable named PARLANCE_<FIELD> (e.g. PARLANCE_DATABASE_URL, PARLANCE_PORT)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from platformdirs import user_data_dir
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_data_dir() -> Path:
    return Path(user_data_dir("parlance", appauthor=False))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PARLANCE_", env_file=None, extra="ignore")

    # where the suite keeps its SQLite database and uploaded audio
    data_dir: Path = Field(default_factory=default_data_dir)
    # where recordings are kept (every worker must see it: a shared mount for several machines);
    # empty means data_dir
    storage_dir: Path | None = None
    # SQLAlchemy URL; empty means a SQLite file in data_dir (WAL mode)
    database_url: str = ""
    # web server
    host: str = "127.0.0.1"
    port: int = 7860
    # Whisper model: "tiny.en" (bundled), a local CTranslate2 folder, or a hub id when allowed
    asr_model: str = "tiny.en"
    # CTranslate2 compute type on CPU (int8 is fastest at equal accuracy)
    asr_compute_type: str = "int8"
    # CPU threads for inference; 0 means all cores
    cpu_threads: int = 0
    # allow fetching model weights from a model hub (off: the suite never touches the network)
    allow_model_download: bool = False
    # audio limits (seconds)
    max_audio_seconds: float = 3 * 3600.0
    min_audio_seconds: float = 0.1
    # largest upload accepted, in megabytes
    max_upload_mb: int = 500
    # sign-in sessions last this long (hours)
    session_hours: float = 12.0
    # mark the session cookie Secure (only sent over HTTPS): set true behind a TLS proxy
    cookie_secure: bool = False

    # processing: "embedded" (worker threads inside the server; nothing else to run) or "celery"
    # (a Celery broker; workers on any machine: docs/deployment.md)
    task_mode: str = "embedded"
    # the Celery broker (task_mode "celery"); Redis here, any broker Celery supports works
    broker_url: str = "redis://127.0.0.1:6379/0"
    # the server sends queued recordings to the workers (off: nothing is processed; for tests)
    start_processing: bool = True
    # embedded mode: how many recordings of each kind (calls, dictations, readings) the server processes at once
    embedded_workers: int = 1

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'parlance.sqlite3'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once from the environment)."""
    return Settings()
