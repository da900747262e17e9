"""Running one task, the same in both modes: check the sender's models version, look the kind up,
run it under the task's log context, and keep this process's presence row current."""
from __future__ import annotations

import logging

from core.logs import job_context
from core.tasks import registry
from core.tasks.versions import models_version
from core.tasks.workers import Presence

log = logging.getLogger(__name__)
MAX_RETRIES = 8  # a task a worker cannot do (recording unreachable, other models) is tried this often, then failed


class VersionMismatch(Exception):
    """This worker runs other models than the server that sent the task: it must not process it."""


def execute(kind_name: str, record_id: int, version: str, presence: Presence | None = None) -> str:
    """Process record ``record_id`` of kind ``kind_name``; the outcome ("done", "failed", "skipped",
    "unknown"). Raises ``registry.Retry`` (the kind gave its claim back) or ``VersionMismatch``."""
    mine = models_version()
    if version and version != mine:
        message = (f"this worker runs models version {mine} but the task for record {record_id} was sent with "
                   f"{version}: it was refused; update this worker (or the server) so both run the same models")
        log.error(message)
        if presence:
            presence.say(message)
        raise VersionMismatch(message)
    kind = registry.get(kind_name)
    if kind is None:
        log.error("task of unknown kind %r (record %s) ignored; is this worker the same Parlance version?",
                  kind_name, record_id)
        return "unknown"
    with job_context(f"{kind_name.rsplit('.', 1)[-1]}-{record_id}"):
        if presence:
            presence.busy(f"{kind_name} {record_id}")
        outcome = "failed"
        try:
            outcome = kind.run(int(record_id))
            return outcome
        finally:
            if presence:
                presence.idle(outcome)


def give_up(kind: str, record_id: int, reason: str) -> None:
    """Retries spent: the record is failed with a sentence for the person (the recording is kept)."""
    log.error("giving up on %s %s after %d tries: %s", kind, record_id, MAX_RETRIES, reason)
    k = registry.get(kind)
    if k is not None:
        k.fail(int(record_id), "No worker could process this recording: the workers could not read it from the "
                               "shared storage, or run other models than the server (the details are in the log). "
                               "It is kept; an administrator can fix the workers and press Retry.")
