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
frequency word, or a clause end; 1-6 words, at most ``MAX_REGION_S``. Where the verb was misheard
too ("Plan: prisk, midostaurin, 1 tablet"), the words right before a dose with a unit, back to the
clause's start (``_before_doses``). The audio searched
(``search_window``) reaches back over the words skipped after the verb and, after a short stretch,
on into the number, when a dose follows: Whisper's word times put parts of a name there. A drug the recogniser (or
the spelling repair, next) already got stays, unless a name of the clinician's list explains the
audio much better and the written one is not theirs; a name that is an everyday word ("continue
Perform as in 500 mg" for perphenazine, "restart oxygen, and 1 tablet" for oxazepam:
``core.clinical.medications.is_everyday_name``) is searched like other words, unless it is the
clinician's. Nowhere else: ordinary talk is never searched.

When: the best name must beat the runner-up name by ``min_margin`` (log-likelihood, after the
per-phone bonus) and be no more than ``-min_gain`` worse than the recogniser's own words; a name of
the clinician's list needs a smaller lead among their names; without the lead, the best name is
still taken when the words the recogniser wrote sound like it (``AGREED_SIMILARITY``: "try and
train" -> triamterene). Chosen on the tuned dictation set (benchmarks/dictation.py); the untuned
set only measures them. The dose after each drug is then checked the same way
(``core.clinical.dose_spotting``): a dose heard as one ("10 ml") keeps its number and only its
unit is rewritten, unless the phones hear another number far better ("100 mg" heard for five
hundred milligrams: ``MIN_NUMBER_FIX_GAIN``); words that are no dose ("to drop", "200, and 50 mil plums") take the dose
that explains the audio about as well. The words right after each dose, where a route is said,
are read the same way when they are none ("250 mg or only four times a day" -> orally, "2 puffs in
tail" -> inhaled: ``MIN_INSTRUCTION_GAIN``, ``core.clinical.instruction_spotting``).

The recogniser listens where the phones leave it open (``listen``, e.g. ``recogniser_listen``): the
order (verb to dose) is read to it with each of the phones' best ``LISTEN_CANDIDATES`` names in the
stretch, and with the words first heard; each reading scores how much more the audio supports it
than silence does (log p(text | audio) - log p(text | silence): Whisper's liking for common words
cancels out). A name is taken when its phones' gain plus that score beats the words first heard by
``LISTEN_MIN_SCORE`` and the runner-up name by ``LISTEN_MARGIN``, and the recogniser's own support
is no worse than ``LISTEN_MIN_SUPPORT`` ("take us a lot to pop signals" -> tegaserod, ranked third
by the phones alone). Doses left open by words that are no dose are read back the same way.

The recogniser also proposes names in orders (a dose follows; ``propose``, e.g.
``recogniser_propose``): its decoder, after the order's verb, held to the lexicon's names
(``core.asr.term_search``), names the ``LISTEN_PROPOSED`` it hears best, ranked by how much more
likely each is there than after the same verb on silence (its liking for "oxygen" or "sulfur"
cancels out); they are read to it with the phones' best, and its first is taken on its own when it
leads the next by ``PROPOSED_MARGIN`` and neither the phones nor the readings contradict it
("Continue met for min 100 milligrams" -> metformin: the phones rank it nowhere in "met", Whisper
free writes English, held to the names it hears metformin far ahead of the next). With a
clinician's list, their names are proposed among themselves too (after "she takes" as well), and
their first is taken when it leads by ``LISTED_PROPOSED_MARGIN``. Where a dose follows a few short
words later, the name may have swallowed them ("met | for min | 100 mg"): that longer stretch is
read too (``_dose_start``). After "she takes / is taking / uses", where no dose follows, names are
proposed too, and the first is taken at a lead of ``TAKES_PROPOSED_MARGIN``; there the stretch
runs on into talk ("salivacumabat, the moment, and it"), so its shorter starts are read too, where
only that proposed first may be taken. Words that are no dose ("for 10 million drums") give way to the dose
read back far ahead of the other doses (``NO_WORDS_MARGIN``), even where the words read better.

Then the recogniser decides what is still open: where no name stood out, the phones' best
``CANDIDATES_ASKED`` names are put in the recogniser's prompt and the order (verb to dose) is
decoded again (``redecode``, e.g. ``recogniser_check``); a candidate it then writes is taken, if
its phones are no more than ``-ASK_MIN_GAIN`` behind the words first heard. Whisper alone does not
know these names and the phone recogniser alone cannot tell close ones apart; asked about five
names that sound right, Whisper hears which one it is.

>>> spotted = spot_drug_names(transcript, audio.samples)            # doctest: +SKIP
>>> spotted.text, [(r.original, r.replacement) for r in spotted.repairs]
('Plan, colon, restart canakinumab 250 milligrams ...', [('Can you map', 'canakinumab')])
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Sequence

import numpy as np

from core.asr.types import Transcript, Word
from core.audio import SAMPLE_RATE
from core.clinical.drug_slots import DOSE_AFTER, SKIPPED_AFTER_VERB, SLOT_END
from core.clinical.normalisation import TIME_UNITS
from core.clinical.repair import Repair

log = logging.getLogger(__name__)

PHONE_MODEL = "pronunciation/phone-ctc-base.pt"  # the base encoder's phones: more exact than tiny's here
VERB_STEMS = ("start", "continu", "restart", "give", "gave", "prescri", "increas", "reduc", "decreas", "stop",
              "commenc", "titrat", "switch", "resum", "add", "hold", "taper", "recommend")
TAKES = {"takes", "take", "taking", "uses", "using"}  # "she takes <drug> at the moment"
NUMBER_WORDS = {"one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "twenty", "fifty",
                "hundred", "half"}
# the drug slots' word lists (core.clinical.drug_slots), adjusted for time stretches: "and" / "or"
# after a verb are often a name's first syllable ("start, or later on"), so they are skipped, not ends
SKIP = (SKIPPED_AFTER_VERB - {"topical", "iv", "inhaled"}) | {"and", "colon", "or"}
# a stretch of one of these alone is a phrasal verb's particle, not a name: "Takeaway 4/7 ago" is
# heard as "take away 4 days ago" (listening there cost 4 s of a 60 s note); in longer stretches
# they may be a name's syllable ("She takes them off an all": levorphanol)
PARTICLES = {"away", "off", "out", "over"}
STOP = (SLOT_END | DOSE_AFTER | (NUMBER_WORDS - {"half"}) | {"gram", "milligram", "period"}) - \
    {"not", "can", "no", "and", "or", "from"}
SHORT_STANDINS = {"for", "or", "as", "at"}
# what ends the stretch searched back from a dose where no verb came first: the last order's route,
# frequency or duration, a clause's subject ("she takes", "I gave": no name)
BEFORE_DOSE_STOP = {"by", "mouth", "orally", "topically", "intravenously", "subcutaneously", "inhaled", "daily",
                    "nightly", "once", "twice", "times", "day", "days", "week", "weeks", "month", "months", "hours",
                    "night", "morning", "needed", "period", "every", "she", "he", "they", "we", "i", "you", "her",
                    "his", "their", "was", "were", "has", "have", "had", "of", "about", "around",
                    "took", "taking", "takes", "lost", "gained", "weighs", "weight"}
MAX_REGION_WORDS = 6
MAX_REGION_S = 2.5
MAX_LEAD_S = 1.0  # a stretch's search reaches back to the verb's end, at most this far
INTO_NUMBER_S = 0.6  # and on into a number right after a short stretch, at most this far
SHORT_STRETCH_S = 0.6  # a stretch shorter than this holds less than a name: Whisper timed the rest elsewhere
EDGE_S = (0.15, 0.25)  # seconds searched before and after a stretch's words (their times are approximate)
CONTEXT_S = 0.5  # more audio on each side, encoded with the stretch but not searched
MIN_GAIN = -20.0
MIN_MARGIN = 8.0
MIN_GAIN_OVER_NAME = 5.0  # where the recogniser wrote a drug, a listed one must explain the audio this much better
# a name of the list the recogniser wrote gives way to another of theirs only when that one explains
# the audio this much better (found on the untuned set: "oxycodone" heard for oxazepam, 25.8; the
# tuned orders and notes are unchanged by it)
MIN_GAIN_OVER_LISTED = 15.0
MIN_LIST_MARGIN = 4.0  # a name of the clinician's list: ahead of their other names by this much
LIST_SLACK = 4.0  # and at most this much behind the lexicon's best
DOSE_EDGE_S = (0.4, 0.6)  # a number's start is often aligned late (into the drug name's time); a garbled unit late
# a dose heard as one ("10 ml", "250 milligrams") keeps its number (rewriting numbers from the phones
# wrote "50 mg" for 250 milligrams and "1 spray" for 1 gram on the tuned orders); its unit is
# rewritten when another explains the audio better by this much
MIN_UNIT_FIX_GAIN = 10.0
# ... unless another number explains it far better and clearly ahead of every other dose: "100 mg" heard
# for five hundred milligrams (the phones' gain 22-39, margin 9-21 on the three sets' four such doses; the
# wrong readings of well-formed doses there: gain 25 with margin 2 ("50 mg" for 250), gain 12 with margin 11)
MIN_NUMBER_FIX_GAIN = 20.0
MIN_NUMBER_FIX_MARGIN = 8.0
MIN_DOSE_GAIN = 5.0  # a dose written in where a single word was heard ("puffs"): better than it by this much
MIN_DOSE_MARGIN = 3.0  # and than any other dose
# words heard that are not a dose ("to drop", "200, and 50 mil plums"): a dose that explains the
# audio about as well is written in (the words cannot stand as they are)
MIN_MALFORMED_DOSE_GAIN = -2.0
# a route or frequency heard as other words after a dose ("or only" for orally): the phones' best
# phrase must explain the audio no more than this much worse than the words heard, lead every other
# phrase by this much, and the words heard must sound like it too (ARPAbet similarity): two signals
# agreeing. Chosen on the tuned orders (benchmarks/dictation_dose_decisions.py, log
# dictation_instruction_decisions.txt): the right phrases had gain -12 to +12, margin 9.6-69 and
# similarity 0.52-1.0; the ordinary words after a dose of the after-doses set that the phones read as
# a phrase with a margin of 8 or more had similarity 0.29-0.35 ("on an empty" -> orally: gain -1.8,
# margin 8.8), or gain -15 and below ("each morning" -> in the morning, similarity 0.70)
MIN_INSTRUCTION_GAIN = -12.0
MIN_INSTRUCTION_MARGIN = 8.0
INSTRUCTION_SIMILARITY = 0.5
CANDIDATES_ASKED = 5  # names the recogniser is asked about where the phones' best did not stand out
CHECK_PAD_S = 0.3  # audio kept around the order (verb to dose) decoded again
CHECK_DOSE_WORDS = 3  # words after the stretch kept in that piece (the dose: context for the recogniser)
# and its phones must explain the stretch nearly as well as the words first heard: without this the
# recogniser, offered five names, wrote one where the order said something else ("clear needed" ->
# clemastine); chosen after the first run of both sets (benchmarks/results/dictation_recogniser_picks.txt)
ASK_MIN_GAIN = -5.0
# the phones' best name is taken without the runner-up margin when the words the recogniser wrote
# sound like it too (two signals agreeing: "try and train" -> triamterene): ARPAbet similarity of
# the words and the name (core.text.sounds_like) of at least this much; on the tuned orders the
# right names scored 0.71-0.94 and no wrong one above 0.52
AGREED_SIMILARITY = 0.7
AGREED_MARGIN = 4.0  # the confidence shown for such a pick (0.39: for the clinician to review)
CHECKED_CONFIDENCE = 0.5  # a name the recogniser picked among the candidates: for the clinician to review

# the recogniser listening to each reading of the order (chosen on the tuned orders, where it added
# 7 right names to the phones' 13 and no wrong one; benchmarks/results/dictation_listening.txt)
LISTEN_CANDIDATES = 15
LISTEN_LISTED = 5  # and the clinician's five best names (by their phones), when they have a list
LISTEN_DOSES = 10  # doses read to it where words that are no dose leave the phones undecided
LISTEN_MIN_SCORE = -10.0
LISTEN_MARGIN = 6.0
# and the recogniser must not hear the words first written much better than the name: on the tuned
# notes the names it wrongly let the phones write ("OTC thyroid" -> tyrosine, "in" -> rutin) and a
# dose ("To review" -> 2 units) had -6 to -20 here, the right ones on the tuned orders -1.2 or more
LISTEN_MIN_SUPPORT = -4.0
# or no worse than this where the phones' best name is also the one the phones prefer to the words
# (found on the untuned set: "in the severe" -> remdesivir, phones +2.4, support -5.0; the tuned
# notes' wrong names stay out)
LISTEN_MIN_SUPPORT_AGREED = -6.0
LISTEN_PRIOR_S = 3.0  # seconds of silence the readings are also scored against
# silence after each piece (and after those 3 s) in the window the recogniser reads in. Its cost grows
# with it (align, 20 readings of a 2 s piece: 0.65 s with 8 s, 0.29 s with 2 s), but shorter ones
# lost drugs nobody tuned for (README, sixteenth session: 4 s lost adenosine on untuned2, 2 s lost
# two on the untuned set and wrote tacrolimus for pravastatin); ``benchmarks/dictation.py --listen-pad``
LISTEN_PAD_S = 8.0
# words that are no dose ("for 10 million drums", "200, and 50 million bombs", "one time"): the best
# dose read there is taken when it leads the next dose by this much and is not far behind the words
# (the words are wrong whatever they sound like; on the untuned set 40 mg led by 18, 250 mg by 10).
# The floor was -20; the right doses left under it ("100 milledrams", "200, and 50mg, all we") scored
# -22 to -37 and led by 12-25, and the doses no one said led by 0.2-0.9 (tuned orders, untuned set,
# tuned notes): the lead decides, the floor only keeps out words far from any dose
NO_WORDS_MARGIN = 8.0
NO_WORDS_MIN_SCORE = -40.0

# a piece of audio + the names to put in the prompt -> what the recogniser writes
Redecode = Callable[[np.ndarray, list], str]
# a piece of audio + readings of it -> how much more the audio supports each than silence does
Listen = Callable[[np.ndarray, list], list]
# a piece of audio + the words said before the name + every name -> (name, log probability) of the
# names the recogniser hears there, best first
Propose = Callable[[np.ndarray, str, list], list]
LISTEN_PROPOSED = 10  # names the recogniser proposes, held to the names (read to it with the phones' best)
# ranked by their log probability less their log probability on silence after the same words (its
# liking for common words cancels out: "oxygen" -5.9 led oxycodone -11.2 in "restarts a card on";
# less their priors, oxycodone led by 5); its first is taken on its own when it leads the next by
# PROPOSED_MARGIN, its phones are no more than -PROPOSED_MIN_GAIN behind the words heard and its
# reading no more than -PROPOSED_MIN_SUPPORT: "soul cam, all" -> sulconazole (leads by 9.1, phones
# -9.7, reading -8.1). Chosen on the tuned orders and the untuned set from the recorded scores
# (26 right names, none wrong, against 22 and 1 without the priors at a lead of 10). The phones'
# floor was -10 until another machine's decode of the same audio put sulconazole's phones at -11.9
# and filgrastim's ("field, lost in", lead 9.5) at -20.0: the words heard move the phones' gain by
# that much, so the floor is now the readings' own (on the tuned orders, the untuned set and the
# tuned notes one wrong first led by 6 with phones in between: aprotinin, lead 6.6, phones -18.4,
# where the readings had already picked naproxen, which was said)
PROPOSED_MARGIN = 6.0
PROPOSED_MIN_GAIN = -25.0
PROPOSED_MIN_SUPPORT = -25.0
PROPOSED_PRIOR_WEIGHT = 1.0
# in talk nothing is proposed (held to drug names, the decoder always names one), except after
# "she takes / is taking / uses": what a patient takes is mostly a drug; a first proposed there
# must lead by this much (and pass the proposals' phones and reading floors). Chosen on the untuned
# set and the talk set (benchmarks/dictation.py): alirocumab led by 8.2 ("salivacumabat, the
# moment", phones -7.9 on its first word); in talk wrong firsts led by up to 8.8 ("no bus to work"
# -> mavacamten, phones -35 to -63 on every start: under the floor) and 6.0 (tizanidine)
TAKES_PROPOSED_MARGIN = 8.0
# the first of the clinician's names, proposed among theirs only: taken when it leads the next of
# theirs by this much, its phones and reading far behind the words heard at worst (on the untuned
# set with its list the right names led by 12.9-16.7 with phones down to -35 ("really," for
# belinostat) and readings to -31; the wrong firsts by 3.0 at most)
LISTED_PROPOSED_MARGIN = 10.0
LISTED_PROPOSED_MIN_GAIN = -40.0
LISTED_PROPOSED_MIN_SUPPORT = -35.0


@dataclass(frozen=True)
class Spotted:
    text: str  # the transcript's text with the spotted names written in
    repairs: tuple[Repair, ...]  # recognised words -> drug name
    regions: int  # stretches searched
    # (words, best name or dose, gain over the words, margin over the runner-up): drugs, then doses
    considered: tuple[tuple[str, str, float, float], ...] = ()
    asked: int = 0  # stretches the recogniser was asked about (decoded again with candidates)


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
            if p and p[0].isdigit() and b > a and _another_number_follows(words, b):
                b += 1  # "May 5 - 100mg": a number before the dose's own is the name's last syllable
                break
            if not p or p in STOP and not _stop_heard_in_name(plain, b) or p[0].isdigit() or _is_anchor(p) and b > a:
                break
            if words[b].end - words[a].start > MAX_REGION_S:
                break
            b += 1
            if words[b - 1].text.rstrip().endswith((".", "?", "!", ";", ":")):
                break
        if b == a and a + 1 < len(words) and plain[a] in SHORT_STANDINS and _is_number(plain[a + 1]):
            b = a + 1
        if b > a and not (b - a == 1 and plain[a] in PARTICLES):
            out.append((a, b, any(is_drug(x) for x in plain[a:b])))
    return sorted(out + _before_doses(words, plain, out, is_drug))


def _before_doses(words: Sequence[Word], plain: list[str], found: list, is_drug) -> list[tuple[int, int, bool]]:
    """The words right before a dose with a unit ("1 tablet", "250mg") back to the clause's start,
    where no verb's stretch reached the dose: an order whose verb was misheard too ("Plan: prisk,
    midostaurin, 1 tablet" for "prescribe aspirin", "Tart melatonin, 250 mg")."""
    taken = {i for a, b, _ in found for i in range(a, b)} | {b for _, b, _ in found}
    for _, b, _ in found:  # a verb's stretch may go on to a dose a few words later ("loss | at an | one tablet")
        d = _dose_start(words, b)
        taken |= set(range(b, d + 1)) if d is not None else set()
    out = []
    for d in range(1, len(words)):
        if d in taken or not _unit_dose_at(words, d):
            continue
        a = d
        while a > 0 and d - a < MAX_REGION_WORDS and a - 1 not in taken:
            p = plain[a - 1]
            if (not p or _is_number(p) or _is_anchor(p) or p in BEFORE_DOSE_STOP or p in DOSE_AFTER
                    or re.search(r"[.;:!?]$", words[a - 1].text.strip()) or words[d - 1].end - words[a - 1].start > MAX_REGION_S):
                break
            a -= 1
        while a < d and plain[a] in SKIP:
            a += 1
        if a < d:
            out.append((a, d, any(is_drug(x) for x in plain[a:d])))
            taken |= set(range(a, d + 1))
    return out


def _unit_dose_at(words: Sequence[Word], d: int) -> bool:
    """A dose with its unit begins at ``d``: a number, then a unit word in the dose ("5 mg", "100mg")."""
    from core.clinical.dose_spotting import UNIT_WORDS, dose_region, glued_unit

    p = _plain(words[d].text)
    if glued_unit(p):
        return True
    span = dose_region(words, d) if _is_number(p) and p not in {"a", "an"} else None
    return span is not None and any(_plain(w.text) in UNIT_WORDS for w in words[span[0]:span[1]])


def search_window(words: Sequence[Word], a: int, b: int) -> tuple[float, float]:
    """(start, end) seconds searched for a name heard as the words ``a:b``: in an order (a dose
    follows), back to the verb's end (the words skipped after it, "and", "them", "or the", are often
    the name's first syllable: "prescribe them another time" for levamlodipine; in talk they are
    words: "continue to run with pain") and on into a number after it (Whisper times
    a dose's first word early: in "give, for 5mg" 'for' had 0.14 s and '5mg' 1.3 s)."""
    t0, t1 = words[a].start, words[b - 1].end
    i = a - 1
    while i >= 0 and _plain(words[i].text) in SKIP:
        i -= 1
    if 0 <= i < a - 1 and _dose_follows(words, b):  # an order
        t0 = min(t0, max(words[i].end, t0 - MAX_LEAD_S))
    if b < len(words) and _is_number(_plain(words[b].text)) and t1 - words[a].start < SHORT_STRETCH_S:
        t1 = max(t1, min(words[b].end, words[b].start + INTO_NUMBER_S))
    return t0, t1


def _dose_start(words: Sequence[Word], b: int, max_words: int = 3) -> int | None:
    """Where a dose begins within ``max_words`` short words after ``b`` ("met | for min | 100 mg",
    "set | is in | 1 tablet"); None where there is none, or where it begins at ``b``."""
    if b >= len(words) or _is_number(_plain(words[b].text)):
        return None
    for d in range(b + 1, min(b + max_words, len(words) - 1) + 1):
        if re.search(r"[.;:!?]$", words[d - 1].text.strip()):
            return None
        if _is_number(_plain(words[d].text)):
            return d if _dose_follows(words, d) else None
    return None


def _dose_follows(words: Sequence[Word], b: int) -> bool:
    """A dose begins at ``b``: a number or a unit in its first words ("for a while" is none)."""
    from core.clinical.dose_spotting import UNIT_WORDS, dose_region

    span = dose_region(words, b)
    return span is not None and not _time_ago(words, span[0]) and any(
        _is_number(p) or p in UNIT_WORDS for p in (_plain(w.text) for w in words[span[0]:span[1]]))


def _time_ago(words: Sequence[Word], b: int) -> bool:
    """A number at ``b`` that says when, not how much: "4 days ago" ("Takeaway 4/7 ago" heard as
    "take away 4 days ago": no drug was taken away)."""
    plain = [_plain(w.text) for w in words[b:b + 3]]
    return len(plain) == 3 and _is_number(plain[0]) and plain[1] in TIME_UNITS and plain[2] == "ago"


def _stop_heard_in_name(plain: list[str], i: int) -> bool:
    """A stop word that is no route or frequency where it stands, so likely part of a name heard as
    words: "by" before a number ("lost by 100, 100 mg": drospirenone), "as" not before "needed"
    ("Perform as in 500 mg": perphenazine)."""
    nxt = plain[i + 1] if i + 1 < len(plain) else ""
    if plain[i] == "by":
        return bool(nxt) and nxt[0].isdigit()
    if plain[i] == "as":
        return bool(nxt) and not nxt.startswith(("need", "requir", "necess", "direct"))
    return False


def _another_number_follows(words: Sequence[Word], i: int) -> bool:
    """The number at ``i`` is followed by another number ("5 -100mg", "100, 100 milligrams"; not
    "2 .5 mg", one number)."""
    if i + 1 >= len(words) or words[i + 1].text.strip().startswith("."):
        return False
    nxt = _plain(words[i + 1].text)
    return bool(nxt) and nxt[0].isdigit()


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
        self._lowered = {n.lower() for n in self.names}
        self._doses_cache: tuple[list[str], list[list[int]]] | None = None
        self._instructions_cache: tuple[list[str], list[list[int]]] | None = None

    def _phones(self, words: Sequence[str]) -> list[int]:
        from core.text.sounds_like import phones_of

        return [self.ids[p] for p in phones_of(words) if p in self.ids]

    def _targets(self, names: Sequence[str]) -> tuple[list[str], list[list[int]]]:
        kept = [(n, self._phones(re.split(r"[ \-]", n))) for n in names]
        kept = [(n, t) for n, t in kept if len(t) >= 3]
        return [n for n, _ in kept], [t for _, t in kept]

    def spot(self, transcript: Transcript, samples: np.ndarray, vocabulary: Sequence[str] = (),
             min_gain: float = MIN_GAIN, min_margin: float = MIN_MARGIN, check_doses: bool = True,
             redecode: Redecode | None = None, agreed_similarity: float = AGREED_SIMILARITY,
             listen: Listen | None = None, propose: Propose | None = None) -> Spotted:
        from core.clinical.medications import default_lexicon, is_everyday_name

        words = transcript.words
        text = transcript.text
        if not words:
            return Spotted(text, (), 0)
        lex = default_lexicon()
        known = {v.lower() for v in vocabulary}
        # a name that is an everyday word ("Perform as in" for perphenazine) is searched as words
        found = regions(words, lambda w: bool(lex.lookup(w)) and not is_everyday_name(w) or w in known
                        or _near_miss(w, vocabulary))
        samples = np.asarray(samples, dtype=np.float32)
        extra_names, extra_targets = self._targets([v for v in vocabulary if v.strip() and v.lower() not in
                                                    self._lowered])
        names, targets = self.names + extra_names, self.targets + extra_targets
        listed = np.array([n.lower() in known for n in names])  # the clinician's own names
        mine_all = np.flatnonzero(listed)
        replaced: list[tuple[int, int, str, float | None]] = []
        considered = []
        open_: list = []  # no name stood out: (a, b, the phones' best candidates, costs, own, floor)
        for a, b, named in found:
            drug_costs, own = self._costs(words, samples, a, b, targets)
            if drug_costs is None:
                continue
            if not named and b - a > 1 and not _is_anchor(_plain(words[_verb_before(words, a)].text)):
                a, drug_costs, own = self._name_at_end(words, samples, a, b, targets, drug_costs, own, min_gain,
                                                       min_margin)
            heard = own != float("inf")
            order = np.argsort(drug_costs)
            best, second = float(drug_costs[order[0]]), float(drug_costs[order[1]])
            gain, margin = round(min(own - best, 99.0), 2), round(second - best, 2)
            floor = max(min_gain, MIN_GAIN_OVER_NAME) if named else min_gain
            # a drug the recogniser wrote stays, unless a name of the clinician's list (below) fits
            # much better and the written one is not theirs
            pick = order[0] if not named and gain >= floor and margin >= min_margin else None
            if pick is None and not named and gain >= floor and _sounds_written(words[a:b], names[order[0]],
                                                                                 agreed_similarity):
                pick, margin = order[0], AGREED_MARGIN  # the phones' best is what the words sound like too
            if listed.any():
                # the clinician's list is searched on its own too: a name of theirs needs to stand out
                # only among their names, and to sound nearly as good as the best of the lexicon; one
                # of theirs that the recogniser wrote gives way only to another that fits far better
                theirs = named and any(_plain(w.text) in known for w in words[a:b])
                mine = np.flatnonzero(listed)
                mine = mine[np.argsort(drug_costs[mine])]
                v_best = float(drug_costs[mine[0]])
                v_margin = float(drug_costs[mine[1]]) - v_best if len(mine) > 1 else 99.0
                v_floor = MIN_GAIN_OVER_LISTED if theirs else floor
                if own - v_best >= v_floor and v_margin >= MIN_LIST_MARGIN and v_best <= best + LIST_SLACK:
                    pick, margin, gain = mine[0], round(min(v_margin, 99.0), 2), round(min(own - v_best, 99.0), 2)
            considered.append((" ".join(w.text.strip() for w in words[a:b]),
                               names[order[0] if pick is None else pick], gain, margin))
            if pick is not None and names[pick].lower() in {_plain(w.text) for w in words[a:b]}:
                pick = None  # the recogniser's own name
            end = b
            if pick is None and not named and listen is not None and heard:
                d = _dose_start(words, b)
                in_order = _dose_follows(words, b) or d is not None  # talk is never proposed names for,
                takes = not in_order and _after_takes(words, a)  # but what she takes may be a drug
                proposed = _proposed(propose, words, samples, a, b, names) if propose and (in_order or takes) else []
                # the clinician's own names, proposed among themselves (after "she takes" too)
                theirs_proposed = [(int(mine_all[i]), sc) for i, sc in _proposed(
                    propose, words, samples, a, b, [names[i] for i in mine_all])] if propose and len(mine_all) > 1 else []
                spans = [(b, drug_costs, own)]
                if (proposed or theirs_proposed) and d is not None:  # the name may have swallowed the words up to the dose
                    spans.append((d, *self._costs(words, samples, a, d, targets)))
                if takes and len(proposed) > 1 and proposed[0][1] - proposed[1][1] >= TAKES_PROPOSED_MARGIN:
                    # no dose ends the name in talk ("salivacumabat, the moment, and it"): shorter
                    # stretches too, where only the proposed first may be taken (the readings of one
                    # short word pick names for "long", "care", "part")
                    spans += [(stop, *self._costs(words, samples, a, stop, targets)) for stop in range(a + 1, b)]
                for stop, span_costs, span_own in spans:
                    if span_costs is None:
                        continue
                    span_order = np.argsort(span_costs)
                    mine = span_order[listed[span_order]][:LISTEN_LISTED]  # the clinician's best too
                    top = list(dict.fromkeys(int(i) for i in np.concatenate([span_order[:LISTEN_CANDIDATES], mine])))
                    top += list(dict.fromkeys(i for i, _ in proposed + theirs_proposed if i not in top))
                    gains = np.array([span_own - float(span_costs[i]) for i in top])
                    if stop < b and takes and gains[top.index(proposed[0][0])] < PROPOSED_MIN_GAIN:
                        continue
                    leads = [(top.index(p[0][0]), p[0][1] - p[1][1], *rule) for p, rule in (
                        (proposed, (TAKES_PROPOSED_MARGIN if takes else PROPOSED_MARGIN, PROPOSED_MIN_GAIN,
                                    PROPOSED_MIN_SUPPORT)),
                        (theirs_proposed, (LISTED_PROPOSED_MARGIN, LISTED_PROPOSED_MIN_GAIN,
                                           LISTED_PROPOSED_MIN_SUPPORT))) if len(p) > 1]
                    chosen, margin = _listen(listen, words, samples, a, stop, [names[i] for i in top], gains, leads,
                                             min_gain=floor)
                    if chosen is not None and takes and stop < b and top[chosen] != proposed[0][0]:
                        chosen = None
                    if chosen is not None:
                        pick, end = top[chosen], stop
                        considered[-1] = (_said(words, a, end), names[pick], round(float(gains[chosen]), 2), margin)
                        break
            if pick is not None and any(x < end and a < y for x, y, _, _ in replaced):
                pick = None  # words another name already took
            if pick is not None:
                replaced.append((a, end, names[pick], margin))
            elif not named and redecode is not None:
                open_.append((a, b, [int(i) for i in order[:CANDIDATES_ASKED]], drug_costs, own, floor))
        asked = len(open_)
        for a, b, top, drug_costs, own, floor in open_:
            name = self._ask(redecode, words, samples, a, b, [names[i] for i in top])
            if name is not None and own - float(drug_costs[names.index(name)]) >= max(floor, ASK_MIN_GAIN):
                replaced.append((a, b, name, None))
        changes = [(a, b, name, Repair(_said(words, a, b), name,
                                       CHECKED_CONFIDENCE if margin is None else _confidence(margin)))
                   for a, b, name, margin in replaced]
        if check_doses:
            ends = {b for a, b, _, _ in replaced} | {i + 1 for i, w in enumerate(words) if _names_drug(
                _plain(w.text), lex, known, vocabulary, words, i + 1)}
            changes += self._doses(words, samples, sorted(ends), {(a, b) for a, b, _, _ in replaced}, considered,
                                   listen)
            changes += self._instructions(words, samples, sorted(ends), {(a, b) for a, b, *_ in changes}, considered)
        if not changes:
            return Spotted(text, (), len(found), tuple(considered), asked)
        out = [w.text.strip() for w in words]
        for a, b, written, _ in sorted(changes, key=lambda c: -c[0]):
            tail = re.search(r"[,;:!?]+$|(?<!\d)\.$", out[b - 1])
            out[a:b] = [written + (tail.group(0) if tail else "")]
        repairs = tuple(r for *_, r in sorted(changes, key=lambda c: c[0]))
        return Spotted(" ".join(out), repairs, len(found), tuple(considered), asked)

    def _name_at_end(self, words: Sequence[Word], samples: np.ndarray, a: int, b: int, targets: list,
                     costs: np.ndarray, own: float, min_gain: float, min_margin: float) -> tuple:
        """(start, costs, own cost) of the stretch ``a:b`` before a dose with no verb before it, or of
        the longest of its tails where the whole does not give a name and the tail does: searched
        back to the clause's start, the stretch holds words that are no part of the name ("Plan colon
        start amoxicillin" heard as "plan, Poland's Artemis is ill in": amoxicillin is 34 behind
        those words, 21 behind "Poland's Artemis is ill in", 8.6 behind "Artemis is ill in", and
        leads the next name by 10 there). A tail begins with a word that is no English word (the
        name's garbled start): on the tuned orders, tails of English words gave wrong names ("ill
        and" -> selenite, "is still in" -> oxacillin for "Ristartemix is still in")."""
        from core.clinical.medications import is_english_word

        def passes(c: np.ndarray, o: float) -> bool:
            best, second = np.partition(c, 1)[:2]
            return o - float(best) >= min_gain and float(second - best) >= min_margin

        if passes(costs, own):
            return a, costs, own
        for start in range(a + 1, b):
            if is_english_word(_plain(words[start].text)):
                continue  # a tail of English words fits some name ("is still in" -> oxacillin)
            tail_costs, tail_own = self._costs(words, samples, start, b, targets)
            if tail_costs is not None and tail_own != float("inf") and passes(tail_costs, tail_own):
                return start, tail_costs, tail_own
        return a, costs, own

    def _costs(self, words: Sequence[Word], samples: np.ndarray, a: int, b: int, targets: list) -> tuple:
        """(every name's cost, the words' own cost: inf where they have no phones) on the audio
        searched for the stretch ``a:b``; (None, inf) where that audio is too short."""
        from core.pronunciation.spotting import spot_costs

        lp = self._stretch(samples, *search_window(words, a, b))
        if lp is None:
            return None, float("inf")
        heard = self._phones([_plain(w.text) for w in words[a:b]])
        costs = spot_costs(lp, targets + ([heard] if heard else []))
        return costs[:len(targets)], float(costs[-1]) if heard else float("inf")

    @staticmethod
    def _ask(redecode: Redecode, words: Sequence[Word], samples: np.ndarray, a: int, b: int,
             candidates: list[str]) -> str | None:
        """The candidate the recogniser writes when the order (the verb before the stretch to the dose
        after it) is decoded again with ``candidates`` in its prompt; None when it writes none of them
        (or fails: logged, the stretch stays as heard)."""
        _, _, piece = _order_piece(words, samples, a, b)
        if piece is None:
            return None
        try:
            text = redecode(piece, candidates)
        except Exception:
            log.exception("deciding between spotted drug names failed; the words heard stay")
            return None
        return written_candidate(text, candidates)

    def _stretch(self, samples: np.ndarray, start: float, end: float, edge: tuple[float, float] = EDGE_S):
        """Phone log-posteriors of a stretch (its words' times widened by ``edge``), encoded with
        ``CONTEXT_S`` of audio on each side (cheap: seconds, not the file); None when too short."""
        t0, t1 = max(0.0, start - edge[0]), end + edge[1]
        c0 = max(0.0, t0 - CONTEXT_S)
        piece = samples[int(c0 * SAMPLE_RATE):int((t1 + CONTEXT_S) * SAMPLE_RATE)]
        if len(piece) < SAMPLE_RATE // 10:
            return None
        post = self.rec(piece)
        f0 = int(round((t0 - c0) * 50))
        f1 = min(post.log_probs.shape[0], int(round((t1 - c0) * 50)) + 1)
        return post.log_probs[f0:f1] if f1 - f0 >= 5 else None

    def _dose_targets(self) -> tuple[list[str], list[list[int]]]:
        if self._doses_cache is None:
            from core.clinical.dose_spotting import dose_candidates

            pairs = dose_candidates()
            self._doses_cache = ([w for _, w in pairs], [self._phones(s.split()) for s, _ in pairs])
        return self._doses_cache

    def _doses(self, words: Sequence[Word], samples: np.ndarray, starts: list[int], taken: set,
               considered: list, listen: Listen | None = None) -> list:
        """Dose fixes right after each drug (word index where its dose would begin); where words that
        are no dose leave the phones undecided, the recogniser listens to the doses they rank best."""
        from core.clinical.dose_spotting import dose_region
        from core.pronunciation.spotting import spot_costs

        written, targets = self._dose_targets()
        out = []
        for start in starts:
            span = dose_region(words, start, lost_number=True)
            if span is None or any(a < span[1] and span[0] < b for a, b in taken):
                continue
            a, b = span
            lp = self._stretch(samples, words[a].start, words[b - 1].end, DOSE_EDGE_S)
            heard_words = _spoken(words[a:b])
            heard = self._phones(heard_words)
            if lp is None or not heard:
                continue
            costs = spot_costs(lp, targets + [heard])
            own, costs = float(costs[-1]), costs[:-1]
            best_of: dict[str, float] = {}
            for w, c in zip(written, costs):
                best_of[w] = min(best_of.get(w, np.inf), float(c))
            ranked = sorted(best_of, key=best_of.get)
            top, margin = ranked[0], best_of[ranked[1]] - best_of[ranked[0]]
            gain = own - best_of[top]
            said = _said(words, a, b)
            if log.isEnabledFor(logging.DEBUG):
                log.debug("dose %r: own %.1f; best %s", heard_words, own, [(d, round(best_of[d], 1)) for d in ranked[:12]])
            considered.append((said, top, round(min(gain, 99.0), 2), round(margin, 2)))
            well_formed = _well_formed(heard_words)
            if well_formed:  # a dose as heard: only its unit is fixed ("10 ml" -> "10 mg")
                floor = MIN_UNIT_FIX_GAIN if _amount(heard_words) == top.split()[0] else np.inf
            else:  # one word ("one" for "once") is too little to write a dose from
                floor = MIN_MALFORMED_DOSE_GAIN if len(heard_words) > 1 else MIN_DOSE_GAIN
            # the number heard leads: the phones may fix its tail, not its first digit
            decided = gain >= floor and margin >= MIN_DOSE_MARGIN and _same_head(heard_words, top)
            if well_formed and gain >= MIN_NUMBER_FIX_GAIN and margin >= MIN_NUMBER_FIX_MARGIN:
                decided = True  # unless the phones hear another number far better
            if well_formed and _dose_key(" ".join(heard_words)) == _dose_key(top):
                decided = True  # the dose as said, only written apart ("200. And 50 milligrams": 250 mg)
            if not decided and listen is not None and not well_formed:
                choices = ranked[:LISTEN_DOSES]
                chosen, margin = _listen(listen, words, samples, a, b, [_dose_reading(d) for d in choices],
                                         np.array([own - best_of[d] for d in choices]), no_words=True)
                if chosen is not None and _same_head(heard_words, choices[chosen]):
                    top, decided = choices[chosen], True
                    considered[-1] = (said, top, round(min(own - best_of[top], 99.0), 2), margin)
            if decided and _dose_key(said) != _dose_key(top):
                out.append((a, b, top, Repair(said, top, _confidence(margin))))
        return out

    def _instruction_targets(self) -> tuple[list[str], list[list[int]]]:
        if self._instructions_cache is None:
            from core.clinical.repair import INSTRUCTION_PHRASES

            self._instructions_cache = (list(INSTRUCTION_PHRASES), [self._phones(p.split()) for p in INSTRUCTION_PHRASES])
        return self._instructions_cache

    def _instructions(self, words: Sequence[Word], samples: np.ndarray, starts: list[int], taken: set,
                      considered: list) -> list:
        """A route or frequency heard as other words right after each drug's dose ("or only" for
        orally, "I'm out" for by mouth): the words there and every instruction phrase scored on the
        phones; the phrase is written in when it explains the audio nearly as well as the words
        (``MIN_INSTRUCTION_GAIN``), better than any other phrase by ``MIN_INSTRUCTION_MARGIN``, and the
        words sound like it (``INSTRUCTION_SIMILARITY``). Only after a dose: an order, not talk."""
        from core.clinical.dose_spotting import dose_region
        from core.clinical.instruction_spotting import instruction_region
        from core.pronunciation.spotting import spot_costs

        phrases, targets = self._instruction_targets()
        out = []
        for start in starts:
            dose = dose_region(words, start, lost_number=True)
            span = instruction_region(words, dose[1]) if dose is not None else None
            if span is None or any(a < span[1] and span[0] < b for a, b in taken):
                continue
            a, b = span
            plain = [_plain(w.text) for w in words[a:b]]
            heard = self._phones(plain)
            lp = self._stretch(samples, words[a].start, words[b - 1].end)
            if lp is None or not heard:
                continue
            costs = spot_costs(lp, targets + [heard])
            own, costs = float(costs[-1]), np.asarray(costs[:-1], dtype=np.float64)
            order = np.argsort(costs)
            top, gain, margin = phrases[order[0]], own - float(costs[order[0]]), float(costs[order[1]] - costs[order[0]])
            said = _said(words, a, b)
            considered.append((said, top, round(min(gain, 99.0), 2), round(min(margin, 99.0), 2)))
            if instruction_agreed(plain, top, gain, margin):
                out.append((a, b, top, Repair(said, top, _confidence(margin))))
        return out


def instruction_agreed(heard: Sequence[str], phrase: str, gain: float, margin: float) -> bool:
    """The phones' best instruction phrase for the words ``heard`` after a dose is taken: within
    ``MIN_INSTRUCTION_GAIN`` of the words, ``MIN_INSTRUCTION_MARGIN`` ahead of the next phrase, and
    the words sound like it (``INSTRUCTION_SIMILARITY``)."""
    from core.text.sounds_like import phones_of, sound_similarity

    return (gain >= MIN_INSTRUCTION_GAIN and margin >= MIN_INSTRUCTION_MARGIN
            and sound_similarity(phones_of(list(heard)), phones_of(phrase.split())) >= INSTRUCTION_SIMILARITY)


def _listen(listen: Listen, words: Sequence[Word], samples: np.ndarray, a: int, b: int, choices: list[str],
            gains: np.ndarray, proposed: Sequence[tuple[int, float, float, float, float]] = (),
            no_words: bool = False, min_gain: float = -np.inf) -> tuple[int | None, float]:
    """(index of the choice taken, its margin) when the recogniser, reading the order with each of
    ``choices`` in place of the words ``a:b``, and the phones (``gains`` over those words) together
    pick one (module doc), or when a choice ``proposed`` ((index, lead over the next name the
    recogniser proposed, the lead needed, the least gain and support): among all names, among the
    clinician's) stood out among them and the phones and the readings do not
    contradict it (a choice the readings pick needs phones at least ``min_gain`` above the words
    heard; a proposed one, its own least gain); where the words heard are no words of the text (``no_words``: "for 10 million
    drums" for a dose), the best choice needs only to stand out among the choices and not be far
    behind those words; (None, 0) otherwise, or when listening fails (logged)."""
    first, last, piece = _order_piece(words, samples, a, b)
    if piece is None or not choices:
        return None, 0.0
    before = " ".join(w.text.strip() for w in words[first:a])
    after = " ".join(w.text.strip() for w in words[b:last + 1])
    readings = [" ".join(w.text.strip() for w in words[first:last + 1])]
    readings += [f"{before} {c} {after}".strip() for c in choices]
    try:
        support = np.asarray(listen(piece, readings), dtype=np.float64)
    except Exception:
        log.exception("listening to the spotted drug names failed; the words heard stay")
        return None, 0.0
    score = np.asarray(gains, dtype=np.float64) + support[1:] - support[0]
    ranked = np.argsort(-score)
    best, margin = int(ranked[0]), float(score[ranked[0]] - score[ranked[1]]) if len(choices) > 1 else 99.0
    own_support = support[1 + best] - support[0]
    phones_agree = best == int(np.argmax(gains)) and gains[best] >= 0
    if score[best] >= LISTEN_MIN_SCORE and margin >= LISTEN_MARGIN and gains[best] >= min_gain and (
            own_support >= LISTEN_MIN_SUPPORT or phones_agree and own_support >= LISTEN_MIN_SUPPORT_AGREED):
        return best, round(min(margin, 99.0), 2)
    if no_words and score[best] >= NO_WORDS_MIN_SCORE and margin >= NO_WORDS_MARGIN:
        return best, round(min(margin, 99.0), 2)
    for i, lead, needed, min_gain, min_support in proposed:
        if lead >= needed and gains[i] >= min_gain and support[1 + i] - support[0] >= min_support:
            return i, round(min(lead, 99.0), 2)
    return None, 0.0


def _verb_before(words: Sequence[Word], a: int) -> int:
    """The index of the drug verb before the stretch starting at ``a`` (over the words skipped after
    it), or of the word right before the stretch where there is none."""
    v = a - 1
    while v > 0 and _plain(words[v].text) in SKIP:
        v -= 1
    return v if v >= 0 and _is_anchor(_plain(words[v].text)) else max(a - 1, 0)


def _after_takes(words: Sequence[Word], a: int) -> bool:
    return a > 0 and _plain(words[_verb_before(words, a)].text) in TAKES


def _proposed(propose: Propose, words: Sequence[Word], samples: np.ndarray, a: int, b: int,
              names: list[str]) -> list[tuple[int, float]]:
    """(index in ``names``, log probability) of the names the recogniser hears after the order's
    verb, in the audio from the verb to the dose; none when it fails (logged)."""
    v = _verb_before(words, a)
    _, _, piece = _order_piece(words, samples, a, b, first=v)
    if piece is None:
        return []
    try:
        heard = propose(piece, words[v].text.strip(), names)
    except Exception:
        log.exception("the recogniser proposing drug names failed; the phones' candidates stay")
        return []
    index = {n: i for i, n in enumerate(names)}
    return [(index[n], float(score)) for n, score in heard if n in index]


def _order_piece(words: Sequence[Word], samples: np.ndarray, a: int, b: int,
                 first: int | None = None) -> tuple[int, int, np.ndarray | None]:
    """(first word, last word, audio) of the order around the stretch ``a:b``: the verb before it to
    ``CHECK_DOSE_WORDS`` words after it (the dose), ``CHECK_PAD_S`` wider; no audio when too short."""
    first, last = max(a - 1, 0) if first is None else first, min(b + CHECK_DOSE_WORDS, len(words)) - 1
    t0, t1 = max(0.0, words[first].start - CHECK_PAD_S), words[last].end + CHECK_PAD_S
    piece = samples[int(t0 * SAMPLE_RATE):int(t1 * SAMPLE_RATE)]
    return first, last, piece if len(piece) >= SAMPLE_RATE // 4 else None


def _confidence(margin: float) -> float:
    """A repair's "similarity" for the page, from how far the choice stood out (0.63 at a margin of 8)."""
    return round(1 - float(np.exp(-margin / 8)), 3)


def written_candidate(text: str, candidates: Sequence[str], min_ratio: float = 0.85) -> str | None:
    """The first of ``candidates`` (best first) that ``text`` holds: as written, or spelt nearly so
    ("canakinamab" for canakinumab: a spelling ratio of at least ``min_ratio``)."""
    from difflib import SequenceMatcher

    plain = [_plain(w) for w in text.split()]
    joined = " " + " ".join(plain) + " "
    for name in candidates:
        target = " ".join(_plain(w) for w in re.split(r"[ \-]", name))
        if f" {target} " in joined:
            return name
    for name in candidates:
        target = _plain(name.replace(" ", "").replace("-", ""))
        n = len(name.split())
        spans = ["".join(plain[i:i + n]) for i in range(max(len(plain) - n + 1, 0))]
        if any(len(w) >= 5 and SequenceMatcher(None, w, target).ratio() >= min_ratio for w in spans):
            return name
    return None


def recogniser_check(transcriber, options) -> Redecode:
    """A ``redecode`` for ``spot``: ``transcriber`` (``core.asr``) decodes the piece with
    ``options(candidates)`` (e.g. the dictation's ``asr_options``), whole (no VAD, no word times)."""
    from dataclasses import replace

    from core.audio import Audio

    def redecode(piece: np.ndarray, candidates: list) -> str:
        audio = Audio(samples=np.asarray(piece, dtype=np.float32), source_sample_rate=SAMPLE_RATE,
                      source_channels=1, source_format="numpy")
        opt = replace(options(list(candidates)), use_vad=False, word_timestamps=False, suggest_terms=None)
        (t,) = transcriber.transcribe_many([audio], opt)
        return t.text

    return redecode


def recogniser_listen(transcriber, pad_s: float = LISTEN_PAD_S) -> Listen | None:
    """A ``listen`` for ``spot``: ``transcriber`` (``core.asr``; engines that can score a text)
    scores each reading against the piece and against ``LISTEN_PRIOR_S`` of silence, each read
    with ``pad_s`` of silence after it."""
    if not hasattr(transcriber, "score_texts"):
        return None
    silence = np.zeros(int(LISTEN_PRIOR_S * SAMPLE_RATE), dtype=np.float32)

    def listen(piece: np.ndarray, readings: list) -> list:
        heard = transcriber.score_texts(piece, readings, context_pad_s=pad_s)
        prior = transcriber.score_texts(silence, readings, context_pad_s=pad_s)
        return [h - p for h, p in zip(heard, prior)]

    return listen


def recogniser_propose(transcriber, k: int = LISTEN_PROPOSED, prior_weight: float = PROPOSED_PRIOR_WEIGHT
                       ) -> Propose | None:
    """A ``propose`` for ``spot``: ``transcriber`` (``core.asr``; engines that can search terms)
    names the ``k`` names it hears best after the words before the stretch, ranked by their log
    probability there less ``prior_weight`` times their log probability after the same words on
    ``LISTEN_PRIOR_S`` of silence (what it would say without hearing anything)."""
    if not hasattr(transcriber, "propose_terms"):
        return None
    silence = np.zeros(int(LISTEN_PRIOR_S * SAMPLE_RATE), dtype=np.float32)

    def propose(piece: np.ndarray, before: str, names: list) -> list:
        heard = transcriber.propose_terms(piece, before, names, k)
        if not prior_weight or not heard:
            return heard
        prior = transcriber.score_terms(silence, before, [n for n, _ in heard])
        return sorted(((n, s - prior_weight * p) for (n, s), p in zip(heard, prior)), key=lambda x: -x[1])

    return propose


def _sounds_written(words: Sequence[Word], name: str, min_similarity: float = AGREED_SIMILARITY) -> bool:
    from core.text.sounds_like import phones_of, sound_similarity

    said = [p for p in (_plain(w.text).strip("'") for w in words) if p]
    return bool(said) and sound_similarity(phones_of(said), phones_of(name.split())) >= min_similarity


def _names_drug(word: str, lex, known: set, vocabulary: Sequence[str], words: Sequence[Word], after: int) -> bool:
    """A drug name (or one the spelling repair will write: "tikagrelor") with a dose after it."""
    from core.clinical.dose_spotting import dose_region

    if lex.lookup(word) or word in known:
        return True
    return len(word) >= 6 and dose_region(words, after) is not None and _near_miss(word, vocabulary)


def _near_miss(word: str, vocabulary: Sequence[str]) -> bool:
    """A word the spelling repair turns into a generic drug name or one of the clinician's
    ("solbutamol"): the recogniser got close, and the repair (after this step) writes the right
    name. Not one it spells into a brand nobody listed: "Plan colon start amoxicillin" heard as
    "Poland's Artemis is ill in" is amoxicillin in the audio, not the brand Artiss."""
    from core.clinical.medications import default_lexicon
    from core.clinical.repair import repair_medications

    if len(word) < 5:
        return False
    listed = {v.lower() for v in vocabulary}
    lex = default_lexicon()
    return any(r.replacement.lower() in listed or (m := lex.lookup(r.replacement)) is not None and m.kind != "brand"
               for r in repair_medications(word, vocabulary=list(vocabulary)).repairs)


def _said(words: Sequence[Word], a: int, b: int) -> str:
    return re.sub(r"[.,;:!?]+$", "", " ".join(w.text.strip() for w in words[a:b]))


def _dose_reading(dose: str) -> str:
    """A dose as the recogniser writes it when it hears one: "40 mg" -> "40 milligrams"."""
    from core.clinical.dose_spotting import UNITS

    amount, _, unit = dose.partition(" ")
    for plural, singular, written in UNITS:
        if unit == written:
            return f"{amount} {singular if amount == '1' else plural}"
    return dose


def _spoken(words: Sequence[Word]) -> list[str]:
    """The words as said: digits read out ("250" -> two hundred fifty, "2.5" -> two point five),
    written units too ("mg" -> milligrams)."""
    from core.clinical.dose_spotting import UNITS
    from core.pronunciation.prompt_text import number_words

    said_unit = {written: plural for plural, _, written in UNITS}

    out: list[str] = []
    text = re.sub(r"(\d)\s+\.(\d)", r"\1.\2", " ".join(w.text for w in words))  # "2 .5mg"
    for tok in re.findall(r"\d+(?:\.\d+)?|[A-Za-z']+", text):
        if tok[0].isdigit():
            whole, _, frac = tok.partition(".")
            out += number_words(int(whole)) + (["point"] + [number_words(int(d))[0] for d in frac] if frac else [])
        else:
            out.append(said_unit.get(tok.lower(), tok.lower()))
    return out


def _same_head(spoken: list[str], dose: str) -> bool:
    """A dose whose amount begins with the digit the words heard begin with, where they begin with a
    number ("two laps" for 2 drops: not 8 units; "200, and 50 mil plums": 250 mg; "7 to 5": 7.5);
    any dose where they do not ("to pause", "for 10 million drums" for forty)."""
    from core.clinical.normalisation import ONES, TENS

    value = {**ONES, **TENS}.get(spoken[0]) if spoken else None
    return value is None or dose.startswith(str(value)[0])


def _amount(spoken: list[str]) -> str:
    """The number of a well-formed dose as written: "two hundred fifty milligrams" -> "250"."""
    from core.clinical.normalisation import normalise_numbers_and_units

    return normalise_numbers_and_units(" ".join(spoken)).split()[0]


def _well_formed(spoken: list[str]) -> bool:
    """A number (as words) and then a dose unit, nothing else: "two hundred and fifty milligrams"."""
    from core.clinical.dose_spotting import UNIT_WORDS
    from core.clinical.normalisation import NUMBER_WORDS

    return (len(spoken) >= 2 and spoken[-1] in UNIT_WORDS and spoken[0] in NUMBER_WORDS - {"hundred", "and", "point"}
            and all(w in NUMBER_WORDS for w in spoken[:-1]))


def _dose_key(text: str) -> str:
    """A dose as written, spelling aside (the normalisation's units): "10 milliliters" is "10 ml"."""
    from core.clinical.normalisation import normalise_numbers_and_units

    return re.sub(r"[\s,]+", "", normalise_numbers_and_units(text).lower())


@lru_cache(maxsize=1)
def default_spotter() -> DrugSpotter:
    return DrugSpotter()


def spot_drug_names(transcript: Transcript, samples: np.ndarray, vocabulary: Sequence[str] = (),
                    redecode: Redecode | None = None, listen: Listen | None = None,
                    propose: Propose | None = None) -> Spotted:
    """The transcript with the drug names spotted in its audio written in (see the module doc);
    ``listen`` and ``redecode`` let the recogniser decide where no name stood out. Any failure
    keeps the recogniser's text (logged)."""
    try:
        return default_spotter().spot(transcript, samples, vocabulary, redecode=redecode, listen=listen,
                                      propose=propose)
    except Exception:
        log.exception("drug-name spotting failed; the recogniser's text is kept")
        return Spotted(transcript.text, (), 0)
