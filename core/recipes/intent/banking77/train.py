"""Train the intent classifier (Banking77 + CLINC150 out-of-scope), calibrate it, export the artifact.

    python -m core.recipes.intent.banking77.train core/recipes/intent/banking77/hparams/minilm_lora.yaml \
        data_dir=../shared/data [train.epochs=1 ...]

Resumable: rerunning the same command continues from ``run_dir/last.pt``. The loop, loaders and
export are shared with the text-emotion recipe (``core.recipes.sentence_classifier``).
"""
from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch import nn

from core.recipes.intent.banking77.prepare import OOS, prepare
from core.recipes.sentence_classifier import Calibrated, train_sentence_classifier
from core.text.calibration import fit_temperature, oos_operating_point
from core.text.classifier import predict_logits


class IntentTask:
    def __init__(self, oos_index: int, label_smoothing: float = 0.0):
        self.oos_index = oos_index
        self.ce = nn.CrossEntropyLoss(label_smoothing=label_smoothing)

    def loss(self, model: nn.Module, batch: dict) -> torch.Tensor:
        return self.ce(model(batch["input_ids"], batch["attention_mask"]), batch["labels"])

    def evaluate(self, model: nn.Module, loader) -> dict[str, float]:
        logits, labels = predict_logits(model, loader)
        pred = logits.argmax(-1)
        inside = labels != self.oos_index
        return {"accuracy": float((pred == labels)[inside].float().mean()),
                "oos_recall": float((pred[~inside] == self.oos_index).float().mean()),
                "loss": float(nn.functional.cross_entropy(logits, labels))}


def calibrate(logits: torch.Tensor, y: torch.Tensor, index: dict[str, int], hp: dict) -> Calibrated:
    """Temperature scaling, then the out-of-scope threshold that keeps in-scope accuracy at
    ``min_in_scope_accuracy`` on the validation split."""
    temperature = fit_temperature(logits, y)
    probs = (logits / temperature).softmax(-1)
    point = oos_operating_point(probs, y, index[OOS], min_in_scope_accuracy=hp["min_in_scope_accuracy"])
    return Calibrated(calibration={"temperature": temperature, "oos_threshold": point["threshold"]},
                      metrics={f"calibrated_{k}": v for k, v in point.items()}, config={"oos_label": OOS})


def main(argv: list[str]) -> dict:
    return train_sentence_classifier(
        argv, kind="intent", multi_label=False, calibrate=calibrate,
        prepare=lambda h, out: prepare(Path(h["data_dir"]), out, seed=h["seed"], **h["prepare"]),
        task=lambda index, h: IntentTask(index[OOS], h.get("label_smoothing", 0.0)))


if __name__ == "__main__":
    main(sys.argv[1:])
