"""Where the speech-emotion model plugs in. Until its artifact exists in models/speech_emotion/,
``get_speech_emotion()`` returns None and callers fuse text evidence alone."""
from __future__ import annotations

from typing import Protocol

import numpy as np

ARTIFACT_DIR = "speech_emotion"


class SpeechEmotionRecognizer(Protocol):
    def predict(self, samples: np.ndarray) -> dict[str, float]:
        """Mono float32 16 kHz samples ``[T]`` -> label -> probability."""
        ...


def get_speech_emotion() -> SpeechEmotionRecognizer | None:
    from core.model_resolver import PROJECT_MODELS_DIR

    folder = PROJECT_MODELS_DIR / ARTIFACT_DIR
    if not folder.is_dir() or not any(folder.glob("*.pt")):
        return None
    import importlib
    import importlib.util

    if importlib.util.find_spec("core.emotion.speech_model") is None:  # the model's code lands with its issue
        return None
    return importlib.import_module("core.emotion.speech_model").load_speech_emotion(folder)
