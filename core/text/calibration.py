"""Probability calibration for the text classifiers: temperature scaling (Guo et al., 2017) and
an out-of-scope threshold chosen on validation data."""
from __future__ import annotations

import torch


def fit_temperature(logits: torch.Tensor, labels: torch.Tensor, *, steps: int = 200) -> float:
    """The temperature ``T`` minimising the NLL of ``softmax(logits / T)``; ``logits [N, C]``, ``labels [N]``."""
    log_t = torch.zeros(1, requires_grad=True)
    opt = torch.optim.LBFGS([log_t], lr=0.1, max_iter=steps)
    logits, labels = logits.detach().float(), labels.detach()

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(logits / log_t.exp(), labels)
        loss.backward()
        return loss

    opt.step(closure)
    return float(log_t.detach().exp().clamp(0.05, 20.0))


def expected_calibration_error(probs: torch.Tensor, labels: torch.Tensor, bins: int = 15) -> float:
    """ECE of the top-1 probability; ``probs [N, C]``, ``labels [N]``."""
    conf, pred = probs.max(-1)
    correct = (pred == labels).float()
    ece = torch.zeros(())
    edges = torch.linspace(0, 1, bins + 1)
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (conf > lo) & (conf <= hi)
        if sel.any():
            ece += sel.float().mean() * (conf[sel].mean() - correct[sel].mean()).abs()
    return float(ece)


def in_scope_confidence(probs: torch.Tensor, oos_index: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``probs [N, C]`` -> (best in-scope probability ``[N]``, best in-scope class ``[N]``)."""
    masked = probs.clone()
    masked[:, oos_index] = -1.0
    return masked.max(-1)


def oos_flags(probs: torch.Tensor, oos_index: int, threshold: float) -> torch.Tensor:
    """``[N]`` True where an utterance is out of scope: the out-of-scope class is the most likely,
    or no in-scope intent reaches ``threshold``."""
    conf, _ = in_scope_confidence(probs, oos_index)
    return (probs[:, oos_index] > conf) | (conf < threshold)


def oos_operating_point(probs: torch.Tensor, labels: torch.Tensor, oos_index: int, *,
                        min_in_scope_accuracy: float) -> dict[str, float]:
    """The highest threshold ``t`` (see ``oos_flags``) that keeps
    in-scope accuracy (right intent and not flagged) >= ``min_in_scope_accuracy``; with its
    out-of-scope recall. Falls back to the loosest threshold when no ``t`` reaches the target."""
    conf, pred = in_scope_confidence(probs, oos_index)
    inside = labels != oos_index
    best = {"threshold": 0.0, "in_scope_accuracy": 0.0, "oos_recall": 0.0}
    for t in torch.unique(torch.cat([conf, torch.tensor([0.0])])).tolist():
        flagged = oos_flags(probs, oos_index, t)
        acc = float(((pred == labels) & ~flagged)[inside].float().mean()) if inside.any() else 0.0
        rec = float(flagged[~inside].float().mean()) if (~inside).any() else 0.0
        if acc >= min_in_scope_accuracy and t >= best["threshold"]:
            best = {"threshold": float(t), "in_scope_accuracy": acc, "oos_recall": rec}
    if best["in_scope_accuracy"] == 0.0:  # even threshold 0 misses the target: report threshold 0
        flagged = oos_flags(probs, oos_index, 0.0)
        best = {"threshold": 0.0,
                "in_scope_accuracy": float(((pred == labels) & ~flagged)[inside].float().mean()) if inside.any() else 0.0,
                "oos_recall": float(flagged[~inside].float().mean()) if (~inside).any() else 0.0}
    return best
