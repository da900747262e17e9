"""The server side of processing: start the mode's backend, and keep sending every queued record to
it. One loop for both modes, polling the apps' tables (the record of truth), so a record queued
while the broker was down, one a dead worker left behind (stale heartbeat) or one a batch command
queued is sent without anyone asking. A record already sent is sent again only when the backend's
queue is empty and ``RESEND_S`` passed (its message was lost, say the broker restarted without
persistence); a message delivered twice is harmless (see ``core.tasks.claims``).

    start()     # with the server: backend, this process's presence row, the dispatch loop
    wake()      # a record was queued: send it now rather than at the next poll
    stop()      # on shutdown: the embedded threads finish the record in hand
"""
from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

from core.config import get_settings
from core.db import utcnow
from core.tasks import claims, registry
from core.tasks.backends import BrokerUnavailable, CeleryBackend, EmbeddedBackend
from core.tasks.versions import models_version
from core.tasks.workers import Presence, forget_dead_local, list_workers

log = logging.getLogger(__name__)
POLL_S = 2.0  # how often queued records are looked for when nobody wakes the loop
RESEND_S = 120.0  # a record still queued this long after its message was sent, with the queue empty, is sent again
MODES = ("embedded", "celery")


class Dispatcher(threading.Thread):
    def __init__(self, backend, version: str, recover_all: bool = False):
        super().__init__(name="task-dispatcher", daemon=True)
        self.backend, self.version = backend, version
        self.recover_all = recover_all  # first tick: every 'processing' record is orphaned (no other worker lives)
        self.wake, self.stopping = threading.Event(), threading.Event()
        self.sent: dict[tuple[str, int], float] = {}
        self.broker_down_since: float | None = None

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - e.g. the database is unreachable: log, try again
                log.exception("the task dispatcher hit an error; trying again in %.0f s", POLL_S)
            self.wake.wait(POLL_S)
            self.wake.clear()

    def tick(self) -> int:
        """Send what waits; returns how many messages were sent."""
        sent = 0
        stale_before = utcnow() + timedelta(seconds=1) if self.recover_all else utcnow() - claims.STALE_AFTER
        self.recover_all = False
        for kind in registry.all_kinds():
            waiting = set()
            depth: int | None = None
            for record_id in kind.pending(stale_before):
                key = (kind.name, record_id)
                waiting.add(key)
                last = self.sent.get(key)
                if last is not None:
                    if time.monotonic() - last < RESEND_S:
                        continue
                    depth = self.backend.depth() if depth is None else depth
                    if depth != 0:
                        continue
                    log.warning("%s %s is still queued %.0f s after it was sent; sending it again", *key, RESEND_S)
                try:
                    self.backend.send(kind.name, record_id, self.version)
                except BrokerUnavailable as exc:
                    self._broker_down(exc)
                    return sent
                self.sent[key] = time.monotonic()
                sent += 1
            for key in [k for k in self.sent if k[0] == kind.name and k not in waiting]:
                del self.sent[key]
        if self.broker_down_since is not None:
            log.warning("the task broker answers again after %.0f s; queued recordings are being sent",
                        time.monotonic() - self.broker_down_since)
            self.broker_down_since = None
        return sent

    def _broker_down(self, exc: Exception) -> None:
        if self.broker_down_since is None:
            self.broker_down_since = time.monotonic()
            log.error("%s; uploads are kept and wait in the queue until it is back", exc)


_dispatcher: Dispatcher | None = None
_presence: Presence | None = None
_lock = threading.Lock()


def make_backend(presence: Presence | None):
    settings = get_settings()
    if settings.task_mode not in MODES:
        raise ValueError(f"PARLANCE_TASK_MODE must be one of {', '.join(MODES)}, not {settings.task_mode!r}")
    if settings.task_mode == "celery":
        return CeleryBackend(settings.broker_url)
    return EmbeddedBackend(settings.embedded_workers, presence)


def start() -> None:
    """Start processing for this server (once per process)."""
    global _dispatcher, _presence
    with _lock:
        if _dispatcher is not None and _dispatcher.is_alive():
            _dispatcher.wake.set()
            return
        mode = get_settings().task_mode
        _presence = Presence("server", mode, models_version())
        try:
            _presence.start()
        except Exception:  # noqa: BLE001 - the dashboard then lacks this row; processing still runs
            log.exception("could not write this server's presence row")
        _dispatcher = Dispatcher(make_backend(_presence), models_version(), recover_all=_alone(_presence))
        _dispatcher.start()
        log.info("processing started (%s mode, models version %s)", mode, models_version())


def _alone(presence: Presence) -> bool:
    """True when no other server or worker is alive: then whatever is 'processing' was left by a
    process that died (this server's previous run, killed) and is queued again at once rather than
    after ``claims.STALE_AFTER``. Rows of this machine's processes that no longer exist are removed."""
    try:
        forget_dead_local()
        return not [w for w in list_workers() if w["name"] != presence.name]
    except Exception:  # noqa: BLE001 - then the stale heartbeat recovers them, a minute later
        log.exception("could not read the workers table")
        return False


def wake() -> None:
    """A record was queued: send it now rather than at the next poll (nothing when this process does
    not dispatch: a command-line batch, or a server started with processing off)."""
    if _dispatcher is not None:
        _dispatcher.wake.set()


def running() -> bool:
    return _dispatcher is not None and _dispatcher.is_alive()


def stop(timeout: float = 60.0) -> None:
    """Stop dispatching; embedded threads finish the record in hand."""
    global _dispatcher, _presence
    with _lock:
        if _dispatcher is not None:
            _dispatcher.stopping.set()
            _dispatcher.wake.set()
            _dispatcher.join(timeout)
            _dispatcher.backend.stop(timeout)
            _dispatcher = None
        if _presence is not None:
            _presence.stop()
            _presence = None
        log.info("processing stopped")


def overview() -> dict:
    """What the dashboard shows: mode, messages waiting in the backend, workers alive, their models."""
    settings = get_settings()
    depth = _dispatcher.backend.depth() if _dispatcher is not None else None
    workers = list_workers()
    version = models_version()
    processing = [w for w in workers if w["role"] == "worker" or w["mode"] == "embedded"]
    return {"mode": settings.task_mode, "queue_depth": depth, "models_version": version,
            "broker_down": bool(_dispatcher and _dispatcher.broker_down_since is not None),
            "workers": workers, "workers_alive": len(processing),
            "mismatched": [w["name"] for w in workers if w["models_version"] != version]}
