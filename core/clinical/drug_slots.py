"""Drug names heard as ordinary words ("search rely in" for sertraline), found by where they stand
and how they sound.

A recogniser that does not know a drug writes the English words that sound most like it, and the
spelling repair (``core.clinical.repair``) leaves English words alone. But a dictated order has a
shape: the words after "start / continue / increase / give / stop ..." and before a dose
("50 mg", "2 puffs") name a drug. In such a *slot* (and only there) a run of 1-4 words that is not
already a drug is compared by sound with every generic name of the medication lexicon (and the
clinician's vocabulary): both are turned into ARPAbet phones (CMUdict, espeak-ng rules for the
rest), and a weighted edit distance (vowels and voiced/voiceless pairs cost less) scores them.
The best name replaces the words when its similarity reaches ``min_similarity``.

Ordinary English elsewhere is never touched: ``benchmarks/dictation.py`` counts the replacements
made on the PriMock57 consultation transcripts (doctor and patient talk, no dictated orders).

>>> fill_drug_slots("Start search rely in 50 mg once daily.").text        # doctest: +SKIP
'Start sertraline 50 mg once daily.'
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from core.clinical.medications import MedicationLexicon, default_lexicon
from core.clinical.repair import Repair, RepairResult
from core.text.sounds_like import SoundIndex, phones_of, sound_index
from core.text.tokens import tokens

# words after which a drug is named ("start her on ...": "her" and "on" are skipped)
SLOT_VERBS = {"start", "started", "starting", "continue", "continued", "continuing", "increase", "increased",
              "reduce", "reduced", "decrease", "decreased", "give", "given", "stop", "stopped", "prescribe",
              "prescribed", "restart", "restarted", "commence", "commenced", "add", "added", "switch", "switched",
              "resume", "resumed", "hold", "held", "titrate", "taper", "recommend", "recommended"}
SKIPPED_AFTER_VERB = {"on", "her", "him", "them", "the", "patient", "to", "with", "a", "trial", "of", "back",
                      "up", "down", "regular", "oral", "iv", "topical", "inhaled"}
# what ends a slot: a dose, a route or frequency word, a clause word
SLOT_END = {"by", "orally", "mg", "mcg", "g", "ml", "units", "unit", "tablet", "tablets", "capsule", "capsules",
            "puffs", "puff", "drops", "once", "twice", "daily", "nightly", "at", "every", "as", "for", "and", "or",
            "but", "because", "if", "then", "which", "that", "since", "until", "when", "she", "he", "they", "we",
            "i", "is", "was", "has", "have", "had", "will", "would", "should", "can", "not", "no", "intravenously",
            "subcutaneously", "topically", "inhaled", "per", "from", "today", "tomorrow", "instead"}
DOSE_AFTER = {"mg", "mcg", "g", "ml", "units", "unit", "tablet", "tablets", "capsule", "capsules", "puffs", "puff",
              "drops", "drop", "micrograms", "milligrams", "grams"}
MAX_SLOT_WORDS = 4
SHORT_PHONES, SHORT_SIMILARITY = 7, 0.8  # fewer phones than this need this similarity (lexicon search)
UNCOVERED_COST = 0.05  # a slot word left outside the matched name lowers the match by this much
CLAUSE_ENDS = {".", ";", ":", "?", "!"}


@dataclass(frozen=True)
class SlotMatch:
    start: int  # character offsets of the replaced words
    end: int
    said: str
    name: str
    similarity: float


@lru_cache(maxsize=4)
def lexicon_sound_index(lexicon: MedicationLexicon | None = None) -> SoundIndex:
    """Generic (ingredient) names only: prescriptions are dictated by generic name, and the lexicon's
    3,914 brands include many obscure ones that ordinary words happen to sound like ("Oralone");
    brands a clinician does use come in through their vocabulary."""
    lex = lexicon or default_lexicon()
    return SoundIndex([m.name for m in lex.by_lower.values() if m.kind == "ingredient"])


def _slots(words: list["_Word"]) -> list[tuple[int, int]]:
    """(first, last + 1) word indices of each drug slot: the 1-4 words right before a number and a
    dose unit ("... 50 mg"), back to a slot verb (skipping "her on") or a clause boundary."""
    out = []
    lowered = [w.text.lower() for w in words]
    for i, w in enumerate(lowered):
        if not (w[0].isdigit() and i + 1 < len(words) and lowered[i + 1] in DOSE_AFTER):
            continue
        a = i
        while a > 0 and i - a < MAX_SLOT_WORDS and not words[a - 1].end_of_clause:
            prev = lowered[a - 1]
            if prev in SLOT_END or prev in SLOT_VERBS or prev[0].isdigit():
                break
            a -= 1
        while a < i and lowered[a] in SKIPPED_AFTER_VERB:
            a += 1
        if i > a:
            out.append((a, i))
    return out


@dataclass(frozen=True)
class _Word:
    text: str
    start: int
    end: int
    end_of_clause: bool  # a full stop, colon, semicolon or line break follows it (recognisers scatter commas)


def _words(text: str) -> list[_Word]:
    """Words and numbers, each knowing whether a clause ends right after it (one pass)."""
    out: list[_Word] = []
    for t in tokens(text, spaces=True):
        if t.kind in ("word", "number"):
            out.append(_Word(t.text, t.start, t.end, False))
        elif out and t.kind != "space" and not out[-1].end_of_clause and (t.text in CLAUSE_ENDS or "\n" in t.text):
            out[-1] = _Word(out[-1].text, out[-1].start, out[-1].end, True)
    return out


def fill_drug_slots(text: str, *, lexicon: MedicationLexicon | None = None, vocabulary: list[str] | tuple = (),
                    min_similarity: float = 0.72, min_vocabulary_similarity: float = 0.62) -> RepairResult:
    """Replace the best-sounding run of words in each drug slot that holds no drug yet. The
    clinician's ``vocabulary`` is searched first (and trusted from a lower similarity)."""
    lex = lexicon or default_lexicon()
    words = _words(text)
    custom = [v for v in vocabulary if v.strip()]
    known = {c.lower() for c in custom}
    custom_index = sound_index(tuple(custom)) if custom else None
    index = lexicon_sound_index(lexicon)
    matches: list[SlotMatch] = []
    for a, b in _slots(words):  # slots never overlap: each ends at its own dose
        if any(lex.lookup(w.text) or w.text.lower() in known for w in words[a:b]):
            continue  # already names a drug
        best = None
        for i in range(b - 1, max(a, b - MAX_SLOT_WORDS) - 1, -1):  # the name ends where the dose begins
            said = [w.text for w in words[i:b]]
            if b - i == 1 and len(said[0]) < 4:
                continue
            ph = phones_of(said)
            if len(ph) < 4:
                continue
            found = custom_index.closest(ph, min_vocabulary_similarity) if custom_index is not None else None
            # a short sound has many near neighbours among thousands of names: ask more of it
            found = found or index.closest(ph, max(min_similarity, SHORT_SIMILARITY) if len(ph) < SHORT_PHONES
                                           else min_similarity)
            if found:
                # the slot's words are expected to be the name: each one left outside costs a little
                fit = found[1] - UNCOVERED_COST * (i - a)
                if best is None or fit >= best[4]:
                    best = (i, b, found[1], found[0], fit)
        if best is None:
            continue
        i, j, score, name, _ = best
        said = text[words[i].start:words[j - 1].end]
        if said.lower() != name.lower():
            matches.append(SlotMatch(words[i].start, words[j - 1].end, said, name, round(score, 3)))
    out, cursor = [], 0
    for m in matches:  # in text order: slots are found left to right
        out += [text[cursor:m.start], m.name]
        cursor = m.end
    out.append(text[cursor:])
    return RepairResult("".join(out), tuple(Repair(m.said, m.name, m.similarity) for m in matches))


def sounds_like_drugs(text: str, *, per_span: int = 3, min_similarity: float = 0.55, limit: int = 30,
                      lexicon: MedicationLexicon | None = None) -> list[str]:
    """Generic drug names that something in a first transcript may have been: the words of each
    drug slot, the words after a slot verb, and every word that is not English (a recogniser's
    attempt at a name it does not know: "melixicum", "Torsamide"), each compared by sound with the
    whole lexicon. Best first, at most ``limit``; meant as a recogniser's prompt for a second pass,
    where the audio decides (nothing here is written into the text)."""
    from core.clinical.medications import is_english_word

    lex = lexicon or default_lexicon()
    index = lexicon_sound_index(lexicon)
    words = _words(text)
    lowered = [w.text.lower() for w in words]
    spans: set[tuple[int, int]] = set()
    for a, b in _slots(words):
        spans |= {(i, b) for i in range(a, b)}
    for i, w in enumerate(lowered):
        if w in SLOT_VERBS:  # "restart <name> ...": the next 1-3 words, up to a clause end or a dose word
            j = i + 1
            while j < len(words) and lowered[j] in SKIPPED_AFTER_VERB:
                j += 1
            for k in range(j + 1, min(j + 3, len(words)) + 1):
                if lowered[k - 1] in SLOT_END or lowered[k - 1][0].isdigit():
                    break
                spans.add((j, k))
                if words[k - 1].end_of_clause:
                    break
        elif len(w) >= 4 and w.isalpha() and not is_english_word(w) and not lex.lookup(w):
            spans |= {(i, i + 1), (max(0, i - 1), i + 1), (i, min(len(words), i + 2))}
    best: dict[str, float] = {}
    for a, b in spans:
        if any(lex.lookup(w.text) for w in words[a:b]):
            continue  # already names a drug
        ph = phones_of([w.text for w in words[a:b]])
        if len(ph) < 4:
            continue
        sims = index.similarities(ph)
        for name in sorted(sims, key=sims.get, reverse=True)[:per_span]:
            if sims[name] >= min_similarity and sims[name] > best.get(name, 0.0):
                best[name] = sims[name]
    return sorted(best, key=best.get, reverse=True)[:limit]
