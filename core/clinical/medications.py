"""The medication lexicon: RxNorm ingredient and brand names (resources/medications.tsv) with
their ids, looked up exactly or by sound (``closest``), and the English word list that tells a
misheard drug name from an ordinary word.

>>> default_lexicon().lookup("Metformin").rxcui
'6809'
>>> phonetic_key("lisinipril") == phonetic_key("lisinopril")
True
"""
from __future__ import annotations

import csv
import json
import logging
import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache
from pathlib import Path

RESOURCE = Path(__file__).with_name("resources") / "medications.tsv"
UK_NAMES = Path(__file__).with_name("resources") / "uk_names.tsv"  # British names RxNorm lacks
# a drug name made of common English words ("water", "Perform", "oxygen", "My Way"): where the
# recogniser wrote one in an order, it may have written an everyday word for a name it did not know
# ("continue Perform as in 500 mg" for perphenazine, "restart oxygen, and 1 tablet" for oxazepam).
# Common: each word is among the first COMMON_WORD_PIECES whole-word pieces of Whisper's vocabulary
# (byte-pair merges are learnt in order of frequency; "water" is piece 1,660, "oxygen" 11,863,
# "aspirin" and "morphine" are no single piece at all)
COMMON_WORD_PIECES = 20_000
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Medication:
    name: str  # as the lexicon writes it ("amphotericin B", "Zoloft")
    kind: str  # "ingredient" or "brand" (or "custom" for a clinician's vocabulary)
    rxcui: str  # RxNorm concept id ("" when unknown)


def phonetic_key(word: str) -> str:
    """A sound-alike key: lower case letters, common spellings of one sound merged, vowels dropped
    after the first letter, doubled letters collapsed ("lisinipril" and "lisinopril" -> "lsnprl")."""
    w = re.sub(r"[^a-z]", "", word.lower())
    if not w:
        return ""
    for a, b in (("ph", "f"), ("ck", "k"), ("qu", "kw"), ("x", "ks"), ("th", "t"), ("gh", "g"), ("wr", "r"),
                 ("kn", "n"), ("ce", "se"), ("ci", "si"), ("cy", "si"), ("c", "k"), ("q", "k"), ("z", "s"),
                 ("y", "i"), ("v", "f"), ("d", "t"), ("b", "p"), ("g", "k")):
        w = w.replace(a, b)
    head, tail = w[0], re.sub(r"[aeiouh]", "", w[1:])
    key = head + tail
    return re.sub(r"(.)\1+", r"\1", key)


class MedicationLexicon:
    def __init__(self, rows: list[Medication]):
        self.by_lower: dict[str, Medication] = {}
        for m in rows:
            self.by_lower.setdefault(m.name.lower(), m)
        self._by_key: dict[str, list[Medication]] = {}
        for m in self.by_lower.values():
            self._by_key.setdefault(phonetic_key(m.name)[:3], []).append(m)
        self.max_words = max((len(n.split()) for n in self.by_lower), default=1)

    @classmethod
    def load(cls, path: Path = RESOURCE, extra: list[str] | None = None, uk: Path | None = UK_NAMES) -> "MedicationLexicon":
        """The RxNorm names, the ``extra`` names first, and the British names RxNorm lacks (``uk``:
        paracetamol, salbutamol, co-amoxiclav; each with the RxNorm id of the US name of the same
        substance where there is one: paracetamol is acetaminophen, 161)."""
        rows = [Medication(r["name"], r["kind"], r["rxcui"]) for r in _tsv(path)]
        if uk is not None:
            rxcui = {m.name.lower(): m.rxcui for m in rows}
            rows += [Medication(r["name"], r["kind"], rxcui.get(r["same_as"].lower(), "")) for r in _tsv(uk)]
        rows = [Medication(n, "custom", "") for n in (extra or []) if n.strip()] + rows
        return cls(rows)

    def __len__(self) -> int:
        return len(self.by_lower)

    def lookup(self, name: str) -> Medication | None:
        return self.by_lower.get(name.lower())

    def closest(self, word: str, *, exhaustive: bool = False) -> tuple[Medication, float] | None:
        """The most similar name; only names whose sound starts alike, unless ``exhaustive`` (for a
        short list such as a clinician's vocabulary, where "miceoprolol" should still find bisoprolol)."""
        key = phonetic_key(word)
        if len(key) < 3:
            return None
        best, best_score = None, 0.0
        pool = self.by_lower.values() if exhaustive else self._by_key.get(key[:3], [])
        for m in pool:
            letters = SequenceMatcher(None, word.lower(), m.name.lower()).ratio()
            sound = SequenceMatcher(None, key, phonetic_key(m.name)).ratio()
            score = max(letters, 0.5 * (letters + sound))
            if score > best_score:
                best, best_score = m, score
        return (best, best_score) if best else None


def _tsv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def british_names() -> set[str]:
    """The names ``UK_NAMES`` adds to RxNorm's, lower case."""
    return {r["name"].lower() for r in _tsv(UK_NAMES)}


@lru_cache(maxsize=1)
def default_lexicon() -> MedicationLexicon:
    return MedicationLexicon.load()


def _english() -> frozenset[str]:
    from core.pronunciation.lexicon import english_words

    return english_words()


def is_english_word(word: str) -> bool:
    return word.lower() in _english()


@lru_cache(maxsize=1)
def _common_words() -> frozenset[str]:
    from core.model_resolver import resolve_whisper

    try:
        tokenizer = json.loads((Path(resolve_whisper("tiny.en")) / "tokenizer.json").read_text(encoding="utf-8"))
    except Exception:
        log.exception("the recogniser's vocabulary could not be read; no drug name counts as an everyday word")
        return frozenset()
    return frozenset(piece[1:].lower() for piece, i in tokenizer["model"]["vocab"].items()
                     if i < COMMON_WORD_PIECES and piece.startswith("\u0120") and piece[1:].isalpha())


def is_everyday_name(name: str) -> bool:
    """A lexicon name whose every word is a common English word (``COMMON_WORD_PIECES``)."""
    common = _common_words()
    return bool(common) and all(w.lower() in common for w in name.split())
