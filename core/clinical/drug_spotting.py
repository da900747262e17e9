"""Drug names the recogniser did not know, found in the audio: where a dictated order names a drug
("start ... 250 milligrams"), the phones heard there are scored against every generic name of the
medication lexicon (and the clinician's vocabulary), and against the words the recogniser wrote.

Why: for a name it has never seen, Whisper writes English that sounds a little like it
("Can you map" for canakinumab, "it's lunch it's in" for moxifloxacin), often too far for a match
on the written words (``core.clinical.drug_slots``) to recover. The audio still holds the name's
phones. The tutor's phone recogniser (``core.pronunciation``, trained on speechocean762) gives
per-frame phone posteriors, and ``core.pronunciation.spotting`` scores each candidate there
(CTC with free edges).

Where: after a drug verb ("start, continue, restart, give, prescribe, ..."; the recogniser's near
misses such as "giver" or "continuum" count) or "she takes", up to the dose, a number, a route or
frequency word, or a clause end; 1-6 words, at most ``MAX_REGION_S``. Words that already name a
drug are left alone. Nowhere else: ordinary talk is never searched.

When: the best name must explain the stretch better than the recogniser's own words by
``min_gain`` (log-likelihood, after the per-phone bonus) and better than the runner-up name by
``min_margin``. Both were chosen on the tuned dictation set (benchmarks/dictation.py); the untuned
set only measures them.

>>> spotted = spot_drug_names(transcript, audio.samples)            # doctest: +SKIP
>>> spotted.text, [(r.original, r.replacement) for r in spotted.repairs]
('Plan, colon, restart canakinumab 250 milligrams ...', [('Can you map', 'canakinumab')])
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import numpy as np

from core.asr.types import Transcript, Word
from core.audio import SAMPLE_RATE
from core.clinical.repair import Repair

log = logging.getLogger(__name__)

PHONE_MODEL = "pronunciation/phone-ctc-base.pt"  # the base encoder's phones: more exact than tiny's here
VERB_STEMS = ("start", "continu", "restart", "give", "gave", "prescri", "increas", "reduc", "decreas", "stop",
              "commenc", "titrat", "switch", "resum", "add", "hold", "taper", "recommend")
TAKES = {"takes", "take", "taking", "uses", "using"}  # "she takes <drug> at the moment"
SKIP = {"on", "her", "him", "them", "the", "patient", "to", "with", "a", "trial", "of", "back", "up", "down",
        "regular", "oral", "and", "colon", "or"}
STOP = {"by", "orally", "mg", "mcg", "g", "ml", "units", "unit", "tablet", "tablets", "capsule", "capsules", "puffs",
        "puff", "drops", "drop", "once", "twice", "daily", "nightly", "at", "every", "as", "for", "milligrams",
        "milligram", "micrograms", "grams", "gram", "intravenously", "subcutaneously", "topically", "inhaled", "per",
        "period", "today", "tomorrow", "instead", "because", "but", "if", "then", "which", "that", "since", "until",
        "when", "she", "he", "they", "we", "i", "is", "was", "has", "have", "had", "will", "would", "should",
        "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "twenty", "fifty", "hundred"}
NUMBER_WORDS = {"one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "twenty", "fifty",
                "hundred", "half"}
SHORT_STANDINS = {"for", "or", "as", "at"}
MAX_REGION_WORDS = 6
MAX_REGION_S = 2.5
EDGE_S = (0.15, 0.25)
CONTEXT_S = 0.5  # more audio on each side, encoded with the region but not searched  # seconds of audio added before and after the region's words (their times are approximate)
MIN_GAIN = -20.0
MIN_MARGIN = 8.0
MIN_GAIN_OVER_NAME = 5.0  # where the recogniser wrote a drug, a listed one must explain the audio this much better
MIN_LIST_MARGIN = 4.0  # a name of the clinician's list: ahead of their other names by this much
LIST_SLACK = 4.0  # and at most this much behind the lexicon's best


@dataclass(frozen=True)
class Spotted:
    text: str  # the transcript's text with the spotted names written in
    repairs: tuple[Repair, ...]  # recognised words -> drug name
    regions: int  # stretches searched
    considered: tuple[tuple[str, str, float, float], ...] = ()  # (words, best name, gain over them, margin)


def _plain(word: str) -> str:
    return re.sub(r"[^a-z0-9']", "", word.lower())


def _is_anchor(w: str) -> bool:
    return w in TAKES or any(w.startswith(s) for s in VERB_STEMS) and len(w) <= 12


def regions(words: Sequence[Word], is_drug) -> list[tuple[int, int, bool]]:
    """(first, last + 1, holds a drug already) word indices after each drug verb, up to a stop word,
    a number or a clause end. A lone "for" / "or" / "as" right before the dose is searched too
    ("give for 5 mg": a name heard as a short word)."""
    plain = [_plain(w.text) for w in words]
    out = []
    for i, w in enumerate(plain):
        if not _is_anchor(w):
            continue
        a = i + 1
        while a < len(words) and plain[a] in SKIP:
            a += 1
        b = a
        while b < len(words) and b - a < MAX_REGION_WORDS:
            p = plain[b]
            if not p or p in STOP or p[0].isdigit() or _is_anchor(p) and b > a:
                break
            if words[b].end - words[a].start > MAX_REGION_S:
                break
            b += 1
            if words[b - 1].text.rstrip().endswith((".", "?", "!", ";", ":")):
                break
        if b == a and a + 1 < len(words) and plain[a] in SHORT_STANDINS and _is_number(plain[a + 1]):
            b = a + 1
        if b > a:
            out.append((a, b, any(is_drug(x) for x in plain[a:b])))
    return out


def _is_number(w: str) -> bool:
    return bool(w) and (w[0].isdigit() or w in NUMBER_WORDS)


class DrugSpotter:
    """The phone recogniser + every candidate's phones, loaded once."""

    def __init__(self, recognizer=None, names: Sequence[str] | None = None):
        from core.clinical.drug_slots import lexicon_sound_index
        from core.model_resolver import project_artifact
        from core.pronunciation.recognizer import default_recognizer

        self.rec = recognizer or default_recognizer(str(project_artifact(PHONE_MODEL)))
        self.ids = {p: i for i, p in enumerate(self.rec.vocab)}
        pool = names if names is not None else sorted(
            n for bucket in lexicon_sound_index().names.values() for n in bucket)
        self.names, self.targets = self._targets(pool)

    def _phones(self, words: Sequence[str]) -> list[int]:
        from core.text.sounds_like import phones_of

        return [self.ids[p] for p in phones_of(words) if p in self.ids]

    def _targets(self, names: Sequence[str]) -> tuple[list[str], list[list[int]]]:
        kept = [(n, self._phones(re.split(r"[ \-]", n))) for n in names]
        kept = [(n, t) for n, t in kept if len(t) >= 3]
        return [n for n, _ in kept], [t for _, t in kept]

    def spot(self, transcript: Transcript, samples: np.ndarray, vocabulary: Sequence[str] = (),
             min_gain: float = MIN_GAIN, min_margin: float = MIN_MARGIN) -> Spotted:
        from core.clinical.medications import default_lexicon
        from core.pronunciation.spotting import spot_costs

        words = transcript.words
        text = transcript.text
        if not words:
            return Spotted(text, (), 0)
        lex = default_lexicon()
        known = {v.lower() for v in vocabulary}
        found = regions(words, lambda w: bool(lex.lookup(w)) or w in known)
        if not found:
            return Spotted(text, (), 0)
        samples = np.asarray(samples, dtype=np.float32)
        extra_names, extra_targets = self._targets([v for v in vocabulary if v.strip() and v.lower() not in
                                                    {n.lower() for n in self.names}])
        names, targets = self.names + extra_names, self.targets + extra_targets
        listed = np.array([n.lower() in known for n in names])  # the clinician's own names
        replaced: list[tuple[int, int, str, float]] = []
        considered = []
        for a, b, named in found:
            # the phones of the region and a little context, encoded on their own (cheap: seconds, not the file)
            t0, t1 = max(0.0, words[a].start - EDGE_S[0]), words[b - 1].end + EDGE_S[1]
            c0 = max(0.0, t0 - CONTEXT_S)
            piece = samples[int(c0 * SAMPLE_RATE):int((t1 + CONTEXT_S) * SAMPLE_RATE)]
            if len(piece) < SAMPLE_RATE // 10:
                continue
            post = self.rec(piece)
            f0 = int(round((t0 - c0) * 50))
            f1 = min(post.log_probs.shape[0], int(round((t1 - c0) * 50)) + 1)
            if f1 - f0 < 5:
                continue
            heard = self._phones([_plain(w.text) for w in words[a:b]])
            costs = spot_costs(post.log_probs[f0:f1], targets + ([heard] if heard else []))
            own = float(costs[-1]) if heard else float("inf")
            drug_costs = costs[:len(targets)]
            order = np.argsort(drug_costs)
            best, second = float(drug_costs[order[0]]), float(drug_costs[order[1]])
            gain, margin = round(min(own - best, 99.0), 2), round(second - best, 2)
            floor = max(min_gain, MIN_GAIN_OVER_NAME) if named else min_gain
            # a drug the recogniser wrote stays, unless a name of the clinician's list (below) fits
            # much better and the written one is not theirs
            pick = order[0] if not named and gain >= floor and margin >= min_margin else None
            if listed.any() and not (named and any(_plain(w.text) in known for w in words[a:b])):
                # the clinician's list is searched on its own too: a name of theirs needs to stand out
                # only among their names, and to sound nearly as good as the best of the lexicon
                mine = np.flatnonzero(listed)
                mine = mine[np.argsort(drug_costs[mine])]
                v_best = float(drug_costs[mine[0]])
                v_margin = float(drug_costs[mine[1]]) - v_best if len(mine) > 1 else 99.0
                if own - v_best >= floor and v_margin >= MIN_LIST_MARGIN and v_best <= best + LIST_SLACK:
                    pick, margin, gain = mine[0], round(min(v_margin, 99.0), 2), round(min(own - v_best, 99.0), 2)
            considered.append((" ".join(w.text.strip() for w in words[a:b]),
                               names[order[0] if pick is None else pick], gain, margin))
            if pick is not None and names[pick].lower() in {_plain(w.text) for w in words[a:b]}:
                pick = None  # the recogniser's own name
            if pick is not None:
                replaced.append((a, b, names[pick], margin))
        if not replaced:
            return Spotted(text, (), len(found), tuple(considered))
        out = [w.text.strip() for w in words]
        repairs = []
        for a, b, name, margin in reversed(replaced):
            said = " ".join(out[a:b])
            tail = re.search(r"[.,;:!?]+$", out[b - 1])
            out[a:b] = [name + (tail.group(0) if tail else "")]
            # "similarity" for the page: how far the name stood out (0.63 at the threshold of 8)
            repairs.append(Repair(re.sub(r"[.,;:!?]+$", "", said), name, round(1 - float(np.exp(-margin / 8)), 3)))
        return Spotted(" ".join(out), tuple(reversed(repairs)), len(found), tuple(considered))


@lru_cache(maxsize=1)
def default_spotter() -> DrugSpotter:
    return DrugSpotter()


def spot_drug_names(transcript: Transcript, samples: np.ndarray, vocabulary: Sequence[str] = ()) -> Spotted:
    """The transcript with the drug names spotted in its audio written in (see the module doc).
    Any failure keeps the recogniser's text (logged)."""
    try:
        return default_spotter().spot(transcript, samples, vocabulary)
    except Exception:
        log.exception("drug-name spotting failed; the recogniser's text is kept")
        return Spotted(transcript.text, (), 0)
