"""Medical dictation: pick or create a patient and encounter, dictate, review the transcript and
its entities, edit the SOAP draft, sign, add addenda, export. Handlers call service.py only."""
from __future__ import annotations

import html
import logging
import re

import gradio as gr
import pandas as pd

from apps.common.errors import plain_errors
from apps.common.transcription import signed_in_banner, transcription_tab
from apps.common.uploads import UploadRefused, checked_upload
from apps.medical_dictation.config import APP_ID, SPEC
from apps.medical_dictation.files import note_url
from apps.medical_dictation import service

log = logging.getLogger(__name__)

TITLE = SPEC.title
DICTATIONS_AT_ONCE = 4  # dictations processed side by side (Gradio's default is one at a time per event)
SECTION_LABELS = {"subjective": "Subjective", "objective": "Objective", "assessment": "Assessment", "plan": "Plan"}


def _user(request: gr.Request | None) -> str:
    return getattr(request, "username", None) or ""


def _words(vocabulary: str) -> list[str]:
    return [w.strip() for w in re.split(r"[,\n;]", vocabulary or "") if w.strip()]


# --- the clinician's vocabulary ------------------------------------------------------------------------
def vocabulary_md(rows: list[dict]) -> str:
    learnt = {k: [r["term"] for r in rows if r["source"] == k] for k in ("signed", "correction")}
    parts = [f"{len(rows)} term(s) in your list."]
    if learnt["signed"]:
        parts.append("Learnt from your signed notes: " + ", ".join(learnt["signed"][:30]) + ".")
    if learnt["correction"]:
        parts.append("Learnt from your corrections: " + ", ".join(learnt["correction"][:30]) + ".")
    return " ".join(parts).replace("<", "&lt;")


@plain_errors
def load_vocabulary(request: gr.Request):
    try:
        rows = service.get_vocabulary(username=_user(request))
    except service.DictationError as exc:
        log.info("refused: %s", exc, exc_info=True)
        return gr.update(), f"**{exc}**"
    return ", ".join(r["term"] for r in rows), vocabulary_md(rows)


@plain_errors
def save_vocabulary(text: str, request: gr.Request):
    try:
        rows = service.save_vocabulary(username=_user(request), terms=text or "")
    except service.DictationError as exc:
        log.info("refused: %s", exc, exc_info=True)
        return gr.update(), f"**{exc}**"
    return ", ".join(r["term"] for r in rows), "Saved. " + vocabulary_md(rows)


# --- patients and encounters --------------------------------------------------------------------------
@plain_errors
def patient_choices(search: str, request: gr.Request):
    try:
        rows = service.list_patients(username=_user(request), search=search or "")
    except service.DictationError as exc:
        log.info("refused: %s", exc, exc_info=True)
        return gr.update(choices=[]), f"**{exc}**"
    return gr.update(choices=[(f"{p['name']} · MRN {p['mrn']}", p["id"]) for p in rows]), f"{len(rows)} patient(s)"


@plain_errors
def add_patient(mrn: str, name: str, sex: str, request: gr.Request):
    try:
        pid = service.create_patient(username=_user(request), mrn=mrn, name=name, sex=sex)
    except service.DictationError as exc:
        log.info("refused: %s", exc, exc_info=True)
        return gr.update(), f"**Not added:** {exc}"
    rows = service.list_patients(username=_user(request))
    return gr.update(choices=[(f"{p['name']} · MRN {p['mrn']}", p["id"]) for p in rows], value=pid), "Patient added."


@plain_errors
def encounter_choices(patient_id, request: gr.Request):
    if patient_id in (None, ""):
        return gr.update(choices=[], value=None)
    try:
        rows = service.list_encounters(username=_user(request), patient_id=int(patient_id))
    except (service.DictationError, ValueError) as exc:
        log.info("refused: %s", exc, exc_info=True)
        return gr.update(choices=[], value=None)
    return gr.update(choices=[(f"#{e['id']} · {e['started_at']:%Y-%m-%d %H:%M} · {e['reason'] or 'visit'} · "
                               f"{e['status']}", e["id"]) for e in rows], value=rows[0]["id"] if rows else None)


@plain_errors
def refresh_encounter_labels(patient_id, encounter_id, request: gr.Request):
    """The encounter list again (its labels show the note status), keeping the open encounter."""
    upd = encounter_choices(patient_id, request)
    if encounter_id not in (None, ""):
        upd["value"] = encounter_id
    return upd


@plain_errors
def new_encounter(patient_id, reason: str, request: gr.Request):
    try:
        eid = service.start_encounter(username=_user(request), patient_id=int(patient_id or 0), reason=reason)
    except (service.DictationError, ValueError) as exc:
        log.info("refused: %s", exc, exc_info=True)
        return gr.update(), f"**Not started:** {exc}"
    upd = encounter_choices(patient_id, request)
    upd["value"] = eid
    return upd, f"Encounter #{eid} started: dictate below."


# --- dictation and the note ----------------------------------------------------------------------------
@plain_errors
def dictate(encounter_id, audio, vocabulary: str, request: gr.Request, progress=gr.Progress()):
    if encounter_id in (None, ""):
        return ("**Choose or start an encounter first.**", *_empty())
    if not audio:
        return ("**Please record or upload a dictation first.**", *load_note(encounter_id, request)[1:])
    try:
        upload = checked_upload(audio)  # before anything reads it: only this server's uploads
        rec = service.store_recording(username=_user(request), encounter_id=int(encounter_id), source=upload,
                                      filename=upload.name, vocabulary=_words(vocabulary))
        service.process_recording(username=_user(request), recording_id=rec, progress=lambda f, m: progress(f, desc=m))
    except UploadRefused as exc:
        return (f"**Could not process the dictation:** {exc}", *load_note(encounter_id, request)[1:])
    except service.DictationError as exc:
        log.info("refused: %s", exc, exc_info=True)
        kept = "" if "kept" in str(exc) else " The recording is kept."
        return (f"**Could not process the dictation:** {exc}{kept}", *load_note(encounter_id, request)[1:])
    return ("Dictation added to the note: review the highlighted entities and the draft, then sign.",
            *load_note(encounter_id, request)[1:])


@plain_errors
def recordings(encounter_id, request: gr.Request):
    """The encounter's recordings and the ones that can be processed again."""
    empty = pd.DataFrame({"id": [], "file": [], "status": [], "error": []})
    if encounter_id in (None, ""):
        return empty, gr.update(choices=[], value=None)
    try:
        rows = service.list_recordings(username=_user(request), encounter_id=int(encounter_id))
    except (service.DictationError, ValueError) as exc:
        log.info("refused: %s", exc, exc_info=True)
        return empty, gr.update(choices=[], value=None)
    table = pd.DataFrame([{"id": r["id"], "file": r["file"], "status": r["status"], "error": r["error"],
                           "stored at": f"{r['stored_at']:%Y-%m-%d %H:%M}"} for r in rows]) if rows else empty
    again = [(f"#{r['id']} · {r['file']} · {r['status']}", r["id"]) for r in rows
             if r["status"] in service.REPROCESSABLE]
    return table, gr.update(choices=again, value=again[0][1] if again else None)


@plain_errors
def reprocess(encounter_id, recording_id, vocabulary: str, request: gr.Request, progress=gr.Progress()):
    if recording_id in (None, ""):
        return ("**Choose a stored or failed recording first.**", *load_note(encounter_id, request)[1:])
    try:
        service.reprocess_recording(username=_user(request), recording_id=int(recording_id),
                                    vocabulary=_words(vocabulary), progress=lambda f, m: progress(f, desc=m))
    except (service.DictationError, ValueError) as exc:
        log.info("refused: %s", exc, exc_info=True)
        return (f"**Could not process the recording:** {exc}", *load_note(encounter_id, request)[1:])
    return ("Recording processed and added to the note.", *load_note(encounter_id, request)[1:])


def _empty():
    return ("", [], entity_table([]), "", "", "", "", 0, "", "")


@plain_errors
def load_note(encounter_id, request: gr.Request):
    if encounter_id in (None, ""):
        return ("", *_empty())
    try:
        v = service.open_note(username=_user(request), encounter_id=int(encounter_id))
    except (service.DictationError, ValueError) as exc:
        log.info("refused: %s", exc, exc_info=True)
        return (f"**{exc}**", *_empty())
    editable = v.status != "signed"  # a signed note is read-only; changes go in addenda
    return (f"Note status: **{v.status}**" + (f" (signed by {v.signed_by})" if v.signed_by else ""),
            v.transcript, highlighted(v.transcript, v.entities), entity_table(v.entities),
            *(gr.update(value=v.sections[k], interactive=editable) for k in SECTION_LABELS),
            v.version, addenda_md(v.addenda), repairs_md(v.repairs, v.entities))


def highlighted(text: str, entities: list[dict]) -> list[tuple[str, str | None]]:
    out, pos = [], 0
    for e in sorted(entities, key=lambda e: e["start"]):
        if e["start"] < pos:
            continue
        out.append((text[pos:e["start"]], None))
        flags = ", ".join(e["assertions"])
        out.append((text[e["start"]:e["end"]], e["label"] + (f" ({flags})" if flags else "")))
        pos = e["end"]
    out.append((text[pos:], None))
    return [x for x in out if x[0]]


ENTITY_COLUMNS = ["type", "text", "assertions", "dosage", "route", "frequency", "duration", "RxNorm", "check"]


def entity_table(entities: list[dict]) -> pd.DataFrame:
    """One row per entity; ``check``: what to review (a dose unit that does not fit the route or form)."""
    return pd.DataFrame([{"type": e["label"], "text": e["text"], "assertions": ", ".join(e["assertions"]) or "-",
                          **{k: e["attributes"].get(k, "") for k in ("dosage", "route", "frequency", "duration")},
                          "RxNorm": e["code"], "check": e["attributes"].get("check", "")} for e in entities],
                        columns=ENTITY_COLUMNS)


def addenda_md(addenda: list[dict]) -> str:
    return "\n\n".join(f"**Addendum** by {a['author']} ({a['at']:%Y-%m-%d %H:%M}): " + a["text"].replace("<", "&lt;")
                       for a in addenda)


def repairs_md(repairs: list, entities: list[dict] | None = None) -> str:
    from core.clinical.repair import repair_kind

    lines = []
    for kind, title in (("name", "Medication names corrected"), ("dose", "Doses corrected"),
                        ("instruction", "Routes and frequencies corrected")):
        pairs = [(a, b) for a, b, _ in repairs if repair_kind(b) == kind]
        if pairs:
            lines.append(f"{title}: " + "; ".join(f"“{a}” → **{b}**" for a, b in pairs))
    checks = [f"**{e['text']}** {e['attributes']['dosage']}: {e['attributes']['check']}" for e in entities or []
              if e["attributes"].get("check")]
    if checks:
        lines.append("Please check: " + "; ".join(checks))
    return "\n\n".join(lines)


@plain_errors
def save(encounter_id, s, o, a, p, version, request: gr.Request):
    try:
        new = service.save_note(username=_user(request), encounter_id=int(encounter_id or 0),
                                sections={"subjective": s, "objective": o, "assessment": a, "plan": p},
                                expected_version=int(version or 0))
    except service.NoteConflict as exc:
        log.info("refused: %s", exc, exc_info=True)
        theirs = "\n\n".join(f"**{SECTION_LABELS[k]}:** {v}" for k, v in exc.theirs.items()).replace("<", "&lt;")
        return f"**{exc}**\n\n{theirs}", version
    except (service.DictationError, ValueError) as exc:
        log.info("refused: %s", exc, exc_info=True)
        return f"**Not saved:** {exc}", version
    return f"Saved (version {new}).", new


@plain_errors
def sign(encounter_id, version, request: gr.Request):
    try:
        service.sign_note(username=_user(request), encounter_id=int(encounter_id or 0),
                          expected_version=int(version or 0))
    except (service.DictationError, ValueError) as exc:
        log.info("refused: %s", exc, exc_info=True)
        return (f"**{exc}**", *load_note(encounter_id, request)[1:])
    return ("Signed. The note is now read-only; changes go in addenda.", *load_note(encounter_id, request)[1:])


@plain_errors
def addendum(encounter_id, text: str, request: gr.Request):
    try:
        service.add_addendum(username=_user(request), encounter_id=int(encounter_id or 0), text=text)
    except (service.DictationError, ValueError) as exc:
        log.info("refused: %s", exc, exc_info=True)
        return f"**{exc}**", gr.update(), gr.update()
    view = service.open_note(username=_user(request), encounter_id=int(encounter_id))
    return "Addendum added.", addenda_md(view.addenda), ""


@plain_errors
def update_transcript(encounter_id, text: str, vocabulary: str, request: gr.Request):
    try:
        v = service.update_transcript(username=_user(request), encounter_id=int(encounter_id or 0), text=text,
                                      vocabulary=_words(vocabulary))
    except (service.DictationError, ValueError) as exc:
        log.info("refused: %s", exc, exc_info=True)
        return f"**{exc}**", gr.update(), gr.update()
    return f"Transcript saved (version {v.transcript_version}).", highlighted(v.transcript, v.entities), \
        entity_table(v.entities)


@plain_errors
def show_history(encounter_id, request: gr.Request) -> pd.DataFrame:
    try:
        rows = service.history(username=_user(request), encounter_id=int(encounter_id or 0))
    except (service.DictationError, ValueError) as exc:
        log.info("refused: %s", exc, exc_info=True)
        return pd.DataFrame()
    return pd.DataFrame([{**r, "at": f"{r['at']:%Y-%m-%d %H:%M}"} for r in rows])


@plain_errors
def export(encounter_id, fmt: str, request: gr.Request):
    """A download link served by the suite (apps/medical_dictation/files.py), which checks the
    clinician again on every download; no copy of the note is written to disk."""
    try:
        view = service.open_note(username=_user(request), encounter_id=int(encounter_id or 0))
    except (service.DictationError, ValueError) as exc:
        log.info("refused: %s", exc, exc_info=True)
        return f"**{exc}**", ""
    if view.status != "signed":
        return "**Only a signed note can be exported; sign it first.**", ""
    url = note_url(SPEC.path, view.encounter_id, "fhir" if fmt.startswith("FHIR") else "text")
    name = url.rsplit("/", 1)[1]
    return "Ready: download the signed note below.", f'<a href="{html.escape(url)}" download="{name}">Download {name}</a>'



def build_demo() -> gr.Blocks:
    with gr.Blocks(title=f"Parlance · {TITLE}") as demo:
        signed_in_banner(demo, TITLE, "Dictate after the visit; check the draft note; sign it.")
        with gr.Row():
            with gr.Column(scale=2):
                search = gr.Textbox(label="Find a patient (name or MRN)")
                patient = gr.Dropdown(label="Patient", choices=[], allow_custom_value=True)
                found = gr.Markdown()
            with gr.Column(scale=2):
                encounter = gr.Dropdown(label="Encounter", choices=[], allow_custom_value=True)
                reason = gr.Textbox(label="Reason for a new encounter")
                start = gr.Button("Start encounter")
        with gr.Accordion("New patient", open=False):
            with gr.Row():
                mrn, name, sex = gr.Textbox(label="MRN"), gr.Textbox(label="Name"), gr.Textbox(label="Sex")
                add = gr.Button("Add patient")
        with gr.Row():
            audio = gr.Audio(sources=["microphone", "upload"], type="filepath", label="Dictation")
            with gr.Column():
                vocab = gr.Textbox(label="My vocabulary (drug names, terms; comma-separated)", lines=2,
                                   info="Grows by itself from the drugs in the notes you sign and the names you "
                                        "correct; edit it freely.")
                with gr.Row():
                    vocab_save = gr.Button("Save my vocabulary", size="sm")
                    go = gr.Button("Transcribe and draft the note", variant="primary")
                vocab_info = gr.Markdown()
        status = gr.Markdown()
        with gr.Tab("Transcript and entities"):
            transcript = gr.Textbox(label="Transcript (editable)", lines=6)
            fix = gr.Button("Save transcript and find entities again")
            repairs = gr.Markdown()
            marked = gr.HighlightedText(label="Entities", combine_adjacent=False, show_legend=True)
            table = gr.Dataframe(label="Entities and medication details", interactive=False)
        with gr.Tab("Note (SOAP)"):
            s_box = gr.Textbox(label="Subjective", lines=4)
            o_box = gr.Textbox(label="Objective", lines=3)
            a_box = gr.Textbox(label="Assessment", lines=3)
            p_box = gr.Textbox(label="Plan", lines=3)
            version = gr.Number(label="Version you are editing", precision=0, interactive=False)
            with gr.Row():
                save_btn = gr.Button("Save draft", variant="primary")
                sign_btn = gr.Button("Sign note")
            addenda = gr.Markdown()
            add_text = gr.Textbox(label="Addendum (signed notes)")
            add_btn = gr.Button("Add addendum")
        with gr.Tab("Recordings"):
            rec_table = gr.Dataframe(label="Recordings of this encounter", interactive=False)
            with gr.Row():
                rec_pick = gr.Dropdown(label="Stored or failed recording", choices=[], allow_custom_value=True)
                rec_again = gr.Button("Process again")
        with gr.Tab("History and export"):
            hist_btn = gr.Button("Show versions")
            hist = gr.Dataframe(interactive=False)
            fmt = gr.Radio(["Text", "FHIR R4 DocumentReference (JSON)"], value="Text", label="Format")
            exp_btn = gr.Button("Export signed note")
            exp_file = gr.HTML()
        note_outputs = [status, transcript, marked, table, s_box, o_box, a_box, p_box, version, addenda, repairs]
        search.submit(patient_choices, search, [patient, found], api_name="find_patients")
        add.click(add_patient, [mrn, name, sex], [patient, found], api_name="add_patient")
        patient.change(encounter_choices, patient, encounter, api_name="encounters")
        start.click(new_encounter, [patient, reason], [encounter, found], api_name="start_encounter")
        encounter.change(load_note, encounter, note_outputs, api_name="open_note").then(
            recordings, encounter, [rec_table, rec_pick], api_name=False)
        # several clinicians' dictations run side by side: a 5 s one is not queued behind a 4-minute one
        go.click(dictate, [encounter, audio, vocab], note_outputs, api_name="dictate",
                 concurrency_limit=DICTATIONS_AT_ONCE).then(
            refresh_encounter_labels, [patient, encounter], encounter, api_name=False).then(
            recordings, encounter, [rec_table, rec_pick], api_name=False)
        rec_again.click(reprocess, [encounter, rec_pick, vocab], note_outputs, api_name="reprocess",
                        concurrency_limit=DICTATIONS_AT_ONCE).then(
            recordings, encounter, [rec_table, rec_pick], api_name="recordings")
        fix.click(update_transcript, [encounter, transcript, vocab], [status, marked, table],
                  api_name="update_transcript").then(load_vocabulary, None, [vocab, vocab_info], api_name=False)
        save_btn.click(save, [encounter, s_box, o_box, a_box, p_box, version], [status, version],
                       api_name="save_note").then(refresh_encounter_labels, [patient, encounter], encounter, api_name=False
                                                  ).then(load_vocabulary, None, [vocab, vocab_info], api_name=False)
        sign_btn.click(sign, [encounter, version], note_outputs, api_name="sign_note").then(
            refresh_encounter_labels, [patient, encounter], encounter, api_name=False).then(
            load_vocabulary, None, [vocab, vocab_info], api_name=False)
        vocab_save.click(save_vocabulary, vocab, [vocab, vocab_info], api_name="save_vocabulary")
        add_btn.click(addendum, [encounter, add_text], [status, addenda, add_text], api_name="add_addendum")
        hist_btn.click(show_history, encounter, hist, api_name="history")
        exp_btn.click(export, [encounter, fmt], [status, exp_file], api_name="export")
        demo.load(patient_choices, search, [patient, found], api_name=False).then(
            load_vocabulary, None, [vocab, vocab_info], api_name="vocabulary")
        transcription_tab(APP_ID)
    return demo
