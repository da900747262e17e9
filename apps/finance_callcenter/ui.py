"""Call-center supervisor dashboard: live queues, upload, call detail, analytics, routing table.

Handlers are module-level functions that call service.py / analytics.py; every event has an api_name.
"""
from __future__ import annotations

import logging

import html

import gradio as gr
import pandas as pd

from apps.common.errors import plain_errors
from apps.common.transcription import signed_in_banner
from apps.common.uploads import UploadRefused, checked_upload
from apps.finance_callcenter import analytics, service, views, worker
from apps.finance_callcenter.config import SPEC, get_callcenter_settings
from apps.finance_callcenter.files import audio_url, csv_url
from apps.finance_callcenter.routing import RoutingTableError

log = logging.getLogger(__name__)

TITLE = SPEC.title
DAYS = {"Today": 1, "Last 7 days": 7, "Last 30 days": 30, "All time": None}
ALL = "(all)"


def _user(request: gr.Request | None) -> str:
    return getattr(request, "username", None) or ""


# --- live board -------------------------------------------------------------------------------------
@plain_errors
def refresh_board(request: gr.Request):
    try:
        board = analytics.queue_board(username=_user(request))
    except service.CallCenterError as exc:
        log.info("refused: %s", exc, exc_info=True)
        return f"<p><b>{html.escape(str(exc))}</b></p>", "", ""
    return (views.board_html(board), views.waiting_html(board["waiting"]),
            views.processing_html(board["processing"], board.get("workers")))


# --- upload -----------------------------------------------------------------------------------------
@plain_errors
def upload_calls(files, agent_channel: str, request: gr.Request):
    try:
        paths = [str(checked_upload(f)) for f in (files or [])]  # only this server's uploads, before any read
    except UploadRefused as exc:
        return f"**Not uploaded:** {exc}", *refresh_board(request)
    try:
        ids = service.submit_uploads(paths, username=_user(request),
                                     agent_channel=1 if agent_channel.startswith("Right") else 0)
    except service.CallCenterError as exc:
        log.info("refused: %s", exc, exc_info=True)
        return f"**Not uploaded:** {exc}", *refresh_board(request)
    worker.wake()
    return (f"{len(ids)} call(s) stored and queued: " + ", ".join(f"#{i}" for i in ids)
            + ". Progress shows below and on the Live queues tab.", *refresh_board(request))


# --- call detail ------------------------------------------------------------------------------------
def recent_call_choices(username: str) -> list[tuple[str, int]]:
    return [(f"#{c['id']} · {c['filename']} · {c['status']}" + (f" · {c['queue_key']}" if c["queue_key"] else ""),
             c["id"]) for c in service.list_call_dicts(username=username, limit=200)]


@plain_errors
def list_calls(request: gr.Request):
    return gr.update(choices=recent_call_choices(_user(request)))


@plain_errors
def open_call(call_id, request: gr.Request):
    empty = pd.DataFrame({"time_s": [], "probability": [], "emotion": []})
    if call_id in (None, ""):
        return "<p>Choose a call.</p>", "", empty, ""
    try:
        view = service.call_detail(int(call_id), username=_user(request))
    except (service.CallCenterError, ValueError) as exc:
        log.info("refused: %s", exc, exc_info=True)
        return f"<p><b>{html.escape(str(exc))}</b></p>", "", empty, ""
    rows = []
    for t in view.turns:
        if t["speaker"] != "customer":
            continue
        mid = (t["start_s"] + t["end_s"]) / 2
        for label in ("anger", "fear", "sadness", "joy", "neutral"):
            rows.append({"time_s": round(mid, 1), "probability": t["emotion_scores"].get(label, 0.0), "emotion": label})
        rows.append({"time_s": round(mid, 1), "probability": t["distress"], "emotion": "distress"})
    plot = pd.DataFrame(rows) if rows else empty
    player = f'<audio controls preload="none" src="{html.escape(audio_url(SPEC.path, view.call["id"]))}"></audio>'
    return views.decisions_html(view.call, view.decisions), views.transcript_html(view.turns), plot, player


@plain_errors
def take_call(call_id, request: gr.Request):
    try:
        service.take_call(int(call_id), username=_user(request))
    except (service.CallCenterError, TypeError, ValueError) as exc:
        log.info("refused: %s", exc, exc_info=True)
        return f"**Not changed:** {exc}"
    return f"Call #{int(call_id)} marked as taken by an agent (it leaves the waiting list)."


@plain_errors
def reroute(call_id, queue, reason, request: gr.Request):
    try:
        service.reroute_call(int(call_id), queue or "", username=_user(request), reason=reason or "")
    except (service.CallCenterError, TypeError, ValueError) as exc:
        log.info("refused: %s", exc, exc_info=True)
        return f"**Not re-routed:** {exc}"
    return f"Call #{int(call_id)} re-routed to {queue}."


@plain_errors
def retry(call_id, request: gr.Request):
    try:
        service.retry_call(int(call_id), username=_user(request))
    except (service.CallCenterError, TypeError, ValueError) as exc:
        log.info("refused: %s", exc, exc_info=True)
        return f"**Not retried:** {exc}"
    worker.wake()
    return f"Call #{int(call_id)} queued again."


# --- analytics --------------------------------------------------------------------------------------
def _filters(days: str, queue: str, intent: str) -> dict:
    return {"days": DAYS.get(days), "queue": None if queue in (None, "", ALL) else queue,
            "intent": None if intent in (None, "", ALL) else intent}


@plain_errors
def show_analytics(days: str, queue: str, intent: str, request: gr.Request):
    agg = analytics.aggregates(username=_user(request), **_filters(days, queue, intent))
    summary = (f"**{agg['calls']}** processed call(s) · escalation rate **{agg['escalation_rate']:.0%}**"
               if agg["calls"] else "No processed calls match these filters.")
    return summary, agg["intents"], agg["escalations"], agg["emotions"], agg["emotions"]


@plain_errors
def export(days: str, queue: str, intent: str, request: gr.Request):
    """A download link served by the suite (apps/finance_callcenter/files.py), which checks the role
    again on every download; no copy is written to disk."""
    url = csv_url(SPEC.path, **_filters(days, queue, intent))
    return f'<a href="{html.escape(url)}" download="calls.csv">Download calls.csv (one row per turn)</a>'


# --- routing table ----------------------------------------------------------------------------------
@plain_errors
def load_table(request: gr.Request):
    version, document, _ = service.current_table(username=_user(request))
    return document, f"Current version: **v{version}**", _history(_user(request))


def _history(username: str) -> pd.DataFrame:
    rows = service.table_history(username=username)
    return pd.DataFrame([{"version": r["version"], "by": r["by"], "at": f"{r['at']:%Y-%m-%d %H:%M}",
                          "note": r["note"]} for r in rows])


@plain_errors
def save_table(document: str, note: str, request: gr.Request):
    try:
        version = service.save_table(document or "", username=_user(request), note=note or "")
    except RoutingTableError as exc:
        log.info("refused: %s", exc, exc_info=True)
        return f"**Not saved.** {exc}", _history(_user(request)), gr.update()
    return (f"Saved as **v{version}**; new calls are routed with it.", _history(_user(request)),
            f"Current version: **v{version}**")


def queue_choices(username: str) -> list[str]:
    _, _, table = service.current_table(username=username)
    return list(table.queues)


@plain_errors
def filter_choices(request: gr.Request):
    intents = [ALL] + sorted(service.known_intents_or_empty())
    queues = queue_choices(_user(request))
    return gr.update(choices=[ALL] + queues), gr.update(choices=intents), gr.update(choices=queues)


def build_demo() -> gr.Blocks:
    settings = get_callcenter_settings()
    service.ensure_setup()
    with gr.Blocks(title=f"Parlance · {TITLE}") as demo:
        signed_in_banner(demo, TITLE, "Every call transcribed turn by turn, routed to its queue, "
                                      "escalations first.")
        with gr.Tab("Live queues"):
            board = gr.HTML()
            gr.Markdown("### Waiting calls (escalations first)")
            waiting = gr.HTML()
            gr.Markdown("### Processing")
            processing = gr.HTML()
            timer = gr.Timer(settings.dashboard_refresh_s)
            timer.tick(refresh_board, None, [board, waiting, processing], api_name="board", show_progress="hidden")
            demo.load(refresh_board, None, [board, waiting, processing], api_name=False)
        with gr.Tab("Upload calls"):
            files = gr.File(file_count="multiple", file_types=["audio", ".wav", ".flac", ".mp3", ".ogg", ".opus"],
                            label="Call recordings (many at once)")
            channel = gr.Radio(["Left channel is the agent", "Right channel is the agent"],
                               value="Left channel is the agent", label="Stereo calls")
            go = gr.Button("Upload and process", variant="primary")
            upload_status = gr.Markdown()
            up_board, up_waiting, up_processing = gr.HTML(visible=False), gr.HTML(visible=False), gr.HTML()
            go.click(upload_calls, [files, channel], [upload_status, up_board, up_waiting, up_processing],
                     api_name="upload")
            timer.tick(refresh_board, None, [up_board, up_waiting, up_processing], api_name=False,
                       show_progress="hidden")
        with gr.Tab("Call detail"):
            with gr.Row():
                pick = gr.Dropdown(label="Call", choices=[], allow_custom_value=True, scale=3)
                reload_calls = gr.Button("Refresh list", scale=1)
                open_btn = gr.Button("Open", variant="primary", scale=1)
            summary = gr.HTML()
            player = gr.HTML(label="Recording")
            plot = gr.LinePlot(x="time_s", y="probability", color="emotion", title="Customer emotion over the call",
                               x_title="seconds", y_title="probability", y_lim=[0, 1], height=260,
                               color_map={**views.EMOTION_COLOURS, "distress": "#000000"})
            transcript = gr.HTML()
            with gr.Row():
                take = gr.Button("Agent took this call")
                retry_btn = gr.Button("Retry processing")
            with gr.Row():
                new_queue = gr.Dropdown(label="Re-route to", choices=[], allow_custom_value=True, scale=1)
                why = gr.Textbox(label="Reason (stored with the decision)", scale=2)
                reroute_btn = gr.Button("Re-route", scale=1)
            action_status = gr.Markdown()
            reload_calls.click(list_calls, None, pick, api_name="list_calls")
            open_btn.click(open_call, pick, [summary, transcript, plot, player], api_name="call_detail")
            take.click(take_call, pick, action_status, api_name="take_call")
            retry_btn.click(retry, pick, action_status, api_name="retry_call")
            reroute_btn.click(reroute, [pick, new_queue, why], action_status, api_name="reroute")
        with gr.Tab("Analytics"):
            with gr.Row():
                days = gr.Dropdown(list(DAYS), value="Last 7 days", label="Period")
                f_queue = gr.Dropdown([ALL], value=ALL, label="Queue", allow_custom_value=True)
                f_intent = gr.Dropdown([ALL], value=ALL, label="Intent", allow_custom_value=True)
                refresh = gr.Button("Show", variant="primary")
            totals = gr.Markdown()
            intents_plot = gr.BarPlot(x="intent", y="calls", title="Calls per customer intent (top 20)",
                                      x_label_angle=-40, height=320, sort="-y", y_lim=[0, None])
            esc_plot = gr.BarPlot(x="day", y="escalation_rate", title="Escalation rate per day", y_lim=[0, 1],
                                  height=240)
            emo_plot = gr.BarPlot(x="queue", y="turns", color="emotion", title="Customer emotion mix per queue",
                                  height=300, color_map=views.EMOTION_COLOURS, y_lim=[0, None])
            emo_days = gr.BarPlot(x="day", y="turns", color="emotion", height=300, color_map=views.EMOTION_COLOURS,
                                  title="Customer emotion mix per day (choose a queue above for one queue)",
                                  y_lim=[0, None])
            csv_btn = gr.Button("Export CSV (one row per turn)")
            csv_file = gr.HTML()
            refresh.click(show_analytics, [days, f_queue, f_intent],
                          [totals, intents_plot, esc_plot, emo_plot, emo_days], api_name="analytics")
            csv_btn.click(export, [days, f_queue, f_intent], csv_file, api_name="export_csv")
        with gr.Tab("Routing table"):
            table_version = gr.Markdown()
            document = gr.Code(language="yaml", label="Routing table (YAML)", lines=30)
            note = gr.Textbox(label="What changed (for the history)")
            save = gr.Button("Validate and save", variant="primary")
            table_status = gr.Markdown()
            history = gr.Dataframe(label="Versions", interactive=False)
            save.click(save_table, [document, note], [table_status, history, table_version],
                       api_name="save_routing_table")
        demo.load(load_table, None, [document, table_version, history], api_name=False)
        demo.load(list_calls, None, pick, api_name=False)
        demo.load(filter_choices, None, [f_queue, f_intent, new_queue], api_name=False)
    return demo
