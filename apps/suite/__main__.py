"""Start the Parlance suite: ``python -m apps.suite [--host H] [--port P]``; lift a sign-in delay:
``python -m apps.suite unlock USERNAME [--address IP]``.

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


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["unlock"]:
        return unlock(argv[1:])
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
