"""Which language a recording is in, and a refusal when an English-only transcript is not English.

>>> not_english_message(audio, get_transcriber().transcribe(audio))   # doctest: +SKIP
'This recording sounds like French (90% sure), not English; Parlance transcribes English only.'
"""
from __future__ import annotations

import logging

from core.asr import get_transcriber
from core.asr.types import Transcript

log = logging.getLogger(__name__)


LANGUAGE_NAMES = {"en": "English", "fr": "French", "es": "Spanish", "de": "German", "it": "Italian",
                  "pt": "Portuguese", "nl": "Dutch", "pl": "Polish", "ru": "Russian", "uk": "Ukrainian",
                  "zh": "Chinese", "ja": "Japanese", "ko": "Korean", "ar": "Arabic", "hi": "Hindi", "ur": "Urdu",
                  "tr": "Turkish", "fa": "Persian", "vi": "Vietnamese", "ro": "Romanian", "el": "Greek",
                  "sv": "Swedish", "da": "Danish", "no": "Norwegian", "fi": "Finnish", "cs": "Czech", "hu": "Hungarian",
                  "he": "Hebrew", "bn": "Bengali", "ta": "Tamil", "pa": "Punjabi", "so": "Somali", "sw": "Swahili"}


def spoken_language(audio, model: str = "base") -> tuple[str, float] | None:
    """(language code, probability) of the speech in ``audio`` by a multilingual Whisper model, or
    None when that model is not installed (language checks are then skipped, not failed)."""
    from core.model_resolver import ModelNotFoundError

    try:
        transcriber = get_transcriber(model)
    except ModelNotFoundError:
        log.warning("no multilingual Whisper model installed; the language check is skipped", exc_info=True)
        return None
    return transcriber.detect_language(audio)[0]


def repeats_itself(text: str, min_words: int = 4, max_distinct_share: float = 0.4) -> bool:
    """True when ``text`` is mostly the same few words again (a recogniser's loop, not speech):
    at least ``min_words`` words, and distinct ones at most ``max_distinct_share`` of them."""
    words = [w.strip(".,;:!?\"'()").lower() for w in text.split()]
    words = [w for w in words if w]
    return len(words) >= min_words and len(set(words)) <= max_distinct_share * len(words)


def not_english_message(audio, transcript: Transcript, *, min_probability: float = 0.5) -> str | None:
    """A plain-language refusal when an English-only transcript of ``audio`` looks like another
    language (no words, or a low decoder confidence, and a multilingual model hears a language
    other than English with at least ``min_probability``); None otherwise. The language model runs
    only on suspicious transcripts, so accented English costs nothing extra and is never refused.
    A transcript that repeats itself ("Dr. Dr. Dr. ...": what the recogniser writes for French
    with a medication list in its prompt, confidently) is suspicious too."""
    if transcript.text.strip() and transcript.mean_logprob > -0.8 and not repeats_itself(transcript.text):
        return None
    found = spoken_language(audio)
    if found is None or found[0] == "en" or found[1] < min_probability:
        return None
    name = LANGUAGE_NAMES.get(found[0], f"language '{found[0]}'")
    return (f"This recording sounds like {name} ({found[1]:.0%} sure), not English; Parlance transcribes "
            f"English only.")
