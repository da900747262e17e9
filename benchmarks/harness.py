"""The one way every benchmark times, measures memory and describes the machine.

- ``time_calls``: warm-up calls first (one-off costs: lazy weight packing, allocator growth, caches),
  then ONE loop that times every call, so p50/p90/p99 come from the same distribution (p90 can
  never come out below p50, as it did when they came from separate loops).
- ``throughput``: items per second, the median of N timed passes after a warm-up pass.
- ``PeakRss``: the process's resident memory sampled every 5 ms while a block runs; its peak is
  what that system cost (the memory of whatever ran before stays counted, so run peers in the
  same order every time, or compare growth with ``grown_mb``).
- ``machine_facts``: CPU model, cores, the instruction sets that decide int8/bf16 speed
  (AVX2, AVX-512 VNNI/BF16, AMX), torch/onnxruntime/CTranslate2 versions and thread settings.
  Absolute times move 2x between machines of one kind; ratios to a peer measured in the same
  run do not, so every speed figure also comes as ``ratio(...)`` to its peer.
- ``finish``: prints the one JSON object every benchmark ends with (figures + ``machine``).

>>> t = time_calls(lambda x: sum(range(x)), [1000] * 50, warmup=5)
>>> t.n, t.p50_ms <= t.p90_ms <= t.p99_ms
(50, True)
>>> ratio(2.0, 4.0)
0.5
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_tile", "amx_int8", "amx_bf16")


@dataclass(frozen=True)
class Timing:
    n: int  # timed calls (after warm-up)
    warmup: int  # calls made first and not timed
    p50_ms: float  # per call, milliseconds, from the one timed loop
    p90_ms: float
    p99_ms: float
    mean_ms: float

    def as_dict(self, prefix: str = "") -> dict[str, float]:
        return {f"{prefix}{k}": v for k, v in asdict(self).items()}


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), linear interpolation between closest ranks (numpy's default)."""
    if not values:
        raise ValueError("no values")
    s = sorted(values)
    k = (len(s) - 1) * q / 100.0
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def time_calls(fn: Callable[[Any], Any], inputs: Sequence[Any], *, warmup: int = 10) -> Timing:
    """Call ``fn`` on the first ``warmup`` inputs untimed, then on every input, timing each call."""
    for x in list(inputs[:warmup]) or list(inputs[:1]):
        fn(x)
    times = []
    for x in inputs:
        t = time.perf_counter()
        fn(x)
        times.append(1000.0 * (time.perf_counter() - t))
    return Timing(n=len(times), warmup=min(warmup, len(inputs)), p50_ms=round(percentile(times, 50), 3),
                  p90_ms=round(percentile(times, 90), 3), p99_ms=round(percentile(times, 99), 3),
                  mean_ms=round(statistics.fmean(times), 3))


def throughput(fn: Callable[[Any], Any], batches: Sequence[Any], *, items: int, passes: int = 3) -> float:
    """Items per second: one untimed pass, then the median of ``passes`` timed passes over ``batches``
    (``items`` = how many items one pass covers)."""
    for b in batches:
        fn(b)
    rates = []
    for _ in range(passes):
        t = time.perf_counter()
        for b in batches:
            fn(b)
        rates.append(items / (time.perf_counter() - t))
    return round(statistics.median(rates), 2)


def median_of(runs: Iterable[float]) -> float:
    return round(statistics.median(list(runs)), 4)


def ratio(ours: float, peer: float) -> float:
    """ours / peer, rounded (for times: below 1 = faster than the peer; for rates: above 1)."""
    return round(ours / peer, 3) if peer else float("nan")


def rss_mb() -> float:
    """Resident memory of this process now, MB."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 1e6
    except (OSError, ValueError, IndexError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def _reset_kernel_peak() -> bool:
    """Reset the kernel's record of this process's peak RSS (Linux: "5" to /proc/self/clear_refs);
    False where that is not allowed. A nested PeakRss resets it for the outer one too: the outer
    one still has its own samples."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _kernel_peak_mb() -> float | None:
    """The kernel's peak RSS of this process since the last reset (VmHWM), MB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024 / 1e6
    except (OSError, ValueError, IndexError):
        return None
    return None


class PeakRss:
    """``with PeakRss() as m: ...`` (or ``m = PeakRss().start()`` ... ``m.stop()``), then
    ``m.peak_mb`` (highest RSS seen while it ran: sampled, and the kernel's own peak where it can be
    reset) and ``m.grown_mb`` (peak minus RSS at start)."""

    def __init__(self, every_s: float = 0.005):
        self.every_s, self.start_mb, self.peak_mb = every_s, 0.0, 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._kernel_peak = False

    def _sample(self) -> None:
        while not self._stop.wait(self.every_s):
            self.peak_mb = max(self.peak_mb, rss_mb())

    def start(self) -> PeakRss:
        self._kernel_peak = _reset_kernel_peak()
        self.start_mb = self.peak_mb = rss_mb()
        self._stop.clear()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> PeakRss:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        kernel = _kernel_peak_mb() if self._kernel_peak else None  # a sampler may be starved on a busy machine
        self.peak_mb = round(max(self.peak_mb, rss_mb(), kernel or 0.0), 1)
        return self

    def __enter__(self) -> PeakRss:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def grown_mb(self) -> float:
        return round(self.peak_mb - self.start_mb, 1)


def _cpu_info() -> tuple[str, set[str]]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown", set()
    model = next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("model name")),
                 platform.processor() or "unknown")
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), [])
    return model, set(flags)


def machine_facts() -> dict[str, Any]:
    """What decides the speed figures on this machine (goes into every benchmark's JSON)."""
    model, flags = _cpu_info()
    facts: dict[str, Any] = {
        "cpu": model,
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "isa": [f for f in FLAGS if f in flags],
        "python": platform.python_version(),
        "env_threads": {k: os.environ[k] for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                                   "OPENBLAS_CORETYPE", "PARLANCE_CPU_THREADS") if k in os.environ},
    }
    try:
        import torch

        facts["torch"] = torch.__version__
        facts["torch_threads"] = torch.get_num_threads()
        facts["torch_interop_threads"] = torch.get_num_interop_threads()
        facts["torch_quantized_engine"] = torch.backends.quantized.engine
        facts["torch_mkldnn"] = bool(torch.backends.mkldnn.is_available())
        facts["torch_cpu_capability"] = torch.backends.cpu.get_cpu_capability()
    except ImportError:
        pass
    for name in ("onnxruntime", "ctranslate2"):
        try:
            module = __import__(name)
            facts[name] = getattr(module, "__version__", "?")
        except ImportError:
            continue
    return facts


def finish(figures: dict[str, Any], *, machine: dict[str, Any] | None = None) -> dict[str, Any]:
    """Print the benchmark's last line: one JSON object of its figures plus ``machine``."""
    out = {**figures, "machine": machine or machine_facts()}
    print(json.dumps(out, default=str), flush=True)
    return out
