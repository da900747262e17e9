"""Service + Gradio tab shared by the apps: upload or record audio, get a timestamped transcript.

Lives in apps/common (not in any one app) so the apps stay independent of each other.
"""
from __future__ import annotations

import logging

import base64
import html

import gradio as gr

from apps.common.errors import plain_errors
from apps.common.uploads import UploadRefused, checked_upload
from core import accounts
from core.asr import TranscribeOptions, Transcript, get_transcriber
from core.asr.formats import render
from core.audio import AudioError, load_audio
from core.config import get_settings
from core.db import session_scope

log = logging.getLogger(__name__)


class UserFacingError(Exception):
    """An error whose message can be shown to the person as it is."""


def transcribe_upload(source, vocabulary: str = "", progress=None) -> Transcript:
    """Gradio audio value (a file path or (rate, samples)) -> Transcript, or UserFacingError.

    progress: optional callable(done_chunks, total_chunks)."""
    if source is None or (isinstance(source, str) and not source):
        raise UserFacingError("Please record or upload audio first.")
    if not isinstance(source, tuple):  # a file path from the client: only this server's uploads
        try:
            source = checked_upload(source)
        except UploadRefused as exc:
            raise UserFacingError(str(exc)) from exc
    s = get_settings()
    try:
        audio = load_audio(source, max_seconds=s.max_audio_seconds, min_seconds=s.min_audio_seconds)
    except AudioError as exc:  # logged where it is caught for good (the handler below)
        raise UserFacingError(exc.message) from exc
    words = tuple(w.strip() for w in (vocabulary or "").split(",") if w.strip())
    (transcript,) = get_transcriber().transcribe_many([audio], TranscribeOptions(vocabulary=words), progress)
    return transcript


def audit_transcription(*, username: str | None, app: str, transcript: Transcript | None, error: str = "") -> None:
    """Write who transcribed what (duration, word count, or the error) to the suite's audit log."""
    with session_scope() as s:
        user = accounts.get_user(session=s, username=username) if username else None
        detail = {"error": error} if error else {
            "seconds": round(transcript.duration, 1), "words": len(transcript.words), "model": transcript.model}
        accounts.record_audit(session=s, user=user, app=app, action="transcribe", object_type="recording",
                              detail=detail)


def download_links(t: Transcript) -> str:
    """SRT and JSON downloads carried inside the page (data: links): no copy of the transcript is
    written to the server's disk, so none can be fetched by URL or left behind."""
    links = []
    for fmt, media in (("srt", "application/x-subrip"), ("json", "application/json")):
        payload = base64.b64encode(render(t, fmt).encode("utf-8")).decode("ascii")
        links.append(f'<a download="transcript.{fmt}" href="data:{media};charset=utf-8;base64,{payload}">'
                     f"Download transcript.{fmt}</a>")
    return " · ".join(links)


def transcript_html(t: Transcript) -> str:
    """Words coloured by confidence, one line per segment with its time."""
    if not t.segments:
        return "<p><em>No speech was found in this recording.</em></p>"
    lines = []
    for seg in t.segments:
        words = " ".join(
            f'<span title="{w.confidence:.0%} sure" style="opacity:{0.45 + 0.55 * w.confidence:.2f}">'
            f"{html.escape(w.text)}</span>"
            for w in seg.words
        ) or html.escape(seg.text)
        lines.append(f'<div><code>{seg.start:7.2f}s</code> {words}</div>')
    notes = "".join(f"<p>⚠ {html.escape(n)}</p>" for n in t.warnings)
    return notes + "".join(lines)


def signed_in_banner(demo: gr.Blocks, title: str, blurb: str) -> None:
    """Page title, a line of purpose, and who is signed in (filled on page load), with sign-out."""
    header = gr.Markdown(f"# {title}\n{blurb}")

    def who(request: gr.Request) -> str:
        name = html.escape(getattr(request, "username", None) or "")
        return f"# {title}\n{blurb}\n\nSigned in as **{name}** · [All apps](/) · [Sign out](/logout)"

    demo.load(who, None, header, api_name=False)


def transcription_page(title: str, blurb: str, app_id: str) -> gr.Blocks:
    """A page with the signed-in banner and the Transcribe tab (each app adds its own tabs later)."""
    with gr.Blocks(title=f"Parlance · {title}") as demo:
        signed_in_banner(demo, title, blurb)
        transcription_tab(app_id)
    return demo


def transcription_tab(app_id: str) -> None:
    """Adds a 'Transcribe' tab (API name ``transcribe``) to the enclosing gr.Blocks; what is
    transcribed is audited under ``app_id``, the app's one id."""
    with gr.Tab("Transcribe"):
        with gr.Row():
            with gr.Column():
                audio = gr.Audio(sources=["upload", "microphone"], type="filepath", label="Recording")
                vocab = gr.Textbox(label="Words to listen for (comma-separated, optional)")
                go = gr.Button("Transcribe", variant="primary")
            with gr.Column():
                status = gr.Markdown()
                view = gr.HTML(label="Transcript")
                srt = gr.HTML()
        go.click(_handler(app_id), [audio, vocab], [status, view, srt], api_name="transcribe")


def _handler(app_id: str):
    @plain_errors
    def handle(audio, vocabulary, request: gr.Request, progress=gr.Progress()):
        return _handle(app_id, audio, vocabulary, getattr(request, "username", None), progress)

    return handle


def may_transcribe(username: str | None, app_id: str) -> bool:
    """The caller's role may use ``app_id`` (checked here too, not only by the page guard)."""
    with session_scope() as s:
        return accounts.user_who_may_open(session=s, username=username, app_id=app_id) is not None


def _handle(app_id: str, audio, vocabulary, username: str | None, progress):
    if not may_transcribe(username, app_id):
        log.info("transcription refused: %r may not use %s", username, app_id)
        return "**Could not transcribe:** sign in with an account that may use this app.", "", ""
    progress(0.0, desc="Reading the recording...")

    def report(done: int, total: int) -> None:
        progress(done / max(total, 1), desc=f"Transcribing: {done} of {total} speech chunks")

    try:
        t = transcribe_upload(audio, vocabulary, report)
    except UserFacingError as exc:
        log.info("refused: %s", exc, exc_info=True)
        audit_transcription(username=username, app=app_id, transcript=None, error=str(exc)[:200])
        return f"**Could not transcribe:** {exc}", "", ""
    audit_transcription(username=username, app=app_id, transcript=t)
    files = download_links(t)
    rtf = t.timings.total_s / max(t.duration, 1e-6)
    status = (f"{len(t.words)} words from {t.duration:.1f} s of audio in {t.timings.total_s:.2f} s "
              f"({rtf:.2f}× real time).")
    return status, transcript_html(t), files
