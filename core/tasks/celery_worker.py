"""One distributed-mode worker process: checks it runs the server's models, says it is alive
(``task_workers``), then takes tasks from the broker one at a time (Celery's solo pool: one process,
one task; start as many processes as the machine has cores to spare)."""
from __future__ import annotations

import logging
import os
import sys

from core.config import get_settings
from core.tasks import celery_app
from core.tasks.versions import models_version
from core.tasks.workers import Presence, server_version

log = logging.getLogger(__name__)


def run_worker(loglevel: str = "INFO") -> int:
    """Run until stopped (SIGTERM: the task in hand is finished first); the exit status."""
    settings = get_settings()
    if settings.task_mode != "celery":
        print("Workers serve the distributed mode: set PARLANCE_TASK_MODE=celery (and PARLANCE_BROKER_URL, "
              "PARLANCE_DATABASE_URL, PARLANCE_STORAGE_DIR) here and on the server.", file=sys.stderr)
        return 2
    version = models_version()
    try:
        server = server_version()
    except Exception:  # noqa: BLE001 - say it plainly; the traceback is in the log
        log.exception("the database could not be read")
        print("This worker cannot read the database (PARLANCE_DATABASE_URL); see the log.", file=sys.stderr)
        return 2
    if server is not None and server != version:
        message = (f"Refusing to start: this machine runs models version {version}, the server {server}. "
                   "Install the same Parlance version and models here (or restart the server after an update).")
        log.error(message)
        print(message, file=sys.stderr)
        return 3
    presence = Presence("worker", "celery", version).start()
    celery_app.presence = presence
    app = celery_app.make_celery(settings.broker_url)
    log.info("worker %s starting (models version %s, broker %s)", presence.name, version,
             app.connection_for_read().as_uri())
    code = 0
    try:
        app.worker_main(argv=["worker", "--pool=solo", f"--queues={celery_app.QUEUE}", f"--loglevel={loglevel}",
                              f"--hostname=parlance-{os.getpid()}@%h", "--without-gossip", "--without-mingle"])
    except SystemExit as exc:
        code = int(exc.code or 0)
    finally:
        presence.stop()
    return code
