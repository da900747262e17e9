"""ASR benchmark: Parlance's Transcriber vs faster-whisper (README usage, same weights) vs
pocketsphinx (bundled en-us model), on the same audio, on this machine.

    python benchmarks/asr.py --limit 200            # quick
    python benchmarks/asr.py                        # full: 2,500 speechocean762 test + 300 FSDD test

Each system runs in its own child process (so its peak RSS is its own), over the same decoded
16 kHz audio, ``--repeats`` times; RTF is the median over repeats of decode seconds / audio seconds.
WER normalisation: lower case, no punctuation, digits spelled one by one (both test sets' prompts
are digit strings read digit by digit). Also counts words "heard" in 10 minutes of synthetic silence, noise and music (should be 0).
Per-file decode latency p50/p90/p99 comes from the last timed pass (one call per file; the warm-up
call is not timed); every speed figure is also given as a ratio to faster-whisper in the same run.
The last line printed is one JSON object with the figures and the machine's facts (benchmarks/harness.py).
"""
from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import multiprocessing as mp
import os
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.harness import finish, percentile  # noqa: E402

SYSTEMS = ("parlance", "parlance_batched", "faster_whisper", "pocketsphinx")
PEER = "faster_whisper"
BATCH_FILES = 16  # files per transcribe_many call in the batched mode


def load_manifest(path: Path, limit: int | None) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    rows = rows[:limit] if limit else rows
    for r in rows:
        r["path"] = str(path.parent / r["audio"])
    return rows


def synthetic_non_speech(minutes: float, seed: int = 0) -> list[np.ndarray]:
    """30 s clips of silence, noises and music-like tones at 16 kHz (synthetic, no speech)."""
    rng = np.random.default_rng(seed)
    sr, n = 16000, 16000 * 30
    t = np.arange(n) / sr

    def coloured(exponent: float) -> np.ndarray:
        spec = np.fft.rfft(rng.standard_normal(n))
        f = np.fft.rfftfreq(n, 1 / sr)
        f[0] = 1
        x = np.fft.irfft(spec / f ** (exponent / 2), n)
        return x / np.abs(x).max()

    def music() -> np.ndarray:
        notes = 220 * 2 ** (rng.integers(0, 24, size=60) / 12)
        out = np.zeros(n)
        for k, f0 in enumerate(notes):
            a, b = k * n // 60, (k + 1) * n // 60
            seg = t[: b - a]
            env = np.exp(-3 * seg)
            out[a:b] = env * sum(np.sin(2 * np.pi * f0 * h * seg) / h for h in (1, 2, 3, 4))
        return out / np.abs(out).max()

    makers = [
        lambda: np.zeros(n) + rng.standard_normal(n) * 1e-4,  # near-digital silence
        lambda: rng.standard_normal(n) * 0.03,  # white noise, -30 dBFS
        lambda: coloured(1.0) * 0.3,  # pink noise
        lambda: coloured(2.0) * 0.3,  # brown noise (rumble)
        lambda: 0.2 * np.sin(2 * np.pi * 50 * t) + 0.05 * np.sin(2 * np.pi * 150 * t),  # mains hum
        lambda: music() * 0.5,  # plucked-note melody
        lambda: (rng.random(n) < 0.0005) * rng.standard_normal(n) * 0.8 + rng.standard_normal(n) * 0.003,  # clicks
        lambda: music() * 0.3 + coloured(1.0) * 0.1,  # music in noise
    ]
    clips = []
    for k in range(int(round(minutes * 2))):
        clips.append(np.clip(makers[k % len(makers)](), -1, 1).astype(np.float32))
    return clips


# -- systems (each runs inside a child process) ------------------------------------------------
def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_system(system: str, paths: list[str], noise_minutes: float, repeats: int) -> dict:
    """Decode every file ``repeats`` times. Files are read one batch at a time (as an app would),
    so peak RSS is the system's own, not the harness's; only the decode calls are timed."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from core.audio import load_audio

    decode, batch = _make_decoder(system)
    decode([load_audio(paths[0]).samples])  # warm-up (model load, first-call allocations)
    times, hyps, per_call = [], [], []
    for _ in range(repeats):
        spent, hyps, per_call = 0.0, [], []
        for k in range(0, len(paths), batch):
            samples = [load_audio(p).samples for p in paths[k : k + batch]]
            t0 = time.perf_counter()
            hyps += decode(samples)
            per_call.append(1000 * (time.perf_counter() - t0))
            spent += per_call[-1] / 1000
        times.append(spent)
    noise_hyps = []
    for clip in synthetic_non_speech(noise_minutes):
        noise_hyps += decode([clip])
    return {
        "hyps": hyps,
        "times": times,
        "call_ms": {f"p{q}": round(percentile(per_call, q), 1) for q in (50, 90, 99)},
        "noise_words": sum(len(h.split()) for h in noise_hyps),
        "noise_examples": [h for h in noise_hyps if h.strip()][:3],
        "peak_rss_mb": _peak_rss_mb(),
    }


def _make_decoder(system: str):
    """-> (decode(list of [T] float32 arrays) -> list of texts, files per call)"""
    if system in ("parlance", "parlance_batched"):
        from core.asr.whisper_engine import WhisperTranscriber
        from core.audio import Audio

        asr = WhisperTranscriber("tiny.en")

        def wrap(x: np.ndarray) -> Audio:
            return Audio(samples=x, source_sample_rate=16000, source_channels=1, source_format="numpy")

        if system == "parlance":
            return (lambda xs: [asr.transcribe(wrap(x)).text for x in xs]), 1
        return (lambda xs: [t.text for t in asr.transcribe_many([wrap(x) for x in xs])]), BATCH_FILES
    if system == "faster_whisper":
        from benchmarks.peers import faster_whisper

        model = faster_whisper()

        def fw(xs):
            out = []
            for x in xs:
                segments, _info = model.transcribe(x, beam_size=5)
                out.append("".join(s.text for s in segments).strip())
            return out

        return fw, 1
    if system == "pocketsphinx":
        from pocketsphinx import Decoder

        dec = Decoder(samprate=16000, loglevel="FATAL")

        def ps(xs):
            out = []
            for x in xs:
                pcm = (np.clip(x, -1, 1) * 32767).astype(np.int16).tobytes()
                dec.start_utt()
                dec.process_raw(pcm, full_utt=True)
                dec.end_utt()
                out.append(dec.hyp().hypstr if dec.hyp() else "")
            return out

        return ps, 1
    raise ValueError(system)


# -- driver ------------------------------------------------------------------------------------
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--limit", type=int, default=None, help="first N utterances of each test set")
    ap.add_argument("--repeats", type=int, default=3, help="timed passes per system (median reported)")
    ap.add_argument("--noise-minutes", type=float, default=10.0)
    ap.add_argument("--systems", default=",".join(SYSTEMS))
    ap.add_argument("--sets", default="speechocean762,fsdd", help="test sets to run")
    args = ap.parse_args()
    from core.asr.metrics import word_error_rate

    sets = {
        name: load_manifest(args.data / name / "test.jsonl", args.limit)
        for name in args.sets.split(",") if name
    }
    systems = [s for s in args.systems.split(",") if s]
    figures: dict = {"machine_cores": os.cpu_count()}
    ctx = mp.get_context("spawn")
    for set_name, rows in sets.items():
        audio_s = sum(r["duration"] for r in rows)
        print(f"\n== {set_name}: {len(rows)} utterances, {audio_s / 60:.1f} min of audio ==")
        results = {}
        for system in systems:
            noise = args.noise_minutes if set_name == "speechocean762" else 0.0
            with cf.ProcessPoolExecutor(1, mp_context=ctx) as pool:
                res = pool.submit(run_system, system, [r["path"] for r in rows], noise, args.repeats).result()
            # prompts with numbers are read digit by digit here, so "7342" means "seven three four two"
            res["wer"] = word_error_rate([r["text"] for r in rows], res["hyps"], digits="sequence")
            res["rtf"] = statistics.median(res["times"]) / audio_s
            results[system] = res
            print(f"  {system:18s} WER {res['wer']:.4f}  RTF {res['rtf']:.4f}  "
                  f"peak RSS {res['peak_rss_mb']:.0f} MB", flush=True)
        peer = results.get(PEER)
        print(f"\n  {'system':18s} {'WER':>7s} {'RTF':>7s} {'speed vs fw':>12s} {'peak MB':>8s} {'noise words':>12s}")
        for system, res in results.items():
            ratio = peer["rtf"] / res["rtf"] if peer else float("nan")
            print(f"  {system:18s} {res['wer']:7.4f} {res['rtf']:7.4f} {ratio:11.2f}x "
                  f"{res['peak_rss_mb']:8.0f} {res['noise_words'] if set_name == 'speechocean762' else '-':>12}")
            key = f"{set_name}_{system}"
            figures[f"{key}_wer"] = round(res["wer"], 4)
            figures[f"{key}_rtf"] = round(res["rtf"], 4)
            figures[f"{key}_peak_rss_mb"] = round(res["peak_rss_mb"])
            figures.update({f"{key}_call_ms_{q}": v for q, v in res["call_ms"].items()})
            if peer:
                figures[f"{key}_speedup_vs_faster_whisper"] = round(ratio, 2)
                figures[f"{key}_rtf_ratio_vs_faster_whisper"] = round(res["rtf"] / peer["rtf"], 3)
                figures[f"{key}_peak_rss_ratio_vs_faster_whisper"] = round(res["peak_rss_mb"] / peer["peak_rss_mb"], 3)
            if set_name == "speechocean762":
                figures[f"{system}_noise_words_{args.noise_minutes:g}min"] = res["noise_words"]
                if res["noise_examples"]:
                    print(f"    {system} heard in noise: {res['noise_examples']}")
        figures[f"{set_name}_n"] = len(rows)
    figures["repeats"] = args.repeats
    finish(figures)


if __name__ == "__main__":
    main()
