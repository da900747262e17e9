"""The suite's one word tokenizer and one sentence splitter.

Every rule that reads words (dictation normalisation, medication repair, regimen parsing, ConText,
SOAP) uses ``tokens``/``words`` and ``sentences`` from here, so "a word" means the same thing
everywhere:

- a **word** starts with a letter; letters and digits follow, joined by single apostrophes or
  hyphens ("don't", "follow-up", "B12"; "r/o" is three tokens, so "amoxicillin/clavulanate" still
  shows both drug names);
- a **number** is digits with decimal points or thousands commas ("2.5", "1,000");
- a **mark** is any other single non-space character ("." "," "?" "%" "(");
- a **space** is a run of white space (kept only when asked for: line breaks carry meaning in
  dictation).

The NER tagger is the one exception: its input is split the way its training corpora were
(``tagger_tokens``: every run of letters/digits and each other character alone), a fixed part of
the trained model, not a choice to make again here.

>>> [t.group(0) for t in tokens("Start 2.5 mg/kg b.d. (r/o PE)?")]
['Start', '2.5', 'mg', '/', 'kg', 'b', '.', 'd', '.', '(', 'r', '/', 'o', 'PE', ')', '?']
>>> note = "No fever. Cough 2.5 weeks; chest clear!\\nPlan: rest"
>>> [note[a:b] for a, b in sentences(note)]
['No fever.', 'Cough 2.5 weeks;', 'chest clear!', 'Plan: rest']
"""
from __future__ import annotations

import re

WORD = r"[A-Za-z][A-Za-z0-9]*(?:['’-][A-Za-z0-9]+)*"
NUMBER = r"\d+(?:[.,]\d+)*"
_TOKEN = re.compile(rf"(?P<word>{WORD})|(?P<number>{NUMBER})|(?P<space>\s+)|(?P<mark>.)", re.S)
_WORD = re.compile(WORD)
# . ! ; followed by space, ? followed by space and no lower-case word ("cough ? pneumonia" is one
# sentence: "?" is the clinician's "query"), or a line break
_SENTENCE_END = re.compile(r"(?<=[.!;])\s+|(?<=\?)\s+(?![a-z])|\n+")
_TAGGER_TOKEN = re.compile(r"[A-Za-z0-9]+|[^\sA-Za-z0-9]")


def tokens(text: str, start: int = 0, end: int | None = None, *, spaces: bool = False) -> list[re.Match]:
    """Words, numbers and marks of ``text[start:end]`` in order (and runs of space when ``spaces``);
    ``match.lastgroup`` says which ("word", "number", "mark", "space"); offsets are in ``text``."""
    found = _TOKEN.finditer(text, start, len(text) if end is None else end)
    return [m for m in found if spaces or m.lastgroup != "space"]


def words(text: str, start: int = 0, end: int | None = None) -> list[re.Match]:
    """The words only (no numbers or marks)."""
    return list(_WORD.finditer(text, start, len(text) if end is None else end))


def sentences(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences: text up to and including ``. ! ? ;`` followed by white
    space, or up to a line break (the point of "2.5" does not end one, nor a "?" before a
    lower-case word); blank spans are left out."""
    bounds, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        bounds.append((start, m.start()))
        start = m.end()
    bounds.append((start, len(text)))
    return [(a, b) for a, b in bounds if text[a:b].strip()]


def tagger_tokens(text: str, start: int = 0, end: int | None = None) -> list[re.Match]:
    """The NER tagger's pre-tokenisation (that of BC5CDR / NCBI-disease): runs of letters and
    digits, and every other non-space character alone."""
    return list(_TAGGER_TOKEN.finditer(text, start, len(text) if end is None else end))
