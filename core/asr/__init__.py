"""Speech recognition: the Transcriber interface, its result types and the Whisper engine.

>>> from core.asr import get_transcriber            # doctest: +SKIP
>>> get_transcriber().transcribe("visit.wav").text
"""
from __future__ import annotations

from functools import lru_cache

from core.asr.base import Transcriber
from core.asr.types import Segment, Timings, TranscribeOptions, Transcript, Word

__all__ = ["Segment", "Timings", "TranscribeOptions", "Transcript", "Transcriber", "Word", "get_transcriber"]


@lru_cache(maxsize=4)
def get_transcriber(model: str | None = None) -> Transcriber:
    """The process-wide Transcriber for ``model`` (default: settings.asr_model), loaded once."""
    from core.asr.whisper_engine import WhisperTranscriber
    from core.config import get_settings

    s = get_settings()
    return WhisperTranscriber(model or s.asr_model, compute_type=s.asr_compute_type,
                              cpu_threads=s.cpu_threads, allow_download=s.allow_model_download)

