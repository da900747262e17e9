"""Evaluate an exported text-emotion artifact on the recipe's test manifest (GoEmotions test,
Ekman labels) with its tuned per-label thresholds, as the apps load it (int8).

    python -m core.recipes.text_emotion.goemotions.evaluate \
        core/recipes/text_emotion/goemotions/hparams/minilm_lora.yaml data_dir=../shared/data [artifact=...] [split=test]

Prints a table, then one JSON line. ``benchmarks/emotion.py`` adds the peer and speed.
"""
from __future__ import annotations

import sys
from pathlib import Path

import torch

from core.data import read_jsonl
from core.recipes.common import evaluate_run
from core.recipes.text_emotion.goemotions.prepare import prepare
from core.text.emotion import TextEmotionClassifier
from core.text.metrics import f1_per_label


def evaluate(classifier: TextEmotionClassifier, rows: list[dict]) -> dict[str, float]:
    """Macro-F1 over the labels (and each label's F1) of the thresholded predictions."""
    labels = classifier.labels
    predicted = classifier.predict([r["text"] for r in rows])
    pred = torch.tensor([[float(lab in p.labels) for lab in labels] for p in predicted])
    gold = torch.tensor([[float(lab in r["labels"]) for lab in labels] for r in rows])
    f1 = f1_per_label(pred, gold, 0.5)
    return {"macro_f1": float(f1.mean()), **{f"{lab}_f1": float(v) for lab, v in zip(labels, f1)},
            "examples": len(rows)}


def main(argv: list[str]) -> dict:
    return evaluate_run(argv, lambda h, out: prepare(Path(h["data_dir"]), out), "text-emotion",
                        lambda h, manifests, split, artifact: evaluate(
                            TextEmotionClassifier(artifact), read_jsonl(manifests / f"{split}.jsonl")))


if __name__ == "__main__":
    main(sys.argv[1:])
