"""The distributed mode's Celery application: one task, ``parlance.run(kind, record_id, version)``.

Settings that make a killed worker harmless: the message is acknowledged only after the task ran
(``task_acks_late``), a worker process that dies mid-task has its message put back
(``task_reject_on_worker_lost``), each worker takes one message at a time
(``worker_prefetch_multiplier=1``); the claim on the record (``core.tasks.claims``) stops a message
delivered twice from being processed twice. A whole worker machine that vanishes is noticed by its
records' heartbeats (the server's dispatcher queues them again) and, later, by the broker's
visibility timeout.
"""
from __future__ import annotations

import logging

from celery import Celery

from core.tasks import registry
from core.tasks.execute import MAX_RETRIES, VersionMismatch, execute, give_up

log = logging.getLogger(__name__)
QUEUE = "parlance"
VISIBILITY_TIMEOUT_S = 3600  # an unacknowledged message is handed out again after this (records heal sooner)
_apps: dict[str, Celery] = {}
presence = None  # this worker process's Presence (set by run_worker)


def make_celery(broker_url: str) -> Celery:
    """The Celery app for ``broker_url`` (one per process and URL)."""
    if broker_url in _apps:
        return _apps[broker_url]
    app = Celery("parlance", broker=broker_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True, task_reject_on_worker_lost=True, worker_prefetch_multiplier=1,
        task_default_queue=QUEUE, task_ignore_result=True, result_backend=None,
        task_serializer="json", accept_content=["json"], broker_connection_retry_on_startup=True,
        broker_connection_timeout=3.0, broker_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT_S},
        worker_hijack_root_logger=False, worker_send_task_events=False, enable_utc=True,
        broker_heartbeat=0,
    )

    @app.task(name="parlance.run", bind=True, max_retries=MAX_RETRIES, acks_late=True)
    def run(self, kind: str, record_id: int, version: str) -> str:
        try:
            return execute(kind, int(record_id), version, presence)
        except (registry.Retry, VersionMismatch) as exc:
            reason = exc.reason if isinstance(exc, registry.Retry) else str(exc)
            countdown = exc.countdown if isinstance(exc, registry.Retry) else 5.0
            if self.request.retries >= MAX_RETRIES:
                give_up(kind, record_id, reason)
                return "failed"
            log.warning("%s %s handed back (%s); retrying in %.0f s", kind, record_id, reason, countdown)
            raise self.retry(countdown=countdown, exc=exc)

    _apps[broker_url] = app
    return app
