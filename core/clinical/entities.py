"""Clinical entities from dictated text: MEDICATION (with DOSAGE, ROUTE, FREQUENCY, DURATION),
PROBLEM, PROCEDURE, TEST and ANATOMY, each with ConText assertions (negated, uncertain, family,
historical).

Sources, in order of trust: the medication lexicon (RxNorm names, plus the clinician's own
vocabulary) for MEDICATION; the trained NER tagger (BC5CDR Chemical -> MEDICATION candidate,
Disease -> PROBLEM); a small curated term list (resources/clinical_terms.tsv) for PROCEDURE,
TEST, ANATOMY and common symptoms. Overlaps keep the longer span (lexicon wins ties).

>>> [e.label for e in extract_entities("Start metformin 500 mg by mouth twice daily for 3 months.")]  # doctest: +SKIP
['MEDICATION']
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from core.clinical.context import assertions
from core.clinical.medications import MedicationLexicon, default_lexicon
from core.clinical.regimen import ROUTE, medication_attributes
from core.text.tokens import words

TERMS = Path(__file__).with_name("resources") / "clinical_terms.tsv"
ASSERTIONS = ("negated", "uncertain", "family", "historical")


@dataclass(frozen=True)
class Entity:
    label: str  # MEDICATION, PROBLEM, PROCEDURE, TEST, ANATOMY
    text: str  # as written in the note
    start: int  # character offsets in the text
    end: int
    source: str  # "lexicon", "ner", "terms", "vocabulary"
    assertions: tuple[str, ...] = ()  # subset of ASSERTIONS; empty = affirmed, current, about the patient
    attributes: dict[str, str] = field(default_factory=dict)  # MEDICATION: dosage, route, frequency, duration
    code: str = ""  # RxNorm id for medications when known

    @property
    def negated(self) -> bool:
        return "negated" in self.assertions


class Tagger(Protocol):
    def spans(self, text: str) -> list[tuple[int, int, str]]:
        """Character spans ``(start, end, type)`` with type "Chemical" or "Disease"."""
        ...


@lru_cache(maxsize=1)
def _terms() -> list[tuple[str, str]]:
    with TERMS.open(encoding="utf-8", newline="") as f:
        rows = [(r["term"].lower(), r["type"]) for r in csv.DictReader(f, delimiter="\t")]
    return sorted(rows, key=lambda r: -len(r[0]))


def _find_phrases(text: str, phrases: list[tuple[str, str]]) -> list[tuple[int, int, str]]:
    low = text.lower()
    out = []
    for phrase, kind in phrases:
        for m in re.finditer(rf"(?<![A-Za-z0-9]){re.escape(phrase)}(?![A-Za-z0-9])", low):
            out.append((m.start(), m.end(), kind))
    return out


def _medication_spans(text: str, lexicon: MedicationLexicon, vocabulary: list[str]) -> list[tuple[int, int, str, str]]:
    """(start, end, source, rxcui) for lexicon names in the text (1-3 word names)."""
    out = []
    custom = {v.lower() for v in vocabulary}
    found = words(text)
    i = 0
    while i < len(found):
        for n in (3, 2, 1):
            group = found[i:i + n]
            if len(group) < n:
                continue
            name = text[group[0].start:group[-1].end]
            med = lexicon.lookup(name)
            if (med or name.lower() in custom) and len(name) > 2:
                out.append((group[0].start, group[-1].end, "vocabulary" if name.lower() in custom else "lexicon",
                            med.rxcui if med else ""))
                i += n - 1
                break
        i += 1
    return out


def extract_entities(text: str, *, tagger: Tagger | None = None, lexicon: MedicationLexicon | None = None,
                     vocabulary: list[str] | None = None) -> list[Entity]:
    lex = lexicon or default_lexicon()
    cands: list[tuple[int, int, str, str, str]] = []  # start, end, label, source, code
    for a, b, source, code in _medication_spans(text, lex, vocabulary or []):
        cands.append((a, b, "MEDICATION", source, code))
    routes = [m.span() for m in ROUTE.finditer(text)]
    for a, b, kind in _find_phrases(text, _terms()):
        if kind == "ANATOMY" and any(ra <= a and b <= rb for ra, rb in routes):
            continue  # "by mouth" is a route, not a body part
        cands.append((a, b, kind, "terms", ""))
    if tagger is not None:
        for a, b, kind in tagger.spans(text):
            label = "MEDICATION" if kind == "Chemical" else "PROBLEM"
            if label == "MEDICATION" and not lex.lookup(text[a:b]):
                continue  # chemicals that are not drugs (e.g. "sodium" in a lab value) stay out
            cands.append((a, b, label, "ner", ""))
    priority = {"lexicon": 0, "vocabulary": 0, "ner": 1, "terms": 2}
    cands.sort(key=lambda c: (-(c[1] - c[0]), priority[c[3]], c[0]))
    taken: list[tuple[int, int, str, str, str]] = []
    for c in cands:
        if all(c[1] <= t[0] or c[0] >= t[1] for t in taken):
            taken.append(c)
    taken.sort()
    flags = assertions(text, [(a, b) for a, b, *_ in taken])
    med_starts = [a for a, _, label, *_ in taken if label == "MEDICATION"]

    def next_med(b: int) -> int | None:
        return next((a for a in med_starts if a >= b), None)

    return [Entity(label=label, text=text[a:b], start=a, end=b, source=source,
                   assertions=tuple(k for k in ASSERTIONS if k in f), code=code,
                   attributes=medication_attributes(text, a, b, next_med(b)) if label == "MEDICATION" else {})
            for (a, b, label, source, code), f in zip(taken, flags)]
