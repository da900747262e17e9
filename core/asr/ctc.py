"""CTC from scratch, for any symbol vocabulary (phones, characters): the head over frame features,
its loss, greedy and prefix-beam decoding (``edit_distance`` scores it).

The vocabulary's index 0 is the blank.

>>> head = CTCHead(CTCConfig(input_dim=384, vocab=("<b>", "a", "b")))
>>> head(torch.zeros(2, 50, 384), torch.tensor([50, 30])).shape   # log-probs [B, T, V]
torch.Size([2, 50, 3])
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import asdict, dataclass, field

import torch
from torch import nn
from torch.nn import functional as F

from core.asr.metrics import edit_distance  # noqa: F401  (re-exported: sequences of any symbols)


@dataclass(frozen=True)
class CTCConfig:
    input_dim: int  # frame feature size (384 for Whisper tiny's encoder)
    vocab: tuple[str, ...]  # output symbols, blank first
    hidden: int = 256  # LSTM size per direction
    layers: int = 2  # bidirectional LSTM layers
    dropout: float = 0.2  # between layers and on the input projection
    time_masks: int = 2  # SpecAugment-style masks over time in training (each up to mask_frames)
    mask_frames: int = 10
    feature_masks: int = 2  # masks over feature channels in training (each up to mask_features)
    mask_features: int = 32
    frontend: str = ""  # which feature extractor produced the inputs (recorded, not used here)
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["vocab"] = list(self.vocab)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "CTCConfig":
        return cls(**{**d, "vocab": tuple(d["vocab"])})


class CTCHead(nn.Module):
    """Frame features ``[B, T, D]`` -> log-probabilities ``[B, T, V]``: LayerNorm, projection,
    bidirectional LSTM, linear output."""

    def __init__(self, config: CTCConfig):
        super().__init__()
        self.config = config
        self.norm = nn.LayerNorm(config.input_dim)
        self.proj = nn.Linear(config.input_dim, 2 * config.hidden)
        self.drop = nn.Dropout(config.dropout)
        self.rnn = nn.LSTM(2 * config.hidden, config.hidden, num_layers=config.layers, batch_first=True,
                           bidirectional=True, dropout=config.dropout if config.layers > 1 else 0.0)
        self.out = nn.Linear(2 * config.hidden, len(config.vocab))

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        x = self.drop(F.gelu(self.proj(self.norm(feats))))
        if self.training:
            x = spec_augment(x, lengths, self.config)
        y, _ = self.rnn(_zero_padding(x, lengths))
        return F.log_softmax(self.out(self.drop(y)), dim=-1)

    def logits(self, feats: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Pre-softmax scores ``[B, T, V]`` (for logit-based goodness of pronunciation)."""
        x = F.gelu(self.proj(self.norm(feats)))
        y, _ = self.rnn(_zero_padding(x, lengths))
        return self.out(y)


def _zero_padding(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Padded frames set to zero. The LSTM runs unpacked (packed sequences train ~6x slower on a
    CPU); length-bucketed batches keep the padding the backward direction reads short."""
    mask = torch.arange(x.shape[1], device=x.device)[None, :] < lengths.to(x.device)[:, None]
    return x * mask[..., None]


def spec_augment(x: torch.Tensor, lengths: torch.Tensor, config: CTCConfig) -> torch.Tensor:
    """Zero random time spans and channel bands (SpecAugment on the projected features)."""
    x = x.clone()
    B, T, D = x.shape
    for b in range(B):
        n = int(lengths[b])
        for _ in range(config.time_masks):
            w = int(torch.randint(0, config.mask_frames + 1, ()))
            if w and n > w:
                s = int(torch.randint(0, n - w, ()))
                x[b, s:s + w] = 0
        for _ in range(config.feature_masks):
            w = int(torch.randint(0, config.mask_features + 1, ()))
            if w and D > w:
                s = int(torch.randint(0, D - w, ()))
                x[b, :, s:s + w] = 0
    return x


def ctc_loss(log_probs: torch.Tensor, lengths: torch.Tensor, targets: torch.Tensor,
             target_lengths: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """CTC loss of ``[B, T, V]`` log-probs against padded ``[B, S]`` targets (blank = 0)."""
    return F.ctc_loss(log_probs.transpose(0, 1).float(), targets, lengths, target_lengths, blank=0,
                      reduction=reduction, zero_infinity=True)


def greedy_decode(log_probs: torch.Tensor, length: int) -> list[int]:
    """Best path of one utterance ``[T, V]``: repeats merged, blanks removed."""
    best = log_probs[:length].argmax(-1).tolist()
    out, prev = [], 0
    for s in best:
        if s != prev and s != 0:
            out.append(s)
        prev = s
    return out


def beam_decode(log_probs: torch.Tensor, length: int, beam: int = 8) -> list[int]:
    """CTC prefix beam search (no language model) over one utterance ``[T, V]``."""
    lp = log_probs[:length].float().cpu()
    beams: dict[tuple, tuple[float, float]] = {(): (0.0, -math.inf)}  # prefix -> (log p blank, log p non-blank)
    for t in range(lp.shape[0]):
        top = torch.topk(lp[t], min(beam, lp.shape[1])).indices.tolist()
        nxt: dict[tuple, list[float]] = defaultdict(lambda: [-math.inf, -math.inf])
        for prefix, (pb, pnb) in beams.items():
            total = _lse(pb, pnb)
            for s in top:
                p = float(lp[t, s])
                if s == 0:
                    e = nxt[prefix]
                    e[0] = _lse(e[0], total + p)
                    continue
                new = prefix + (s,)
                e = nxt[new]
                if prefix and prefix[-1] == s:
                    e[1] = _lse(e[1], pb + p)
                    same = nxt[prefix]
                    same[1] = _lse(same[1], pnb + p)
                else:
                    e[1] = _lse(e[1], total + p)
        beams = dict(sorted(((k, (v[0], v[1])) for k, v in nxt.items()),
                            key=lambda kv: -_lse(*kv[1]))[:beam])
    return list(max(beams.items(), key=lambda kv: _lse(*kv[1]))[0])


def _lse(a: float, b: float) -> float:
    if a == -math.inf:
        return b
    if b == -math.inf:
        return a
    m = max(a, b)
    return m + math.log(math.exp(a - m) + math.exp(b - m))
