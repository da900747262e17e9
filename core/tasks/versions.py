"""Which models a process runs: a short fingerprint of the project's trained artifacts, the
recogniser settings and the versions of the libraries that compute the figures. The server puts it
on every task; a worker whose fingerprint differs refuses the task and says so (two workers on
different models would give one bank two routings for the same words)."""
from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from importlib import metadata

from core.config import get_settings
from core.model_resolver import PROJECT_MODELS_DIR

LIBRARIES = ("ctranslate2", "faster-whisper", "torch", "transformers", "speechbrain")
SETTINGS_PREFIXES = ("PARLANCE_ASR", "PARLANCE_DICTATION_ASR", "PARLANCE_SPEECH_EMOTION", "PARLANCE_TUTOR_SCORER",
                     "PARLANCE_TUTOR_RECOGNISER")


@lru_cache(maxsize=1)
def models_version() -> str:
    """12 hex digits; equal on two machines when they would compute the same results."""
    digest = hashlib.sha256()
    for path in sorted(p for p in PROJECT_MODELS_DIR.rglob("*") if p.is_file()):
        digest.update(path.relative_to(PROJECT_MODELS_DIR).as_posix().encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    settings = get_settings()
    digest.update(f"{settings.asr_model}|{settings.asr_compute_type}".encode())
    for name in LIBRARIES:
        try:
            digest.update(f"{name}={metadata.version(name)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{name}=-".encode())
    for key in sorted(k for k in os.environ if k.startswith(SETTINGS_PREFIXES)):
        digest.update(f"{key}={os.environ[key]}".encode())
    return digest.hexdigest()[:12]
