"""Word miscues against the prompt: omitted, inserted, repeated and substituted words.

Omission and substitution come from the per-word evidence (a word whose removal makes the
recording likelier was not said; a word whose phones nearly all lose to other phones was another
word). Omissions are decided one at a time: the most clearly missing word is removed and the rest
scored again, so a missing word does not drag its neighbours down with it. Insertions come from the free phone recognition aligned to the expected phones:
a run of extra phones with a vowel between two words is a word the prompt does not have, and a
repetition when it sounds like its neighbour.
"""
from __future__ import annotations

from dataclasses import dataclass

from core.asr.ctc import edit_distance
from core.pronunciation.gop import PronunciationEvidence, evaluate_pronunciation, sequence_nll
from core.pronunciation.phones import VOWELS
from core.pronunciation.recognizer import Posteriors

# Thresholds set on the first 300 speechocean762 train utterances (planted errors vs the readers'
# own words); benchmarks/pronunciation.py measures them on later speakers.
OMITTED_LLR = -8.0  # word vs nothing: below this the recording is likelier without the word (real words: 1% below)
SUBSTITUTED_SHARE = 0.5  # at least this share of a word's phones heard as other phones ...
SUBSTITUTED_LPR = -7.0  # ... with mean log-likelihood ratio below this: another word was said (-5: more
#   neighbours of an extra or replaced word were called substituted; -7 traded 1 point of recall for 5 of precision)
INSERTED_MIN_PHONES = 2  # extra phones (one a vowel at least) between words that make an inserted word
INSERTED_LLR = 4.0  # ... or fewer, when adding them to the prompt gains this much log-likelihood
MISPRONOUNCED_LPR = -2.0  # a phone heard as another one that beats it by this much is flagged


@dataclass(frozen=True)
class Insertion:
    after: int  # index of the prompt word it follows (-1: before the first word)
    phones: tuple[str, ...]  # what was heard
    repeats: int | None  # index of the neighbouring word it repeats, if it sounds like one


def _align(ref: list[str], hyp: list[str]) -> list[tuple[int | None, int | None]]:
    """Levenshtein alignment pairs (ref index or None, hyp index or None)."""
    n, m = len(ref), len(hyp)
    d = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        d[i][0] = i
    for j in range(m + 1):
        d[0][j] = j
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (ref[i - 1] != hyp[j - 1]))
    pairs, i, j = [], n, m
    while i or j:
        if i and j and d[i][j] == d[i - 1][j - 1] + (ref[i - 1] != hyp[j - 1]):
            pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif j and d[i][j] == d[i][j - 1] + 1:
            pairs.append((None, j - 1))
            j -= 1
        else:
            pairs.append((i - 1, None))
            i -= 1
    return pairs[::-1]


def insertions(ev: PronunciationEvidence, post: Posteriors | None = None) -> list[Insertion]:
    """Extra words heard between (or around) the prompt's words. With the posteriors, a short run
    (one vowel: "a", "oh") counts too when putting it into the prompt makes the recording clearly
    likelier (``INSERTED_LLR``)."""
    ref, word_of = [], []
    for w_i, w in enumerate(ev.words):
        for p in w.phones:
            ref.append(p.phone)
            word_of.append(w_i)
    hyp = list(ev.heard)
    if not ref:
        return []
    runs: dict[int, list[str]] = {}
    last_word = -1
    for r, h in _align(ref, hyp):
        if r is not None:
            last_word = word_of[r]
            continue
        runs.setdefault(last_word, []).append(hyp[h])
    found = []
    word_phones = [[p.phone for p in w.phones] for w in ev.words]
    for after, phones in sorted(runs.items()):
        if not any(p in VOWELS for p in phones):
            continue
        if len(phones) < INSERTED_MIN_PHONES and (post is None or _insertion_gain(post, word_phones, after, phones)
                                                  < INSERTED_LLR):
            continue
        repeats = None
        for k in (after, after + 1):
            if 0 <= k < len(word_phones) and word_phones[k]:
                if edit_distance(word_phones[k], phones) <= max(1, len(word_phones[k]) // 3):
                    repeats = k
                    break
        found.append(Insertion(after=after, phones=tuple(phones), repeats=repeats))
    return found


def _insertion_gain(post: Posteriors, word_phones: list[list[str]], after: int, phones: list[str]) -> float:
    """Log-likelihood gain of the prompt's phones with ``phones`` put in after word ``after``."""
    from core.pronunciation.phones import INDEX

    before = [INDEX[p] for w in word_phones[:after + 1] for p in w]
    rest = [INDEX[p] for w in word_phones[after + 1:] for p in w]
    nll = sequence_nll(post.log_probs.float(), [before + rest, before + [INDEX[p] for p in phones] + rest])
    return float(nll[0] - nll[1])


def word_error(ev: PronunciationEvidence, index: int) -> str:
    """"omitted", "substituted", "mispronounced" or "" for one prompt word."""
    w = ev.words[index]
    if not w.phones:
        return ""
    if w.omission < OMITTED_LLR:
        return "omitted"
    wrong = [p for p in w.phones if p.lpr < MISPRONOUNCED_LPR]
    mean_lpr = sum(p.lpr for p in w.phones) / len(w.phones)
    if len(w.phones) >= 2 and len(wrong) / len(w.phones) >= SUBSTITUTED_SHARE and mean_lpr < SUBSTITUTED_LPR:
        return "substituted"
    return "mispronounced" if wrong else ""


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
    ev = first or evaluate_pronunciation(post, words)
    keep = list(range(len(words)))
    omitted: list[int] = []
    while len(keep) > 1:
        missing = [(w.omission, j) for j, w in enumerate(ev.words) if w.phones and w.omission < OMITTED_LLR]
        if not missing:
            break
        omitted.append(keep.pop(min(missing)[1]))
        ev = evaluate_pronunciation(post, [words[i] for i in keep])
    errors = ["omitted" if i in omitted else "" for i in range(len(words))]
    for j, i in enumerate(keep):
        errors[i] = word_error(ev, j)
    found = [Insertion(after=keep[x.after] if x.after >= 0 else -1, phones=x.phones,
                       repeats=keep[x.repeats] if x.repeats is not None else None) for x in insertions(ev, post)]
    for i in omitted:  # a word missing where other speech was heard: another word was said in its place
        beside = [x for x in found if i - 1 <= x.after <= i]
        if beside:
            errors[i] = "substituted"
            found.remove(beside[0])
    return Miscues(errors=tuple(errors), insertions=tuple(found), said=ev, kept=tuple(keep))
