"""Processing at scale (issue 15): synthetic bank calls through the distributed mode (Celery on Redis,
PostgreSQL) with 1, 2 and 4 worker processes, a worker killed with SIGKILL mid-call, the broker's
connections cut mid-run, and the embedded mode against the single worker thread it replaced.

This process plays the server: it stores the uploads (as the web page does) and runs the dispatcher;
the workers are separate processes started with the suite's own command (``python -m apps.suite
worker``), as they would be on other machines. Each set-up gets a fresh PostgreSQL schema.

Figures: calls per minute and the ratio to one worker; queue wait p50/p90 (upload to a worker
starting on it); calls lost, calls whose routing decision was written more than once; recovery time
after the kill (the killed worker's call done again) and after the broker cut (longest pause in
completions). Speech is synthetic (espeak-ng voices, banking77 requests, telephone band).

    python benchmarks/scale.py                          # 200 calls; 1, 2, 4 workers; kill; broker; embedded
    python benchmarks/scale.py --calls 40 --workers 1 2 --sections throughput

The last line printed is one JSON object with the figures and the machine's facts.
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from benchmarks.harness import finish, percentile  # noqa: E402

POSTGRES = os.environ.get("PARLANCE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BROKER = "redis://127.0.0.1:6379/14"  # a database of its own, emptied before each set-up
SECTIONS = ("throughput", "kill", "broker", "embedded")


# --- set-up ---------------------------------------------------------------------------------------------
def write_calls(n: int, data: Path, work: Path) -> list[Path]:
    """``n`` distinct synthetic stereo calls (agent left) as WAV files."""
    from benchmarks.callcenter import make_calls

    paths = []
    for call in make_calls(n, data, work, seed=15):
        path = work / f"call{call['id']:03d}.wav"
        sf.write(path, call["stereo"], 16000)
        paths.append(path)
    return paths


class Setup:
    """One fresh database schema, storage folder and broker database; this process is its server."""

    def __init__(self, work: Path, name: str, mode: str):
        from sqlalchemy import text

        from core.db import make_engine

        self.schema = f"scale_{name}_{uuid.uuid4().hex[:8]}"
        self.admin = make_engine(POSTGRES)
        with self.admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {self.schema}"))
        sep = "&" if "?" in POSTGRES else "?"
        self.url = f"{POSTGRES}{sep}options=-csearch_path%3D{self.schema}"
        self.dir = work / name
        self.env = {**os.environ, "PARLANCE_DATABASE_URL": self.url, "PARLANCE_TASK_MODE": mode,
                    "PARLANCE_BROKER_URL": BROKER, "PARLANCE_STORAGE_DIR": str(work / "storage"),
                    "PARLANCE_DATA_DIR": str(self.dir)}
        self.workers: list[subprocess.Popen] = []

    def __enter__(self) -> "Setup":
        from apps.finance_callcenter import service
        from apps.suite.registry import register_apps
        from core import accounts
        from core.config import get_settings
        from core.db import make_engine, migrate, session_scope, set_engine

        os.environ.update(self.env)
        get_settings.cache_clear()
        self.dir.mkdir(parents=True, exist_ok=True)
        register_apps()
        self.engine = make_engine(self.url)
        set_engine(self.engine)
        migrate(self.engine)
        with session_scope() as s:
            accounts.create_user(session=s, username="bench", password="copper lantern meadow 51", role="supervisor")
        service.ensure_setup()
        if self.env["PARLANCE_TASK_MODE"] == "celery":
            import redis

            redis.Redis.from_url(BROKER).flushdb()
        return self

    def start_workers(self, k: int, threads: int) -> None:
        env = {**self.env, "PARLANCE_CPU_THREADS": str(threads), "OMP_NUM_THREADS": str(threads),
               "MKL_NUM_THREADS": str(threads)}
        for i in range(k):
            log = (self.dir / f"worker{i}.log").open("w")
            self.workers.append(subprocess.Popen([sys.executable, "-m", "apps.suite", "worker", "--loglevel",
                                                  "WARNING"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
        wait_for(lambda: len(live_workers()) >= k, 120, "workers to start")

    def __exit__(self, *exc) -> None:
        from sqlalchemy import text

        from core.tasks import dispatcher

        dispatcher.stop(10)
        for p in self.workers:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.workers:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
        self.engine.dispose()
        with self.admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {self.schema} CASCADE"))
        self.admin.dispose()


def live_workers() -> list[dict]:
    from core.tasks.workers import list_workers

    return [w for w in list_workers() if w["role"] == "worker"]


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout:.0f} s for {what}")
        time.sleep(0.2)


def upload(paths: list[Path], n: int, start: int = 0) -> list[int]:
    from apps.finance_callcenter import service

    return [service.store_upload(paths[(start + i) % len(paths)], username="bench", filename=f"call{start + i}.wav",
                                 agent_channel=0) for i in range(n)]


def finished(ids: list[int]) -> dict[int, str]:
    from sqlalchemy import select

    from apps.finance_callcenter.models import Call
    from core.db import session_scope

    with session_scope() as s:
        return {i: st for i, st in s.execute(select(Call.id, Call.status).where(Call.id.in_(ids)))
                if st in ("done", "failed")}


def run_batch(ids: list[int], timeout: float, on_progress=None) -> tuple[float, list[float]]:
    """Wait until every call is done or failed; (seconds, completion times since the start)."""
    from core.tasks import dispatcher

    started = time.monotonic()
    dispatcher.wake()
    seen: dict[int, float] = {}
    while len(seen) < len(ids):
        now = time.monotonic()
        for i in finished(ids):
            seen.setdefault(i, now - started)
        if on_progress:
            on_progress(len(seen), seen)
        if now - started > timeout:
            raise TimeoutError(f"{len(ids) - len(seen)} of {len(ids)} calls unfinished after {timeout:.0f} s")
        time.sleep(0.25)
    return time.monotonic() - started, sorted(seen.values())


def tally(ids: list[int]) -> dict:
    """Lost, failed, decisions written twice, queue waits (upload to start of processing)."""
    from sqlalchemy import func, select

    from apps.finance_callcenter.models import Call, RoutingDecisionRow
    from core.db import session_scope

    with session_scope() as s:
        rows = s.execute(select(Call.id, Call.status, Call.uploaded_at, Call.processed_at, Call.processing_s)
                         .where(Call.id.in_(ids))).all()
        decisions = dict(s.execute(select(RoutingDecisionRow.call_id, func.count())
                                   .where(RoutingDecisionRow.call_id.in_(ids), RoutingDecisionRow.decided_by == "auto")
                                   .group_by(RoutingDecisionRow.call_id)).all())
    waits = [max(0.0, (r.processed_at - r.uploaded_at).total_seconds() - (r.processing_s or 0.0))
             for r in rows if r.status == "done"]
    return {"calls": len(ids), "done": sum(r.status == "done" for r in rows),
            "failed": sum(r.status == "failed" for r in rows),
            "lost": sum(r.status not in ("done", "failed") for r in rows) + (len(ids) - len(rows)),
            "decided_twice": sum(1 for n in decisions.values() if n > 1),
            "done_without_decision": sum(1 for r in rows if r.status == "done" and r.id not in decisions),
            "wait_p50_s": round(percentile(waits, 50), 1) if waits else None,
            "wait_p90_s": round(percentile(waits, 90), 1) if waits else None}


def warm_up(paths: list[Path], k: int) -> float:
    """One call per worker first (each loads its models on its first call); seconds."""
    ids = upload(paths, k, start=len(paths) - k)
    seconds, _ = run_batch(ids, 600)
    return seconds


# --- sections -------------------------------------------------------------------------------------------
def throughput(args, paths: list[Path], work: Path) -> dict:
    from core.tasks import dispatcher

    cores = os.cpu_count() or 1
    out = {}
    for k in args.workers:
        with Setup(work, f"w{k}", "celery") as setup:
            setup.start_workers(k, max(1, cores // k))
            dispatcher.start()
            warm = warm_up(paths, k)
            ids = upload(paths, args.calls)
            seconds, _ = run_batch(ids, 60 * 60)
            t = tally(ids)
            rate = 60.0 * len(ids) / seconds
            out[k] = {**t, "seconds": round(seconds, 1), "calls_per_min": round(rate, 2), "warm_up_s": round(warm, 1),
                      "threads_per_worker": max(1, cores // k)}
            print(f"  {k} worker(s): {rate:6.2f} calls/min over {len(ids)} calls ({seconds:.0f} s); queue wait "
                  f"p50 {t['wait_p50_s']} s p90 {t['wait_p90_s']} s; lost {t['lost']}, failed {t['failed']}, "
                  f"decided twice {t['decided_twice']} (warm-up {warm:.0f} s)", flush=True)
    base = out.get(1, {}).get("calls_per_min")
    for k, row in out.items():
        row["ratio_vs_1"] = round(row["calls_per_min"] / base, 2) if base else None
    return out


def fault_run(args, paths: list[Path], work: Path, name: str, fault) -> tuple[dict, float, list[float]]:
    """Two workers, ``args.fault_calls`` calls; ``fault(done, seen)`` is called as calls finish
    (it strikes once, when it chooses). Returns (tally, seconds, completion times)."""
    from core.tasks import dispatcher

    with Setup(work, name, "celery") as setup:
        setup.start_workers(2, 1)
        dispatcher.start()
        warm_up(paths, 2)
        ids = upload(paths, args.fault_calls)
        seconds, times = run_batch(ids, 30 * 60, fault)
        return tally(ids), seconds, times


def kill_worker(args, paths: list[Path], work: Path) -> dict:
    """Once a few calls are done, SIGKILL the worker busy on a call."""
    state: dict = {}

    def maybe_kill(done: int, seen: dict) -> None:
        if "killed_at" not in state and done >= 5:
            busy = [w for w in live_workers() if w["current"].startswith("callcenter.process_call")]
            if busy:
                pid = int(busy[0]["name"].rsplit(":", 1)[1])
                state.update(call=int(busy[0]["current"].split()[-1]), pid=pid, killed_at=time.monotonic())
                os.kill(pid, signal.SIGKILL)
                print(f"  SIGKILL worker pid {pid} while on call #{state['call']}", flush=True)
        if "killed_at" in state and "recovered_s" not in state and state["call"] in seen:
            state["recovered_s"] = time.monotonic() - state["killed_at"]

    t, seconds, _ = fault_run(args, paths, work, "kill", maybe_kill)
    out = {**t, "seconds": round(seconds, 1), "killed_call": state.get("call"),
           "recovery_s": round(state["recovered_s"], 1) if "recovered_s" in state else None}
    print(f"  kill -9 of a busy worker: lost {t['lost']}, decided twice {t['decided_twice']}, failed {t['failed']}; "
          f"its call done again {out['recovery_s']} s after the kill", flush=True)
    return out


def cut_broker(args, paths: list[Path], work: Path) -> dict:
    """Once a few calls are done, every client connection to Redis is killed."""
    import redis

    state: dict = {}

    def maybe_cut(done: int, seen: dict) -> None:
        if "cut_at" not in state and done >= 5:
            state["killed"] = redis.Redis.from_url(BROKER).client_kill_filter(_type="normal", skipme=True)
            state.update(cut_at=time.monotonic(), done_at_cut=done)
            print(f"  cut {state['killed']} broker connections", flush=True)

    t, seconds, times = fault_run(args, paths, work, "broker", maybe_cut)
    after = times[state.get("done_at_cut", 0):]
    gaps = np.diff(after) if len(after) > 1 else np.array([0.0])
    out = {**t, "seconds": round(seconds, 1), "connections_cut": state.get("killed"),
           "longest_pause_after_cut_s": round(float(gaps.max()), 1) if "cut_at" in state else None}
    print(f"  broker connections cut: lost {t['lost']}, decided twice {t['decided_twice']}, failed {t['failed']}; "
          f"longest pause between completions afterwards {out['longest_pause_after_cut_s']} s", flush=True)
    return out


def embedded(args, paths: list[Path], work: Path) -> dict:
    """The default mode (worker thread in the server) against the loop it replaced (process_pending)."""
    from apps.finance_callcenter import worker
    from core.tasks import dispatcher

    out = {}
    with Setup(work, "direct", "embedded"):
        worker.process_pending()  # nothing queued: loads nothing
        for call_id in upload(paths, 1, start=len(paths) - 1):
            worker.process_call(call_id)  # models loaded, as in a running server
        ids = upload(paths, args.calls)
        started = time.monotonic()
        worker.process_pending()
        seconds = time.monotonic() - started
        out["direct_loop"] = {**tally(ids), "seconds": round(seconds, 1),
                              "calls_per_min": round(60.0 * len(ids) / seconds, 2)}
    with Setup(work, "embedded", "embedded"):
        dispatcher.start()
        warm_up(paths, 1)
        ids = upload(paths, args.calls)
        seconds, _ = run_batch(ids, 60 * 60)
        out["embedded"] = {**tally(ids), "seconds": round(seconds, 1),
                           "calls_per_min": round(60.0 * len(ids) / seconds, 2)}
    out["embedded_vs_direct"] = round(out["embedded"]["calls_per_min"] / out["direct_loop"]["calls_per_min"], 3)
    print(f"  embedded mode {out['embedded']['calls_per_min']} calls/min vs the old single loop "
          f"{out['direct_loop']['calls_per_min']}: ratio {out['embedded_vs_direct']}", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--calls", type=int, default=200, help="calls per throughput run")
    ap.add_argument("--limit", type=int, default=None, help="same as --calls (the benchmarks' quick-run flag)")
    ap.add_argument("--distinct", type=int, default=40, help="distinct synthetic calls (uploaded repeatedly)")
    ap.add_argument("--fault-calls", type=int, default=40, help="calls in the kill and broker runs")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--sections", nargs="+", default=list(SECTIONS), choices=SECTIONS)
    args = ap.parse_args()
    if args.limit:
        args.calls = args.limit
    if not (args.data / "banking77").exists():
        print(f"no banking77 under {args.data}; nothing to measure")
        finish({"skipped": "no data"})
        return
    figures: dict = {"calls": args.calls, "distinct_calls": args.distinct}
    with tempfile.TemporaryDirectory(prefix="parlance-scale-") as tmp:
        work = Path(tmp)
        paths = write_calls(args.distinct, args.data, work)
        seconds = [sf.info(p).duration for p in paths]
        figures["call_seconds_mean"] = round(float(np.mean(seconds)), 1)
        print(f"{len(paths)} distinct synthetic calls, {np.mean(seconds):.1f} s each on average; "
              f"{os.cpu_count()} cores", flush=True)
        runs = {"throughput": ("Throughput (Celery on Redis, PostgreSQL):", "throughput", throughput),
                "kill": ("A worker killed mid-call:", "kill_worker", kill_worker),
                "broker": ("The broker's connections cut mid-run:", "broker_cut", cut_broker),
                "embedded": ("Embedded mode (one machine, no broker):", "embedded", embedded)}
        for section in SECTIONS:
            if section in args.sections:
                title, key, run = runs[section]
                print(title, flush=True)
                figures[key] = run(args, paths, work)
    finish(figures)


if __name__ == "__main__":
    main()
