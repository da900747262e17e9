"""Scorer inputs: one flat, named feature vector per utterance and per word, from the GOP
evidence, fluency and prosody figures and the pooled encoder states (projected by a fixed PCA).

The same functions feed training (the speechocean762 recipe) and inference (``scorer.py``), so
the two can never disagree on what a feature means.
"""
from __future__ import annotations

import numpy as np

from core.pronunciation.gop import PronunciationEvidence, WordEvidence

MISPRONOUNCED_LPR = 0.0  # a phone whose best competitor is more likely than itself


def _stats(prefix: str, values: np.ndarray) -> dict[str, float]:
    if len(values) == 0:
        return {f"{prefix}_mean": 0.0, f"{prefix}_min": 0.0, f"{prefix}_p25": 0.0, f"{prefix}_std": 0.0}
    return {f"{prefix}_mean": float(values.mean()), f"{prefix}_min": float(values.min()),
            f"{prefix}_p25": float(np.percentile(values, 25)), f"{prefix}_std": float(values.std())}


def _phone_arrays(words: list[WordEvidence]) -> dict[str, np.ndarray]:
    ph = [p for w in words for p in w.phones]
    return {
        "lpr": np.clip(np.array([p.lpr for p in ph]), -30, 30),
        "del": np.clip(np.array([p.deletion for p in ph]), -30, 30),
        "conf": np.array([p.confidence for p in ph]),
        "post": np.array([p.posterior for p in ph]),
        "margin": np.clip(np.array([p.logit_margin for p in ph]), -30, 30),
        "dur": np.array([p.end - p.start for p in ph]),
        "match": np.array([float(p.heard == p.phone) for p in ph]),
    }


def project(pooled: np.ndarray | None, pca: dict | None) -> dict[str, float]:
    """Pooled encoder states ``[D]`` -> ``enc_0..enc_{k-1}`` by the scorer's fixed PCA."""
    if pca is None:
        return {}
    k = len(pca["components"])
    if pooled is None:
        return {f"enc_{i}": 0.0 for i in range(k)}
    z = (np.asarray(pooled, np.float64) - np.asarray(pca["mean"])) @ np.asarray(pca["components"]).T
    return {f"enc_{i}": float(v) for i, v in enumerate(z)}


def pooled_states(features: np.ndarray, start: float, end: float) -> np.ndarray | None:
    """Mean encoder state over ``[start, end)`` seconds (50 frames/s)."""
    a, b = int(start * 50), max(int(start * 50) + 1, int(np.ceil(end * 50)))
    seg = np.asarray(features[a:b], dtype=np.float32)
    return seg.mean(0) if len(seg) else None


def utterance_features(ev: PronunciationEvidence, fluency: dict, prosody: dict,
                       pooled: np.ndarray | None, pca: dict | None) -> dict[str, float]:
    words = [w for w in ev.words if w.phones]
    arr = _phone_arrays(words)
    out: dict[str, float] = {"fit": float(np.clip(ev.fit, -30, 30)), "n_words": float(len(ev.words)),
                             "n_phones": float(sum(len(w.phones) for w in words))}
    for key in ("lpr", "del", "conf", "post", "margin"):
        out.update(_stats(key, arr[key]))
    out["mispronounced_share"] = float((arr["lpr"] < MISPRONOUNCED_LPR).mean()) if len(arr["lpr"]) else 0.0
    out["match_share"] = float(arr["match"].mean()) if len(arr["match"]) else 0.0
    om = np.clip(np.array([w.omission for w in words] or [0.0]), -50, 50)
    out.update(_stats("omission", om))
    out["omitted_share"] = float((om < 0).mean())
    heard_ratio = len(ev.heard) / max(out["n_phones"], 1.0)
    out["heard_ratio"] = heard_ratio
    out.update({f"flu_{k}": float(v) for k, v in fluency.items()})
    out.update({f"pro_{k}": float(v) for k, v in prosody.items()})
    out.update(project(pooled, pca))
    return out


def word_features(ev: PronunciationEvidence, index: int, utterance: dict[str, float],
                  pooled: np.ndarray | None, pca: dict | None) -> dict[str, float]:
    """One word's features, with a few of its utterance's for context."""
    w = ev.words[index]
    arr = _phone_arrays([w])
    out: dict[str, float] = {"n_phones": float(len(w.phones)), "position": index / max(len(ev.words) - 1, 1),
                             "omission": float(np.clip(w.omission, -50, 50)),
                             "duration": w.end - w.start}
    for key in ("lpr", "del", "conf", "post", "margin", "dur"):
        out.update(_stats(key, arr[key]))
    out["mispronounced"] = float((arr["lpr"] < MISPRONOUNCED_LPR).sum()) if len(arr["lpr"]) else 0.0
    out["match_share"] = float(arr["match"].mean()) if len(arr["match"]) else 0.0
    for key in ("lpr_mean", "conf_mean", "fit", "flu_phone_rate", "match_share"):
        out[f"utt_{key}"] = utterance.get(key, 0.0)
    out.update(project(pooled, pca))
    return out


def scorer_inputs(ev: PronunciationEvidence, feats: np.ndarray, samples: np.ndarray,
                  words: list[tuple[str, list[str]]], pca: dict | None) -> tuple[dict[str, float], list[dict[str, float]]]:
    """The utterance features and one feature row per word of a reading: what the scorers were
    trained on (the recipe) and what they score at inference (``assess``), built in one place."""
    from core.pronunciation.prosody import fluency_features, prosody_features

    stressed = [[p.endswith("1") for p in phones] for _, phones in words]
    spoken = [w for w in ev.words if w.phones]
    pooled = pooled_states(feats, spoken[0].start, spoken[-1].end) if spoken else None
    utt = utterance_features(ev, fluency_features(ev), prosody_features(samples, ev, stressed), pooled, pca)
    rows = [word_features(ev, i, utt, pooled_states(feats, w.start, w.end) if w.phones else None, pca)
            for i, w in enumerate(ev.words)]
    return utt, rows
