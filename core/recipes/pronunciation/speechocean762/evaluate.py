"""Phone error rate of a phone-recogniser artifact on a speechocean762 split (default: train, which
the recogniser never saw), against the corpus's canonical phones.

    python -m core.recipes.pronunciation.speechocean762.evaluate \
        core/recipes/pronunciation/speechocean762/hparams/phone_ctc_tiny.yaml data_dir=../shared/data [split=train]

The scorer's agreement with the experts and the planted-miscue figures are in
``benchmarks/pronunciation.py``.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from core.asr.ctc import edit_distance
from core.pronunciation.phones import stress_free
from core.pronunciation.recognizer import PhoneRecognizer
from core.recipes.common import evaluate_run
from core.recipes.pronunciation.speechocean762.prepare import cache_features, feature_path, read_manifest, write_manifests


def _prepare(hp: dict, out: Path) -> dict:
    return write_manifests(Path(hp["data_dir"]) / "speechocean762", out)


def score(hp: dict, manifests: Path, split: str, artifact: str) -> dict:
    cache = Path(hp["cache_dir"])
    manifest = manifests / f"{split}.jsonl"
    cache_features(manifest, cache / "features", hp["frontend"])
    rec = PhoneRecognizer.load(artifact)
    errors = total = 0
    rows = read_manifest(manifest)
    for r in rows:
        feats = np.load(feature_path(cache / "features", hp["frontend"], r["id"])).astype(np.float32)
        ref = [stress_free(p) for _, ph in r["words"] for p in ph]
        errors += edit_distance(ref, rec.phones(rec.from_features(feats)))
        total += len(ref)
    return {"per": round(errors / total, 4), "utterances": len(rows), "phones": total}


def main(argv: list[str]) -> dict:
    argv = [*argv, *([] if any(a.startswith("split=") for a in argv) else ["split=train"])]
    return evaluate_run(argv, _prepare, "phone recogniser", score)


if __name__ == "__main__":
    main(sys.argv[1:])
