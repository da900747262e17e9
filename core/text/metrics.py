"""Figures for the text models: multi-label F1 with per-label thresholds, and entity-level F1."""
from __future__ import annotations

import torch


def f1_per_label(probs: torch.Tensor, targets: torch.Tensor, thresholds: torch.Tensor | float = 0.5) -> torch.Tensor:
    """``probs, targets [N, L]`` -> F1 per label ``[L]``."""
    pred = probs >= (thresholds if isinstance(thresholds, float) else thresholds.unsqueeze(0))
    t = targets.bool()
    tp = (pred & t).sum(0).float()
    fp = (pred & ~t).sum(0).float()
    fn = (~pred & t).sum(0).float()
    return 2 * tp / (2 * tp + fp + fn).clamp(min=1.0)


def tune_thresholds(probs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """The per-label threshold (grid 0.05..0.95) that maximises each label's F1 on held-out data."""
    grid = torch.arange(0.05, 0.96, 0.025)
    best = torch.full((probs.shape[1],), 0.5)
    best_f1 = torch.full((probs.shape[1],), -1.0)
    for g in grid.tolist():
        f1 = f1_per_label(probs, targets, g)
        better = f1 > best_f1
        best[better], best_f1[better] = g, f1[better]
    return best


def entity_prf(gold: list[set], pred: list[set]) -> dict[str, float]:
    """Micro precision/recall/F1 over exact-match entity tuples (one set of tuples per sentence)."""
    tp = sum(len(g & p) for g, p in zip(gold, pred))
    n_pred = sum(len(p) for p in pred)
    n_gold = sum(len(g) for g in gold)
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "gold": n_gold, "predicted": n_pred}
