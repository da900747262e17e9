"""The peers the benchmarks measure Parlance against, built one way everywhere."""
from __future__ import annotations

import os


def faster_whisper(threads: int | None = None, model: str = "tiny.en"):
    """faster-whisper as its README shows for CPU (``device="cpu", compute_type="int8"``), with the
    same Whisper weights Parlance uses (``model``: tiny.en or base, the bundled copies), and the
    machine's cores as threads unless told."""
    from faster_whisper import WhisperModel

    from core.model_resolver import resolve_whisper

    return WhisperModel(resolve_whisper(model), device="cpu", compute_type="int8",
                        cpu_threads=threads or os.cpu_count() or 1)
