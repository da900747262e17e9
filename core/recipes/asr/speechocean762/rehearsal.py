"""Rehearsal rows: other audio, written as the model as shipped hears it, mixed into training.

Adapting on read prompts alone pulls Whisper away from the speech it already knew (the telephone
call, spoken digits at 8 kHz: README, issue 14). A few hundred clips of other speech, each with the
transcript the *original* model writes for it (sequence-level distillation: no labels needed, and
nothing is learnt from them but to keep saying what it said), hold the adapted model near the
original outside the new speakers' speech.

    rows = rehearsal_rows(Path("../shared/data/fsdd/train.jsonl"), count=600, base="tiny.en", seed=1234)

The list is any JSONL of audio (``path`` or ``audio``, relative to the list's folder); its own
labels are never read.
"""
from __future__ import annotations

import logging
import random
from pathlib import Path

log = logging.getLogger(__name__)


def rehearsal_rows(listing: Path, *, count: int, base: str, seed: int, batch: int = 16) -> list[dict]:
    """``count`` clips drawn (seeded) from ``listing``, each with the transcript that ``base`` writes
    through the engine (English). Clips it cannot read or hears nothing in are left out."""
    from core.asr import TranscribeOptions, get_transcriber
    from core.audio import load_audio
    from core.recipes.asr.speechocean762.prepare import read_list

    rows = read_list(listing)
    rows = random.Random(seed).sample(rows, min(count, len(rows)))
    engine, out = get_transcriber(base), []
    for i in range(0, len(rows), batch):
        part, audios = [], []
        for r in rows[i:i + batch]:
            try:
                audios.append(load_audio(r["path"]))
                part.append(r)
            except (OSError, RuntimeError, ValueError):
                log.warning("rehearsal clip %s cannot be read; left out", r["path"], exc_info=True)
        for r, t in zip(part, engine.transcribe_many(audios, TranscribeOptions(language="en"))):
            if t.text.strip():
                out.append({**r, "text": t.text.strip(), "rehearsal": True})
    return out
