"""JSONL manifests -> token batches for the text recipes (dynamic padding, length-bucketed batches)."""
from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Callable, Iterator

import torch

_PUNCT = re.compile(r"[^\w\s']")


def read_jsonl(path: str | Path) -> list[dict]:
    with Path(path).open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def asr_style(text: str) -> str:
    """What the same sentence looks like coming out of a recogniser: lower case, no punctuation."""
    return " ".join(_PUNCT.sub(" ", text.lower()).split())


class BucketBatches:
    """Batches of similar length (less padding = faster CPU training); reshuffled every epoch.

    Each item of ``rows`` is a dict with at least ``text``; ``collate(rows) -> batch`` builds tensors.
    """

    def __init__(self, rows: list[dict], batch_size: int, collate: Callable[[list[dict]], dict], *,
                 shuffle: bool, seed: int = 1234, length: Callable[[dict], int] | None = None):
        self.rows, self.batch_size, self.collate, self.shuffle = rows, batch_size, collate, shuffle
        self.seed, self.epoch = seed, 0
        self.length = length or (lambda r: len(r["text"]))
        self.sampler = self  # fit() calls sampler.set_epoch

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _batches(self) -> list[list[int]]:
        order = list(range(len(self.rows)))
        if not self.shuffle:
            order.sort(key=lambda i: self.length(self.rows[i]))
            return [order[i:i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        rng = random.Random(self.seed + self.epoch)
        rng.shuffle(order)
        pool = self.batch_size * 50  # sort within pools of 50 batches, then shuffle the batches
        batches = []
        for start in range(0, len(order), pool):
            chunk = sorted(order[start:start + pool], key=lambda i: self.length(self.rows[i]))
            batches += [chunk[i:i + self.batch_size] for i in range(0, len(chunk), self.batch_size)]
        rng.shuffle(batches)
        return batches

    def __len__(self) -> int:
        return (len(self.rows) + self.batch_size - 1) // self.batch_size

    def __iter__(self) -> Iterator[dict]:
        for idx in self._batches():
            yield self.collate([self.rows[i] for i in idx])


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
