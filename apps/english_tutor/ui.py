"""English tutor: the student's web page (pronunciation scoring comes with its own issue)."""
from __future__ import annotations

import gradio as gr

from apps.common.transcription import transcription_page
from apps.english_tutor.config import APP_ID, SPEC

TITLE = SPEC.title


def build_demo() -> gr.Blocks:
    return transcription_page(TITLE, "Read aloud and see what was heard, word by word (faint words were recognised with low confidence).", APP_ID)
