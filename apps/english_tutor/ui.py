"""English tutor: the student's web page (pronunciation scoring comes with its own issue)."""
from __future__ import annotations

import gradio as gr

from apps.common.transcription import transcription_tab

TITLE = "English pronunciation tutor"


def build_demo() -> gr.Blocks:
    with gr.Blocks(title=f"Parlance · {TITLE}") as demo:
        gr.Markdown(f"# {TITLE}\nRead aloud and see what was heard, word by word (faint words were "
                    "recognised with low confidence). [Back to the suite](/)")
        transcription_tab("tutor")
    return demo
