"""Why is int8 intent inference faster on one machine than on another? The same intent model at
batch 1 in fp32, bf16 and int8, with each quantised-kernel engine torch offers here ("x86"
picks fbgemm or oneDNN per layer; "fbgemm"; "onednn"), at 1 and 2 threads, with and without the
warm-up calls that pay one-off costs (weight packing, allocator growth), all timed the same way
(benchmarks/harness.py) on the same Banking77 test sentences.

    python benchmarks/int8_kernels.py --sentences 200

The app pins fbgemm (core/text/encoder.py: QUANTIZED_ENGINE); this script overrides it per set-up.
The last line printed is one JSON object: p50 per set-up and the int8 speed-up over fp32.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from benchmarks.harness import finish, ratio, time_calls  # noqa: E402


def sentences(data: Path, n: int) -> list[str]:
    import csv

    with (data / "banking77" / "test.csv").open(encoding="utf-8") as f:
        return [row["text"] for row in csv.DictReader(f)][:n]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--sentences", type=int, default=200)
    args = ap.parse_args()
    from core.model_resolver import project_artifact
    from core.text import encoder
    from core.text.intent import DEFAULT_ARTIFACT, IntentClassifier

    texts = sentences(args.data, args.sentences)
    engines = [e for e in ("x86", "fbgemm", "onednn") if e in torch.backends.quantized.supported_engines]
    figures: dict[str, float] = {}
    print(f"{'set-up':34} {'p50 ms':>8} {'p90 ms':>8} {'first call ms':>14}")
    for threads in (1, 2):
        torch.set_num_threads(threads)
        setups = [("fp32", "fp32", None), ("bf16", "bf16", None)] + [(f"int8 {e}", "int8", e) for e in engines]
        for name, precision, engine in setups:
            if engine:
                encoder.QUANTIZED_ENGINE = engine  # the engine quantize_for_cpu packs the weights for
            clf = IntentClassifier(project_artifact(DEFAULT_ARTIFACT), precision=precision)
            t = time.perf_counter()
            clf.probabilities([texts[0]])
            first = 1000 * (time.perf_counter() - t)
            cold = time_calls(lambda s: clf.probabilities([s]), texts, warmup=0)
            warm = time_calls(lambda s: clf.probabilities([s]), texts, warmup=20)
            key = f"{name.replace(' ', '_')}_t{threads}"
            figures[f"{key}_p50_ms"] = warm.p50_ms
            figures[f"{key}_p50_ms_no_warmup_pass"] = cold.p50_ms
            print(f"{name + f', {threads} thread(s)':34} {warm.p50_ms:8.2f} {warm.p90_ms:8.2f} {first:14.1f}")
        for e in engines:
            figures[f"int8_{e}_speedup_vs_fp32_t{threads}"] = ratio(figures[f"fp32_t{threads}_p50_ms"],
                                                                    figures[f"int8_{e}_t{threads}_p50_ms"])
    print(json.dumps({k: v for k, v in figures.items() if "speedup" in k}))
    finish(figures)


if __name__ == "__main__":
    main()
