"""Medical dictation: the web page (see issue 3 for the full note workflow)."""
from __future__ import annotations

import gradio as gr

from apps.common.transcription import transcription_page

TITLE = "Medical dictation"


def build_demo() -> gr.Blocks:
    return transcription_page(TITLE, "Dictate after a visit; Parlance transcribes it with word timings.", "dictation")
