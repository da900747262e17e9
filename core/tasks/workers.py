"""Who is processing: every worker (a server's embedded threads, or a Celery worker process) keeps a
row in ``task_workers`` up to date, so the dashboard can show the workers alive, what each is doing,
and any running other models than the server (``versions.models_version``)."""
from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import datetime, timedelta

from sqlalchemy import Integer, String, delete, select
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, session_scope, utcnow

log = logging.getLogger(__name__)
BEAT_S = 5.0  # how often a worker says it is alive
ALIVE_WITHIN = timedelta(seconds=30)  # a worker silent longer than this is shown as gone
FORGET_AFTER = timedelta(days=1)  # rows of workers gone this long are deleted


class WorkerRow(Base):
    __tablename__ = "task_workers"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)  # "<host>:<pid>"
    role: Mapped[str] = mapped_column(String(16))  # "server" (dispatches; embedded threads too) / "worker"
    mode: Mapped[str] = mapped_column(String(16))  # "embedded" / "celery"
    models_version: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    current: Mapped[str] = mapped_column(String(200), default="")  # "callcenter.process_call 42" or ""
    done: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str] = mapped_column(String(300), default="")  # e.g. why it refused a task


def process_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Presence:
    """This process's row: ``start()`` begins beating, ``busy(task)``/``idle(outcome)`` update it."""

    def __init__(self, role: str, mode: str, version: str):
        self.name, self.role, self.mode, self.version = process_name(), role, mode, version
        self.current, self.done, self.failed, self.note = "", 0, 0, ""
        self._lock, self._stop = threading.Lock(), threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> "Presence":
        self.write()
        self._thread = threading.Thread(target=self._run, name="worker-presence", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        try:
            with session_scope() as s:
                s.execute(delete(WorkerRow).where(WorkerRow.name == self.name))
        except Exception:  # noqa: BLE001 - the row then ages out on the dashboard
            log.warning("could not remove this worker's row", exc_info=True)

    def busy(self, what: str) -> None:
        with self._lock:
            self.current = what[:200]
        self._safe_write()

    def idle(self, outcome: str) -> None:
        with self._lock:
            self.current = ""
            self.done += outcome == "done"
            self.failed += outcome == "failed"
        self._safe_write()

    def say(self, note: str) -> None:
        with self._lock:
            self.note = note[:300]
        self._safe_write()

    def write(self) -> None:
        with self._lock:
            values = dict(role=self.role, mode=self.mode, models_version=self.version, last_seen=utcnow(),
                          current=self.current, done=self.done, failed=self.failed, note=self.note)
        with session_scope() as s:
            row = s.get(WorkerRow, self.name)
            if row is None:
                s.add(WorkerRow(name=self.name, **values))
            else:
                for key, value in values.items():
                    setattr(row, key, value)

    def _safe_write(self) -> None:
        try:
            self.write()
        except Exception:  # noqa: BLE001 - a missed update is harmless; the next beat retries
            log.warning("worker presence not written", exc_info=True)

    def _run(self) -> None:
        beats = 0
        while not self._stop.wait(BEAT_S):
            self._safe_write()
            beats += 1
            if self.role == "server" and beats % 720 == 1:  # about hourly: forget workers gone a day
                try:
                    with session_scope() as s:
                        s.execute(delete(WorkerRow).where(WorkerRow.last_seen < utcnow() - FORGET_AFTER))
                except Exception:  # noqa: BLE001 - a tidy-up; next hour will do
                    log.warning("old worker rows not removed", exc_info=True)


def list_workers() -> list[dict]:
    """Workers seen within ``ALIVE_WITHIN``, newest first (read only: the dashboard calls it)."""
    with session_scope() as s:
        rows = s.scalars(select(WorkerRow).where(WorkerRow.last_seen >= utcnow() - ALIVE_WITHIN)
                         .order_by(WorkerRow.last_seen.desc()))
        return [{"name": r.name, "role": r.role, "mode": r.mode, "models_version": r.models_version, "alive": True,
                 "current": r.current, "done": r.done, "failed": r.failed, "note": r.note, "last_seen": r.last_seen}
                for r in rows]


def forget_dead_local() -> list[str]:
    """Delete the rows of processes on this machine that no longer run (killed without a goodbye)."""
    host = socket.gethostname()
    gone = []
    with session_scope() as s:
        for row in s.scalars(select(WorkerRow).where(WorkerRow.name.like(f"{host}:%"))):
            pid = int(row.name.rsplit(":", 1)[1]) if row.name.rsplit(":", 1)[1].isdigit() else -1
            if pid != os.getpid() and not _running(pid):
                gone.append(row.name)
                s.delete(row)
    return gone


def _running(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def server_version() -> str | None:
    """The models version of the newest live server (what tasks are sent with), if one is alive."""
    servers = [w for w in list_workers() if w["role"] == "server"]
    return servers[0]["models_version"] if servers else None
