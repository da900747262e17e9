"""The phone recogniser at inference: audio -> per-frame phone log-posteriors (and logits).

Artifact: ``{"config": CTCConfig dict, "state_dict"}`` from the speechocean762 recipe
(``models/pronunciation/phone-ctc-tiny.pt``); ``config.frontend`` names the frozen encoder.

>>> rec = PhoneRecognizer.load()                # doctest: +SKIP
>>> out = rec(samples); out.log_probs.shape     # [T, 40] at 50 frames/s
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from core.asr.ctc import CTCConfig, CTCHead, greedy_decode
from core.model_resolver import project_artifact
from core.pronunciation.frontend import WhisperFrontEnd

DEFAULT_ARTIFACT = "pronunciation/phone-ctc-tiny.pt"


@dataclass(frozen=True)
class Posteriors:
    log_probs: torch.Tensor  # [T, V] log-softmax over the vocabulary (blank at 0)
    logits: torch.Tensor  # [T, V] the same before the softmax
    features: np.ndarray  # [T, D] the encoder states (for scorers that pool them)


class PhoneRecognizer:
    def __init__(self, head: CTCHead, frontend: WhisperFrontEnd):
        self.head = head.eval()
        self.frontend = frontend
        self.vocab = head.config.vocab

    @classmethod
    def load(cls, path: str | Path | None = None) -> "PhoneRecognizer":
        art = torch.load(path or project_artifact(DEFAULT_ARTIFACT), map_location="cpu", weights_only=True)
        config = CTCConfig.from_dict(art["config"])
        head = CTCHead(config)
        head.load_state_dict({k: v.float() for k, v in art["state_dict"].items()})
        return cls(head, WhisperFrontEnd(config.frontend))

    @torch.no_grad()
    def from_features(self, feats: np.ndarray) -> Posteriors:
        x = torch.from_numpy(np.asarray(feats, dtype=np.float32))[None]
        n = torch.tensor([x.shape[1]])
        logits = self.head.logits(x, n)[0]
        return Posteriors(log_probs=torch.log_softmax(logits, -1), logits=logits, features=np.asarray(feats))

    def __call__(self, samples: np.ndarray) -> Posteriors:
        return self.from_features(self.frontend(samples))

    def phones(self, post: Posteriors) -> list[str]:
        """What was heard, freely (greedy best path), as phone symbols."""
        return [self.vocab[i] for i in greedy_decode(post.log_probs, post.log_probs.shape[0])]


@lru_cache(maxsize=2)
def default_recognizer(path: str | None = None) -> PhoneRecognizer:
    """One shared recogniser per process (models load once)."""
    return PhoneRecognizer.load(path)
