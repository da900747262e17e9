"""Start the Parlance suite: ``python -m apps.suite [--host H] [--port P]``; lift a sign-in delay:
``python -m apps.suite unlock USERNAME [--address IP]``; the distributed mode's worker:
``python -m apps.suite worker``; batches on the same queue: ``python -m apps.suite reprocess-calls
--since 2026-11-01 --until 2026-12-01`` and ``python -m apps.suite rescore-class CLASS_ID``.

Sets up logging (a rotating file in the data dir, and stderr), registers the mounted apps'
roles and migrations, creates/upgrades the database, and on first run creates an administrator
account whose password is printed once (or taken from PARLANCE_ADMIN_PASSWORD).
"""
from __future__ import annotations

import argparse
import os
import sys


def private_files(data_dir) -> None:
    """Everything the server writes (database, recordings, logs, Gradio's uploads) is readable by its
    own account only: umask 077, and the data dir 0700 (an existing one is tightened)."""
    os.umask(0o077)
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    data_dir.chmod(0o700)


def unlock(argv: list[str]) -> int:
    """``python -m apps.suite unlock [USERNAME] [--address IP]``: lift a sign-in delay."""
    ap = argparse.ArgumentParser(prog="python -m apps.suite unlock",
                                 description="Lift the sign-in delay of an account and/or a network address.")
    ap.add_argument("username", nargs="?", default="")
    ap.add_argument("--address", default="", help="a network address whose sign-ins are held back")
    args = ap.parse_args(argv)
    if not args.username and not args.address:
        ap.error("name an account, an address, or both")
    from apps.suite.registry import register_apps
    from core import accounts
    from core.db import migrate, session_scope

    register_apps()
    migrate()
    with session_scope() as s:
        done = accounts.unlock(session=s, username=args.username, address=args.address)
        accounts.record_audit(session=s, user=None, app="suite", action="unlock", object_type="user",
                              object_id=args.username or args.address, detail={"address": args.address})
    print("Unlocked." if done else "Nothing was held back for that account or address.")
    return 0


def worker(argv: list[str]) -> int:
    """``python -m apps.suite worker [--loglevel INFO]``: one distributed-mode worker process."""
    ap = argparse.ArgumentParser(prog="python -m apps.suite worker",
                                 description="Process recordings taken from the task broker (PARLANCE_TASK_MODE=celery).")
    ap.add_argument("--loglevel", default="INFO")
    args = ap.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from apps.suite.registry import register_apps
    from core.config import get_settings
    from core.logs import configure_logging
    from core.tasks.celery_worker import run_worker

    os.umask(0o077)
    configure_logging(get_settings().data_dir)
    register_apps()
    return run_worker(args.loglevel)


def batch(command: str, argv: list[str]) -> int:
    """Batches queued on the same processing layer (a running server or the workers pick them up)."""
    from datetime import datetime, timezone

    from apps.suite.registry import register_apps
    from core.db import migrate
    from core.tasks import dispatcher

    if command == "reprocess-calls":
        ap = argparse.ArgumentParser(prog="python -m apps.suite reprocess-calls",
                                     description="Queue again every processed call uploaded in a period (UTC dates).")
        ap.add_argument("--since", required=True, type=datetime.fromisoformat, help="first day, e.g. 2026-11-01")
        ap.add_argument("--until", required=True, type=datetime.fromisoformat, help="day after the last")
        args = ap.parse_args(argv)
        utc = [d if d.tzinfo else d.replace(tzinfo=timezone.utc) for d in (args.since, args.until)]
        register_apps()
        migrate()
        from apps.finance_callcenter.service import CallCenterError, reprocess_period

        try:
            ids = reprocess_period(since=utc[0], until=utc[1])
        except CallCenterError as exc:
            print(exc, file=sys.stderr)
            return 2
        print(f"{len(ids)} call(s) queued again" + (f": #{ids[0]} .. #{ids[-1]}" if ids else "") + ".")
    else:
        ap = argparse.ArgumentParser(prog="python -m apps.suite rescore-class",
                                     description="Queue every attempt of a class's students for scoring again.")
        ap.add_argument("class_id", type=int)
        args = ap.parse_args(argv)
        register_apps()
        migrate()
        from apps.english_tutor.rescoring import rescore_class
        from apps.english_tutor.service import TutorError

        try:
            count = rescore_class(class_id=args.class_id)
        except TutorError as exc:
            print(exc, file=sys.stderr)
            return 2
        print(f"{count} attempt(s) of class {args.class_id} queued for scoring again.")
    if not dispatcher.running():
        print("A running server (or, in the distributed mode, its dispatcher) sends them to the workers.")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["unlock"]:
        return unlock(argv[1:])
    if argv[:1] == ["worker"]:
        return worker(argv[1:])
    if argv[:1] in (["reprocess-calls"], ["rescore-class"]):
        return batch(argv[0], argv[1:])
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from core.config import get_settings

    settings = get_settings()
    ap = argparse.ArgumentParser(prog="python -m apps.suite", description="Parlance web suite")
    ap.add_argument("--host", default=settings.host)
    ap.add_argument("--port", type=int, default=settings.port)
    args = ap.parse_args(argv)

    import uvicorn

    from apps.suite.registry import register_apps
    from apps.suite.server import build_app
    from core import accounts
    from core.db import get_engine, migrate, session_scope
    from core.logs import configure_logging

    private_files(settings.data_dir)
    log_path = configure_logging(settings.data_dir)
    register_apps()
    engine = get_engine()
    migrate(engine)
    with session_scope() as s:
        password = accounts.bootstrap_admin(session=s, password=os.environ.get("PARLANCE_ADMIN_PASSWORD"))
    if password:
        print("=" * 64, file=sys.stderr)
        print("First run: created the administrator account.", file=sys.stderr)
        print("  username: admin", file=sys.stderr)
        if not os.environ.get("PARLANCE_ADMIN_PASSWORD"):
            print(f"  password: {password}   (shown once; change it after signing in)", file=sys.stderr)
        print("=" * 64, file=sys.stderr)
    print(f"Parlance: http://{args.host}:{args.port}/  (database: {engine.url.render_as_string(hide_password=True)}; "
          f"log: {log_path})", file=sys.stderr)
    uvicorn.run(build_app(settings), host=args.host, port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
