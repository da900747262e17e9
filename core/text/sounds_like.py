"""How alike words sound: ARPAbet phones (CMUdict, espeak-ng's rules for the rest) compared by a
weighted edit distance (vowels and voiced/voiceless pairs cost less than other changes).

Used where a recogniser wrote ordinary words for a name it does not know ("search rely in" for
sertraline): to find which name a run of words may be (``SoundIndex``), and to pick, from a long
list of names, the ones that sound like something in a first transcript (``rank_terms``).

>>> sound_similarity(phones_of(["search", "rely", "in"]), phones_of(["sertraline"]))   # doctest: +SKIP
0.83
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Sequence

import numpy as np

from core.text.tokens import words as text_words

VOWELS = {"AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"}
# consonants that are easily heard as each other (voicing pairs, place neighbours)
NEAR = [{"P", "B"}, {"T", "D"}, {"K", "G"}, {"F", "V"}, {"S", "Z"}, {"SH", "ZH"}, {"CH", "JH"}, {"TH", "DH"},
        {"M", "N", "NG"}, {"L", "R"}, {"T", "CH"}, {"D", "JH"}, {"S", "SH"}, {"TH", "F"}, {"Y", "IY"}, {"W", "UW"}]
PHONES = sorted(VOWELS | {"B", "CH", "D", "DH", "F", "G", "HH", "JH", "K", "L", "M", "N", "NG", "P", "R", "S", "SH",
                           "T", "TH", "V", "W", "Y", "Z", "ZH"})
PHONE_ID = {p: i for i, p in enumerate(PHONES)}


def phones_of(words: Sequence[str]) -> tuple[str, ...]:
    """Stress-free ARPAbet of some words (CMUdict's first pronunciation, else espeak-ng's rules)."""
    out: list[str] = []
    lex = _lexicon()
    for w in words:
        prons, _ = lex.lookup(re.sub(r"[^A-Za-z']", "", w).upper() or w.upper())
        if prons:
            out += [p.rstrip("012") for p in prons[0]]  # stress marks off (unknown symbols are skipped later)
    return tuple(out)


@lru_cache(maxsize=1)
def _lexicon():
    from core.pronunciation.lexicon import Lexicon

    return Lexicon()


def _sub_cost(a: str, b: str) -> float:
    if a == b:
        return 0.0
    if a in VOWELS and b in VOWELS:
        return 0.4
    if any(a in s and b in s for s in NEAR):
        return 0.5
    return 1.0


def _indel_cost(p: str) -> float:
    return 0.6 if p in VOWELS or p in ("HH", "Y", "W") else 1.0


SUB = np.array([[_sub_cost(a, b) for b in PHONES] for a in PHONES])
INDEL = np.array([_indel_cost(p) for p in PHONES])


def phone_ids(phones: Sequence[str]) -> np.ndarray:
    return np.array([PHONE_ID[p] for p in phones if p in PHONE_ID], dtype=np.int64)


def distances(query: np.ndarray, cands: np.ndarray) -> np.ndarray:
    """Weighted edit distance of one phone-id sequence ``[n]`` to each row of ``cands`` ``[N, L]``
    (all of length L), one dynamic-programming table for all rows at once."""
    n_rows, length = cands.shape
    ins = INDEL[cands]  # [N, L]
    prev = np.concatenate([np.zeros((n_rows, 1)), np.cumsum(ins, axis=1)], axis=1)
    for q in query:
        cur = np.empty_like(prev)
        cur[:, 0] = prev[:, 0] + INDEL[q]
        sub = SUB[q][cands]
        for j in range(1, length + 1):
            cur[:, j] = np.minimum(np.minimum(prev[:, j] + INDEL[q], cur[:, j - 1] + ins[:, j - 1]),
                                   prev[:, j - 1] + sub[:, j - 1])
        prev = cur
    return prev[:, -1]


def sound_similarity(a: tuple[str, ...], b: tuple[str, ...]) -> float:
    """1 - weighted edit distance / the longer sequence's length (1.0: the same phones)."""
    qa, qb = phone_ids(a), phone_ids(b)
    if not len(qa) or not len(qb):
        return 0.0
    return float(1.0 - distances(qa, qb[None])[0] / max(len(qa), len(qb)))


class SoundIndex:
    """Names' phones, for a nearest-by-sound search (names bucketed by phone count). Names of one
    or two words, letters, spaces and hyphens only, at least 4 phones."""

    def __init__(self, names: Sequence[str]):
        buckets: dict[int, list[tuple[str, np.ndarray]]] = {}
        for name in dict.fromkeys(names):
            if not re.fullmatch(r"[A-Za-z][A-Za-z \-]{3,}", name) or len(name.split()) > 2:
                continue
            ph = phone_ids(phones_of(re.split(r"[ \-]", name)))
            if len(ph) >= 4:
                buckets.setdefault(len(ph), []).append((name, ph))
        self.names = {k: [n for n, _ in v] for k, v in buckets.items()}
        self.phones = {k: np.stack([p for _, p in v]) for k, v in buckets.items()}

    def __len__(self) -> int:
        return sum(len(v) for v in self.names.values())

    def closest(self, phones: tuple[str, ...], min_similarity: float) -> tuple[str, float] | None:
        """The best-sounding name at ``min_similarity`` or more, with its similarity."""
        query = phone_ids(phones)
        n = len(query)
        if n == 0:
            return None
        best = None
        # a similarity of s allows at most (1 - s) * max(len) edits, which bounds the lengths to try
        for length in range(max(4, int(n * min_similarity)), int(n / max(min_similarity, 0.1)) + 2):
            if length not in self.phones:
                continue
            sims = 1.0 - distances(query, self.phones[length]) / max(n, length)
            k = int(np.argmax(sims))
            if sims[k] >= min_similarity and (best is None or sims[k] > best[1]):
                best = (self.names[length][k], float(sims[k]))
        return best

    def similarities(self, phones: tuple[str, ...]) -> dict[str, float]:
        """Every name's similarity to ``phones`` (names of very different length are left out)."""
        query = phone_ids(phones)
        n = len(query)
        out: dict[str, float] = {}
        if n == 0:
            return out
        for length, cands in self.phones.items():
            if length < n / 2 or length > 2 * n + 2:
                continue
            sims = 1.0 - distances(query, cands) / max(n, length)
            out.update(zip(self.names[length], sims.tolist()))
        return out


def rank_terms(text: str, terms: Sequence[str], max_words: int = 4) -> list[tuple[str, float]]:
    """``terms`` best first by how much some run of 1-``max_words`` words of ``text`` sounds like
    each (its best similarity; a term the text spells out scores 1). Terms the index cannot read
    (digits, three words or more) keep their spelling match only."""
    words = [w.text for w in text_words(text)]
    lowered, whole = {w.lower() for w in words}, text.lower()
    score = {t: (1.0 if t.lower() in lowered or t.lower() in whole else 0.0) for t in terms}
    index = sound_index(tuple(dict.fromkeys(terms)))
    if len(index):
        for i in range(len(words)):
            for j in range(i + 1, min(i + max_words, len(words)) + 1):
                ph = phones_of(words[i:j])
                if len(ph) < 3:
                    continue
                for name, s in index.similarities(ph).items():
                    if s > score[name]:
                        score[name] = s
    return sorted(score.items(), key=lambda kv: -kv[1])


@lru_cache(maxsize=16)
def sound_index(terms: tuple[str, ...]) -> SoundIndex:
    """One index per list of names: a clinician's list is the same call after call (a 500-name
    list takes a fraction of a second to read into phones)."""
    return SoundIndex(terms)
