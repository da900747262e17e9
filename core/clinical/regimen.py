"""How a prescription's instructions are written: dose, route, frequency and duration patterns,
and the attributes said after a drug name.

>>> medication_attributes("metformin 500 mg by mouth twice daily for 3 months.", 0, 9)
{'dosage': '500 mg', 'route': 'by mouth', 'frequency': 'twice daily', 'duration': 'for 3 months'}
>>> medication_attributes("sertraline 50 mg, intravenous 3 times a day for two week's.", 0, 10)
{'dosage': '50 mg', 'route': 'intravenously', 'frequency': 'three times a day', 'duration': 'for 2 weeks'}
>>> medication_attributes("amlodipine 10 ml by mouth once daily.", 0, 10)["check"]
'mL for a dose by mouth with no liquid form said: check the unit (mg?)'
"""
from __future__ import annotations

import re

from core.clinical.normalisation import ONES

NUM = r"\d+(?:\.\d+)?(?:\s*(?:-|to)\s*\d+(?:\.\d+)?)?"
DOSE = re.compile(rf"\b({NUM})\s*(mg/kg|mcg/kg|mg|mcg|micrograms?|milligrams?|g|grams?|ml|mL|milliliters?|"
                  r"units?|IU|puffs?|tablets?|tabs?|capsules?|caps?|drops?|sprays?|sachets?|patch(?:es)?|%)(?![A-Za-z])",
                  re.I)
ROUTE = re.compile(r"\b(by mouth|orally|oral|p\.?o\.?|intravenous(?:ly)?|i\.?v\.?|intramuscular(?:ly)?|i\.?m\.?|"
                   r"subcutaneous(?:ly)?|s\.?c\.?|sub-?cut|topical(?:ly)?|inhaled|via inhaler|nebulised|nebulized|"
                   r"sublingual(?:ly)?|s\.?l\.?|rectal(?:ly)?|p\.?r\.?|transdermal|eye drops|nasal(?:ly)?)(?![A-Za-z])", re.I)
FREQUENCY = re.compile(
    r"\b(once|twice|three times|four times|1 times|2 times|3 times|4 times),?\s+(?:a|per|each)?\s*(day|daily|week|"
    r"weekly|night|nightly|hour)|\b(once|twice),? daily\b|\b(daily|nightly|weekly|monthly|at night|at bedtime|in the morning|"
    r"every morning|every night|every other day|as needed|as required|when required|prn|p\.r\.n\.|bid|b\.i\.d\.|"
    r"tid|t\.d\.s\.|tds|t\.i\.d\.|qid|q\.i\.d\.|qds|q\.d\.s\.|od|o\.d\.|qd|q\.d\.|bd|b\.d\.|stat|"
    r"q\s?\d+\s?h|every \d+(?:\s*(?:-|to)\s*\d+)? hours?)(?![A-Za-z])", re.I)
DURATION = re.compile(rf"\b(for|x)\s+((?:{NUM}|one|two|three|four|five|six|seven|eight|nine|ten|fourteen|a)\s+"
                      r"(?:days?|weeks?|months?|years?)(?:'s)?)(?![A-Za-z])|\b(ongoing|long[- ]term|until review|until finished)\b", re.I)


def medication_attributes(text: str, start: int, end: int, limit: int | None = None) -> dict[str, str]:
    """Dosage, route, frequency and duration said after the drug name (``instructions_said``: up to
    the sentence end, or the end of the instruction sentences after it), never past ``limit`` (where
    the next drug name begins: "she takes X at the moment, and ... give Y 75 mcg"
    gives X no dose when the recogniser lost the full stop between them)."""
    window = instructions_said(text, end, limit)
    attrs = {}
    for key, pattern in (("dosage", DOSE), ("route", ROUTE), ("frequency", FREQUENCY), ("duration", DURATION)):
        m = pattern.search(window)
        if m:
            attrs[key] = canonical(key, " ".join(m.group(0).replace(",", " ").split()))  # a recogniser's comma
    problem = unit_problem(attrs, window)
    if problem:
        attrs["check"] = problem
    return attrs


SENTENCE_END = re.compile(r"\.(?!\d)|[;\n]|\band (?:start|stop|continue|increase|reduce)")  # not "2.5"
MAX_INSTRUCTION_CHARS = 160


def instructions_said(text: str, end: int, limit: int | None = None) -> str:
    """The text after a drug name that holds its instructions: to the sentence end, and on through
    the sentences after it that begin with an instruction (the recogniser puts a full stop where a
    dictating clinician pauses: "restart ibuprofen. 75 mcg by mouth at night.", "ibuprofen 5 mg.
    Subcutaneously, every 4 to 6 hours."); at most ``MAX_INSTRUCTION_CHARS`` and never past
    ``limit``."""
    window = text[end:limit][:MAX_INSTRUCTION_CHARS]
    pos = 0
    while stop := SENTENCE_END.search(window, pos):
        after = window[stop.end():].lstrip(" ,")
        if stop.group(0) != "." or not any(p.match(after) for p in (DOSE, ROUTE, FREQUENCY, DURATION)):
            return window[:stop.start()]
        pos = stop.end()
    return window


# one way to write each instruction in the note, whichever way the recogniser wrote what was said:
# "3 times a day" -> "three times a day", "intravenous" (after a dose) -> "intravenously", "for two
# week's" -> "for 2 weeks" (frequencies spelt out, durations in digits, as in a written prescription)
TIMES = {"1 times": "once", "2 times": "twice", "3 times": "three times", "4 times": "four times"}
ADVERB = re.compile(r"^(intravenous|subcutaneous|intramuscular|sublingual|rectal|topical|nasal)$", re.I)


def canonical(key: str, value: str) -> str:
    """An attribute as the note writes it (see above); dosages are left as matched."""
    if key != "dosage" and value[:1].isupper() and value[1:].islower():
        value = value.lower()  # "Subcutaneously, every 4 hours": a sentence's first word
    if key == "frequency":
        return re.sub(r"^[1-4] times", lambda m: TIMES[m.group(0)], value)
    if key == "route" and ADVERB.match(value):
        return value.lower() + "ly"
    if key == "duration":
        value = re.sub(r"'s$", "s", value)
        value = re.sub(r"\b([a-z]+)\b(?= (?:days?|weeks?|months?|years?))",
                       lambda m: str(ONES.get(m.group(1).lower(), m.group(1))), value, flags=re.I)
        return re.sub(r"\b(\d+(?:\.\d+)?) (day|week|month|year)$", lambda m: m.group(0) + "s" * (m.group(1) != "1"),
                      value)  # "two week" heard for "two weeks"
    return value


ORAL = re.compile(r"^(by mouth|orally|oral|p\.?o\.?)$", re.I)
INJECTED = re.compile(r"^(intravenous|i\.?v\.?|intramuscular|i\.?m\.?|subcutaneous|s\.?c\.?|sub-?cut)", re.I)
LIQUID = re.compile(r"\b(solution|suspension|syrup|liquid|elixir|mixture|linctus|drink|oral solution|sachet)s?\b", re.I)
SOLID = re.compile(r"\b(tablets?|tabs?|capsules?|caps?)\b", re.I)


def unit_problem(attrs: dict[str, str], said: str) -> str | None:
    """A dose unit that does not fit the route or form said with it (a recogniser's "10 ml" for "ten
    milligrams" by mouth), as a sentence for the clinician; None when it fits or nothing says."""
    m = DOSE.search(attrs.get("dosage", ""))
    if not m:
        return None
    unit, route = m.group(2).lower(), attrs.get("route", "")
    if unit in ("ml", "milliliter", "milliliters") and ORAL.match(route) and not LIQUID.search(said):
        return "mL for a dose by mouth with no liquid form said: check the unit (mg?)"
    if unit in ("ml", "milliliter", "milliliters") and SOLID.search(said):
        return "mL for tablets or capsules: check the unit"
    if unit.startswith(("puff",)) and route and not re.match(r"inhaled|via inhaler|nebuli", route, re.I):
        return f"puffs given {route}: check the unit or the route"
    if unit.startswith(("tablet", "tab", "capsule", "cap")) and INJECTED.match(route):
        return f"{unit} given {route}: check the unit or the route"
    return None
