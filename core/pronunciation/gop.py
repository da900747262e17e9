"""Alignment and goodness of pronunciation (GOP) from the phone recogniser's CTC posteriors.

For the expected phones of a prompt:
1. forced alignment (``torchaudio.functional.forced_align``) gives each phone its frames;
2. each phone is tested against every alternative by CTC likelihood of the whole local sequence:
   the expected phone vs each other phone in its place (substitution) vs nothing (deletion), and
   each word vs nothing (omitted word). This is GOP without a fixed segmentation (the likelihood
   ratio of the best competitor), which suits CTC's peaky posteriors better than frame averages;
3. frame-based figures over the aligned span are kept beside it: mean posterior and logit margin.

>>> ev = evaluate_pronunciation(post, [("THINK", ["TH", "IH", "NG", "K"])])   # doctest: +SKIP
>>> ev.words[0].phones[0].heard, ev.words[0].phones[0].lpr
('S', -3.2)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torchaudio.functional as AF
from torch.nn import functional as F

from core.asr.ctc import greedy_decode

from core.pronunciation.frontend import FRAMES_PER_SECOND
from core.pronunciation.phones import INDEX, PHONES, VOCABULARY, stress_free
from core.pronunciation.recognizer import Posteriors

GROUP_PHONES = 40  # longer prompts are scored in local groups of whole words (linear cost)
GROUP_MARGIN_FRAMES = 6  # context frames added on each side of a group's aligned span
_ALTERNATIVES = torch.arange(1, len(VOCABULARY))  # every phone id (blank excluded)


@dataclass(frozen=True)
class PhoneEvidence:
    phone: str  # expected phone, stress-free ARPAbet
    start: float  # aligned span, seconds
    end: float
    lpr: float  # log-likelihood ratio, expected vs best other phone in its place (> 0: expected wins)
    deletion: float  # log-likelihood ratio, expected vs nothing in its place (> 0: the phone is there)
    confidence: float  # P(expected) among all phones and nothing, from the sequence likelihoods
    heard: str  # most likely phone in this place ("" = nothing was heard there)
    posterior: float  # mean frame posterior of the expected phone over its span (frame GOP)
    logit_margin: float  # mean (expected logit - best other non-blank logit) over its span


@dataclass(frozen=True)
class WordEvidence:
    text: str
    phones: tuple[PhoneEvidence, ...]
    start: float
    end: float
    omission: float  # log-likelihood ratio, word vs nothing in its place (> 0: the word is there)


@dataclass(frozen=True)
class PronunciationEvidence:
    words: tuple[WordEvidence, ...]
    frames: int  # recording length in encoder frames
    fit: float  # per-phone log-likelihood gap between the prompt and the free best path (0 = perfect)
    heard: tuple[str, ...]  # free phone recognition (greedy best path)


def sequence_nll(log_probs: torch.Tensor, targets: list[list[int]]) -> torch.Tensor:
    """CTC negative log-likelihood of each target sequence ``[B]`` under one utterance ``[T, V]``."""
    T = log_probs.shape[0]
    S = max(1, max(len(t) for t in targets))
    padded = torch.zeros(len(targets), S, dtype=torch.long)
    for i, t in enumerate(targets):
        padded[i, :len(t)] = torch.tensor(t, dtype=torch.long)
    lp = log_probs[:, None, :].expand(T, len(targets), log_probs.shape[1])
    return F.ctc_loss(lp, padded, torch.full((len(targets),), T, dtype=torch.long),
                      torch.tensor([len(t) for t in targets]), blank=0, reduction="none", zero_infinity=False)


def _align(log_probs: torch.Tensor, ids: list[int]) -> list[tuple[int, int]]:
    """Frame span ``(start, end)`` of each expected phone; an even split when alignment is impossible."""
    T = log_probs.shape[0]
    try:
        labels, _ = AF.forced_align(log_probs[None].float(), torch.tensor([ids]), blank=0)
        spans = AF.merge_tokens(labels[0], torch.zeros(T))
        if len(spans) == len(ids):
            return [(s.start, s.end) for s in spans]
    except RuntimeError:
        pass  # fewer frames than phones (too short for the prompt): fall through
    edges = np.linspace(0, T, len(ids) + 1).astype(int)
    return [(int(a), max(int(a) + 1, int(b))) for a, b in zip(edges[:-1], edges[1:])]


def _groups(word_ids: list[list[int]]) -> list[list[int]]:
    """Word indices grouped so each group holds at most ``GROUP_PHONES`` phones."""
    groups, cur, n = [], [], 0
    for w, ids in enumerate(word_ids):
        if cur and n + len(ids) > GROUP_PHONES:
            groups.append(cur)
            cur, n = [], 0
        cur.append(w)
        n += len(ids)
    return groups + ([cur] if cur else [])


def evaluate_pronunciation(post: Posteriors, words: list[tuple[str, list[str]]]) -> PronunciationEvidence:
    """Evidence for each expected word and phone. ``words``: (display text, phones) pairs; phones
    may carry stress digits. Words without phones are kept with no phone evidence."""
    lp = post.log_probs.float()
    T = lp.shape[0]
    word_ids = [[INDEX[stress_free(p)] for p in phones] for _, phones in words]
    flat = [i for ids in word_ids for i in ids]
    if not flat:
        return PronunciationEvidence(words=(), frames=T, fit=0.0, heard=())
    spans = _align(lp, flat)
    probs = lp.exp()
    results: list[WordEvidence | None] = [None] * len(words)
    offset_of_word = np.cumsum([0] + [len(ids) for ids in word_ids])
    for group in _groups(word_ids):
        a_phone, b_phone = offset_of_word[group[0]], offset_of_word[group[-1] + 1]
        if a_phone == b_phone:
            for w in group:
                results[w] = WordEvidence(words[w][0], (), 0.0, 0.0, 0.0)
            continue
        f0 = max(0, spans[a_phone][0] - GROUP_MARGIN_FRAMES) if group[0] > 0 else 0
        f1 = min(T, spans[b_phone - 1][1] + GROUP_MARGIN_FRAMES) if group[-1] < len(words) - 1 else T
        local = lp[f0:f1]
        base = [i for w in group for i in word_ids[w]]
        variants: list[list[int]] = [base]
        for k in range(len(base)):  # substitutions (every phone, the expected one included) then deletion
            for q in _ALTERNATIVES.tolist():
                variants.append(base[:k] + [q] + base[k + 1:])
            variants.append(base[:k] + base[k + 1:])
        pos = 0
        word_slices = []
        for w in group:
            word_slices.append((pos, pos + len(word_ids[w])))
            variants.append(base[:pos] + base[pos + len(word_ids[w]):])
            pos += len(word_ids[w])
        nll = sequence_nll(local, variants)
        nll = torch.where(torch.isfinite(nll), nll, torch.full_like(nll, 1e4)).numpy()
        base_nll = nll[0]
        n_alt = len(_ALTERNATIVES) + 1
        phone_rows = nll[1:1 + len(base) * n_alt].reshape(len(base), n_alt)
        word_rows = nll[1 + len(base) * n_alt:]
        for j, w in enumerate(group):
            evidence = []
            for k in range(*word_slices[j]):
                expected = base[k]
                row = phone_rows[k]
                subs, deleted = row[:-1], row[-1]
                others = np.delete(subs, expected - 1)
                best_other = int(np.argmin(others))
                scores = -row - np.max(-row)
                p = np.exp(scores) / np.exp(scores).sum()
                heard_idx = int(np.argmin(row))
                heard = "" if heard_idx == len(row) - 1 else VOCABULARY[heard_idx + 1]
                s, e = spans[a_phone + k]
                seg_lp = probs[s:e]
                seg_logits = post.logits[s:e].float()
                other_logits = seg_logits[:, 1:].clone()
                other_logits[:, expected - 1] = -1e9
                margin = float((seg_logits[:, expected] - other_logits.max(-1).values).mean())
                evidence.append(PhoneEvidence(
                    phone=VOCABULARY[expected], start=s / FRAMES_PER_SECOND, end=e / FRAMES_PER_SECOND,
                    lpr=float(others[best_other] - subs[expected - 1]), deletion=float(deleted - subs[expected - 1]),
                    confidence=float(p[expected - 1]), heard=heard, posterior=float(seg_lp[:, expected].mean()),
                    logit_margin=margin))
            results[w] = WordEvidence(text=words[w][0], phones=tuple(evidence), start=evidence[0].start,
                                      end=evidence[-1].end, omission=float(word_rows[j] - base_nll))
    best_path = float(lp.max(-1).values.sum())
    fit = float((sequence_nll(lp, [flat])[0] + best_path) / len(flat))
    heard = tuple(VOCABULARY[i] for i in greedy_decode(lp, T))
    return PronunciationEvidence(words=tuple(results), frames=T, fit=fit, heard=heard)


__all__ = ["PhoneEvidence", "WordEvidence", "PronunciationEvidence", "evaluate_pronunciation", "PHONES"]
