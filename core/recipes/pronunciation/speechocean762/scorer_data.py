"""Scorer training data: for every train-split utterance, the recogniser's evidence turned into
utterance and word feature rows, with the experts' scores beside them. Cached as JSONL per
front end (``runs/pron/scorer_rows_<frontend>.jsonl``), since it is the slow part (~2 min).
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
from tqdm import tqdm

from core.audio import load_audio
from core.pronunciation.features import scorer_inputs
from core.pronunciation.gop import PronunciationEvidence, evaluate_pronunciation
from core.pronunciation.recognizer import PhoneRecognizer
from core.recipes.pronunciation.speechocean762.prepare import feature_path, read_manifest

PCA_DIMS = 24


def expert_scores(root: Path) -> tuple[dict[str, dict], dict[tuple[str, int], float]]:
    """(utt id -> {accuracy, fluency, prosodic, total}, (utt id, word index) -> word accuracy)."""
    scores_dir = root / "speechocean762" / "scores"
    utt = {}
    with (scores_dir / "train_utt_scores.csv").open() as f:
        for r in csv.DictReader(f):
            utt[r["utt_id"]] = {k: float(r[k]) for k in ("accuracy", "fluency", "prosodic", "total")}
    words = {}
    with (scores_dir / "train_word_scores.csv").open() as f:
        for r in csv.DictReader(f):
            words[(r["utt_id"], int(r["word_idx"]))] = float(r["accuracy"])
    return utt, words


def fit_pca(cache: Path, frontend: str, manifest: Path, dims: int = PCA_DIMS) -> dict:
    """PCA of utterance-mean encoder states on the (unscored) test split: a fixed projection."""
    X = np.stack([np.load(feature_path(cache, frontend, r["id"])).astype(np.float64).mean(0)
                  for r in read_manifest(manifest)])
    mean = X.mean(0)
    _, _, vt = np.linalg.svd(X - mean, full_matrices=False)
    return {"mean": mean.tolist(), "components": vt[:dims].tolist()}


def analyse(rec: PhoneRecognizer, feats: np.ndarray, samples: np.ndarray, words: list[list], pca: dict,
            ) -> tuple[PronunciationEvidence, dict, list[dict]]:
    """Evidence, utterance features and word feature rows of one recording."""
    pairs = [(w, p) for w, p in words]
    ev = evaluate_pronunciation(rec.from_features(feats), pairs)
    utt, rows = scorer_inputs(ev, feats, samples, pairs, pca)
    return ev, utt, rows


def collect(data: Path, cache: Path, frontend: str, artifact: str, limit: int = 0) -> list[dict]:
    """One JSON row per train utterance: {id, speaker, scores, features, words: [{features, accuracy}]}."""
    out_path = cache / f"scorer_rows_{frontend}.jsonl"
    done = {}
    if out_path.exists():
        for line in out_path.read_text().splitlines():
            r = json.loads(line)
            done[r["id"]] = r
    manifest = read_manifest(cache / "manifests" / "train.jsonl")
    if limit:
        manifest = manifest[:limit]
    todo = [r for r in manifest if r["id"] not in done]
    if todo:
        rec = PhoneRecognizer.load(artifact)
        pca_path = cache / f"pca_{frontend}.json"
        if not pca_path.exists():
            pca_path.write_text(json.dumps(fit_pca(cache / "features", frontend, cache / "manifests" / "test.jsonl")))
        pca = json.loads(pca_path.read_text())
        utt_scores, word_scores = expert_scores(data)
        with out_path.open("a") as f:
            for r in tqdm(todo, desc="scorer features", mininterval=15):
                feats = np.load(feature_path(cache / "features", frontend, r["id"])).astype(np.float32)
                samples = load_audio(r["audio"]).samples
                _, utt, rows = analyse(rec, feats, samples, r["words"], pca)
                row = {"id": r["id"], "speaker": r["speaker"], "scores": utt_scores[r["id"]], "features": utt,
                       "words": [{"features": wf, "accuracy": word_scores[(r["id"], i)]} for i, wf in enumerate(rows)]}
                f.write(json.dumps(row) + "\n")
                done[r["id"]] = row
    return [done[r["id"]] for r in manifest]
