"""Medical dictation: the web page (see issue 3 for the full note workflow)."""
from __future__ import annotations

import gradio as gr

from apps.common.transcription import signed_in_banner, transcription_tab

TITLE = "Medical dictation"


def build_demo() -> gr.Blocks:
    with gr.Blocks(title=f"Parlance · {TITLE}") as demo:
        signed_in_banner(demo, TITLE, "Dictate after a visit; Parlance transcribes it with word timings.")
        transcription_tab("dictation")
    return demo
