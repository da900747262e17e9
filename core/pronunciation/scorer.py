"""Scores on the experts' scales from the scorer features: utterance accuracy, fluency, prosodic
and total (0-10), word accuracy (0-10). Gradient-boosted trees (LightGBM), chosen by measurement
against ridge regression in the recipe (README there).

The artifact is one JSON file (no pickle): feature names, the PCA that projects pooled encoder
states, and each target's LightGBM model as text.

>>> scorer = Scorer.load()                                     # doctest: +SKIP
>>> scorer.utterance({"lpr_mean": 3.1, ...})["accuracy"]       # 0..10
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from core.model_resolver import project_artifact

DEFAULT_ARTIFACT = "pronunciation/scorer-tiny.json"
UTTERANCE_TARGETS = ("accuracy", "fluency", "prosodic", "total")
WORD_TARGET = "word_accuracy"


def vector(features: dict[str, float], names: list[str]) -> np.ndarray:
    """Named features -> a row in the scorer's column order (missing names are 0)."""
    return np.array([[float(features.get(n, 0.0)) for n in names]], dtype=np.float64)


class Scorer:
    def __init__(self, artifact: dict):
        import lightgbm as lgb

        self.pca = artifact.get("pca")
        self.utterance_names: list[str] = artifact["utterance_features"]
        self.word_names: list[str] = artifact["word_features"]
        self.models = {k: lgb.Booster(model_str=v) for k, v in artifact["models"].items()}
        self.meta = artifact.get("meta", {})

    @classmethod
    def load(cls, path: str | Path | None = None) -> "Scorer":
        return cls(json.loads(Path(path or project_artifact(DEFAULT_ARTIFACT)).read_text()))

    def utterance(self, features: dict[str, float]) -> dict[str, float]:
        x = vector(features, self.utterance_names)
        return {k: float(np.clip(self.models[k].predict(x)[0], 0, 10)) for k in UTTERANCE_TARGETS}

    def words(self, rows: list[dict[str, float]]) -> list[float]:
        if not rows:
            return []
        x = np.concatenate([vector(r, self.word_names) for r in rows])
        return [float(v) for v in np.clip(self.models[WORD_TARGET].predict(x), 0, 10)]


def save_scorer(path: str | Path, *, models: dict, utterance_names: list[str], word_names: list[str],
                pca: dict | None, meta: dict) -> int:
    """Write the artifact (LightGBM boosters as text); returns its size in bytes."""
    art = {"utterance_features": utterance_names, "word_features": word_names, "pca": pca, "meta": meta,
           "models": {k: m.model_to_string() for k, m in models.items()}}
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(art))
    return out.stat().st_size


@lru_cache(maxsize=2)
def default_scorer(path: str | None = None) -> Scorer:
    return Scorer.load(path)
