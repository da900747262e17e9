"""Split a dictated note into SOAP sections (Subjective, Objective, Assessment, Plan).

Dictated section headers decide first ("history", "on examination", "impression", "plan" and
their usual abbreviations, as said or as written: "PMH:", "Imp:", "O/E"); "next section" moves
to the next SOAP section; text before any header is Subjective. Sentences under no header
(a dictation that never names its sections) go where their wording points (examination
findings -> Objective, diagnoses -> Assessment, actions -> Plan), by keyword cues.

>>> split_soap("History: cough for a week. Examination: chest clear. Plan: rest.")["plan"]
'Rest.'
"""
from __future__ import annotations

import re

from core.clinical.normalisation import SECTION_BREAK
from core.text.tokens import sentences

ORDER = ("subjective", "objective", "assessment", "plan")
HEADERS = {
    "subjective": ["subjective", "history of presenting complaint", "history of present illness", "presenting complaint",
                   "history", "hx", "hpi", "pc", "hpc", "complaint", "pmh", "pmhx", "past medical history", "dh",
                   "drug history", "medications", "sh", "social history", "fh", "family history", "allergies",
                   "ros", "review of systems"],
    "objective": ["objective", "on examination", "examination", "exam", "ex", "o/e", "oe", "vitals", "vital signs",
                  "observations", "obs", "findings", "investigations", "results"],
    "assessment": ["assessment", "impression", "imp", "diagnosis", "diagnoses", "dx", "differential",
                   "differential diagnosis", "ddx", "working diagnosis"],
    "plan": ["plan", "management", "treatment plan", "recommendations", "follow up", "follow-up", "disposition"],
}
CUES = {
    "objective": r"\b(on examination|examination|exam|auscultation|palpation|tender|soft|clear|bp|blood pressure|"
                 r"pulse|heart rate|temperature|temp|sats|saturation|respiratory rate|looks well|appears|"
                 r"no (?:facial )?asymmetry|bmi|weight)\b",
    "assessment": r"\b(impression|likely|diagnosis|consistent with|suggestive of|probable|differential|"
                  r"working diagnosis|in keeping with)\b",
    "plan": r"\b(plan|start|started|prescribe|prescribed|continue|stop|increase|reduce|review|refer|referral|"
            r"follow up|follow-up|advise|advised|recommend|safety net|return if|book|arrange|order|request)\b",
}
# A header starts a line or sentence; one of the four SOAP names followed by a colon may come after
# up to three words the recogniser put before it ("For a draft plan:" heard for "Plan colon"),
# which are dropped with it (words on the same line only).
_HEADER_RE = re.compile(
    r"(?im)(?:^|(?<=[.\n§]))\s*(?:(?:[a-z']+[ \t]+){1,3}(" + "|".join(ORDER) + r")\s*:|("
    + "|".join(sorted((re.escape(h) for hs in HEADERS.values() for h in hs), key=len, reverse=True))
    + r")\s*(?::|-))\s*")


def _section_of(header: str) -> str:
    h = header.lower().strip()
    return next(k for k, hs in HEADERS.items() if h in hs)


def split_soap(text: str) -> dict[str, str]:
    parts: dict[str, list[str]] = {k: [] for k in ORDER}
    blocks = text.split(SECTION_BREAK.strip())
    current = None
    unheaded: list[str] = []
    for b_index, block in enumerate(blocks):
        if b_index and current is not None:  # "next section" advances through S, O, A, P
            current = ORDER[min(ORDER.index(current) + 1, len(ORDER) - 1)]
        elif b_index and current is None:
            current = "objective"
        pos = 0
        matches = list(_HEADER_RE.finditer(block))
        for k, m in enumerate(matches):
            before = block[pos:m.start()].strip()
            if before:
                (parts[current].append(before) if current else unheaded.append(before))
            current = _section_of(m.group(1) or m.group(2))
            pos = m.end()
        rest = block[pos:].strip()
        if rest:
            (parts[current].append(rest) if current else unheaded.append(rest))
    for chunk in unheaded:
        for a, b in sentences(chunk):
            sentence = chunk[a:b].strip()
            parts[_guess(sentence)].append(sentence)
    return {k: _capitalise("\n".join(v).strip()) for k, v in parts.items()}


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def _guess(sentence: str) -> str:
    s = sentence.lower()
    for section in ("plan", "assessment", "objective"):
        if re.search(CUES[section], s):
            return section
    return "subjective"
