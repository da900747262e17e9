"""Finance call-center: the supervisor's web page (see issue 4 for routing and the dashboard)."""
from __future__ import annotations

import gradio as gr

from apps.common.transcription import transcription_tab

TITLE = "Call-center supervisor"


def build_demo() -> gr.Blocks:
    with gr.Blocks(title=f"Parlance · {TITLE}") as demo:
        gr.Markdown(f"# {TITLE}\nUpload a call recording to get its transcript with timings. "
                    "[Back to the suite](/)")
        transcription_tab("callcenter")
    return demo
