"""The suite's one logging set-up: a rotating log file in the data dir plus stderr, every line
tagged with the request or job it belongs to.

    configure_logging()                      # once, at server start (idempotent)
    with job_context("call-42"): ...         # lines logged inside carry [call-42]
    log.exception("call %s failed", 42)      # every caught exception: message + traceback

An administrator finds why a call or a dictation failed by its id: ``grep call-42 parlance.log``.
"""
from __future__ import annotations

import contextvars
import logging
import logging.handlers
import os
import secrets
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

LOG_FILE = "parlance.log"
FORMAT = "%(asctime)s %(levelname)s [%(job)s] %(name)s: %(message)s"
MAX_BYTES = 10 * 1024 * 1024  # per file; 5 old files are kept
BACKUPS = 5
_job: contextvars.ContextVar[str] = contextvars.ContextVar("parlance_job", default="-")
_HANDLER_NAME = "parlance"


class _JobFilter(logging.Filter):
    """Puts the current request/job id on every record (``%(job)s``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.job = _job.get()
        return True


def current_job() -> str:
    return _job.get()


@contextmanager
def job_context(job_id: str | None = None) -> Iterator[str]:
    """Tag the log lines of this block (and of what it calls in this thread) with ``job_id``
    (a fresh short id when None); yields the id."""
    job_id = job_id or secrets.token_hex(4)
    token = _job.set(job_id)
    try:
        yield job_id
    finally:
        _job.reset(token)


def configure_logging(data_dir: str | Path | None = None, *, level: str | None = None) -> Path:
    """Log to ``<data_dir>/parlance.log`` (rotating) and stderr; returns the file's path. Calling it
    again replaces the suite's handlers (no duplicated lines). Level: ``PARLANCE_LOG_LEVEL`` or INFO."""
    if data_dir is None:
        from core.config import get_settings

        data_dir = get_settings().data_dir
    folder = Path(data_dir).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOG_FILE
    root = logging.getLogger()
    for h in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(h)
        h.close()
    formatter = logging.Formatter(FORMAT)
    for handler in (logging.handlers.RotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUPS,
                                                         encoding="utf-8"),
                    logging.StreamHandler()):
        handler.set_name(_HANDLER_NAME)
        handler.setFormatter(formatter)
        handler.addFilter(_JobFilter())
        root.addHandler(handler)
    root.setLevel(level or os.environ.get("PARLANCE_LOG_LEVEL", "INFO"))
    for noisy in ("httpx", "httpcore", "urllib3", "multipart", "faster_whisper"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return path
