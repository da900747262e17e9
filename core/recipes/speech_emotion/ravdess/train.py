"""Train the speech-emotion model (frozen front end + attentive statistics pooling head):
speaker-independent k-fold figures, then the shipped artifact trained on every speaker.

    python -m core.recipes.speech_emotion.ravdess.train core/recipes/speech_emotion/ravdess/hparams/whisper_tiny.yaml \
        data_dir=../shared/data
    # a bank's own labelled calls instead of RAVDESS (CSV/JSONL: path, label, speaker):
    python -m core.recipes.speech_emotion.ravdess.train core/recipes/speech_emotion/ravdess/hparams/whisper_tiny.yaml \
        list=/data/our_calls.csv cache_dir=runs/emotion_ours export=models/speech_emotion/ours.pt

``folds=0`` skips the cross-validation and only trains the artifact. Each fold holds out its test
speakers entirely; ``valid_speakers`` more of the remaining ones choose the best epoch. Training
sees each clip clean and through ``augment`` random telephone paths; the figures are on the test
speakers' clean clips and on their telephone copies. Results go to ``run_dir/cv.json``.
"""
from __future__ import annotations

import json
import random
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from core.data import BucketBatches
from core.emotion.labels import FOUR_CLASS, LABELS
from core.emotion.speech_model import (SpeechEmotionConfig, SpeechEmotionEnsemble, SpeechEmotionNet, build_net,
                                       config_dict)
from core.recipes.common import export_artifact, load_best, start_run
from core.recipes.speech_emotion.ravdess.prepare import (cache_features, feature_path, read_list, read_manifest,
                                                         read_plain_speech, read_ravdess, write_manifest)
from core.training import TrainConfig, fit


def examples(rows: list[dict], cache: Path, frontend: str, copies: list[str]) -> list[dict]:
    out = []
    for r in rows:
        for c in copies:
            out.append({"feats": np.load(feature_path(cache, frontend, c, r["id"])), "label": LABELS.index(r["label"]),
                        "affect": (r["arousal"], r["valence"]), "id": r["id"], "copy": c})
    return out


def make_collate(max_frames: int, crop: bool):
    def collate(rows: list[dict]) -> dict:
        feats = []  # [T, D] or [L, T, D]: time is the second-to-last axis
        for r in rows:
            f = r["feats"]
            n = f.shape[-2]
            if crop and n > max_frames:
                start = random.randrange(n - max_frames + 1)
                f = f[..., start:start + max_frames, :]
            feats.append(f)
        T = max(f.shape[-2] for f in feats)
        x = torch.zeros(len(rows), *feats[0].shape[:-2], T, feats[0].shape[-1])
        for i, f in enumerate(feats):
            x[i, ..., :f.shape[-2], :] = torch.from_numpy(f.astype(np.float32))
        return {"feats": x, "lengths": torch.tensor([f.shape[-2] for f in feats]),
                "labels": torch.tensor([r["label"] for r in rows]),
                "affect": torch.tensor([r["affect"] for r in rows], dtype=torch.float32)}
    return collate


def unweighted_recall(labels: np.ndarray, preds: np.ndarray, classes) -> float:
    recalls = [float(np.mean(preds[labels == c] == c)) for c in classes if np.any(labels == c)]
    return float(np.mean(recalls)) if recalls else 0.0


class EmotionTask:
    def __init__(self, affect_weight: float):
        self.affect_weight = affect_weight

    def loss(self, model: nn.Module, batch: dict) -> torch.Tensor:
        logits, affect = model(batch["feats"], batch["lengths"])
        return F.cross_entropy(logits, batch["labels"], label_smoothing=0.05) + \
            self.affect_weight * F.mse_loss(affect, batch["affect"])

    def evaluate(self, model: nn.Module, loader) -> dict[str, float]:
        labels, preds, loss, n = [], [], 0.0, 0
        for batch in loader:
            logits, affect = model(batch["feats"], batch["lengths"])
            loss += float(F.cross_entropy(logits, batch["labels"], reduction="sum"))
            n += len(batch["labels"])
            labels += batch["labels"].tolist()
            preds += logits.argmax(-1).tolist()
        y, p = np.array(labels), np.array(preds)
        return {"ua": unweighted_recall(y, p, range(len(LABELS))), "accuracy": float(np.mean(y == p)),
                "loss": loss / max(n, 1)}


@torch.no_grad()
def predict(model: nn.Module, rows: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """Logits ``[N, C]`` and affect ``[N, 2]`` of examples, one at a time (full length)."""
    model.eval()
    logits, affect = [], []
    for r in rows:
        x = torch.from_numpy(r["feats"].astype(np.float32))[None]
        lo, af = model(x, torch.tensor([x.shape[-2]]))
        logits.append(lo[0].numpy())
        affect.append(af[0].numpy())
    return np.stack(logits), np.stack(affect)


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """Temperature that minimises the negative log-likelihood on held-out clips (calibration)."""
    lo, y = torch.from_numpy(logits), torch.from_numpy(labels)
    grid = np.exp(np.linspace(np.log(0.5), np.log(5.0), 40))
    nll = [float(F.cross_entropy(lo / t, y)) for t in grid]
    return float(grid[int(np.argmin(nll))])


def figures(labels: np.ndarray, logits: np.ndarray) -> dict:
    preds = logits.argmax(-1)
    four = {name: i for i, name in enumerate(sorted(set(FOUR_CLASS.values())))}
    keep = np.array([LABELS[c] in FOUR_CLASS for c in labels])
    # four classes: the argmax among the four groups' summed probabilities
    probs = torch.softmax(torch.from_numpy(logits), -1).numpy()
    grouped = np.zeros((len(labels), len(four)))
    for c, name in enumerate(LABELS):
        if name in FOUR_CLASS:
            grouped[:, four[FOUR_CLASS[name]]] += probs[:, c]
    y4 = np.array([four[FOUR_CLASS[LABELS[c]]] for c in labels[keep]])
    p4 = grouped[keep].argmax(-1)
    return {"accuracy": round(float(np.mean(preds == labels)), 4),
            "ua": round(unweighted_recall(labels, preds, range(len(LABELS))), 4),
            "ua_4class": round(unweighted_recall(y4, p4, range(len(four))), 4), "clips": int(len(labels))}


def speaker_folds(rows: list[dict], k: int) -> list[list[str]]:
    """``k`` disjoint groups of speakers, neighbours in sorted order kept together in pairs (RAVDESS
    numbers men odd and women even, so every fold gets both; a plain stride would not)."""
    speakers = sorted({r["speaker"] for r in rows})
    return [[s for j, s in enumerate(speakers) if (j // 2) % k == i] for i in range(k)]


def train_one(hp: dict, train_rows: list[dict], valid_rows: list[dict], cache: Path, run_dir: Path,
              input_dim: int, layers: int = 1) -> tuple[nn.Module, dict, object]:
    """Train the head (``members`` > 1: that many heads from seeds ``seed``, ``seed + 1``, ...,
    each in ``run_dir/member<i>``, averaged); the best weights are in ``run_dir/best.pt``."""
    copies = ["clean"] + [f"aug{i}" for i in range(hp["augment"])]
    train = examples(train_rows, cache, hp["frontend"], copies)
    valid = examples(valid_rows, cache, hp["frontend"], ["clean", "phone"])
    config = SpeechEmotionConfig(frontend=hp["frontend"], input_dim=input_dim, layers=layers,
                                 members=int(hp.get("members", 1)), **hp["model"])
    one = replace(config, members=1)
    length = lambda r: r["feats"].shape[-2]  # noqa: E731
    valid_batches = BucketBatches(valid, 32, make_collate(hp["max_frames"], False), length=length, shuffle=False)
    task = EmotionTask(hp["affect_weight"])
    heads = []
    for i in range(config.members):
        seed = hp["seed"] + i
        train_batches = BucketBatches(train, hp["batch_size"], make_collate(hp["max_frames"], True), length=length,
                                      shuffle=True, seed=seed)
        model = SpeechEmotionNet(one)
        result = fit(model, task, train_batches, valid_batches,
                     TrainConfig(run_dir=str(run_dir if config.members == 1 else run_dir / f"member{i}"), seed=seed,
                                 **hp["train"]))
        metrics = load_best(model, result.best_path)
        heads.append(model)
    if config.members > 1:
        model = SpeechEmotionEnsemble(config, heads).eval()
        with torch.no_grad():
            metrics = task.evaluate(model, valid_batches)
        print(f"[ensemble] {config.members} heads on the validation speakers: {json.dumps(metrics)}", flush=True)
        torch.save({"state_dict": model.state_dict(), "metrics": metrics}, run_dir / "best.pt")
    (run_dir / "model.json").write_text(json.dumps(config_dict(config)))  # what best.pt's weights fit
    return model, metrics, result


def load_fold(fold_dir: Path) -> nn.Module:
    """A finished fold's network (``model.json`` + ``best.pt``), ready to predict."""
    net = build_net(SpeechEmotionConfig.from_dict(json.loads((fold_dir / "model.json").read_text())))
    net.load_state_dict(torch.load(fold_dir / "best.pt", map_location="cpu", weights_only=False)["state_dict"])
    return net.eval()


def main(argv: list[str]) -> dict:
    started = time.time()
    hp, run_dir, _ = start_run(argv, lambda h, out: {"manifests": str(Path(h["cache_dir"]) / "manifests")})
    cache = Path(hp["cache_dir"])
    rows = read_list(Path(hp["list"])) if hp.get("list") else read_ravdess(Path(hp["data_dir"]) / "ravdess")
    write_manifest(rows, cache / "manifests")
    rows = read_manifest(cache / "manifests" / "clips.jsonl")
    copies = ["clean", "phone"] + [f"aug{i}" for i in range(hp["augment"])]
    cache_features(rows, cache, hp["frontend"], copies)
    plain = read_plain_speech(Path(hp["data_dir"]) / "speechocean762", hp["plain_speech"]) \
        if hp.get("plain_speech") else []  # training only: never in a validation or test fold
    cache_features(plain, cache, hp["frontend"], copies)
    first = np.load(feature_path(cache, hp["frontend"], "clean", rows[0]["id"]))
    input_dim, layers = int(first.shape[-1]), int(first.shape[0]) if first.ndim == 3 else 1
    rng = random.Random(hp["seed"])
    cv: dict = {"frontend": hp["frontend"], "folds": []}
    all_labels, clean_logits, phone_logits = [], [], []
    for f, test_speakers in enumerate(speaker_folds(rows, hp["folds"]) if hp["folds"] else []):
        rest = sorted({r["speaker"] for r in rows} - set(test_speakers))
        valid_speakers = set(rng.sample(rest, hp["valid_speakers"]))
        test = [r for r in rows if r["speaker"] in test_speakers]
        done = run_dir / f"fold{f}" / "fold.json"
        if done.exists():  # finished by an earlier (interrupted) run: its best weights are reused
            model = load_fold(run_dir / f"fold{f}")
            print(f"[fold {f}] done earlier: {done}", flush=True)
        else:
            model, _, _ = train_one(hp, [r for r in rows if r["speaker"] not in valid_speakers | set(test_speakers)]
                                    + plain, [r for r in rows if r["speaker"] in valid_speakers], cache,
                                    run_dir / f"fold{f}", input_dim, layers)
        labels = np.array([LABELS.index(r["label"]) for r in test])
        lo_clean, _ = predict(model, examples(test, cache, hp["frontend"], ["clean"]))
        lo_phone, _ = predict(model, examples(test, cache, hp["frontend"], ["phone"]))
        fold = {"test_speakers": test_speakers, "clean": figures(labels, lo_clean), "phone": figures(labels, lo_phone)}
        print(f"[fold {f}] {json.dumps(fold)}", flush=True)
        done.write_text(json.dumps(fold))
        cv["folds"].append(fold)
        all_labels.append(labels)
        clean_logits.append(lo_clean)
        phone_logits.append(lo_phone)
    if all_labels:
        y = np.concatenate(all_labels)
        cv["clean"] = figures(y, np.concatenate(clean_logits))
        cv["phone"] = figures(y, np.concatenate(phone_logits))
        (run_dir / "cv.json").write_text(json.dumps(cv, indent=1))
        np.savez(run_dir / "cv_predictions.npz", labels=y, clean=np.concatenate(clean_logits),
                 phone=np.concatenate(phone_logits))
        print(f"[cv] clean {json.dumps(cv['clean'])} phone {json.dumps(cv['phone'])}", flush=True)
    if not hp.get("export"):
        return cv
    if not all_labels and (run_dir / "cv.json").exists():  # folds=0: the card quotes an earlier cross-validation
        cv = json.loads((run_dir / "cv.json").read_text())
    speakers = sorted({r["speaker"] for r in rows})
    valid_speakers = set(rng.sample(speakers, hp["valid_speakers"]))
    valid = [r for r in rows if r["speaker"] in valid_speakers]
    model, metrics, result = train_one(hp, [r for r in rows if r["speaker"] not in valid_speakers] + plain, valid, cache,
                                       run_dir / "final", input_dim, layers)
    lo, _ = predict(model, examples(valid, cache, hp["frontend"], ["clean", "phone"]))
    y = np.array([LABELS.index(r["label"]) for r in valid for _ in ("clean", "phone")])
    temperature = fit_temperature(lo, y)
    summary = export_artifact(state_dict=model.state_dict(), config=config_dict(model.config), metrics=metrics,
                              result=result, hp=hp, started=started, path=hp["export"],
                              calibration={"temperature": temperature, "cv": cv.get("clean", {}),
                                           "cv_phone": cv.get("phone", {})})
    return {**summary, "cv": cv}


if __name__ == "__main__":
    main(sys.argv[1:])
