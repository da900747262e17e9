"""Train the intent classifier (Banking77 + CLINC150 out-of-scope), calibrate it, export the artifact.

    python -m core.recipes.intent.banking77.train core/recipes/intent/banking77/hparams/minilm_lora.yaml \
        data_dir=../shared/data [train.epochs=1 ...]

Resumable: rerunning the same command continues from ``run_dir/last.pt``.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch
from torch import nn

from core.recipes.intent.banking77.prepare import OOS, prepare
from core.text.calibration import fit_temperature, oos_operating_point
from core.text.classifier import SentenceClassifier, predict_logits
from core.text.data import BucketBatches, read_jsonl, text_label_collate
from core.text.encoder import EncoderConfig, config_dict, trainable_state
from core.recipes.common import export, load_best, start_run
from core.training import TrainConfig, fit


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


def main(argv: list[str]) -> dict:
    hp, run_dir, manifests = start_run(argv, lambda h, out: prepare(Path(h["data_dir"]), out, seed=h["seed"],
                                                                    **h["prepare"]))
    labels = json.loads((manifests / "labels.json").read_text())
    index = {lab: i for i, lab in enumerate(labels)}
    enc_cfg = EncoderConfig(**hp["encoder"])
    torch.manual_seed(hp["seed"])
    model = SentenceClassifier(enc_cfg, num_labels=len(labels), dropout=hp["dropout"])
    tok = model.encoder.tokenizer
    train_rows, valid_rows = read_jsonl(manifests / "train.jsonl"), read_jsonl(manifests / "valid.jsonl")
    train_loader = BucketBatches(train_rows, hp["batch_size"], shuffle=True, seed=hp["seed"],
                                 collate=text_label_collate(tok, enc_cfg.max_length, index,
                                                            asr_style_prob=hp["asr_style_prob"], seed=hp["seed"]))
    valid_loader = BucketBatches(valid_rows, 128, shuffle=False,
                                 collate=text_label_collate(tok, enc_cfg.max_length, index))
    task = IntentTask(index[OOS], hp.get("label_smoothing", 0.0))
    cfg = TrainConfig(run_dir=str(run_dir), seed=hp["seed"], **hp["train"])
    started = time.time()
    result = fit(model, task, train_loader, valid_loader, cfg)
    best_metrics = load_best(model, result.best_path)
    logits, y = predict_logits(model, valid_loader)
    temperature = fit_temperature(logits, y)
    probs = (logits / temperature).softmax(-1)
    point = oos_operating_point(probs, y, index[OOS], min_in_scope_accuracy=hp["min_in_scope_accuracy"])
    artifact = {
        "config": {"kind": "intent", "encoder": config_dict(enc_cfg), "labels": labels, "oos_label": OOS,
                   "dropout": hp["dropout"]},
        "state_dict": {k: v.half() for k, v in trainable_state(model).items()},
        "calibration": {"temperature": temperature, "oos_threshold": point["threshold"]},
        "metrics": {"valid": {**best_metrics, **{f"calibrated_{k}": v for k, v in point.items()}}},
        "trained": {"steps": result.steps, "seconds": round(time.time() - started, 1),
                    "hparams": hp, "torch": str(torch.__version__)},
    }
    return export(artifact, hp["export"], {**artifact["calibration"], **artifact["metrics"]["valid"]})


if __name__ == "__main__":
    main(sys.argv[1:])
