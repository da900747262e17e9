"""Two or three concrete tips for the weakest sounds of a reading, in plain words.

A tip names the word, what was expected and what was heard ("In 'think' you said /s/ where /θ/
was expected"), then how to make the sound. Confusions Mandarin speakers of English often make
get a sharper hint than the generic description.
"""
from __future__ import annotations

from core.pronunciation.phones import PHONE_INFO, slashes

MAX_TIPS = 3
_PUNCTUATION = ".,;:!?\"'()[]{}«»“”‘’"
# (expected, heard) -> a targeted hint
PAIR_HINTS: dict[tuple[str, str], str] = {
    ("TH", "S"): "put the tongue tip between the teeth (not behind them) and blow gently",
    ("TH", "F"): "use the tongue between the teeth, not the lower lip",
    ("TH", "T"): "let the air flow continuously; do not stop it with the tongue",
    ("DH", "Z"): "tongue tip between the teeth with voice, not behind the teeth",
    ("DH", "D"): "keep the air flowing between tongue and teeth; do not tap",
    ("L", "R"): "touch the ridge behind the top teeth with the tongue tip",
    ("R", "L"): "pull the tongue back so that it touches nothing, and round the lips a little",
    ("V", "W"): "touch the lower lip with the top teeth; do not round the lips",
    ("W", "V"): "round the lips and keep the teeth away from the lip",
    ("IY", "IH"): "make it longer and spread the lips as in a smile",
    ("IH", "IY"): "make it shorter and more relaxed",
    ("N", "NG"): "end with the tongue tip up behind the teeth",
    ("NG", "N"): "end with the back of the tongue up, as in 'sing'",
    ("AE", "EH"): "open the jaw wider",
    ("UW", "UH"): "make it longer with tightly rounded lips",
}


def tips_for(words: list[dict], max_tips: int = MAX_TIPS) -> list[str]:
    """``words``: an assessment's word dicts (``Assessment.to_dict()["words"]``)."""
    found: list[tuple[int, str, str, str]] = []  # (score, expected, heard, word)
    omitted = [w["text"].strip(_PUNCTUATION) or w["text"] for w in words if w["error"] == "omitted"]
    for w in words:
        if w["error"] == "omitted":
            continue
        for p in w["phones"]:
            if p["score"] < 2:
                found.append((p["score"], p["phone"], p["heard"], w["text"]))
    tips: list[str] = []
    if omitted:
        tips.append("Some words were not heard: " + ", ".join(f"'{t}'" for t in omitted[:4])
                    + ". Read every word of the prompt, even the small ones.")
    seen: set[str] = set()
    for score, expected, heard, word in sorted(found, key=lambda f: f[0]):
        word = word.strip(_PUNCTUATION) or word
        if expected in seen or len(tips) >= max_tips:
            continue
        seen.add(expected)
        info = PHONE_INFO[expected]
        if heard and heard != expected:
            what = f"In '{word}' you said {slashes(heard)} where {slashes(expected)} was expected"
        elif not heard:
            what = f"In '{word}' the sound {slashes(expected)} was missing"
        else:
            what = f"In '{word}' the sound {slashes(expected)} was not quite clear"
        hint = PAIR_HINTS.get((expected, heard)) or info[2]
        tips.append(f"{what}: {hint} (as in '{info[1]}').")
    if not tips:
        tips.append("Well read! Try a longer prompt or a faster, natural speed next.")
    return tips[:max_tips]
