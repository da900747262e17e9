"""Evaluate an exported intent artifact on the recipe's test manifest (Banking77 test + CLINC150
``oos_test``, never trained on), exactly as the apps load it (int8, calibrated threshold).

    python -m core.recipes.intent.banking77.evaluate core/recipes/intent/banking77/hparams/minilm_lora.yaml \
        data_dir=../shared/data [artifact=models/intent/banking77-minilm-lora.pt] [split=test]

Prints a table, then one JSON line. ``benchmarks/intent.py`` adds peers and speed.
"""
from __future__ import annotations

import sys
from pathlib import Path

from core.data import read_jsonl
from core.recipes.common import evaluate_run
from core.recipes.intent.banking77.prepare import OOS, prepare
from core.text.intent import IntentClassifier


def evaluate(classifier: IntentClassifier, rows: list[dict]) -> dict[str, float]:
    """``accuracy``: Banking77 rows whose best intent is right (ignoring the out-of-scope flag);
    ``in_scope_accuracy``: right and not flagged; ``oos_recall``: out-of-scope rows flagged."""
    results = classifier.predict([r["text"] for r in rows])
    inside = [(r, p) for r, p in zip(rows, results) if r["label"] != OOS]
    outside = [p for r, p in zip(rows, results) if r["label"] == OOS]
    return {"accuracy": sum(p.top[0].intent == r["label"] for r, p in inside) / max(len(inside), 1),
            "in_scope_accuracy": sum(not p.out_of_scope and p.intent == r["label"] for r, p in inside)
            / max(len(inside), 1),
            "oos_recall": sum(p.out_of_scope for p in outside) / max(len(outside), 1),
            "in_scope_examples": len(inside), "oos_examples": len(outside)}


def main(argv: list[str]) -> dict:
    return evaluate_run(argv, lambda h, out: prepare(Path(h["data_dir"]), out, seed=h["seed"], **h["prepare"]),
                        "intent", lambda h, manifests, split, artifact: evaluate(
                            IntentClassifier(artifact), read_jsonl(manifests / f"{split}.jsonl")))


if __name__ == "__main__":
    main(sys.argv[1:])
