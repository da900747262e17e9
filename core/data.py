"""Manifests and batch samplers shared by every recipe (text or audio).

A manifest is a JSONL file, one example per line. ``BucketBatches`` groups examples of similar
length (less padding: faster training on a CPU) and reshuffles every epoch; the length is a
function of a row, so the same sampler serves text (characters or tokens) and audio (seconds).
``MultiSourceBatches`` interleaves several datasets' batches (one head per dataset).

>>> rows = [{"text": "a" * n} for n in (5, 1, 9, 3)]
>>> [[r["text"] for r in b] for b in BucketBatches(rows, 2, collate=list, length=text_length, shuffle=False)]
[['a', 'aaa'], ['aaaaa', 'aaaaaaaaa']]
"""
from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any, Callable, Iterator

Row = dict[str, Any]


def read_jsonl(path: str | Path) -> list[Row]:
    with Path(path).open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def text_length(row: Row) -> float:
    """Characters of ``row["text"]``."""
    return len(row["text"])


def tokens_length(row: Row) -> float:
    """Characters of the pre-split words ``row["tokens"]`` (a tagging example)."""
    return sum(len(t) for t in row["tokens"])


def audio_seconds(row: Row) -> float:
    """Seconds of audio: ``row["duration"]`` (an audio manifest's field)."""
    return float(row["duration"])


class BucketBatches:
    """Batches of similar length, reshuffled every epoch (``fit`` calls ``sampler.set_epoch``).

    ``collate(rows) -> batch`` builds the tensors; ``length(row)`` orders the rows (``text_length``,
    ``tokens_length``, ``audio_seconds`` or any other)."""

    def __init__(self, rows: list[Row], batch_size: int, collate: Callable[[list[Row]], Any], *,
                 length: Callable[[Row], float], shuffle: bool, seed: int = 1234):
        self.rows, self.batch_size, self.collate, self.shuffle = rows, batch_size, collate, shuffle
        self.seed, self.epoch, self.length = seed, 0, length
        self.sampler = self

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

    def __iter__(self) -> Iterator[Any]:
        for idx in self._batches():
            yield self.collate([self.rows[i] for i in idx])


class MultiSourceBatches:
    """Batches from several samplers (one dataset each), interleaved in a shuffled order."""

    def __init__(self, sources: list[BucketBatches], seed: int):
        self.sources, self.seed, self.epoch = sources, seed, 0
        self.sampler = self

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        for s in self.sources:
            s.set_epoch(epoch)

    def __len__(self) -> int:
        return sum(len(s) for s in self.sources)

    def __iter__(self) -> Iterator[Any]:
        order = [i for i, s in enumerate(self.sources) for _ in range(len(s))]
        random.Random(self.seed + self.epoch).shuffle(order)
        iters = [iter(s) for s in self.sources]
        for i in order:
            yield next(iters[i])
