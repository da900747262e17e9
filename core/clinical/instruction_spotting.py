"""Where a route or frequency is said after a dose, and the words heard there are none: the
stretch ``core.clinical.drug_spotting`` reads on the phones ("250 mg or only four times a day" ->
orally, "2 puffs in tail" -> inhaled).

>>> from core.asr.types import Word
>>> ws = [Word(w, 0.3 * i, 0.3 * i + 0.25, 0.9) for i, w in enumerate("aspirin 100 mg or only at night".split())]
>>> instruction_region(ws, 3)
(3, 5)
"""
from __future__ import annotations

import re
from typing import Sequence

from core.asr.types import Word
from core.clinical.dose_spotting import UNIT_WORDS, _is_number, _plain


# what begins a frequency or duration, or the next order: where the words heard as a route end
INSTRUCTION_STOP = {"once", "twice", "every", "at", "as", "for", "daily", "nightly", "times", "until", "then", "and",
                    "start", "stop", "continue", "restart", "give", "prescribe", "increase", "reduce", "period", "comma"}
MAX_INSTRUCTION_WORDS = 3
MAX_INSTRUCTION_S = 1.6


def instruction_region(words: Sequence[Word], start: int) -> tuple[int, int] | None:
    """(first, last + 1) word indices of 1-3 words right after a dose (``start``: the word after
    it) that stand where a route is said but are none ("250 mg or only four times a day", "100 mg,
    I'm out twice daily"): up to an instruction ("by mouse | in the morning", "by mouse | has
    needed"), a frequency,
    duration or verb word, a number or a clause end; None where the words there already begin an
    instruction (or nothing stands there)."""
    from core.clinical.regimen import DURATION, FREQUENCY, ROUTE
    from core.clinical.repair import SOUND_SIMILARITY, _closest_instruction

    def instruction_at(i: int) -> bool:
        """An instruction begins at word ``i``, or one heard as words that sound like it ("has needed")."""
        rest = " ".join(w.text.strip() for w in words[i:i + 4]).lstrip(" ,")
        if any(p.match(rest) for p in (ROUTE, FREQUENCY, DURATION)):
            return True
        two = [_plain(w.text) for w in words[i:i + 2]]
        return i > start and len(two) == 2 and all(two) and _closest_instruction(tuple(two))[1] >= SOUND_SIMILARITY

    if start == 0 or re.search(r"[.;:!?]$", words[start - 1].text.strip()):
        return None  # the dose ends its sentence: what follows is another ("10 mg. My mouth is dry.")
    b = start
    while b < len(words) and b - start < MAX_INSTRUCTION_WORDS:
        p = _plain(words[b].text)
        if (not p or p in INSTRUCTION_STOP or _is_number(p) and p not in {"a", "an", "to", "too"} or p in UNIT_WORDS
                or instruction_at(b)):
            break  # "by mouse | in the morning"
        if words[b].end - words[start].start > MAX_INSTRUCTION_S:
            break
        b += 1
        if re.search(r"[.;:!?]$", words[b - 1].text.strip()):
            break
    if b < len(words) and _plain(words[b].text) == "times":
        b -= 1  # "morally free | times a day": the word before "times" is its number
    return (start, b) if b > start else None
