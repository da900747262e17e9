"""English tutor: the student's web page (pronunciation scoring comes with its own issue)."""
from __future__ import annotations

import gradio as gr

from apps.common.transcription import signed_in_banner, transcription_tab

TITLE = "English pronunciation tutor"


def build_demo() -> gr.Blocks:
    with gr.Blocks(title=f"Parlance · {TITLE}") as demo:
        signed_in_banner(demo, TITLE, "Read aloud and see what was heard, word by word (faint words were recognised with low confidence).")
        transcription_tab("tutor")
    return demo
