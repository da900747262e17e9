"""Word miscues against the prompt: omitted, inserted, repeated and substituted words.

One decision for the whole reading: the best path of the recording through the prompt's words,
where any word may be skipped and extra speech may sit in the gaps between them
(``core.pronunciation.reading_path``). A skipped word with extra speech beside it was replaced
by another word (substituted); a skipped word alone was omitted; extra speech with a vowel in a
gap is an inserted word, a repetition when it sounds like its neighbour. The words the reader
said are then scored on their own (omitted words out of the way). (Calling a said word whose
phones nearly all lose to other phones "substituted" as well cost 7 points of precision for no
recall: the path already weighed that word against another one.)

Measured on planted miscues (benchmarks/pronunciation.py): the per-word evidence used before this
(omission likelihood ratios, then insertions from the free phone recognition) found 0.886 of them
at 0.852 precision; the joint path finds 0.94 at 0.93 on the calibration speakers.
"""
from __future__ import annotations

from dataclasses import dataclass

from core.asr.ctc import edit_distance
from core.pronunciation.gop import PronunciationEvidence, evaluate_pronunciation
from core.pronunciation.phones import INDEX, VOWELS, stress_free
from core.pronunciation.reading_path import ReadingPath, decode_reading
from core.pronunciation.recognizer import Posteriors

# The path's costs (reading_path.py) were set on the first 300 speechocean762 train utterances with
# planted miscues; benchmarks/pronunciation.py measures them on later speakers.
MISPRONOUNCED_LPR = -2.0  # a phone heard as another one that beats it by this much is flagged


@dataclass(frozen=True)
class Insertion:
    after: int  # index of the prompt word it follows (-1: before the first word)
    phones: tuple[str, ...]  # what was heard
    repeats: int | None  # index of the neighbouring word it repeats, if it sounds like one


def _is_word(phones: tuple[str, ...]) -> bool:
    """Extra speech that makes a word: at least one vowel."""
    return any(p in VOWELS for p in phones)


def _repeats(phones: tuple[str, ...], word_phones: list[list[str]], after: int) -> int | None:
    """Index of the neighbouring prompt word that ``phones`` sounds like, if any."""
    for k in (after, after + 1):
        if 0 <= k < len(word_phones) and word_phones[k]:
            if edit_distance(word_phones[k], list(phones)) <= max(1, len(word_phones[k]) // 3):
                return k
    return None


def word_error(ev: PronunciationEvidence, index: int) -> str:
    """"mispronounced" or "" for one word the reader said."""
    return "mispronounced" if any(p.lpr < MISPRONOUNCED_LPR for p in ev.words[index].phones) else ""


@dataclass(frozen=True)
class Miscues:
    errors: tuple[str, ...]  # per prompt word: "", "mispronounced", "substituted" or "omitted"
    insertions: tuple[Insertion, ...]  # ``after`` and ``repeats`` index the prompt's words
    said: PronunciationEvidence  # evidence of the words not omitted (indexed by ``kept``)
    kept: tuple[int, ...]  # prompt index of each word in ``said``


def find_miscues(post: Posteriors, words: list[tuple[str, list[str]]],
                 first: PronunciationEvidence | None = None) -> Miscues:
    """Word miscues of a reading of ``words`` (display text, phones); ``first`` is the evidence
    of the whole prompt when the caller has it already."""
    word_phones = [[stress_free(p) for p in ph] for _, ph in words]
    path: ReadingPath = decode_reading(post.log_probs, [[INDEX[p] for p in ph] for ph in word_phones])
    gaps = [g if _is_word(g) else () for g in path.gaps]  # gap g lies before word g
    errors = ["" for _ in words]
    for i, said in enumerate(path.said):
        if said:
            continue
        beside = next((g for g in (i, i + 1) if gaps[g]), None)
        errors[i] = "omitted" if beside is None else "substituted"
        if beside is not None:  # the extra speech was the word said in its place
            gaps[beside] = ()
    keep = [i for i, said in enumerate(path.said) if said]
    ev = first if first is not None and len(keep) == len(words) else evaluate_pronunciation(
        post, [words[i] for i in keep])
    for j, i in enumerate(keep):
        errors[i] = word_error(ev, j)
    found = tuple(Insertion(after=g - 1, phones=phones, repeats=_repeats(phones, word_phones, g - 1))
                  for g, phones in enumerate(gaps) if phones)
    return Miscues(errors=tuple(errors), insertions=found, said=ev, kept=tuple(keep))
