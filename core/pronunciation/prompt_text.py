"""A prompt as a teacher types it -> the words a student says.

``spoken_words("Dr. Lee has 2 cats!")`` -> ``[("Dr.", ["DOCTOR"]), ("Lee", ["LEE"]), ("has", ["HAS"]),
("2", ["TWO"]), ("cats!", ["CATS"])]``: each display token keeps its spelling and punctuation for
the page, and gets the upper-case words a reader would say for it (digits, ordinals, decimals,
percentages and common abbreviations spelled out, accents folded, hyphenated words split).
"""
from __future__ import annotations

import re
import unicodedata

from core.asr.metrics import number_to_words

MAX_PROMPT_CHARS = 2_000  # a short passage at most; longer prompts are refused with a message

_ORDINAL = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
            "nine": "ninth", "twelve": "twelfth"}
_ABBREVIATIONS = {
    "mr": "mister", "mrs": "missus", "ms": "miz", "dr": "doctor", "prof": "professor", "st": "street",
    "mt": "mount", "jr": "junior", "sr": "senior", "vs": "versus", "etc": "et cetera", "eg": "for example",
    "ie": "that is", "am": "a m", "pm": "p m", "tv": "t v", "usa": "u s a", "uk": "u k", "ok": "okay",
}
_SYMBOLS = {"%": "percent", "&": "and", "+": "plus", "=": "equals", "@": "at", "$": "dollars", "£": "pounds",
            "€": "euros"}
_TOKEN = re.compile(r"\S+")
_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)*|\d+(?:[.,]\d+)*(?:st|nd|rd|th)?|[%&+=@$£€]")


def number_words(n: int) -> list[str]:
    """A number as read aloud; 1100-2099 as a year ("nineteen ninety", "nineteen oh five")."""
    if n < 0:
        return ["minus", *number_words(-n)]
    if 1100 <= n <= 2099 and n % 100 and n // 100 != 20 or 1100 <= n < 2000 and n % 100 == 0 and n // 100 != 10:
        head = number_words(n // 100)
        tail = ["hundred"] if n % 100 == 0 else (["oh", *number_words(n % 100)] if n % 100 < 10 else number_words(n % 100))
        return head + tail
    return number_to_words(n).split()


def ordinal_words(n: int) -> list[str]:
    words = number_words(n)
    last = words[-1]
    if last in _ORDINAL:
        words[-1] = _ORDINAL[last]
    elif last.endswith("y"):
        words[-1] = last[:-1] + "ieth"
    else:
        words[-1] = last + "th"
    return words


def _digits(token: str) -> list[str]:
    if token[-2:].lower() in ("st", "nd", "rd", "th"):
        return ordinal_words(int(token[:-2].replace(",", "")))
    if re.fullmatch(r"\d{1,3}(,\d{3})+", token):
        return number_words(int(token.replace(",", "")))
    if "." in token or "," in token:
        whole, _, frac = token.replace(",", ".").partition(".")
        return number_words(int(whole)) + ["point"] + [number_to_words(int(d)) for d in frac if d.isdigit()]
    if len(token) > 9:  # a long code is read digit by digit
        return [number_to_words(int(d)) for d in token]
    return number_words(int(token))


def fold(text: str) -> str:
    """Accents and typographic quotes folded to ASCII ("café" -> "cafe", "don’t" -> "don't")."""
    text = text.replace("’", "'").replace("‘", "'").replace("`", "'")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def spoken_words(prompt: str) -> list[tuple[str, list[str]]]:
    """Display tokens with the upper-case words a reader says for each; tokens with nothing to say
    (a lone dash, an emoji) are left out."""
    out: list[tuple[str, list[str]]] = []
    for match in _TOKEN.finditer(prompt[:MAX_PROMPT_CHARS]):
        display = match.group(0)
        said: list[str] = []
        folded = fold(display)
        bare = folded.lower().replace(".", "")
        if bare.strip("!?,;:\"'()") in _ABBREVIATIONS and re.fullmatch(r"[A-Za-z.]+[!?,;:\"')]*", folded):
            said = _ABBREVIATIONS[bare.strip("!?,;:\"'()")].split()
        else:
            for piece in _WORD.findall(folded):
                if piece[0].isdigit():
                    said += _digits(piece)
                elif piece in _SYMBOLS:
                    said.append(_SYMBOLS[piece])
                else:
                    said.append(piece)
        if said:
            out.append((display, [w.upper() for w in said]))
    return out
