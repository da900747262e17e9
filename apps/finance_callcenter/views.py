"""HTML fragments of the supervisor dashboard (all text escaped: transcripts are untrusted)."""
from __future__ import annotations

import html

COLOURS = {"green": "#1b7f3b", "amber": "#b26a00", "red": "#b3261e"}
EMOTION_COLOURS = {"anger": "#b3261e", "disgust": "#6d4c41", "fear": "#7b1fa2", "sadness": "#1565c0",
                   "joy": "#2e7d32", "surprise": "#ef6c00", "neutral": "#616161"}


def _e(x) -> str:
    return html.escape(str(x if x is not None else ""))


def board_html(board: dict) -> str:
    cards = []
    for q in board["queues"]:
        c = COLOURS[q["colour"]]
        esc = f'<div style="color:#b3261e;font-weight:600">⚠ {q["escalated"]} escalated</div>' if q["escalated"] else ""
        cards.append(
            f'<div class="cc-queue" data-queue="{_e(q["queue"])}" style="border:2px solid {c};border-radius:8px;'
            f'padding:8px 12px;min-width:170px">'
            f'<div style="font-weight:600">{_e(q["name"])}</div>'
            f'<div style="font-size:1.8em">{q["waiting"]}</div><div>waiting</div>{esc}'
            f'<div style="color:{c}">longest {q["longest_wait_min"]:.1f} / SLA {q["sla_min"]:.0f} min</div></div>')
    return '<div style="display:flex;flex-wrap:wrap;gap:10px">' + "".join(cards) + "</div>"


def waiting_html(waiting: list[dict]) -> str:
    if not waiting:
        return "<p><em>No calls are waiting.</em></p>"
    rows = []
    for w in waiting[:100]:
        style = "background:#fdecea;font-weight:600" if w["escalated"] else ""
        flag = "⚠ escalated" if w["escalated"] else ""
        rows.append(f'<tr style="{style}"><td>#{w["id"]}</td><td>{_e(w["file"])}</td><td>{_e(w["queue"])}</td>'
                    f'<td>{_e(w["intent"])}</td><td>{w["distress"]:.2f}</td>'
                    f'<td style="color:{COLOURS[w["colour"]]}">{w["waited_min"]:.1f} / {w["sla_min"]:.0f} min</td>'
                    f"<td>{flag}</td></tr>")
    return ("<table><tr><th>Call</th><th>File</th><th>Queue</th><th>Intent</th><th>Peak distress</th>"
            "<th>Waited / SLA</th><th></th></tr>" + "".join(rows) + "</table>")


def workers_html(view: dict | None) -> str:
    """One line on the processing layer, then the workers: who is alive, on what, on which models."""
    if view is None:
        return "<p><em>The workers' state could not be read (see the server log).</em></p>"
    depth = "unknown" if view["queue_depth"] is None else str(view["queue_depth"])
    mode = "inside this server" if view["mode"] == "embedded" else "distributed workers (Celery)"
    head = (f'<p class="cc-workers"><b>Processing:</b> {mode} · <b>{view["workers_alive"]}</b> worker(s) alive · '
            f'<b>{depth}</b> waiting for a worker · models {_e(view["models_version"])}</p>')
    if view["broker_down"]:
        head += ('<p style="color:#b3261e;font-weight:600">The task broker does not answer: uploads are kept and '
                 'wait; processing resumes when it is back.</p>')
    if view["mode"] == "celery" and view["workers_alive"] == 0:
        head += ('<p style="color:#b3261e;font-weight:600">No worker is running: start one with '
                 '<code>python -m apps.suite worker</code>.</p>')
    rows = []
    for w in view["workers"]:
        odd = w["name"] in view["mismatched"]
        state = _e(w["current"]) if w["current"] else "idle"
        flag = ' <span style="color:#b3261e">other models: refuses tasks</span>' if odd else ""
        rows.append(f"<tr><td>{_e(w['name'])}</td><td>{_e(w['role'])}</td><td>{state}{flag}</td>"
                    f"<td>{w['done']}</td><td>{w['failed']}</td></tr>")
    if rows:
        head += ("<table><tr><th>Worker</th><th>Role</th><th>Now</th><th>Done</th><th>Failed</th></tr>"
                 + "".join(rows) + "</table>")
    return head


def processing_html(items: list[dict], workers: dict | None = None) -> str:
    head = workers_html(workers)
    if not items:
        return head + "<p><em>Nothing is being processed.</em></p>"
    rows = []
    for p in items[:200]:
        if p["status"] == "failed":
            state = f'<span style="color:#b3261e">failed: {_e(p["error"])}</span>'
        elif p["status"] == "queued":
            state = "queued"
        else:
            pct = int(round(100 * (p["progress"] or 0)))
            state = (f'<progress value="{pct}" max="100"></progress> {pct}% {_e(p["note"])}')
        rows.append(f"<tr><td>#{p['id']}</td><td>{_e(p['file'])}</td><td>{state}</td></tr>")
    return head + "<table><tr><th>Call</th><th>File</th><th>Progress</th></tr>" + "".join(rows) + "</table>"


def transcript_html(turns: list[dict]) -> str:
    if not turns:
        return "<p><em>No turns: nothing intelligible was said in this call.</em></p>"
    out = []
    for t in turns:
        who = "Customer" if t["speaker"] == "customer" else "Agent"
        align = "margin-left:0;margin-right:15%" if t["speaker"] == "agent" else "margin-left:15%;margin-right:0"
        bg = "#eef3fb" if t["speaker"] == "agent" else "#fff7e6"
        chips = []
        if t["speaker"] == "customer":
            if t["out_of_scope"]:
                chips.append('<span class="chip" style="background:#eee">out of scope</span>')
            elif t["intent"]:
                chips.append(f'<span class="chip" style="background:#e3f2fd">intent: {_e(t["intent"])} '
                             f'{(t["intent_probability"] or 0):.0%}</span>')
        col = EMOTION_COLOURS.get(t["emotion"], "#616161")
        chips.append(f'<span class="chip" style="color:{col}">emotion: {_e(t["emotion"])} '
                     f'(distress {t["distress"]:.2f})</span>')
        chips += evidence_chips(t.get("emotion_evidence"))
        out.append(f'<div class="turn" style="{align};background:{bg};border-radius:8px;padding:6px 10px;margin:6px 0">'
                   f'<div style="font-size:.85em;color:#555">{who} · {t["start_s"]:.1f}–{t["end_s"]:.1f} s · '
                   + " · ".join(chips) + f'</div><div>{_e(t["text"])}</div></div>')
    return "".join(out)


def evidence_chips(evidence: dict | None) -> list[str]:
    """The text's and the voice's own readings of a turn, side by side."""
    if not evidence:
        return []
    out = []
    text = evidence.get("text")
    if text:
        p = text["probabilities"].get(text["label"], 0.0)
        out.append(f'<span class="chip" title="from the words">words: {_e(text["label"])} {p:.0%}</span>')
    speech = evidence.get("speech")
    if speech:
        if speech["confidence"] <= 0:
            why = "; ".join(speech.get("notes") or []) or "not judged"
            out.append(f'<span class="chip" style="color:#777" title="from the voice">voice: {_e(why)}</span>')
        else:
            p = speech["probabilities"].get(speech["label"], 0.0)
            out.append(f'<span class="chip" title="from the voice: arousal -1 calm .. +1 agitated, valence -1 '
                       f'negative .. +1 positive">voice: {_e(speech["label"])} {p:.0%} · arousal '
                       f'{speech["arousal"]:+.1f} · valence {speech["valence"]:+.1f} · confidence '
                       f'{speech["confidence"]:.0%}</span>')
    return out


def decisions_html(call: dict, decisions: list[dict]) -> str:
    head = (f'<p><b>Call #{call["id"]}</b> · {_e(call["filename"])} · {call["duration_s"] or 0:.1f} s · '
            f'{_e(call["layout"])} · queue <b>{_e(call["queue_key"])}</b>'
            + (' · <span style="color:#b3261e;font-weight:600">escalated</span>' if call["escalated"] else "")
            + (f' · processed in {call["processing_s"]:.1f} s' if call["processing_s"] else "") + "</p>")
    if call["status"] != "done":
        head += f'<p>Status: <b>{_e(call["status"])}</b> {_e(call["error"])}</p>'
    notes = "".join(f"<p>⚠ {_e(w)}</p>" for w in call["warnings"])
    items = []
    for d in decisions:
        reasons = "".join(f"<li>{_e(r)}</li>" for r in d["reasons"])
        items.append(f'<div><b>{_e(d["queue"])}</b> by {_e(d["by"])} at {d["at"]:%Y-%m-%d %H:%M} '
                     f'(table v{_e(d["version"] or "-")})<ul>{reasons}</ul></div>')
    return head + notes + "<h4>Routing decisions</h4>" + ("".join(items) or "<p><em>none yet</em></p>")
