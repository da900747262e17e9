"""The ARPAbet phone set every pronunciation model speaks, with what a learner needs to read it.

Phones are CMUdict's 39 ARPAbet symbols without stress digits (``stress_free("AH0") == "AH"``);
the recogniser's vocabulary is ``PHONES`` plus the CTC blank at index 0.
"""
from __future__ import annotations

# phone -> (IPA, an example word, how to make the sound: a plain sentence for a learner)
PHONE_INFO: dict[str, tuple[str, str, str]] = {
    "AA": ("ɑ", "father", "open the mouth wide, tongue low and back"),
    "AE": ("æ", "cat", "open the mouth, tongue low and forward, lips spread"),
    "AH": ("ʌ", "cup", "a short relaxed sound, mouth half open"),
    "AO": ("ɔ", "thought", "round the lips a little, tongue low and back"),
    "AW": ("aʊ", "now", "glide from an open 'ah' to a rounded 'oo'"),
    "AY": ("aɪ", "my", "glide from an open 'ah' to 'ee'"),
    "B": ("b", "bat", "close both lips and release with voice"),
    "CH": ("tʃ", "chair", "tongue on the ridge behind the teeth, release with a 'sh'"),
    "D": ("d", "dog", "tongue tip on the ridge behind the top teeth, release with voice"),
    "DH": ("ð", "this", "tongue tip lightly between the teeth, with voice"),
    "EH": ("ɛ", "bed", "mouth half open, tongue forward, short"),
    "ER": ("ɝ", "bird", "curl the tongue back a little, lips slightly rounded"),
    "EY": ("eɪ", "day", "glide from 'e' to 'ee'"),
    "F": ("f", "fan", "top teeth on the lower lip, blow without voice"),
    "G": ("g", "go", "back of the tongue on the soft palate, release with voice"),
    "HH": ("h", "hat", "breathe out through an open mouth"),
    "IH": ("ɪ", "ship", "short and relaxed, tongue a little lower than in 'sheep'"),
    "IY": ("i", "sheep", "long, lips spread, tongue high and forward"),
    "JH": ("dʒ", "jam", "like 'ch' but with voice"),
    "K": ("k", "cat", "back of the tongue on the soft palate, release without voice"),
    "L": ("l", "light", "tongue tip stays on the ridge behind the top teeth, air flows at the sides"),
    "M": ("m", "man", "close the lips, hum through the nose"),
    "N": ("n", "no", "tongue tip on the ridge behind the top teeth, hum through the nose"),
    "NG": ("ŋ", "sing", "back of the tongue on the soft palate, hum through the nose; no 'g' after it"),
    "OW": ("oʊ", "go", "glide from 'o' to a rounded 'oo'"),
    "OY": ("ɔɪ", "boy", "glide from 'aw' to 'ee'"),
    "P": ("p", "pen", "close both lips and release with a puff of air"),
    "R": ("ɹ", "red", "curl the tongue back without touching the roof of the mouth, lips a little rounded"),
    "S": ("s", "sun", "tongue tip close behind the top teeth, hiss"),
    "SH": ("ʃ", "she", "round the lips, tongue a little further back than for 's'"),
    "T": ("t", "top", "tongue tip on the ridge behind the top teeth, release with a puff of air"),
    "TH": ("θ", "think", "put the tongue tip lightly between the teeth and blow, without voice"),
    "UH": ("ʊ", "book", "short, lips loosely rounded"),
    "UW": ("u", "food", "long, lips tightly rounded"),
    "V": ("v", "van", "top teeth on the lower lip, with voice (the lips do not round as for 'w')"),
    "W": ("w", "we", "round the lips tightly, then open them (the teeth do not touch the lip)"),
    "Y": ("j", "yes", "tongue high and forward as for 'ee', then glide"),
    "Z": ("z", "zoo", "like 's' but with voice"),
    "ZH": ("ʒ", "vision", "like 'sh' but with voice"),
}
PHONES: tuple[str, ...] = tuple(sorted(PHONE_INFO))  # 39 symbols
BLANK = "<b>"  # the CTC blank, index 0 of the recogniser's vocabulary
VOCABULARY: tuple[str, ...] = (BLANK, *PHONES)
VOWELS = frozenset({"AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"})
INDEX = {p: i for i, p in enumerate(VOCABULARY)}


def stress_free(phone: str) -> str:
    """``"AH0" -> "AH"``; raises ``KeyError`` for a symbol outside ARPAbet."""
    base = phone.rstrip("012").upper()
    if base not in PHONE_INFO:
        raise KeyError(f"'{phone}' is not an ARPAbet phone")
    return base


def ipa(phone: str) -> str:
    """The IPA symbol of an ARPAbet phone (stress digits ignored)."""
    return PHONE_INFO[stress_free(phone)][0]


def slashes(phone: str) -> str:
    """How the UI writes a phone: ``/θ/``."""
    return f"/{ipa(phone)}/"
