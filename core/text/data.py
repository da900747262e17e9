"""Text rows -> token batches for the text recipes (dynamic padding); the samplers are in core.data."""
from __future__ import annotations

import random
import re
from typing import Callable

import torch

_PUNCT = re.compile(r"[^\w\s']")


def asr_style(text: str) -> str:
    """What the same sentence looks like coming out of a recogniser: lower case, no punctuation."""
    return " ".join(_PUNCT.sub(" ", text.lower()).split())


def text_label_collate(tokenizer, max_length: int, label_index: dict[str, int], *, multi_label: bool = False,
                       asr_style_prob: float = 0.0, seed: int = 0) -> Callable[[list[dict]], dict]:
    """Rows ``{"text", "label" | "labels"}`` -> ``{"input_ids": [B, T], "attention_mask": [B, T],
    "labels": [B] (class index) or [B, L] (multi-hot)}``; ``asr_style_prob`` of training texts are
    shown lower-cased without punctuation, like recogniser output."""
    rng = random.Random(seed)

    def collate(rows: list[dict]) -> dict:
        texts = [asr_style(r["text"]) if asr_style_prob and rng.random() < asr_style_prob else r["text"]
                 for r in rows]
        enc = tokenizer(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
        if multi_label:
            y = torch.zeros(len(rows), len(label_index))
            for i, r in enumerate(rows):
                for lab in r["labels"]:
                    y[i, label_index[lab]] = 1.0
        else:
            y = torch.tensor([label_index[r["label"]] for r in rows])
        return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"], "labels": y}

    return collate
