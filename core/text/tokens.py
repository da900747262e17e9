"""The suite's one word tokenizer and one sentence splitter.

Every rule that reads words (dictation normalisation, medication repair, regimen parsing, ConText,
SOAP) uses ``tokens``/``words`` and ``sentences`` from here, so "a word" means the same thing
everywhere:

- a **word** is letters, joined by single apostrophes or hyphens ("don't", "follow-up"); digits
  are never part of one ("metformin500" is "metformin" "500", so a dose run into a drug name
  by the recogniser is still read), and "r/o" is three tokens (so "amoxicillin/clavulanate"
  still shows both drug names);
- a **number** is digits with decimal points or thousands commas ("2.5", "1,000");
- a **mark** is any other single non-space character ("." "," "?" "%" "(");
- a **space** is a run of white space (kept only when asked for: line breaks carry meaning in
  dictation).

Two options serve ConText, whose triggers hide inside note shorthand: ``split_hyphens`` reads
"mother-migraine" as "mother" "-" "migraine", and ``join_slashes`` reads "r/o", "h/o" and
"120/80" as one token each.

The NER tagger is the one exception: its input is split the way its training corpora were
(``tagger_tokens``: every run of letters/digits and each other character alone), a fixed part of
the trained model, not a choice to make again here.

>>> [t.text for t in tokens("Start metformin500 2.5 mg/kg b.d. (r/o PE)?")]
['Start', 'metformin', '500', '2.5', 'mg', '/', 'kg', 'b', '.', 'd', '.', '(', 'r', '/', 'o', 'PE', ')', '?']
>>> [t.text for t in tokens("FH: mother-migraine, r/o PE", split_hyphens=True, join_slashes=True)]
['FH', ':', 'mother', '-', 'migraine', ',', 'r/o', 'PE']
>>> note = "No fever. Cough 2.5 weeks; chest clear! Any rash? No.\\nPlan: ? PE"
>>> [note[a:b] for a, b in sentences(note)]
['No fever.', 'Cough 2.5 weeks;', 'chest clear!', 'Any rash?', 'No.', 'Plan: ? PE']
"""
from __future__ import annotations

import re
from dataclasses import dataclass

WORD = r"[A-Za-z]+(?:['’-][A-Za-z]+)*"
WORD_PART = r"[A-Za-z]+(?:['’][A-Za-z]+)*"  # a word without its hyphens (split_hyphens)
NUMBER = r"\d+(?:[.,]\d+)*"
_TOKEN = re.compile(rf"(?P<word>{WORD})|(?P<number>{NUMBER})|(?P<space>\s+)|(?P<mark>.)", re.S)
_HYPHEN_FREE_TOKEN = re.compile(rf"(?P<word>{WORD_PART})|(?P<number>{NUMBER})|(?P<space>\s+)|(?P<mark>.)", re.S)
# . ! ; followed by white space, a question mark right after a word ("Any fever? No."), or a line
# break. A "?" after a space or a mark is the clinician's "query" ("? pneumonia", "hot/cold,? Fever"),
# which ConText reads as uncertainty about what follows: it ends nothing.
_SENTENCE_END = re.compile(r"(?<=[.!;])\s+|(?<=[A-Za-z0-9]\?)\s+|\n+")
_TAGGER_TOKEN = re.compile(r"[A-Za-z0-9]+|[^\sA-Za-z0-9]")


@dataclass(frozen=True)
class Token:
    text: str  # as written
    start: int  # character offsets in the text that was tokenised
    end: int
    kind: str  # "word", "number", "mark" or "space"


def tokens(text: str, start: int = 0, end: int | None = None, *, spaces: bool = False,
           split_hyphens: bool = False, join_slashes: bool = False) -> list[Token]:
    """Words, numbers and marks of ``text[start:end]`` in order (and runs of space when ``spaces``);
    offsets are in ``text``. ``split_hyphens``: a hyphenated word gives its parts and the "-"
    marks; ``join_slashes``: words/numbers joined by "/" with no space are one token."""
    pattern = _HYPHEN_FREE_TOKEN if split_hyphens else _TOKEN
    found = [Token(m.group(0), m.start(), m.end(), m.lastgroup or "mark")
             for m in pattern.finditer(text, start, len(text) if end is None else end)]
    if join_slashes:
        found = _join_slashes(found)
    return [t for t in found if spaces or t.kind != "space"]


def _join_slashes(found: list[Token]) -> list[Token]:
    out: list[Token] = []
    for t in found:
        if (len(out) >= 2 and t.kind in ("word", "number") and out[-1].text == "/" and out[-1].start == out[-2].end
                and out[-2].kind in ("word", "number") and t.start == out[-1].end):
            slash, left = out.pop(), out.pop()
            t = Token(left.text + slash.text + t.text, left.start, t.end, left.kind)
        out.append(t)
    return out


def words(text: str, start: int = 0, end: int | None = None) -> list[Token]:
    """The words only (no numbers or marks)."""
    return [t for t in tokens(text, start, end) if t.kind == "word"]


def sentences(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences: text up to and including ``.``, ``!`` or ``;`` followed by
    white space, a "?" right after a word, or up to a line break (the point of "2.5" does not end
    one, nor does a query "? PE"); blank spans are left out."""
    bounds, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        bounds.append((start, m.start()))
        start = m.end()
    bounds.append((start, len(text)))
    return [(a, b) for a, b in bounds if text[a:b].strip()]


def tagger_tokens(text: str, start: int = 0, end: int | None = None) -> list[Token]:
    """The NER tagger's pre-tokenisation (that of BC5CDR / NCBI-disease): runs of letters and
    digits, and every other non-space character alone."""
    return [Token(m.group(0), m.start(), m.end(), "word" if m.group(0)[0].isalnum() else "mark")
            for m in _TAGGER_TOKEN.finditer(text, start, len(text) if end is None else end)]
