"""Finance call-center: the supervisor's web page (see issue 4 for routing and the dashboard)."""
from __future__ import annotations

import gradio as gr

from apps.common.transcription import transcription_page

TITLE = "Call-center supervisor"


def build_demo() -> gr.Blocks:
    return transcription_page(TITLE, "Upload a call recording to get its transcript with timings.", "callcenter")
