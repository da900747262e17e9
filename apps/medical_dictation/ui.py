"""Medical dictation: the web page (see issue 3 for the full note workflow)."""
from __future__ import annotations

import gradio as gr

from apps.common.transcription import transcription_tab

TITLE = "Medical dictation"


def build_demo() -> gr.Blocks:
    with gr.Blocks(title=f"Parlance · {TITLE}") as demo:
        gr.Markdown(f"# {TITLE}\nDictate after a visit; Parlance transcribes it with word timings. "
                    "[Back to the suite](/)")
        transcription_tab("dictation")
    return demo
