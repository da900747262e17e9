"""Train the text-emotion model (GoEmotions, Ekman labels), tune per-label thresholds, export.

    python -m core.recipes.text_emotion.goemotions.train core/recipes/text_emotion/goemotions/hparams/minilm_lora.yaml \
        data_dir=../shared/data

Resumable: rerunning the same command continues from ``run_dir/last.pt``. The loop, loaders and
export are shared with the intent recipe (``core.recipes.sentence_classifier``).
"""
from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch import nn

from core.recipes.sentence_classifier import Calibrated, train_sentence_classifier
from core.recipes.text_emotion.goemotions.prepare import prepare
from core.text.classifier import predict_logits
from core.text.metrics import f1_per_label, tune_thresholds


class MultiLabelTask:
    def __init__(self):
        self.bce = nn.BCEWithLogitsLoss()

    def loss(self, model: nn.Module, batch: dict) -> torch.Tensor:
        return self.bce(model(batch["input_ids"], batch["attention_mask"]), batch["labels"])

    def evaluate(self, model: nn.Module, loader) -> dict[str, float]:
        logits, y = predict_logits(model, loader)
        return {"macro_f1": float(f1_per_label(logits.sigmoid(), y).mean()),
                "loss": float(nn.functional.binary_cross_entropy_with_logits(logits, y))}


def calibrate(logits: torch.Tensor, y: torch.Tensor, index: dict[str, int], hp: dict) -> Calibrated:
    """One decision threshold per label, each chosen for that label's F1 on the validation split."""
    probs = logits.sigmoid()
    thresholds = tune_thresholds(probs, y)
    tuned = float(f1_per_label(probs, y, thresholds).mean())
    return Calibrated(calibration={"thresholds": [round(float(t), 3) for t in thresholds]},
                      metrics={"macro_f1_tuned": tuned}, config={"multi_label": True})


def main(argv: list[str]) -> dict:
    return train_sentence_classifier(argv, kind="text_emotion", multi_label=True, calibrate=calibrate,
                                     prepare=lambda h, out: prepare(Path(h["data_dir"]), out),
                                     task=lambda index, h: MultiLabelTask())


if __name__ == "__main__":
    main(sys.argv[1:])
