"""English tutor pages. Students: pick a lesson and a prompt, hear the reference voice, record or
upload, then see the sentence coloured word by word (hover or click a word for its sounds: "you
said /s/ where /θ/ was expected"), the five scores, tips, their own recording, and their progress.
Teachers: classes, students, each student's trend, the class's weakest sounds, lessons, CSV.
Handlers call service.py only."""
from __future__ import annotations

import html
import logging

import gradio as gr
import pandas as pd

from apps.common.errors import plain_errors
from apps.common.transcription import signed_in_banner
from apps.common.uploads import UploadRefused, checked_upload
from apps.english_tutor import service
from apps.english_tutor.config import SPEC
from apps.english_tutor.files import audio_url, csv_url

log = logging.getLogger(__name__)
TITLE = SPEC.title
SCORE_NAMES = ("total", "accuracy", "fluency", "completeness", "prosody")
CSS = """
.et-words{font-size:1.5em;line-height:2.2em}
.et-w{padding:2px 6px;border-radius:6px;margin:0 2px;cursor:help;display:inline-block}
.et-good{background:#d9f2dc}.et-fair{background:#fff0c2}.et-bad{background:#ffd6d6}
.et-omitted{background:#eee;color:#888;text-decoration:line-through}.et-ins{background:#e3e3ff;font-style:italic}
.et-scores{display:flex;gap:12px;flex-wrap:wrap;margin:8px 0}
.et-card{border:1px solid #ddd;border-radius:10px;padding:8px 14px;min-width:90px;text-align:center}
.et-card b{font-size:1.6em;display:block}
.et-ph{display:inline-block;margin:0 3px;padding:0 3px;border-radius:4px}
details.et-d{margin:4px 0}
"""


def _user(request: gr.Request | None) -> str:
    return getattr(request, "username", None) or ""


def _band(score: float) -> str:
    return "good" if score >= 80 else ("fair" if score >= 60 else "bad")


def _word_band(w: dict) -> str:
    """The word's colour: its score's band, or worse when its sounds say so (a word the scorer rates
    well but with a sound heard as another is not shown as good)."""
    order = ("good", "fair", "bad")
    wrong = sum(p["score"] == 0 for p in w["phones"])
    from_phones = "bad" if w["error"] == "substituted" or (w["phones"] and wrong / len(w["phones"]) >= 0.5) else (
        "fair" if any(p["score"] < 2 for p in w["phones"]) else "good")
    return max(_band(w["accuracy"]), from_phones, key=order.index)


def _phone_line(p: dict) -> str:
    expected = f"/{p['ipa']}/"
    if p["score"] == 2:
        return f"{expected} good"
    if not p["heard"]:
        return f"{expected} missing"
    if p["heard"] != p["phone"]:
        return f"you said /{p['heard_ipa']}/ where {expected} was expected"
    return f"{expected} not quite clear"


def result_html(view: service.AttemptView, prefix: str = "/tutor") -> str:
    """The coloured sentence (hover: the sounds), score cards, the word details and the players."""
    if view.status in ("queued", "processing"):
        return (f"<p><b>Being scored again</b> with the updated model (attempt #{view.id}); the new scores "
                "appear here when it is done.</p>")
    if view.status != "scored":
        return (f"<p><b>Not scored.</b> {html.escape(view.message)}</p>"
                f"<p>Your recording is kept (attempt #{view.id}).</p>")
    cards = "".join(f"<div class='et-card'>{name.title()}<b>{view.scores[name]:.0f}</b></div>" for name in SCORE_NAMES)
    inserted_after: dict[int, list] = {}
    for ins in view.insertions:
        inserted_after.setdefault(ins["after"], []).append(ins)
    parts = [f"<span class='et-w et-ins' title='extra word (not in the prompt)'>+{'repeat' if i['repeats'] is not None else 'extra'}</span>"
             for i in inserted_after.get(-1, [])]
    details = []
    for w in view.words:
        tip = "; ".join(_phone_line(p) for p in w["phones"])
        cls = "omitted" if w["error"] == "omitted" else _word_band(w)
        label = {"omitted": "not heard", "substituted": "another word was heard", "mispronounced": "mispronounced"}.get(w["error"], "")
        title = html.escape(f"{w['text']}: {w['accuracy']:.0f}/100" + (f" ({label})" if label else "") + f" — {tip}")
        parts.append(f"<span class='et-w et-{cls}' title='{title}'>{html.escape(w['text'])}</span>")
        parts += [f"<span class='et-w et-ins' title='extra word heard here'>+{'repeat' if i['repeats'] is not None else 'extra'}</span>"
                  for i in inserted_after.get(w["index"], [])]
        phones = " ".join(f"<span class='et-ph et-{('good', 'fair', 'bad')[2 - p['score']]}'>/{html.escape(p['ipa'])}/</span>"
                          for p in w["phones"])
        lines = "".join(f"<li>{html.escape(_phone_line(p))}</li>" for p in w["phones"] if p["score"] < 2)
        details.append(f"<details class='et-d'><summary><b>{html.escape(w['text'])}</b> {w['accuracy']:.0f}/100 "
                       f"{html.escape(label)} {phones}</summary><ul>{lines or '<li>all sounds good</li>'}</ul></details>")
    tips = "".join(f"<li>{html.escape(t)}</li>" for t in view.tips)
    player = f"<p>Your recording: <audio controls preload='none' src='{audio_url(prefix, view.id)}'></audio></p>"
    return (f"<style>{CSS}</style><div class='et-scores'>{cards}</div><div class='et-words'>{''.join(parts)}</div>"
            f"<p style='color:#666'>Green: good · yellow: accented · red: wrong · grey: not heard. "
            f"Hover a word, or open it below, for its sounds.</p><h3>Tips</h3><ul>{tips}</ul>{player}"
            f"<h3>Word by word</h3>{''.join(details)}")


# --- student ------------------------------------------------------------------------------------------
@plain_errors
def lesson_choices(request: gr.Request):
    try:
        rows = service.list_lessons(username=_user(request))
    except service.TutorError as exc:
        log.info("refused: %s", exc, exc_info=True)
        return gr.update(choices=[]), gr.update(choices=[])
    choices = [(("★ " if r["assigned"] else "") + f"{r['title']} (level {r['level']}: {r['focus']})", r["id"]) for r in rows]
    return gr.update(choices=choices, value=rows[0]["id"] if rows else None), gr.update(choices=choices)


@plain_errors
def prompt_choices(lesson_id, request: gr.Request):
    if lesson_id in (None, ""):
        return gr.update(choices=[], value=None)
    try:
        rows = service.lesson_prompts(username=_user(request), lesson_id=int(lesson_id))
    except (service.TutorError, ValueError) as exc:
        log.info("refused: %s", exc, exc_info=True)
        return gr.update(choices=[], value=None)
    return gr.update(choices=[(r["text"], r["id"]) for r in rows], value=rows[0]["id"] if rows else None)


@plain_errors
def show_prompt(prompt_id, request: gr.Request):
    if prompt_id in (None, ""):
        return "", None
    try:
        return f"## {html.escape(service.prompt_text(username=_user(request), prompt_id=int(prompt_id)))}", None
    except (service.TutorError, ValueError) as exc:
        log.info("refused: %s", exc, exc_info=True)
        return "", None


@plain_errors
def hear_prompt(prompt_id, request: gr.Request):
    if prompt_id in (None, ""):
        raise gr.Error("Pick a prompt first.")
    try:
        return service.reference_audio(username=_user(request), prompt_id=int(prompt_id))
    except (service.TutorError, ValueError) as exc:
        log.info("refused: %s", exc, exc_info=True)
        raise gr.Error(str(exc)) from None


@plain_errors
def score_reading(prompt_id, audio, request: gr.Request):
    """Returns (result HTML, attempt id for Retry, status line)."""
    if prompt_id in (None, ""):
        return "", None, "**Pick a prompt first.**"
    if not audio:
        return "", None, "**Record or upload your reading first.**"
    try:
        path = checked_upload(audio)
        view = service.submit_attempt(username=_user(request), prompt_id=int(prompt_id), upload=path)
    except (UploadRefused, service.TutorError, ValueError) as exc:
        log.info("refused: %s", exc, exc_info=True)
        return "", None, f"**{exc}**"
    note = (f"Attempt #{view.id} scored." if view.status == "scored" else
            f"Attempt #{view.id}: {view.message}")
    return result_html(view), view.id, note


@plain_errors
def retry(attempt_id, request: gr.Request):
    if attempt_id in (None, ""):
        return "", None, "**Nothing to retry yet.**"
    try:
        view = service.score_attempt(username=_user(request), attempt_id=int(attempt_id))
    except (service.TutorError, ValueError) as exc:
        log.info("refused: %s", exc, exc_info=True)
        return gr.update(), attempt_id, f"**{exc}**"
    return result_html(view), view.id, f"Attempt #{view.id}: {view.status}."


@plain_errors
def my_history(request: gr.Request):
    try:
        rows = service.history(username=_user(request))
    except service.TutorError as exc:
        log.info("refused: %s", exc, exc_info=True)
        return pd.DataFrame(), pd.DataFrame(columns=["attempt", "score", "measure"])
    table = pd.DataFrame([{"attempt": r["id"], "when": f"{r['when']:%Y-%m-%d %H:%M}", "prompt": r["prompt"],
                           "status": r["status"], **{k: r[k] for k in SCORE_NAMES}} for r in rows])
    scored = [r for r in reversed(rows) if r["status"] == "scored"]
    chart = pd.DataFrame([{"attempt": i + 1, "score": r[k], "measure": k} for i, r in enumerate(scored)
                          for k in ("total", "accuracy", "fluency")], columns=["attempt", "score", "measure"])
    return table, chart


@plain_errors
def open_attempt(attempt_id, request: gr.Request):
    try:
        view = service.get_attempt(username=_user(request), attempt_id=int(attempt_id or 0))
    except (service.TutorError, ValueError) as exc:
        log.info("refused: %s", exc, exc_info=True)
        return f"**{exc}**"
    return f"<p><b>{html.escape(view.student)}</b> · {html.escape(view.prompt)}</p>" + result_html(view)


# --- teacher ------------------------------------------------------------------------------------------
@plain_errors
def teacher_view(request: gr.Request):
    """Shows the teacher tab to teachers and admins, with their classes."""
    try:
        rows = service.list_classes(username=_user(request))
    except service.TutorError as exc:  # a student: no teacher tab
        log.info("teacher tab hidden: %s", exc)
        return gr.update(visible=False), gr.update(choices=[])
    return gr.update(visible=True), gr.update(choices=[(f"{r['name']} ({r['students']} students)", r["id"])
                                                       for r in rows], value=rows[0]["id"] if rows else None)


@plain_errors
def new_class(name: str, request: gr.Request):
    try:
        cid = service.create_class(username=_user(request), name=name)
    except service.TutorError as exc:
        log.info("refused: %s", exc, exc_info=True)
        return gr.update(), f"**{exc}**"
    _, upd = teacher_view(request)
    upd["value"] = cid
    return upd, "Class created."


@plain_errors
def enrol(class_id, student: str, request: gr.Request):
    try:
        return service.add_student(username=_user(request), class_id=int(class_id or 0), student=student)
    except (service.TutorError, ValueError) as exc:
        log.info("refused: %s", exc, exc_info=True)
        return f"**{exc}**"


@plain_errors
def assign(class_id, lesson_id, request: gr.Request):
    try:
        return service.assign_lesson(username=_user(request), class_id=int(class_id or 0), lesson_id=int(lesson_id or 0))
    except (service.TutorError, ValueError) as exc:
        log.info("refused: %s", exc, exc_info=True)
        return f"**{exc}**"


@plain_errors
def rescore(class_id, request: gr.Request):
    """After a scorer update: every reading of the class is scored again in the background."""
    from apps.english_tutor.rescoring import rescore_class

    if class_id in (None, ""):
        return "**Choose a class first.**"
    try:
        n = rescore_class(class_id=int(class_id), username=_user(request))
    except (service.TutorError, ValueError) as exc:
        log.info("refused: %s", exc, exc_info=True)
        return f"**{exc}**"
    return (f"{n} reading(s) queued to be scored again with the current model; each keeps its old scores until "
            "the new ones are ready. Show the class report again in a minute." if n else "This class has no readings yet.")


@plain_errors
def class_report(class_id, request: gr.Request):
    empty = (pd.DataFrame(), pd.DataFrame(columns=["attempt", "total", "student"]),
             pd.DataFrame(columns=["sound", "error_rate"]), "")
    if class_id in (None, ""):
        return empty
    try:
        rep = service.class_report(username=_user(request), class_id=int(class_id))
    except (service.TutorError, ValueError) as exc:
        log.info("refused: %s", exc, exc_info=True)
        return empty[:3] + (f"**{exc}**",)
    students = pd.DataFrame(rep["students"])
    trend = pd.DataFrame(rep["trend"], columns=["student", "attempt", "when", "total"])[["attempt", "total", "student"]]
    weak = pd.DataFrame(rep["weak_phonemes"], columns=["phone", "sound", "attempted", "error_rate"])[["sound", "error_rate"]]
    assigned = ", ".join(l["title"] for l in rep["assigned"]) or "none yet"
    link = csv_url("/tutor", int(class_id))
    return students, trend, weak, f"Assigned lessons: {html.escape(assigned)} · [Download CSV]({link})"


def build_demo() -> gr.Blocks:
    with gr.Blocks(title=f"Parlance · {TITLE}") as demo:
        signed_in_banner(demo, TITLE, "Read the prompt aloud; see how each word and sound came out.")
        with gr.Tab("Practise"):
            with gr.Row():
                lesson = gr.Dropdown(label="Lesson (★ assigned by your teacher)", choices=[], allow_custom_value=True)
                prompt = gr.Dropdown(label="Prompt", choices=[], allow_custom_value=True)
            prompt_text = gr.Markdown()
            with gr.Row():
                with gr.Column():
                    hear = gr.Button("Hear it (reference voice, synthetic)")
                    reference = gr.Audio(label="Reference", interactive=False, type="numpy")
                with gr.Column():
                    audio = gr.Audio(sources=["microphone", "upload"], type="filepath", label="Your reading")
                    with gr.Row():
                        go = gr.Button("Score my reading", variant="primary")
                        again = gr.Button("Retry scoring")
            status = gr.Markdown()
            attempt_id = gr.State(None)
            result = gr.HTML()
        with gr.Tab("My progress"):
            refresh = gr.Button("Refresh")
            chart = gr.LinePlot(x="attempt", y="score", color="measure", label="Scores over my attempts", y_lim=[0, 100])
            table = gr.Dataframe(label="My attempts", interactive=False)
            with gr.Row():
                which = gr.Number(label="Attempt #", precision=0, value=None)
                show = gr.Button("Show attempt")
            shown = gr.HTML()
        with gr.Tab("Teacher", visible=False) as teacher_tab:
            with gr.Row():
                klass = gr.Dropdown(label="Class", choices=[], allow_custom_value=True)
                class_name = gr.Textbox(label="New class name")
                create = gr.Button("Create class")
            with gr.Row():
                student = gr.Textbox(label="Add student (username)")
                add = gr.Button("Add to class")
                assign_lesson = gr.Dropdown(label="Assign lesson", choices=[], allow_custom_value=True)
                assign_btn = gr.Button("Assign")
            teacher_msg = gr.Markdown()
            with gr.Row():
                report_btn = gr.Button("Show class report", variant="primary")
                rescore_btn = gr.Button("Score the class's readings again (after a model update)")
            report_note = gr.Markdown()
            students = gr.Dataframe(label="Students", interactive=False)
            with gr.Row():
                trend = gr.LinePlot(x="attempt", y="total", color="student", label="Total score per attempt", y_lim=[0, 100])
                weak = gr.BarPlot(x="sound", y="error_rate", label="Class's weakest sounds (share not good)", y_lim=[0, 1],
                                   sort="-y")
        demo.load(lesson_choices, None, [lesson, assign_lesson], api_name="lessons")
        demo.load(teacher_view, None, [teacher_tab, klass], api_name="teacher_view")
        lesson.change(prompt_choices, lesson, prompt, api_name="prompts")
        prompt.change(show_prompt, prompt, [prompt_text, reference], api_name="show_prompt")
        hear.click(hear_prompt, prompt, reference, api_name="reference")
        go.click(score_reading, [prompt, audio], [result, attempt_id, status], api_name="score")
        again.click(retry, attempt_id, [result, attempt_id, status], api_name="retry")
        refresh.click(my_history, None, [table, chart], api_name="history")
        show.click(open_attempt, which, shown, api_name="attempt")
        create.click(new_class, class_name, [klass, teacher_msg], api_name="create_class")
        add.click(enrol, [klass, student], teacher_msg, api_name="add_student")
        assign_btn.click(assign, [klass, assign_lesson], teacher_msg, api_name="assign")
        report_btn.click(class_report, klass, [students, trend, weak, report_note], api_name="class_report")
        rescore_btn.click(rescore, klass, teacher_msg, api_name="rescore_class")
        klass.change(class_report, klass, [students, trend, weak, report_note], api_name=False)
    return demo
