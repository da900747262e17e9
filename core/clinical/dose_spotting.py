"""The dose said after a drug, checked against the audio: the recogniser garbles doses it hears
in an unfamiliar voice ("200, and 50 mil plums" for two hundred and fifty milligrams, "to rub" for
two drops, "10 ml" for ten milligrams), and a wrong dose is worse than none.

The candidates are the common strengths (0.5 to 1,000) with each unit a dictated order uses
(milligrams, micrograms, grams, millilitres, units, tablets, capsules, puffs, drops, sprays), as a
clinician says them ("two hundred and fifty milligrams", "two point five milligrams", "one
tablet"): 260 spoken forms of 210 written doses. ``core.clinical.drug_spotting`` scores
them, and the recogniser's own words, on the phones heard right after a drug name; a dose is
written in only when one written form explains the audio clearly better than the words heard and
than any other dose.

>>> dict(dose_candidates())["two hundred and fifty milligrams"]
'250 mg'
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Sequence

from core.asr.types import Word

STRENGTHS = (0.5, 1, 2, 2.5, 3, 4, 5, 6, 7.5, 8, 10, 12.5, 15, 20, 25, 30, 40, 50, 60, 75, 80, 90, 100, 120, 125, 150,
             160, 200, 250, 300, 400, 450, 500, 600, 750, 800, 875, 1000)
UNITS = (("milligrams", "milligram", "mg"), ("micrograms", "microgram", "mcg"), ("grams", "gram", "g"),
         ("millilitres", "millilitre", "ml"), ("units", "unit", "units"), ("tablets", "tablet", "tablets"),
         ("capsules", "capsule", "capsules"), ("puffs", "puff", "puffs"), ("drops", "drop", "drops"),
         ("sprays", "spray", "sprays"))
COUNTED = {"tablets", "capsules", "puffs", "drops", "sprays"}  # whole numbers only, at most 4
# words that end a dose: a route, a frequency, a duration, a clause word
AFTER_DOSE = {"by", "orally", "oral", "intravenously", "intravenous", "subcutaneously", "subcutaneous", "topically",
              "topical", "inhaled", "once", "twice", "daily", "nightly", "every", "at", "as", "for", "in", "per",
              "and", "then", "period", "when", "if", "until", "each"}
NUMBERISH = {"one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "twenty", "thirty", "forty",
             "fifty", "sixty", "seventy", "eighty", "ninety", "hundred", "thousand", "half", "point", "to", "too",
             "a", "an"}
UNIT_WORDS = {w for u in UNITS for w in u} | {"mg", "mcg", "ml", "tabs", "caps", "milliliters", "milliliter"}
# a word after one or two others that sounds this much like a mass or volume unit (ARPAbet phones,
# core.text.sounds_like) marks a dose whose number was heard as other words ("millibrem" 0.69,
# "tamelogram" 0.64 to milligrams; "people" 0.38, "minutes" 0.59, "militants" 0.61)
LOST_NUMBER_UNIT_SIMILARITY = 0.62
MAX_DOSE_WORDS = 5
MAX_DOSE_S = 2.6


def _said(n: float) -> list[list[str]]:
    """How a strength is read aloud: "two hundred and fifty" and "two hundred fifty"; "two point five"."""
    from core.pronunciation.prompt_text import number_words

    if n == 0.5:
        return [["half", "a"], ["zero", "point", "five"], ["point", "five"]]
    if n != int(n):
        whole, frac = str(n).split(".")
        return [number_words(int(whole)) + ["point"] + [number_words(int(d))[0] for d in frac]]
    words = number_words(int(n))
    out = [words]
    if "hundred" in words and words[-1] != "hundred":
        i = words.index("hundred")
        out.append(words[:i + 1] + ["and"] + words[i + 1:])
    return out


def _written(n: float) -> str:
    return str(int(n)) if n == int(n) else str(n)


@lru_cache(maxsize=1)
def dose_candidates() -> tuple[tuple[str, str], ...]:
    """(spoken form, written dose) pairs."""
    out = []
    for n in STRENGTHS:
        for plural, single, written in UNITS:
            if written in COUNTED and (n != int(n) or n > 4):
                continue
            unit = single if n == 1 else plural
            shown = single if n == 1 and (written in COUNTED or written == "units") else written  # "1 tablet", "2 tablets"
            for said in _said(n):
                out.append((" ".join(said + [single if said[0] == "half" else unit]), f"{_written(n)} {shown}"))
    return tuple(out)


def _plain(word: str) -> str:
    return re.sub(r"[^a-z0-9.']", "", word.lower()).strip(".")


def _is_number(w: str) -> bool:
    return bool(w) and (w[0].isdigit() or w in NUMBERISH)


def _hundreds(w: str) -> bool:
    """ "200", "hundred": a number that "and" goes on from ("two hundred and fifty")."""
    return w == "hundred" or w.isdigit() and int(w) % 100 == 0 and int(w) > 0


def glued_unit(word: str) -> bool:
    """A number written together with its unit ("50mg", ".5mg"): a dose ends there too (the words
    after it, "i mouse" for by mouth, are not part of it)."""
    m = re.fullmatch(r"\d*\.?\d+([a-z]+)", word)
    return bool(m) and m.group(1) in UNIT_WORDS


def _sounds_like_unit(word: str) -> bool:
    from core.clinical.normalisation import GARBLED_UNITS
    from core.text.sounds_like import phones_of, sound_index

    return bool(word) and sound_index(GARBLED_UNITS).closest(phones_of([word]), LOST_NUMBER_UNIT_SIMILARITY) is not None


def _lost_number(words: Sequence[Word], start: int) -> int | None:
    """The index of the unit where one or two words that are no number come before a word that
    sounds like a mass or volume unit: a number and unit heard as other words ("for the millibrem"
    for forty milligrams, "twin, tamelogram" for twenty milligrams)."""
    for k in (1, 2):
        if start + k >= len(words) or re.search(r"[.;:!?]$", words[start + k - 1].text.strip()):
            return None
        if _sounds_like_unit(_plain(words[start + k].text)):
            return start + k
    return None


def dose_region(words: Sequence[Word], start: int, lost_number: bool = False) -> tuple[int, int] | None:
    """(first, last + 1) word indices of the dose right after a drug name ending at ``start``: it
    begins with a number (or a word a number is heard as: "to" for two, "for 10" for forty; or with
    its unit, where the number was lost: "ivabradine milligrams by mouth"; with ``lost_number``,
    also with words a number was heard as, before a word that sounds like a unit: "for the
    millibrem") and ends before a route, frequency or duration word, "N times", a clause end, or a
    comma after a word that is no number ("two laps, topicly"). "and" inside a number ("200, and
    50") goes on."""
    if start >= len(words):
        return None
    first = _plain(words[start].text)
    second = _plain(words[start + 1].text) if start + 1 < len(words) else ""
    if not (_is_number(first) or first in UNIT_WORDS or first == "for" and _is_number(second)):
        unit = _lost_number(words, start) if lost_number and first not in AFTER_DOSE - {"for"} else None
        return None if unit is None else (start, unit + 1)
    b = start
    while b < len(words) and b - start < MAX_DOSE_WORDS:
        p = _plain(words[b].text)
        prev = _plain(words[b - 1].text) if b > start else ""
        nxt = _plain(words[b + 1].text) if b + 1 < len(words) else ""
        number_goes_on = p == "and" and _hundreds(prev) and _is_number(nxt)
        if b > start and (not p or p in AFTER_DOSE and not number_goes_on or nxt == "times"):
            break
        if words[b].end - words[start].start > MAX_DOSE_S:
            break
        b += 1
        if p in UNIT_WORDS or glued_unit(p) or re.search(r"[.;:!?]$", words[b - 1].text.strip()) and \
                not re.search(r"\d\.$", words[b - 1].text.strip()):
            break  # a dose ends with its unit
        if words[b - 1].text.strip().endswith(",") and not _is_number(p):
            break  # "two laps, topicly": the words after the comma are the route
    return (start, b) if b > start else None
