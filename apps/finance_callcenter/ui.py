"""Finance call-center: the supervisor's web page (see issue 4 for routing and the dashboard)."""
from __future__ import annotations

import gradio as gr

from apps.common.transcription import signed_in_banner, transcription_tab

TITLE = "Call-center supervisor"


def build_demo() -> gr.Blocks:
    with gr.Blocks(title=f"Parlance · {TITLE}") as demo:
        signed_in_banner(demo, TITLE, "Upload a call recording to get its transcript with timings.")
        transcription_tab("callcenter")
    return demo
