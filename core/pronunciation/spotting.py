"""Which of many words was said in a stretch of speech, by sound: every candidate's phones scored
against the phone recogniser's posteriors (CTC), with the stretch's edges free.

Used where a recogniser wrote ordinary words for a name it does not know: the time between
"start" and "10 mg" holds a drug, and each of the lexicon's 2,081 generic names is scored against
the phones heard there. The edges are free: frames before and after the name may belong to the
neighbouring words, and cost what the best phone costs there (the free path), so a candidate pays
only for the frames it explains worse than the free path. Short names explain few frames, so each
phone a candidate explains earns ``phone_bonus`` (chosen on the tuned dictation set,
benchmarks/dictation.py).

>>> spot(post.log_probs[a:b], [[12, 3, 30], [7, 1]], top=1)      # doctest: +SKIP
[(0, 4.1)]
"""
from __future__ import annotations

import numpy as np
import torch

NEG = -1e9
PHONE_BONUS = 5.0


def spot_costs(log_probs: torch.Tensor, targets: list[list[int]], phone_bonus: float = PHONE_BONUS) -> np.ndarray:
    """Cost of each target ``[N]`` (lower is better): its CTC negative log-likelihood in the stretch
    ``log_probs`` ``[T, V]`` (blank at 0) with free edges, minus the free path's, minus
    ``phone_bonus`` per phone. Empty targets cost ``inf``."""
    T, _ = log_probs.shape
    N = len(targets)
    L = max([len(t) for t in targets] + [1])
    lengths = torch.tensor([len(t) for t in targets])
    tgt = torch.zeros(N, L, dtype=torch.long)
    for i, t in enumerate(targets):
        if t:
            tgt[i, :len(t)] = torch.tensor(t)
    # states: 0 = leading filler, 1..2L+1 = CTC states (even offsets blank), 2L+2 = trailing filler
    S = 2 * L + 3
    lab = torch.zeros(N, S, dtype=torch.long)
    lab[:, 2:2 * L + 2:2] = tgt  # label states at 2, 4, ..., 2L
    is_label = torch.zeros(N, S, dtype=torch.bool)
    pos = torch.arange(S)
    is_label[:, 2:2 * L + 2:2] = (pos[2:2 * L + 2:2][None, :] // 2 <= lengths[:, None])
    last_blank = 2 * lengths + 1  # the blank after the last label
    trailing = S - 1
    valid = (pos[None, :] <= last_blank[:, None]) | (pos[None, :] == trailing)
    # skip transition s-2 -> s allowed for a label different from the label two states back
    skip = torch.zeros(N, S, dtype=torch.bool)
    skip[:, 4:2 * L + 2:2] = is_label[:, 4:2 * L + 2:2] & (lab[:, 4:2 * L + 2:2] != lab[:, 2:2 * L:2])
    filler = log_probs.max(dim=1).values  # [T] the free path's frame scores
    emit_all = log_probs[:, lab.reshape(-1)].reshape(T, N, S)  # label states' emissions (blank where lab 0)
    emit_all[:, :, 1:2 * L + 2:2] = log_probs[:, 0][:, None, None]
    emit_all[:, :, 0] = filler[:, None]
    emit_all[:, :, trailing] = filler[:, None]
    alpha = torch.full((N, S), NEG)
    alpha[:, 0] = emit_all[0, :, 0]
    alpha[:, 1] = emit_all[0, :, 1]
    alpha[:, 2] = emit_all[0, :, 2]
    end_entry = torch.stack([last_blank, last_blank - 1], 1)  # the last blank and the last label
    for t in range(1, T):
        stay = alpha
        prev = torch.cat([torch.full((N, 1), NEG), alpha[:, :-1]], 1)
        prev2 = torch.where(skip, torch.cat([torch.full((N, 2), NEG), alpha[:, :-2]], 1), torch.full_like(alpha, NEG))
        new = torch.logsumexp(torch.stack([stay, prev, prev2]), 0)
        # the leading filler enters the first label (state 2) directly too
        new[:, 2] = torch.logaddexp(new[:, 2], alpha[:, 0])
        # the trailing filler is entered from the last label or the last blank
        into = torch.logsumexp(alpha.gather(1, end_entry), 1)
        new[:, trailing] = torch.logaddexp(alpha[:, trailing], into)
        new = new + emit_all[t]
        alpha = torch.where(valid, new, torch.full_like(new, NEG))
    final = torch.logsumexp(torch.cat([alpha.gather(1, end_entry), alpha[:, trailing:]], 1), 1)
    cost = -(final - filler.sum()) - phone_bonus * lengths.float()
    cost[lengths == 0] = float("inf")
    return cost.numpy()


def spot(log_probs: torch.Tensor, targets: list[list[int]], top: int = 5,
         phone_bonus: float = PHONE_BONUS) -> list[tuple[int, float]]:
    """The ``top`` best targets as (index, cost), best first."""
    if log_probs.shape[0] == 0 or not targets:
        return []
    costs = spot_costs(log_probs, targets, phone_bonus)
    order = np.argsort(costs)[:top]
    return [(int(i), float(costs[i])) for i in order if np.isfinite(costs[i])]
