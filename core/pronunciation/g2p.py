"""Grapheme-to-phoneme for words CMUdict lacks (names, made-up words): espeak-ng's letter-to-sound
rules, its IPA mapped to stress-marked ARPAbet. ``benchmarks/pronunciation.py`` reports its phone
error rate on held-out CMUdict words.

>>> g2p("blorft")          # doctest: +SKIP
['B', 'L', 'AO1', 'R', 'F', 'T']
"""
from __future__ import annotations

from functools import lru_cache

from core.pronunciation.espeak import phonemize

# IPA (as espeak-ng en-us writes it, length marks removed) -> ARPAbet; longest match first
_IPA_TO_ARPABET: dict[str, tuple[str, ...]] = {
    "tʃ": ("CH",), "dʒ": ("JH",), "aɪ": ("AY",), "aʊ": ("AW",), "eɪ": ("EY",), "oʊ": ("OW",), "əʊ": ("OW",),
    "ɔɪ": ("OY",), "ɑɹ": ("AA", "R"), "ɔɹ": ("AO", "R"), "ɛɹ": ("EH", "R"), "ɪɹ": ("IH", "R"), "ʊɹ": ("UH", "R"),
    "iə": ("IY", "AH"), "oːɹ": ("AO", "R"), "aɪɚ": ("AY", "ER"), "aʊɚ": ("AW", "ER"), "əl": ("AH", "L"),
    "p": ("P",), "b": ("B",), "t": ("T",), "d": ("D",), "k": ("K",), "g": ("G",), "ɡ": ("G",), "f": ("F",),
    "v": ("V",), "θ": ("TH",), "ð": ("DH",), "s": ("S",), "z": ("Z",), "ʃ": ("SH",), "ʒ": ("ZH",), "h": ("HH",),
    "m": ("M",), "n": ("N",), "ŋ": ("NG",), "l": ("L",), "ɹ": ("R",), "r": ("R",), "ɾ": ("T",), "j": ("Y",),
    "w": ("W",), "ʔ": ("T",), "x": ("HH",), "i": ("IY",), "ɪ": ("IH",), "ᵻ": ("IH",), "e": ("EY",), "ɛ": ("EH",),
    "æ": ("AE",), "a": ("AE",), "ɑ": ("AA",), "ɒ": ("AA",), "ɔ": ("AO",), "o": ("OW",), "ʊ": ("UH",),
    "u": ("UW",), "ʌ": ("AH",), "ə": ("AH",), "ɐ": ("AH",), "ɚ": ("ER",), "ɜ": ("ER",), "ɝ": ("ER",),
    "n̩": ("AH", "N"), "l̩": ("AH", "L"), "m̩": ("AH", "M"),
}
_VOWELS = {"AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"}
_LONGEST = max(len(k) for k in _IPA_TO_ARPABET)


def ipa_to_arpabet(ipa: str) -> list[str]:
    """espeak-ng IPA (``_`` between phones, ``ˈ``/``ˌ`` before stressed syllables) -> ARPAbet with
    stress digits on vowels (1 primary, 2 secondary, 0 none)."""
    out: list[str] = []
    stress = "0"
    text = ipa.replace("ː", "").replace("_", "").replace(" ", "").replace("-", "")
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in "ˈˌ":
            stress = "1" if ch == "ˈ" else "2"
            i += 1
            continue
        for size in range(min(_LONGEST, len(text) - i), 0, -1):
            phones = _IPA_TO_ARPABET.get(text[i:i + size])
            if phones:
                for p in phones:
                    if p in _VOWELS:
                        out.append(p + stress)
                        stress = "0"
                    else:
                        out.append(p)
                i += size
                break
        else:
            i += 1  # a diacritic or symbol with no ARPAbet counterpart
    return out


@lru_cache(maxsize=4096)
def g2p(word: str) -> tuple[str, ...]:
    """Stress-marked ARPAbet for one word (upper or lower case) from espeak-ng's rules."""
    cleaned = "".join(ch for ch in word.lower() if ch.isalpha() or ch == "'")
    if not cleaned:
        return ()
    return tuple(ipa_to_arpabet(phonemize(cleaned)))
