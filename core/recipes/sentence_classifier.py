"""The training run shared by the sentence-classifier recipes (intent, text emotion): manifests ->
MiniLM + LoRA + head -> ``fit`` -> calibration on the validation split -> artifact.

A recipe supplies only what differs: its data preparation, its task (loss + metrics), whether
labels are multi-label, and how it calibrates (temperature + out-of-scope threshold, or per-label
thresholds). ``train_sentence_classifier`` does the rest.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

import torch

from core.data import BucketBatches, read_jsonl, text_length
from core.recipes.common import export_artifact, load_best, start_run
from core.text.classifier import SentenceClassifier, predict_logits
from core.text.data import text_label_collate
from core.text.encoder import EncoderConfig, config_dict, trainable_state
from core.training import TrainConfig, fit


class Task(Protocol):
    def loss(self, model: torch.nn.Module, batch: dict) -> torch.Tensor: ...
    def evaluate(self, model: torch.nn.Module, loader) -> dict[str, float]: ...


@dataclass(frozen=True)
class Calibrated:
    calibration: dict  # stored in the artifact (e.g. {"temperature", "oos_threshold"} or {"thresholds"})
    metrics: dict[str, float]  # added to the best checkpoint's validation metrics
    config: dict  # added to the artifact's config (e.g. {"oos_label": ...} or {"multi_label": True})


def train_sentence_classifier(argv: list[str], *, kind: str, prepare: Callable[[dict, Path], dict],
                              task: Callable[[dict[str, int], dict], Task], multi_label: bool,
                              calibrate: Callable[[torch.Tensor, torch.Tensor, dict[str, int], dict], Calibrated]
                              ) -> dict:
    """``argv``: the YAML path and ``key=value`` overrides. ``task(label_index, hparams)`` builds the
    task; ``calibrate(logits [N, L], labels, label_index, hparams)`` runs on the validation split
    with the best checkpoint. Resumable (``run_dir/last.pt``). Returns the exported summary."""
    hp, run_dir, manifests = start_run(argv, prepare)
    labels = json.loads((manifests / "labels.json").read_text())
    index = {lab: i for i, lab in enumerate(labels)}
    enc_cfg = EncoderConfig(**hp["encoder"])
    torch.manual_seed(hp["seed"])
    model = SentenceClassifier(enc_cfg, num_labels=len(labels), dropout=hp["dropout"])
    tok = model.encoder.tokenizer
    train_loader = BucketBatches(read_jsonl(manifests / "train.jsonl"), hp["batch_size"], shuffle=True,
                                 seed=hp["seed"], length=text_length,
                                 collate=text_label_collate(tok, enc_cfg.max_length, index, multi_label=multi_label,
                                                            asr_style_prob=hp["asr_style_prob"], seed=hp["seed"]))
    valid_loader = BucketBatches(read_jsonl(manifests / "valid.jsonl"), 128, shuffle=False, length=text_length,
                                 collate=text_label_collate(tok, enc_cfg.max_length, index, multi_label=multi_label))
    started = time.time()
    result = fit(model, task(index, hp), train_loader, valid_loader,
                 TrainConfig(run_dir=str(run_dir), seed=hp["seed"], **hp["train"]))
    best_metrics = load_best(model, result.best_path)
    logits, y = predict_logits(model, valid_loader)
    cal = calibrate(logits, y, index, hp)
    return export_artifact(
        state_dict=trainable_state(model), result=result, hp=hp, started=started, path=hp["export"],
        config={"kind": kind, "encoder": config_dict(enc_cfg), "labels": labels, "dropout": hp["dropout"],
                **cal.config},
        calibration=cal.calibration, metrics={**best_metrics, **cal.metrics})
