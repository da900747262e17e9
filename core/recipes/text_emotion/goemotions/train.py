"""Train the text-emotion model (GoEmotions, Ekman labels), tune per-label thresholds, export.

    python -m core.recipes.text_emotion.goemotions.train core/recipes/text_emotion/goemotions/hparams/minilm_lora.yaml \
        data_dir=../shared/data

Resumable: rerunning the same command continues from ``run_dir/last.pt``.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch
from torch import nn

from core.recipes.text_emotion.goemotions.prepare import prepare
from core.text.classifier import SentenceClassifier, predict_logits
from core.text.data import BucketBatches, read_jsonl, text_label_collate
from core.text.encoder import EncoderConfig, config_dict, trainable_state
from core.text.metrics import f1_per_label, tune_thresholds
from core.recipes.common import export, load_best, start_run
from core.training import TrainConfig, fit


class MultiLabelTask:
    def __init__(self):
        self.bce = nn.BCEWithLogitsLoss()

    def loss(self, model: nn.Module, batch: dict) -> torch.Tensor:
        return self.bce(model(batch["input_ids"], batch["attention_mask"]), batch["labels"])

    def evaluate(self, model: nn.Module, loader) -> dict[str, float]:
        logits, y = predict_logits(model, loader)
        return {"macro_f1": float(f1_per_label(logits.sigmoid(), y).mean()),
                "loss": float(nn.functional.binary_cross_entropy_with_logits(logits, y))}


def main(argv: list[str]) -> dict:
    hp, run_dir, manifests = start_run(argv, lambda h, out: prepare(Path(h["data_dir"]), out))
    labels = json.loads((manifests / "labels.json").read_text())
    index = {lab: i for i, lab in enumerate(labels)}
    enc_cfg = EncoderConfig(**hp["encoder"])
    torch.manual_seed(hp["seed"])
    model = SentenceClassifier(enc_cfg, num_labels=len(labels), dropout=hp["dropout"])
    tok = model.encoder.tokenizer
    collate = text_label_collate(tok, enc_cfg.max_length, index, multi_label=True,
                                 asr_style_prob=hp["asr_style_prob"], seed=hp["seed"])
    train_loader = BucketBatches(read_jsonl(manifests / "train.jsonl"), hp["batch_size"], collate, shuffle=True,
                                 seed=hp["seed"])
    valid_loader = BucketBatches(read_jsonl(manifests / "valid.jsonl"), 128, shuffle=False,
                                 collate=text_label_collate(tok, enc_cfg.max_length, index, multi_label=True))
    cfg = TrainConfig(run_dir=str(run_dir), seed=hp["seed"], **hp["train"])
    started = time.time()
    result = fit(model, MultiLabelTask(), train_loader, valid_loader, cfg)
    best_metrics = load_best(model, result.best_path)
    logits, y = predict_logits(model, valid_loader)
    probs = logits.sigmoid()
    thresholds = tune_thresholds(probs, y)
    tuned = float(f1_per_label(probs, y, thresholds).mean())
    artifact = {
        "config": {"kind": "text_emotion", "encoder": config_dict(enc_cfg), "labels": labels, "dropout": hp["dropout"],
                   "multi_label": True},
        "state_dict": {k: v.half() for k, v in trainable_state(model).items()},
        "calibration": {"thresholds": [round(float(t), 3) for t in thresholds]},
        "metrics": {"valid": {**best_metrics, "macro_f1_tuned": tuned}},
        "trained": {"steps": result.steps, "seconds": round(time.time() - started, 1), "hparams": hp,
                    "torch": str(torch.__version__)},
    }
    return export(artifact, hp["export"], artifact["metrics"]["valid"])


if __name__ == "__main__":
    main(sys.argv[1:])
