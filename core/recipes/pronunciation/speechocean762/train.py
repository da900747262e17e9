"""Train the phone recogniser (frozen Whisper encoder + CTC head) and export its artifact.

    python -m core.recipes.pronunciation.speechocean762.prepare --frontend tiny.en   # features, once
    python -m core.recipes.pronunciation.speechocean762.train \
        core/recipes/pronunciation/speechocean762/hparams/phone_ctc_tiny.yaml data_dir=../shared/data

Resumable: rerunning the same command continues from ``run_dir/last.pt``.
"""
from __future__ import annotations

import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from core.asr.ctc import CTCConfig, CTCHead, ctc_loss, edit_distance, greedy_decode
from core.data import BucketBatches, audio_seconds
from core.pronunciation.phones import INDEX, VOCABULARY, stress_free
from core.recipes.common import export_artifact, load_best, start_run
from core.recipes.pronunciation.speechocean762.prepare import (cache_features, feature_path, read_manifest,
                                                               write_manifests)
from core.training import TrainConfig, fit


def load_rows(manifest: Path, cache: Path, frontend: str) -> list[dict]:
    """Manifest rows with their cached features (``feats`` float16 [T, D]) and phone ids."""
    rows = read_manifest(manifest)
    for r in rows:
        r["feats"] = np.load(feature_path(cache, frontend, r["id"]))
        r["targets"] = [INDEX[stress_free(p)] for _, phones in r["words"] for p in phones]
    return rows


def collate(rows: list[dict]) -> dict:
    T = max(len(r["feats"]) for r in rows)
    feats = torch.zeros(len(rows), T, rows[0]["feats"].shape[1])
    for i, r in enumerate(rows):
        feats[i, :len(r["feats"])] = torch.from_numpy(r["feats"].astype(np.float32))
    S = max(len(r["targets"]) for r in rows)
    targets = torch.zeros(len(rows), S, dtype=torch.long)
    for i, r in enumerate(rows):
        targets[i, :len(r["targets"])] = torch.tensor(r["targets"])
    return {"feats": feats, "lengths": torch.tensor([len(r["feats"]) for r in rows]),
            "targets": targets, "target_lengths": torch.tensor([len(r["targets"]) for r in rows])}


class PhoneCTCTask:
    def loss(self, model: nn.Module, batch: dict) -> torch.Tensor:
        lp = model(batch["feats"], batch["lengths"])
        return ctc_loss(lp, batch["lengths"], batch["targets"], batch["target_lengths"])

    def evaluate(self, model: nn.Module, loader) -> dict[str, float]:
        errors = total = 0
        loss = n = 0.0
        for batch in loader:
            lp = model(batch["feats"], batch["lengths"])
            loss += float(ctc_loss(lp, batch["lengths"], batch["targets"], batch["target_lengths"], "sum"))
            for i in range(lp.shape[0]):
                ref = batch["targets"][i, :batch["target_lengths"][i]].tolist()
                errors += edit_distance(ref, greedy_decode(lp[i], int(batch["lengths"][i])))
                total += len(ref)
                n += 1
        return {"per": errors / max(total, 1), "loss": loss / max(n, 1)}


def split_speakers(rows: list[dict], n_valid: int, seed: int) -> tuple[list[dict], list[dict]]:
    speakers = sorted({r["speaker"] for r in rows})
    held = set(random.Random(seed).sample(speakers, n_valid))
    return [r for r in rows if r["speaker"] not in held], [r for r in rows if r["speaker"] in held]


def main(argv: list[str]) -> dict:
    started = time.time()
    hp, run_dir, _ = start_run(argv, lambda h, out: {"manifests": str(Path(h["cache_dir"]) / "manifests")})
    cache = Path(hp["cache_dir"])
    if not (cache / "manifests" / "counts.json").exists():
        write_manifests(Path(hp["data_dir"]) / "speechocean762", cache / "manifests")
    manifest = cache / "manifests" / f"{hp['train_split']}.jsonl"
    cache_features(manifest, cache / "features", hp["frontend"])
    rows = load_rows(manifest, cache / "features", hp["frontend"])
    train_rows, valid_rows = split_speakers(rows, hp["valid_speakers"], hp["seed"])
    print(f"[data] {len(train_rows)} train / {len(valid_rows)} valid utterances", flush=True)
    config = CTCConfig(input_dim=rows[0]["feats"].shape[1], vocab=VOCABULARY, frontend=hp["frontend"], **hp["head"])
    model = CTCHead(config)
    print(f"[model] {sum(p.numel() for p in model.parameters()) / 1e6:.2f} M parameters", flush=True)
    train = BucketBatches(train_rows, hp["batch_size"], collate, length=audio_seconds, shuffle=True, seed=hp["seed"])
    valid = BucketBatches(valid_rows, 32, collate, length=audio_seconds, shuffle=False)
    result = fit(model, PhoneCTCTask(), train, valid,
                 TrainConfig(run_dir=str(run_dir), seed=hp["seed"], **hp["train"]))
    metrics = load_best(model, result.best_path)
    return export_artifact(state_dict=model.state_dict(), config=config.to_dict(), metrics=metrics, result=result,
                           hp=hp, started=started, path=hp["export"])


if __name__ == "__main__":
    main(sys.argv[1:])
