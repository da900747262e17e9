"""Where the speech-emotion model plugs in: ``get_speech_emotion()`` returns the installed model
(``models/speech_emotion/*.pt``, see ``core.emotion.speech_model``) or None, and callers then fuse
text evidence alone. ``PARLANCE_SPEECH_EMOTION=off`` turns it off (text only)."""
from __future__ import annotations

import os
from functools import lru_cache

ARTIFACT_DIR = "speech_emotion"


@lru_cache(maxsize=1)
def get_speech_emotion():  # -> core.emotion.speech_model.SpeechEmotionRecognizer | None
    """The process-wide speech-emotion model, or None (not installed, or turned off)."""
    from core.model_resolver import PROJECT_MODELS_DIR

    if os.environ.get("PARLANCE_SPEECH_EMOTION", "").lower() in ("off", "0", "false", "no"):
        return None
    folder = PROJECT_MODELS_DIR / ARTIFACT_DIR
    if not folder.is_dir() or not any(folder.glob("*.pt")):
        return None
    from core.emotion.speech_model import load_speech_emotion

    return load_speech_emotion(folder)
