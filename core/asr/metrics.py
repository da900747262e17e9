"""Word error rate with a text normaliser that makes spelling choices not count as errors.

Both sides are lower-cased, punctuation is dropped, hyphens split words and digits are spelled
out ("2, 6, 4, 8" == "two six four eight"), so a transcript is not penalised for writing
numbers as digits.
"""
from __future__ import annotations

import re
from typing import Iterable

_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
         "fifteen sixteen seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def number_to_words(n: int) -> str:
    """0 <= n < 10**9 -> English words ("forty two"); larger numbers are read digit by digit."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    if n < 1000:
        return _ONES[n // 100] + " hundred" + ("" if n % 100 == 0 else " " + number_to_words(n % 100))
    for size, name in ((10**6, "million"), (10**3, "thousand")):
        if n >= size and n < size * 1000:
            rest = n % size
            return number_to_words(n // size) + f" {name}" + ("" if rest == 0 else " " + number_to_words(rest))
    return " ".join(_ONES[int(d)] for d in str(n))


def normalize_text(text: str, digits: str = "number") -> str:
    """digits="number": "42" -> "forty two"; digits="sequence": "7342" -> "seven three four two"
    (for read digit strings, as in speechocean762's and FSDD's prompts)."""
    t = text.lower().replace("-", " ").replace("%", " percent")
    t = re.sub(r"(?<=\d),(?=\d{3}\b)", "", t)  # 1,000 -> 1000
    if digits == "sequence":
        t = re.sub(r"\d", lambda m: f" {_ONES[int(m.group())]} ", t)
    t = re.sub(r"\d+", lambda m: f" {number_to_words(int(m.group()))} ", t)
    t = re.sub(r"[^a-z' ]", " ", t).replace("'", "")
    return " ".join(t.split())


def edit_distance(ref: list[str], hyp: list[str]) -> int:
    """Levenshtein distance between two word lists (substitutions, insertions, deletions)."""
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1]


def word_error_rate(refs: Iterable[str], hyps: Iterable[str], digits: str = "number") -> float:
    """Corpus WER: total word edits / total reference words, after normalisation."""
    errors = words = 0
    for ref, hyp in zip(refs, hyps, strict=True):
        r, h = normalize_text(ref, digits).split(), normalize_text(hyp, digits).split()
        errors += edit_distance(r, h)
        words += len(r)
    return errors / max(words, 1)
