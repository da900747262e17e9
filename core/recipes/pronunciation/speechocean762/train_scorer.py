"""Train the pronunciation scorers on the experts' scores (speechocean762 train split), report
5-fold speaker-disjoint cross-validation, then fit on all of it and export the JSON artifact.

    python -m core.recipes.pronunciation.speechocean762.train_scorer \
        core/recipes/pronunciation/speechocean762/hparams/scorer_tiny.yaml data_dir=../shared/data

Needs the phone recogniser's artifact (``train.py``) and the cached features (``prepare.py``).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from core.pronunciation.scorer import UTTERANCE_TARGETS, WORD_TARGET, save_scorer
from core.recipes.common import report
from core.recipes.pronunciation.speechocean762.scorer_data import collect
from core.training import load_hparams, save_hparams

FOLDS = 5


def matrices(rows: list[dict]) -> dict:
    """Feature matrices, targets and speaker groups for utterances and words."""
    u_names = sorted(rows[0]["features"])
    w_names = sorted(rows[0]["words"][0]["features"])
    Xu = np.array([[r["features"].get(n, 0.0) for n in u_names] for r in rows])
    Yu = {t: np.array([r["scores"][t] for r in rows]) for t in UTTERANCE_TARGETS}
    gu = np.array([r["speaker"] for r in rows])
    Xw = np.array([[w["features"].get(n, 0.0) for n in w_names] for r in rows for w in r["words"]])
    Yw = np.array([w["accuracy"] for r in rows for w in r["words"]])
    gw = np.array([r["speaker"] for r in rows for _ in r["words"]])
    return {"u_names": u_names, "w_names": w_names, "Xu": Xu, "Yu": Yu, "gu": gu, "Xw": Xw, "Yw": Yw, "gw": gw}


def speaker_folds(groups: np.ndarray, k: int = FOLDS, seed: int = 1234) -> np.ndarray:
    """Fold index per row; every speaker in exactly one fold (the same split for utterances and words)."""
    speakers = sorted(set(groups.tolist()))
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(speakers))
    fold_of = {speakers[i]: j % k for j, i in enumerate(order)}
    return np.array([fold_of[g] for g in groups])


def make_model(kind: str, params: dict):
    if kind == "lightgbm":
        import lightgbm as lgb

        return lgb.LGBMRegressor(verbose=-1, **params)
    if kind == "ridge":
        from sklearn.linear_model import RidgeCV
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        return make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-2, 3, 12)))
    raise ValueError(kind)


def cross_validate(X: np.ndarray, y: np.ndarray, folds: np.ndarray, kind: str, params: dict) -> tuple[float, np.ndarray]:
    """Pearson correlation of out-of-fold predictions with ``y``; returns (r, predictions)."""
    pred = np.zeros_like(y, dtype=np.float64)
    for f in range(folds.max() + 1):
        test = folds == f
        model = make_model(kind, params)
        model.fit(X[~test], y[~test])
        pred[test] = model.predict(X[test])
    return float(np.corrcoef(pred, y)[0, 1]), pred


def agreement(m: dict, kind: str, params: dict, word_params: dict) -> dict[str, float]:
    """5-fold speaker-disjoint Pearson r for every utterance target and word accuracy."""
    fu, fw = speaker_folds(m["gu"]), speaker_folds(m["gw"])
    out = {t: cross_validate(m["Xu"], m["Yu"][t], fu, kind, params)[0] for t in UTTERANCE_TARGETS}
    out[WORD_TARGET] = cross_validate(m["Xw"], m["Yw"], fw, kind, word_params)[0]
    return out


def main(argv: list[str]) -> dict:
    started = time.time()
    hp = load_hparams(argv[0], argv[1:])
    cache = Path(hp["cache_dir"])
    rows = collect(Path(hp["data_dir"]), cache, hp["frontend"], hp["recogniser"], limit=hp.get("limit", 0))
    m = matrices(rows)
    figures = {}
    for kind in hp["compare"]:
        r = agreement(m, kind, hp["lightgbm"], hp["lightgbm_word"])
        figures.update({f"{kind}_{k}": round(v, 4) for k, v in r.items()})
    import lightgbm as lgb

    models = {t: lgb.LGBMRegressor(verbose=-1, **hp["lightgbm"]).fit(m["Xu"], m["Yu"][t]).booster_
              for t in UTTERANCE_TARGETS}
    models[WORD_TARGET] = lgb.LGBMRegressor(verbose=-1, **hp["lightgbm_word"]).fit(m["Xw"], m["Yw"]).booster_
    import json

    pca = json.loads((cache / f"pca_{hp['frontend']}.json").read_text())
    size = save_scorer(hp["export"], models=models, utterance_names=m["u_names"], word_names=m["w_names"], pca=pca,
                       meta={"frontend": hp["frontend"], "cv": figures, "utterances": len(rows),
                             "seconds": round(time.time() - started, 1)})
    run_dir = Path(hp["run_dir"])
    save_hparams(hp, run_dir)
    return report(f"pronunciation scorer ({len(rows)} utterances, {FOLDS}-fold by speaker)",
                  {**figures, "artifact_bytes": size})


if __name__ == "__main__":
    main(sys.argv[1:])
