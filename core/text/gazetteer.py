"""Dictionary (gazetteer) features for the NER tagger: which words start or continue a known
Chemical or Disease name, by longest match over lower-cased word sequences.

The tagger adds a learned embedding of these features to its input word pieces, so the encoder
sees "this is a known drug name" in context and decides. The dictionary is the training corpora's
entity strings (kept only where a string is tagged in at least ``min_ratio`` of its occurrences)
plus the medication lexicon. Training rows get features from a dictionary that leaves their own
block of the corpus out (``fold_features``), so the model learns how far to trust a match on
names it has not seen, as at test time.

>>> gaz = Gazetteer({("naloxone",): "Chemical", ("heart", "failure"): "Disease"})
>>> gaz.features(["Naloxone", "reversed", "heart", "failure"])
[1, 0, 3, 4]
"""
from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path
from typing import Iterable

from core.text.tokens import tagger_tokens

FEATURE_TAGS = ["O", "B-Chemical", "I-Chemical", "B-Disease", "I-Disease"]
TYPES = ("Chemical", "Disease")
MAX_WORDS = 8
RESOURCE = Path(__file__).resolve().parent / "resources" / "ner_gazetteer.tsv"


class Gazetteer:
    def __init__(self, table: dict[tuple[str, ...], str]):
        self.table = {k: v for k, v in table.items() if v in TYPES and 0 < len(k) <= MAX_WORDS}

    def __len__(self) -> int:
        return len(self.table)

    def matches(self, tokens: list[str]) -> list[tuple[int, int, str]]:
        """Longest non-overlapping matches, left to right: ``[(start, end_exclusive, type)]``."""
        low = [t.lower() for t in tokens]
        out, i = [], 0
        while i < len(low):
            for n in range(min(MAX_WORDS, len(low) - i), 0, -1):
                kind = self.table.get(tuple(low[i:i + n]))
                if kind:
                    out.append((i, i + n, kind))
                    i += n
                    break
            else:
                i += 1
        return out

    def features(self, tokens: list[str]) -> list[int]:
        """One feature id per word (index into FEATURE_TAGS)."""
        out = [0] * len(tokens)
        for a, b, kind in self.matches(tokens):
            out[a] = FEATURE_TAGS.index(f"B-{kind}")
            for i in range(a + 1, b):
                out[i] = FEATURE_TAGS.index(f"I-{kind}")
        return out

    def save(self, path: Path = RESOURCE) -> None:
        lines = ["term\ttype"] + [f"{' '.join(k)}\t{v}" for k, v in sorted(self.table.items())]
        Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path = RESOURCE) -> "Gazetteer":
        rows = Path(path).read_text(encoding="utf-8").splitlines()[1:]
        return cls({tuple(term.split(" ")): kind for term, kind in (r.split("\t") for r in rows if r)})


def corpus_table(rows: Iterable[dict], min_ratio: float = 0.5) -> dict[tuple[str, ...], str]:
    """Entity strings of tagged rows ``{"tokens", "tags"}`` -> type, keeping a string only where it
    is tagged in at least ``min_ratio`` of the places it occurs (drops "NO", "pain" as a verb...)."""
    from core.text.tagger import bio_spans

    rows = list(rows)
    tagged: dict[tuple[str, ...], Counter] = defaultdict(Counter)
    for r in rows:
        low = [t.lower() for t in r["tokens"]]
        for a, b, kind in bio_spans(r["tags"]):
            if b - a <= MAX_WORDS:
                tagged[tuple(low[a:b])][kind] += 1
    seen: Counter = Counter()
    lengths = {len(k) for k in tagged}
    for r in rows:
        low = [t.lower() for t in r["tokens"]]
        for n in lengths:
            for i in range(len(low) - n + 1):
                key = tuple(low[i:i + n])
                if key in tagged:
                    seen[key] += 1
    out = {}
    for key, kinds in tagged.items():
        kind = kinds.most_common(1)[0][0]
        if sum(kinds.values()) >= min_ratio * max(seen[key], 1):
            out[key] = kind
    return out


def lexicon_table(names: Iterable[str], kind: str = "Chemical") -> dict[tuple[str, ...], str]:
    """Names (e.g. the medication lexicon) -> word-tuple keys in the corpora's tokenisation."""
    table = {}
    for name in names:
        key = tuple(w.text.lower() for w in tagger_tokens(name))
        if key:
            table[key] = kind
    return table


def fold_features(rows: list[dict], folds: int, base: dict[tuple[str, ...], str], min_ratio: float) -> list[list[int]]:
    """Features for training rows from dictionaries that leave each row's own contiguous block out
    (blocks follow the corpora's document order, so a block is a set of whole abstracts, mostly)."""
    size = -(-len(rows) // folds)
    out: list[list[int]] = []
    for f in range(folds):
        block = rows[f * size:(f + 1) * size]
        rest = rows[:f * size] + rows[(f + 1) * size:]
        gaz = Gazetteer({**base, **corpus_table(rest, min_ratio)})
        out.extend(gaz.features(r["tokens"]) for r in block)
    return out


__all__ = ["Gazetteer", "FEATURE_TAGS", "corpus_table", "lexicon_table", "fold_features", "RESOURCE"]
