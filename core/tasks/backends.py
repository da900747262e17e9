"""How a task reaches a worker: the embedded queue (threads of this process) or the Celery broker.

``send`` must never block a person's request for long: the dispatcher calls it from its own thread,
and a broker that does not answer raises ``BrokerUnavailable`` within ``SEND_TIMEOUT_S``.
"""
from __future__ import annotations

import logging
import queue
import threading
import time

from core.tasks import registry
from core.tasks.execute import MAX_RETRIES, VersionMismatch, execute, give_up
from core.tasks.workers import Presence

log = logging.getLogger(__name__)
SEND_TIMEOUT_S = 3.0


class BrokerUnavailable(RuntimeError):
    pass


class EmbeddedBackend:
    """Worker threads inside this process: ``threads`` per kind of task, each kind with its own
    in-memory queue, so a clinician's dictation never waits behind a backlog of bank calls (the
    threads of different kinds share the cores; one kind's tasks run in order). The database holds
    every task's state, so nothing is lost with the queues when the process stops: the dispatcher
    sends the still-queued records again at start."""

    mode = "embedded"

    def __init__(self, threads: int, presence: Presence | None):
        self.per_kind, self.presence = max(1, threads), presence
        self.lanes: dict[str, queue.Queue] = {}
        self.threads: list[threading.Thread] = []
        self.stopping = threading.Event()
        self._lock = threading.Lock()

    def _lane(self, kind: str) -> queue.Queue:
        with self._lock:
            if kind not in self.lanes:
                self.lanes[kind] = queue.Queue()
                for i in range(self.per_kind):
                    t = threading.Thread(target=self._run, args=(self.lanes[kind],), name=f"task-{kind}-{i}",
                                         daemon=True)
                    self.threads.append(t)
                    t.start()
            return self.lanes[kind]

    def send(self, kind: str, record_id: int, version: str, retries: int = 0) -> None:
        self._lane(kind).put((kind, int(record_id), version, retries))

    def depth(self) -> int:
        return sum(q.qsize() for q in list(self.lanes.values()))

    def _run(self, lane: queue.Queue) -> None:
        while not self.stopping.is_set():
            try:
                kind, record_id, version, retries = lane.get(timeout=0.5)
            except queue.Empty:
                continue
            if self.stopping.is_set():
                break
            try:
                execute(kind, record_id, version, self.presence)
            except registry.Retry as exc:
                self._again(kind, record_id, version, retries, exc.reason, exc.countdown)
            except VersionMismatch as exc:  # cannot happen in one process, but never lose the task
                self._again(kind, record_id, version, retries, str(exc), 5.0)
            except Exception:  # noqa: BLE001 - the kind stores failures itself; this is a bug: log it, go on
                log.exception("task %s %s raised; the worker carries on", kind, record_id)

    def _again(self, kind: str, record_id: int, version: str, retries: int, reason: str, countdown: float) -> None:
        if retries + 1 >= MAX_RETRIES:
            give_up(kind, record_id, reason)
            return
        timer = threading.Timer(countdown, self.send, (kind, record_id, version, retries + 1))
        timer.daemon = True
        timer.start()

    def stop(self, timeout: float = 60.0) -> None:
        self.stopping.set()
        deadline = time.monotonic() + timeout
        for t in list(self.threads):
            t.join(max(0.0, deadline - time.monotonic()))


class CeleryBackend:
    """Tasks go to the Celery broker; workers elsewhere run them (``core.tasks.celery_app``)."""

    mode = "celery"

    def __init__(self, broker_url: str):
        from core.tasks.celery_app import QUEUE, make_celery

        self.app, self.queue_name = make_celery(broker_url), QUEUE

    def send(self, kind: str, record_id: int, version: str, retries: int = 0) -> None:
        try:
            with self.app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, timeout=SEND_TIMEOUT_S)
                self.app.send_task("parlance.run", args=[kind, int(record_id), version], queue=self.queue_name,
                                   connection=conn, retry=False)
        except Exception as exc:  # noqa: BLE001 - kombu raises many kinds; all mean "not sent"
            raise BrokerUnavailable(f"the task broker did not answer ({type(exc).__name__}: {exc})") from exc

    def depth(self) -> int | None:
        """Messages waiting in the broker's queue (None when it does not answer)."""
        try:
            with self.app.connection_for_read() as conn:
                conn.ensure_connection(max_retries=1, timeout=SEND_TIMEOUT_S)
                channel = conn.default_channel
                if conn.transport.driver_type == "redis":  # a list per queue (and one per priority step)
                    client = channel.client
                    return sum(int(client.llen(channel._q_for_pri(self.queue_name, p)))
                               for p in channel.priority_steps)
                return int(channel.queue_declare(self.queue_name, passive=True).message_count)
        except Exception:  # noqa: BLE001 - shown as "unknown" on the dashboard
            log.debug("broker queue depth unavailable", exc_info=True)
            return None

    def stop(self, timeout: float = 0.0) -> None:
        pass
