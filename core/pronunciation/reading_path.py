"""What the reader most likely did with the prompt: one Viterbi pass over a graph of its words.

The graph is the CTC alignment graph of the prompt's phones with two additions, the classic
filler-model design of reading tutors:

- a *gap* state before, between and after the words that absorbs any speech: per frame it takes
  the blank or the best phone, each phone frame costing ``frame_cost``. Extra words end up
  here, and so do the words said in place of a prompt word;
- a *skip* from one gap to the next, costing ``skip_cost``: the word between them was not said.

A word the reader said costs little on its own phones, so the path keeps it; a word that was not
said (or another word in its place) costs more on its phones than the skip plus the phones the gap
pays for, so the path goes around it. Reading the best path back gives, per prompt word, said or
skipped, and per gap the phones heard there that the prompt does not have.

>>> path = decode_reading(log_probs, [[31, 16, 23, 20], [9, 2]])   # doctest: +SKIP
>>> path.said, path.gaps
((True, True), ((), (), ()))
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from core.pronunciation.phones import VOCABULARY

# Costs in log-likelihood (nats), chosen on the first 300 speechocean762 train utterances with
# planted miscues (benchmarks/pronunciation.py measures them on later speakers). A grid of skip 4-10
# by frame 1-4 is a broad plateau there (recall 0.93-0.94, precision 0.91-0.94); 8 / 2 was the top.
SKIP_COST = 8.0
FRAME_COST = 2.0


@dataclass(frozen=True)
class ReadingPath:
    said: tuple[bool, ...]  # per prompt word: the best path went through its phones
    gaps: tuple[tuple[str, ...], ...]  # per gap (before word 0, ..., after the last): extra phones heard
    score: float  # log-likelihood of the best path, costs included


def decode_reading(log_probs: torch.Tensor | np.ndarray, word_ids: list[list[int]],
                   skip_cost: float = SKIP_COST, frame_cost: float = FRAME_COST) -> ReadingPath:
    """Best path of a recording's CTC log-posteriors ``[T, V]`` (blank at 0) through the prompt
    words ``word_ids`` (phone ids per word; a word without phones is always 'said')."""
    lp = np.asarray(log_probs.float().numpy() if isinstance(log_probs, torch.Tensor) else log_probs, dtype=np.float64)
    T = lp.shape[0]
    n = len(word_ids)
    # state layout: gap 0, word 0's states, gap 1, word 1's states, ..., gap n
    labels: list[int] = []  # emitting label per state (-1: a gap)
    gap_state: list[int] = []
    word_states: list[tuple[int, int]] = []  # [first, last] state of each word (empty: first > last)
    for i in range(n + 1):
        gap_state.append(len(labels))
        labels.append(-1)
        if i == n:
            break
        first = len(labels)
        for k, q in enumerate(word_ids[i]):
            if k:
                labels.append(0)  # optional blank between the word's phones
            labels.append(q)
        word_states.append((first, len(labels) - 1))
    S = len(labels)
    preds: list[list[tuple[int, float]]] = [[(s, 0.0)] for s in range(S)]
    for i in range(n):
        first, last = word_states[i]
        g_in, g_out = gap_state[i], gap_state[i + 1]
        if first > last:  # no phones: the gaps join freely
            preds[g_out].append((g_in, 0.0))
            continue
        preds[first].append((g_in, 0.0))
        preds[g_out].append((last, 0.0))
        preds[g_out].append((g_in, skip_cost))
        for s in range(first + 1, last + 1):
            preds[s].append((s - 1, 0.0))
            if labels[s] > 0 and labels[s - 2] != labels[s]:  # straight from the previous phone (no blank)
                preds[s].append((s - 2, 0.0))
        if i > 0:  # straight from the previous word's last phone when the labels differ
            p_first, p_last = word_states[i - 1]
            if p_first <= p_last and labels[p_last] != labels[first]:
                preds[first].append((p_last, 0.0))
    K = max(len(p) for p in preds)
    pred_idx = np.zeros((S, K), dtype=np.int64)
    pred_cost = np.full((S, K), -np.inf)
    for s, ps in enumerate(preds):
        for k, (p, c) in enumerate(ps):
            pred_idx[s, k] = p
            pred_cost[s, k] = -c
    # emissions: a word state its label; a gap the blank or the best phone less the frame cost
    best_phone = lp[:, 1:].argmax(1) + 1
    phone_score = lp[np.arange(T), best_phone] - frame_cost
    gap_emit = np.maximum(lp[:, 0], phone_score)
    gap_label = np.where(phone_score > lp[:, 0], best_phone, 0)
    lab = np.array(labels)
    emit = np.where(lab[None, :] >= 0, lp[:, np.maximum(lab, 0)], gap_emit[:, None])
    # start in gap 0 or on word 0's first phone (or gap 1 when it has no phones); end likewise
    dp = np.full(S, -np.inf)
    dp[gap_state[0]] = 0.0
    if n and word_states[0][0] <= word_states[0][1]:
        dp[word_states[0][0]] = 0.0
    dp = dp + emit[0]
    back = np.zeros((T, S), dtype=np.int64)
    back[0] = np.arange(S)
    for t in range(1, T):
        cand = dp[pred_idx] + pred_cost
        k = cand.argmax(1)
        back[t] = pred_idx[np.arange(S), k]
        dp = cand[np.arange(S), k] + emit[t]
    ends = [gap_state[n]]
    if n and word_states[-1][0] <= word_states[-1][1]:
        ends.append(word_states[-1][1])
    s = max(ends, key=lambda e: dp[e])
    score = float(dp[s])
    path = np.empty(T, dtype=np.int64)
    for t in range(T - 1, -1, -1):
        path[t] = s
        s = back[t, s]
    visited = set(path.tolist())
    said = tuple(first > last or bool(visited & set(range(first, last + 1))) for first, last in word_states)
    gaps = []
    for g in gap_state:
        phones, prev = [], 0
        for t in np.flatnonzero(path == g):  # a gap's frames are contiguous (the graph only goes forward)
            q = int(gap_label[t])
            if q and q != prev:
                phones.append(VOCABULARY[q])
            prev = q
        gaps.append(tuple(phones))
    return ReadingPath(said=said, gaps=tuple(gaps), score=score)
