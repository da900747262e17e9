"""Reliability under load and crashes, against the real server (a child process, as deployed):

1. Twenty calls uploaded at once by twenty clients; once some are processed the server is killed
   with SIGKILL mid-queue and started again. Counted afterwards: calls lost, duplicated and stuck
   (all should be 0), and the seconds from the restart until the queue moves again (target <= 5).
   Meanwhile a supervisor's dashboard refreshes continuously: its p90 during the load.
2. Sign-in attempts one address can make per second with wrong passwords (throttled after 5), and
   how many of them actually got a password checked.
3. The server's peak memory (VmHWM) while it processes a 2-hour call upload.

On SQLite, and on PostgreSQL when one answers (PARLANCE_TEST_POSTGRES_URL or 127.0.0.1:5432).

    python benchmarks/reliability.py                 # both backends
    python benchmarks/reliability.py --backends sqlite --skip-two-hours

The last line printed is one JSON object with the figures and the machine's facts.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from benchmarks.harness import finish, percentile  # noqa: E402

CLIP = ROOT / "tests" / "fixtures" / "audio" / "so762_007650078.opus"
SUPERVISOR, PASSWORD = "sup.load", "harbour lantern 77"
ADMIN_PASSWORD = "orchard ferry 2026"
POSTGRES = os.environ.get("PARLANCE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """The suite as a child process on its own port, data dir and database."""

    def __init__(self, data_dir: Path, database_url: str, port: int):
        self.data_dir, self.database_url, self.port = data_dir, database_url, port
        self.proc: subprocess.Popen | None = None
        self.url = f"http://127.0.0.1:{port}"

    def start(self) -> float:
        """Start and wait until it answers; returns the wall time it was spawned at (``ready_at``: when
        it first answered)."""
        env = {**os.environ, "PARLANCE_DATA_DIR": str(self.data_dir), "PARLANCE_DATABASE_URL": self.database_url,
               "PARLANCE_ADMIN_PASSWORD": ADMIN_PASSWORD, "PARLANCE_LOG_LEVEL": "WARNING"}
        started = time.time()
        self.proc = subprocess.Popen([sys.executable, "-m", "apps.suite", "--port", str(self.port)], cwd=ROOT, env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import httpx

        for _ in range(600):
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    self.ready_at = time.time()
                    return started
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("the server did not start")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=60)

    def peak_rss_mb(self) -> float:
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024


def sign_in(url: str, username: str, password: str):
    import httpx

    client = httpx.Client(base_url=url, timeout=60)
    token = re.search(r"name='csrf' value='([^']*)'", client.get("/login").text).group(1)
    r = client.post("/login", data={"username": username, "password": password, "next": "/", "csrf": token})
    return client, r


def prepare_database(url: str) -> None:
    from apps.suite.registry import register_apps
    from core import accounts
    from core.db import make_engine, migrate, session_scope

    register_apps()
    engine = make_engine(url)
    migrate(engine)
    with session_scope(engine) as s:
        if accounts.get_user(session=s, username=SUPERVISOR) is None:
            accounts.create_user(session=s, username=SUPERVISOR, password=PASSWORD, role="supervisor")
    engine.dispose()


def unlock_address(url: str, address: str) -> None:
    from core import accounts
    from core.db import make_engine, session_scope

    engine = make_engine(url)
    with session_scope(engine) as s:
        accounts.unlock(session=s, address=address)
    engine.dispose()


def call_rows(url: str) -> list[tuple[int, str, str, int]]:
    from sqlalchemy import text

    from core.db import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, filename, status, attempts FROM cc_calls ORDER BY id")).all()
    engine.dispose()
    return [tuple(r) for r in rows]


def load_and_crash(url: str, work: Path, n_calls: int) -> dict:
    """Twenty uploads at once, SIGKILL mid-queue, restart; what was lost, duplicated, stuck."""
    from gradio_client import Client, handle_file

    server = Server(work / "data", url, free_port())
    server.start()
    http, _ = sign_in(server.url, SUPERVISOR, PASSWORD)
    cookie = {"Cookie": f"parlance_session={http.cookies.get('parlance_session')}"}
    files = []
    for i in range(n_calls):
        p = work / f"call_{i:02d}.opus"
        shutil.copyfile(CLIP, p)
        files.append(p)

    def upload(path: Path) -> str:
        client = Client(f"{server.url}/callcenter/", headers=cookie, verbose=False)
        return client.predict([handle_file(str(path))], "Left channel is the agent", api_name="/upload")[0]

    board_ms: list[float] = []
    stop = threading.Event()

    def watch() -> None:  # a supervisor's dashboard during the load (and across the crash)
        client = None
        while not stop.is_set():
            try:
                client = client or Client(f"{server.url}/callcenter/", headers=cookie, verbose=False)
                t = time.perf_counter()
                client.predict(api_name="/board")
                board_ms.append(1000 * (time.perf_counter() - t))
            except Exception:  # noqa: BLE001 - the server is down between the kill and the restart
                client = None
                time.sleep(0.2)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    with ThreadPoolExecutor(n_calls) as pool:
        answers = list(pool.map(upload, files))
    stored = sum("stored and queued" in a for a in answers)
    # kill once a few calls are processed and the rest still wait
    deadline = time.time() + 300
    while time.time() < deadline:
        statuses = [r[2] for r in call_rows(url)]
        if statuses.count("done") >= 3 and statuses.count("queued") >= 3:
            break
        time.sleep(0.2)
    before = {r[0]: (r[2], r[3]) for r in call_rows(url)}  # id -> (status, times claimed)
    server.kill()
    restarted = server.start()  # spawned: imports, migrations, mounting the apps, then the worker
    moved_after = None
    while time.time() < restarted + 120:
        # moving again: a call claimed after the restart (the interrupted one is claimed once more)
        if any(r[0] in before and r[3] > before[r[0]][1] for r in call_rows(url)):
            moved_after = time.time() - restarted
            break
        time.sleep(0.05)
    deadline = time.time() + 600
    while time.time() < deadline and any(r[2] in ("queued", "processing") for r in call_rows(url)):
        time.sleep(0.5)
    server_ready = server.ready_at
    stop.set()
    watcher.join(timeout=30)
    rows = call_rows(url)
    server.stop()
    names = [r[1] for r in rows]
    uploaded = {p.name for p in files}
    return {"uploaded": n_calls, "stored": stored, "lost": len(uploaded - set(names)),
            "duplicated": len(names) - len(set(names)), "stuck": sum(r[2] not in ("done", "failed") for r in rows),
            "failed": sum(r[2] == "failed" for r in rows), "killed_with_done": sum(v[0] == "done" for v in before.values()),
            "restart_to_queue_moving_s": round(moved_after, 2) if moved_after is not None else None,
            "server_start_s": round(server_ready - restarted, 2),
            "dashboard_refresh_ms_p50": round(percentile(board_ms, 50), 1) if board_ms else None,
            "dashboard_refresh_ms_p90": round(percentile(board_ms, 90), 1) if board_ms else None,
            "dashboard_refreshes": len(board_ms)}


def sign_in_rate(url: str, work: Path, seconds: float) -> dict:
    """Wrong-password sign-ins from one address for ``seconds``: answered per second, and how many got
    a password check (401) rather than a wait (429)."""
    server = Server(work / "data_signin", url, free_port())
    server.start()
    import httpx

    client = httpx.Client(base_url=server.url, timeout=30)
    token = re.search(r"name='csrf' value='([^']*)'", client.get("/login").text).group(1)
    codes: list[int] = []
    end = time.time() + seconds
    while time.time() < end:
        r = client.post("/login", data={"username": f"guess{len(codes) % 7}", "password": "wrong guess 123",
                                        "csrf": token})
        codes.append(r.status_code)
    server.stop()
    unlock_address(url, "127.0.0.1")  # as an administrator would, so the next steps can sign in
    checked = codes.count(401)
    return {"attempts_per_s": round(len(codes) / seconds, 1), "password_checks_per_s": round(checked / seconds, 2),
            "password_checks": checked, "held_back": codes.count(429)}


def two_hour_upload(url: str, work: Path) -> dict:
    """A 2-hour call (8 kHz mono, the real sample call three times in silence) through upload and
    processing; the server process's peak resident memory before (models already loaded by a short
    call) and after."""
    import soundfile as sf
    from gradio_client import Client, handle_file
    from scipy.signal import resample_poly

    from core.audio import load_audio

    path = work / "two_hours.flac"
    call = resample_poly(load_audio(ROOT / "tests/fixtures/audio/two_speaker_call.flac").samples, 1, 2)
    x = np.zeros(8000 * 7200, np.float32)
    for start in (0, 8000 * 3000, 8000 * 6000):
        x[start:start + len(call)] = call
    sf.write(path, x, 8000)
    del x
    server = Server(work / "data_2h", url, free_port())
    server.start()
    http, _ = sign_in(server.url, SUPERVISOR, PASSWORD)
    cookie = {"Cookie": f"parlance_session={http.cookies.get('parlance_session')}"}
    client = Client(f"{server.url}/callcenter/", headers=cookie, verbose=False)
    client.predict([handle_file(str(CLIP))], "Left channel is the agent", api_name="/upload")  # loads the models
    deadline = time.time() + 300
    while time.time() < deadline and any(r[2] in ("queued", "processing") for r in call_rows(url)):
        time.sleep(0.5)
    before = server.peak_rss_mb()  # with every model loaded: what the 2-hour file itself adds
    Client(f"{server.url}/callcenter/", headers=cookie, verbose=False).predict(
        [handle_file(str(path))], "Left channel is the agent", api_name="/upload")
    deadline = time.time() + 900
    while time.time() < deadline and any(r[2] in ("queued", "processing") for r in call_rows(url)):
        time.sleep(1)
    status = [r[2] for r in call_rows(url)][-1]
    peak = server.peak_rss_mb()
    server.stop()
    return {"peak_rss_mb_before": round(before), "peak_rss_mb": round(peak), "grown_mb": round(peak - before),
            "status": status, "file_mb": round(path.stat().st_size / 1e6, 1)}


def postgres_database() -> str | None:
    """A fresh database on the PostgreSQL server, or None when none answers."""
    try:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
        name = f"parlance_rel_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
        admin.dispose()
        return make_url(POSTGRES).set(database=name).render_as_string(hide_password=False)
    except Exception as exc:  # noqa: BLE001 - no server: that backend is skipped, and said so
        print(f"PostgreSQL not reachable ({type(exc).__name__}); skipped")
        return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backends", nargs="+", default=["sqlite", "postgres"], choices=["sqlite", "postgres"])
    ap.add_argument("--calls", type=int, default=20)
    ap.add_argument("--sign-in-seconds", type=float, default=20.0)
    ap.add_argument("--skip-two-hours", action="store_true")
    args = ap.parse_args()
    figures: dict = {}
    for backend in args.backends:
        work = Path(tempfile.mkdtemp(prefix=f"parlance-rel-{backend}-"))
        url = f"sqlite:///{work / 'parlance.sqlite3'}" if backend == "sqlite" else postgres_database()
        if url is None:
            continue
        prepare_database(url)
        load = load_and_crash(url, work, args.calls)
        print(f"\n{backend}: {load['uploaded']} calls uploaded at once, SIGKILL with {load['killed_with_done']} done; "
              f"lost {load['lost']}, duplicated {load['duplicated']}, stuck {load['stuck']}, failed {load['failed']}; "
              f"queue moving {load['restart_to_queue_moving_s']} s after the restart (the server itself takes "
              f"{load['server_start_s']} s to answer); dashboard refresh p50 "
              f"{load['dashboard_refresh_ms_p50']} ms, p90 {load['dashboard_refresh_ms_p90']} ms "
              f"({load['dashboard_refreshes']} refreshes)", flush=True)
        figures.update({f"{backend}_{k}": v for k, v in load.items()})
        if backend == "sqlite":
            rate = sign_in_rate(url, work, args.sign_in_seconds)
            print(f"sign-in from one address with wrong passwords: {rate['attempts_per_s']} answers/s, "
                  f"{rate['password_checks_per_s']} password checks/s ({rate['password_checks']} checked, "
                  f"{rate['held_back']} held back in {args.sign_in_seconds:g} s)", flush=True)
            figures.update({f"sign_in_{k}": v for k, v in rate.items()})
            if not args.skip_two_hours:
                big = two_hour_upload(url, work)
                print(f"2-hour call upload ({big['file_mb']} MB FLAC): server peak RSS {big['peak_rss_mb_before']} -> "
                      f"{big['peak_rss_mb']} MB (+{big['grown_mb']} MB), call {big['status']}", flush=True)
                figures.update({f"two_hour_upload_{k}": v for k, v in big.items()})
        shutil.rmtree(work, ignore_errors=True)
    finish(figures)


if __name__ == "__main__":
    main()
