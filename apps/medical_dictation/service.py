"""What the dictation page can do: patients and encounters, dictate (store audio first, then
transcribe -> drug names spotted in the audio (``core.clinical.drug_spotting``) ->
``core.clinical.draft.draft_note``: normalise -> repair -> entities -> SOAP), edit,
save with conflict detection, sign, addenda, history, export. The UI calls these; these call crud
and core. Model work (recognition, NER) runs before a transaction opens, never inside one.

Every function checks the caller's role itself (``_user``). Every read and write of a note is
written to the audit log. A clinician only ever sees the patients, encounters and notes they own
(crud filters by clinician).
"""
from __future__ import annotations

import hashlib
import logging
import re
import time
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Callable

from apps.medical_dictation import crud
from apps.medical_dictation.config import APP_ID, asr_options, get_dictation_settings
from apps.medical_dictation.models import EntityRow, Recording
from core import accounts
from core.audio import AudioError
from core.clinical.draft import Draft, draft_note
from core.clinical.drug_spotting import recogniser_check, recogniser_listen, recogniser_propose, spot_drug_names
from core.clinical.entities import Entity, Tagger, extract_entities
from core.db import session_scope
from core.logs import job_context
from core.storage import RecordingChanged, store
from core.tasks import claims, dispatcher

log = logging.getLogger(__name__)
MAX_DRAFT_ATTEMPTS = 3  # another dictation of the same encounter landed meanwhile: draft again
MAX_ATTEMPTS = 3  # claimed this many times without an outcome: failed, not tried again
WAIT_POLL_S = 0.25  # how often the page looks at a recording a worker is processing
MAX_VOCABULARY_TERMS = 500  # a clinician's list; more would slow the recogniser's prompt and the repair
MAX_TERM_CHARS = 60
_TERM = re.compile(r"[A-Za-z][A-Za-z0-9 \-']*")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class DictationError(ValueError):
    """A request the service refuses; the message is for the person."""


class NoteConflict(DictationError):
    """Someone saved the note after this person opened it; ``theirs`` holds the saved sections."""

    def __init__(self, message: str, theirs: dict[str, str], version: int):
        super().__init__(message)
        self.theirs, self.version = theirs, version


@dataclass(frozen=True)
class NoteView:
    encounter_id: int
    patient: dict
    sections: dict[str, str]
    version: int  # pass back when saving (conflict detection)
    status: str  # "none", "draft" or "signed"
    signed_by: str = ""
    addenda: list[dict] = field(default_factory=list)
    transcript: str = ""
    transcript_version: int = 0
    entities: list[dict] = field(default_factory=list)
    repairs: list = field(default_factory=list)


def clean_text(text: str | None, what: str, *, max_chars: int | None = None, required: bool = False) -> str:
    """Strip control characters (text is stored as typed and escaped when shown); enforce limits."""
    value = _CONTROL.sub("", text or "").strip()
    if required and not value:
        raise DictationError(f"Please fill in the {what}.")
    if max_chars and len(value) > max_chars:
        raise DictationError(f"The {what} is too long ({len(value)} characters; at most {max_chars}).")
    return value


def _user(session, username: str):
    user = accounts.user_who_may_open(session=session, username=username, app_id=APP_ID)
    if user is None:
        raise DictationError("Only a signed-in clinician can use dictation.")
    return user


def _audit(session, user, action: str, object_type: str, object_id, detail: dict | None = None) -> None:
    accounts.record_audit(session=session, user=user, app=APP_ID, action=action, object_type=object_type,
                          object_id=object_id, detail=detail)


def _encounter(session, user, encounter_id: int):
    enc = crud.get_encounter(session=session, clinician_id=user.id, encounter_id=int(encounter_id))
    if enc is None:
        raise DictationError("That encounter does not exist or belongs to another clinician.")
    return enc


# --- patients and encounters ------------------------------------------------------------------------
def create_patient(*, username: str, mrn: str, name: str, birth_date=None, sex: str = "") -> int:
    limit = get_dictation_settings().max_field_chars
    with session_scope() as s:
        user = _user(s, username)
        mrn = clean_text(mrn, "record number (MRN)", max_chars=32, required=True)
        if any(p.mrn == mrn for p in crud.list_patients(session=s, clinician_id=user.id)):
            raise DictationError(f"You already have a patient with record number {mrn}.")
        p = crud.add_patient(session=s, clinician_id=user.id, mrn=mrn, birth_date=birth_date,
                             name=clean_text(name, "patient's name", max_chars=limit, required=True),
                             sex=clean_text(sex, "sex", max_chars=16))
        _audit(s, user, "create", "patient", p.id)
        return p.id


def list_patients(*, username: str, search: str = "") -> list[dict]:
    with session_scope() as s:
        user = _user(s, username)
        return [{"id": p.id, "mrn": p.mrn, "name": p.name, "birth_date": p.birth_date}
                for p in crud.list_patients(session=s, clinician_id=user.id, search=clean_text(search, "search"))]


def start_encounter(*, username: str, patient_id: int, reason: str = "") -> int:
    with session_scope() as s:
        user = _user(s, username)
        patient = crud.get_patient(session=s, clinician_id=user.id, patient_id=int(patient_id))
        if patient is None:
            raise DictationError("That patient does not exist or belongs to another clinician.")
        e = crud.add_encounter(session=s, patient=patient, clinician_id=user.id,
                               reason=clean_text(reason, "reason", max_chars=get_dictation_settings().max_field_chars))
        _audit(s, user, "create", "encounter", e.id, {"patient": patient.id})
        return e.id


def list_encounters(*, username: str, patient_id: int) -> list[dict]:
    with session_scope() as s:
        user = _user(s, username)
        out = []
        for e in crud.list_encounters(session=s, clinician_id=user.id, patient_id=int(patient_id)):
            note = crud.get_note(session=s, encounter_id=e.id)
            out.append({"id": e.id, "reason": e.reason, "started_at": e.started_at,
                        "status": note.status if note else "no note"})
        return out


# --- dictation ------------------------------------------------------------------------------------------
def store_recording(*, username: str, encounter_id: int, source: str | Path, filename: str = "",
                    vocabulary: list[str] | None = None) -> int:
    """Copy the audio into the storage before anything else (nothing is lost if processing fails) and
    queue it, with the terms typed for it; a worker drafts from it (``process_recording`` waits)."""
    src = Path(source)
    if not src.is_file():
        raise DictationError("The recording did not arrive; please record or upload it again.")
    with session_scope() as s:
        _encounter(s, _user(s, username), encounter_id)  # refuse before copying anything
    key, data_hash, size = store(src, get_dictation_settings().resolved_audio_dir)
    with session_scope() as s:
        user = _user(s, username)
        enc = _encounter(s, user, encounter_id)
        rec = crud.add_recording(session=s, encounter=enc, audio_path=key, audio_sha256=data_hash,
                                 audio_bytes=size, filename=filename or src.name, vocabulary=_typed(vocabulary))
        _audit(s, user, "create", "recording", rec.id, {"encounter": enc.id, "bytes": rec.audio_bytes})
        return rec.id


REPROCESSABLE = ("stored", "failed")  # stored before the task queue existed and never processed, or failed


def _typed(vocabulary: list[str] | None) -> list[str]:
    return [w.strip()[:MAX_TERM_CHARS] for w in (vocabulary or []) if w and w.strip()][:MAX_VOCABULARY_TERMS]


def list_recordings(*, username: str, encounter_id: int) -> list[dict]:
    """The encounter's recordings, oldest first, with their status and any error."""
    with session_scope() as s:
        enc = _encounter(s, _user(s, username), encounter_id)
        return [{"id": r.id, "file": r.filename, "status": r.status, "error": r.error, "seconds": r.duration_s,
                 "stored_at": r.created_at} for r in crud.list_recordings(session=s, encounter_id=enc.id)]


def reprocess_recording(*, username: str, recording_id: int, vocabulary: list[str] | None = None,
                        progress: Callable[[float, str], None] | None = None) -> NoteView:
    """Process a stored recording again: one a crash interrupted ("stored") or one that failed."""
    with session_scope() as s:
        user = _user(s, username)
        rec = crud.get_recording(session=s, clinician_id=user.id, recording_id=int(recording_id))
        if rec is None:
            raise DictationError("That recording does not exist or belongs to another clinician.")
        if rec.status not in REPROCESSABLE:
            raise DictationError("That recording is already in the note or on its way; only stored or failed "
                                 "recordings can be processed again.")
        crud.queue_recording(session=s, recording=rec, vocabulary=_typed(vocabulary))
        _audit(s, user, "reprocess", "recording", rec.id)
    return process_recording(username=username, recording_id=recording_id, progress=progress)


def process_recording(*, username: str, recording_id: int, vocabulary: list[str] | None = None,
                      progress: Callable[[float, str], None] | None = None,
                      timeout_s: float | None = None) -> NoteView:
    """Draft from a queued recording and return the encounter's note (draft sections are appended
    to, never overwritten; a signed note gets the dictation as an addendum). Where this process
    sends work to workers (the server), a worker does it and this waits, reporting its progress;
    elsewhere (a script, a test) it runs here. ``DictationError`` carries the reason it failed."""
    report = progress or (lambda f, m: None)
    with session_scope() as s:
        user = _user(s, username)
        rec = crud.get_recording(session=s, clinician_id=user.id, recording_id=int(recording_id))
        if rec is None:
            raise DictationError("That recording does not exist or belongs to another clinician.")
        if vocabulary is not None and rec.status == "queued":
            rec.vocabulary = _typed(vocabulary)
        encounter_id = rec.encounter_id
    if dispatcher.running():
        dispatcher.wake()
        status, error = _wait(username, int(recording_id), report,
                              timeout_s or 60.0 * get_dictation_settings().wait_minutes)
    else:
        run_recording(int(recording_id))
        status, error = _status(username, int(recording_id))
    if status == "failed":
        raise DictationError(error or "Processing failed; the recording is kept.")
    if status != "done":
        raise DictationError("The dictation is still being processed (the workers are busy); it is kept and "
                             "will appear in the note when it is done. Open the note again in a few minutes.")
    report(1.0, "done")
    return open_note(username=username, encounter_id=encounter_id)


def _status(username: str, recording_id: int) -> tuple[str, str]:
    with session_scope() as s:
        rec = crud.get_recording(session=s, clinician_id=_user(s, username).id, recording_id=recording_id)
        return (rec.status, rec.error) if rec else ("failed", "The recording was deleted.")


def _wait(username: str, recording_id: int, report: Callable[[float, str], None], timeout_s: float) -> tuple[str, str]:
    """Watch the recording until a worker finished it (or ``timeout_s`` passed)."""
    deadline = time.monotonic() + timeout_s
    while True:
        with session_scope() as s:
            rec = crud.get_recording(session=s, clinician_id=_user(s, username).id, recording_id=recording_id)
            if rec is None:
                return "failed", "The recording was deleted."
            status, error, fraction, note = rec.status, rec.error, rec.progress, rec.progress_note
        if status in ("done", "failed") or time.monotonic() > deadline:
            return status, error
        report(fraction, note or ("waiting for a worker" if status == "queued" else "processing"))
        time.sleep(WAIT_POLL_S)


# --- the task: "draft from recording N" (runs on a worker; see core.tasks) ---------------------------------
def run_recording(recording_id: int) -> str:
    """Claim recording ``recording_id`` and draft from it: "done", "failed", or "skipped" (not
    queued: another worker has it, it is finished or deleted). Raises ``Retry`` when this machine
    cannot read the recording (the claim is given back for another worker)."""
    with session_scope() as s:
        attempt = claims.claim(session=s, model=Recording, record_id=int(recording_id), progress=0.0,
                               progress_note="starting")
        owner = crud.recording_owner(session=s, recording_id=int(recording_id)) if attempt else None
    if attempt is None or owner is None:
        return "skipped"
    with job_context(f"recording-{int(recording_id)}"), claims.Heartbeat(Recording, int(recording_id), attempt):
        if attempt > MAX_ATTEMPTS:
            _recording_failed(int(recording_id), attempt, f"Processing was interrupted {attempt - 1} times; the "
                                                          "recording is kept. Press Process again to retry.")
            return "failed"
        try:
            return _process_recording(owner, int(recording_id), attempt)
        except DictationError:
            return "failed"  # stored with the recording already


def pending_recordings(stale_before: datetime) -> list[int]:
    """Recordings waiting for a worker (claims with no heartbeat since ``stale_before`` put back first)."""
    with session_scope() as s:
        ids = claims.requeue_stale(session=s, model=Recording, older_than=stale_before, progress=0.0,
                                   progress_note="queued again: its processing stopped")
        if ids:
            log.warning("recordings whose processing stopped were queued again: %s", ids)
        return claims.queued_ids(session=s, model=Recording)


def give_up_recording(recording_id: int, message: str) -> None:
    """No worker could process it: failed, with the reason (the recording is kept)."""
    _recording_failed(int(recording_id), None, message)


def _process_recording(username: str, recording_id: int, attempt: int) -> str:
    from core.asr import get_transcriber
    from core.asr.language import not_english_message
    from core.audio import load_audio
    from core.config import get_settings

    def report(fraction: float, note: str) -> None:
        with session_scope() as s:
            claims.beat(session=s, model=Recording, record_id=recording_id, attempt=attempt,
                        progress=round(fraction, 3), progress_note=note[:200])

    with session_scope() as s:
        user = _user(s, username)
        rec = crud.get_recording(session=s, clinician_id=user.id, recording_id=recording_id)
        key, sha, encounter_id, filename = rec.audio_path, rec.audio_sha256, rec.encounter_id, rec.filename
        words = _vocabulary(s, user, list(rec.vocabulary or []))
    log.info("processing recording %s of encounter %s, attempt %d", recording_id, encounter_id, attempt)
    report(0.05, "reading the recording")
    try:
        path = claims.claimed_recording(model=Recording, record_id=recording_id, attempt=attempt, key=key,
                                        sha256=sha, progress_note=claims.WAITING_NOTE)
    except RecordingChanged as exc:
        log.error("recording %s: %s", recording_id, exc)
        message = "The stored recording is not the file that was recorded (it changed on disk); please dictate again."
        _recording_failed(recording_id, attempt, message)
        raise DictationError(message) from exc
    try:
        cfg, dcfg = get_settings(), get_dictation_settings()
        audio = load_audio(path, max_seconds=min(cfg.max_audio_seconds, 60 * dcfg.max_minutes),
                           min_seconds=cfg.min_audio_seconds)
        report(0.15, "transcribing")
        (transcript,) = get_transcriber(dcfg.asr_model).transcribe_many([audio], asr_options(words, dcfg))
    except AudioError as exc:
        log.warning("recording %s refused: %s", recording_id, exc.message)
        message = exc.message.replace(Path(path).name, filename)
        if exc.code == "too_long":
            message += (" The recording is kept: it can be processed here once an administrator raises"
                        " the dictation limit (PARLANCE_DICTATION_MAX_MINUTES).")
        _recording_failed(recording_id, attempt, message)
        raise DictationError(message) from exc
    foreign = not_english_message(audio, transcript) if dcfg.check_language else None
    if foreign:
        log.info("recording %s refused: not English", recording_id)
        _recording_failed(recording_id, attempt, foreign)
        raise DictationError(foreign)
    if not transcript.text.strip():
        message = "No speech was recognised in this recording (is it silent, or not in English?)."
        _recording_failed(recording_id, attempt, message)
        raise DictationError(message)
    report(0.8, "finding medications, problems and sections")
    heard = spot_drug_names(transcript, audio.samples, words, *_drug_check(dcfg)) if dcfg.spot_drugs else None
    tagger = _tagger()
    for _attempt in range(MAX_DRAFT_ATTEMPTS):
        previous, seen_version = _latest_transcript(username, encounter_id)
        draft = draft_note(heard.text if heard else transcript.text, vocabulary=words, tagger=tagger,
                           previous=previous)  # no transaction open
        if heard and heard.repairs:
            draft = replace(draft, repairs=heard.repairs + draft.repairs)
        saved = _save_dictation(username, recording_id, attempt, encounter_id, transcript, draft, seen_version)
        if saved is not None:
            return "done" if saved else "skipped"
        log.info("encounter %s got another transcript meanwhile; drafting again", encounter_id)
    message = "Other dictations for this encounter kept arriving; please process this recording again."
    _recording_failed(recording_id, attempt, message)
    raise DictationError(message)


def _drug_check(dcfg) -> tuple:
    """(redecode, listen, propose): the recogniser deciding between spotted drug names (each None
    when its setting is off; proposing needs listening)."""
    from core.asr import get_transcriber

    if not (dcfg.spot_ask_recogniser or dcfg.spot_listen):
        return None, None, None
    transcriber = get_transcriber(dcfg.asr_model)
    redecode = recogniser_check(transcriber, lambda names: asr_options(names, dcfg)) if dcfg.spot_ask_recogniser else None
    listen = recogniser_listen(transcriber) if dcfg.spot_listen else None
    return redecode, listen, recogniser_propose(transcriber) if listen and dcfg.spot_propose else None


def _latest_transcript(username: str, encounter_id: int) -> tuple[str, int]:
    """(text, version) of the encounter's newest transcript; ("", 0) when there is none."""
    with session_scope() as s:
        enc = _encounter(s, _user(s, username), encounter_id)
        t = crud.latest_transcript(session=s, encounter_id=enc.id)
        return (t.text, t.version) if t else ("", 0)


def _save_dictation(username: str, recording_id: int, attempt: int, encounter_id: int, transcript, draft: Draft,
                    seen_version: int) -> bool | None:
    """Store the transcript, its entities and the note's new sections in one transaction, while this
    worker's claim holds: True; None (nothing written) when another transcript landed after
    ``seen_version`` was read (draft again); False when the claim was lost (another worker owns it)."""
    with session_scope() as s:
        user = _user(s, username)
        enc = _encounter(s, user, encounter_id)
        previous = crud.latest_transcript(session=s, encounter_id=enc.id)
        if (previous.version if previous else 0) != seen_version:
            return None
        if not claims.finish(session=s, model=Recording, record_id=recording_id, attempt=attempt, status="done",
                             duration_s=transcript.duration, error="", progress=1.0, progress_note=""):
            log.warning("recording %s: this worker's claim was lost; its draft is discarded", recording_id)
            return False
        rec = crud.get_recording(session=s, clinician_id=user.id, recording_id=recording_id)
        t = crud.add_transcript(session=s, encounter=enc, text=draft.transcript, raw_text=transcript.text,
                                recording=rec, model=transcript.model, created_by=username,
                                repairs=[[r.original, r.replacement, r.similarity] for r in draft.repairs])
        crud.replace_entities(session=s, transcript=t, entities=[_entity_row(e) for e in draft.entities])
        note = crud.get_note(session=s, encounter_id=enc.id)
        if note is None:
            crud.create_note(session=s, encounter=enc, sections=draft.sections, username=username)
        elif note.status == "draft":
            merged = {k: "\n".join(x for x in (getattr(note, k), draft.sections[k]) if x) for k in crud.SECTIONS}
            crud.save_note(session=s, note=note, sections=merged, expected_version=note.version, username=username)
        else:  # signed: the dictation becomes an addendum, its entities join the signed ones
            start = len(draft.transcript) - len(draft.text)
            crud.add_addendum(session=s, note=note, text=draft.text, author=username,
                              entities=[_entity_dict(e) for e in draft.entities if e.start >= start])
        _audit(s, user, "dictate", "note", enc.id, {"recording": rec.id, "seconds": round(transcript.duration, 1),
                                                    "words": len(transcript.words)})
    log.info("recording %s done: transcript v%s, %d entities", recording_id, t.version, len(draft.entities))
    return True


def _recording_failed(recording_id: int, attempt: int | None, message: str) -> None:
    """Store the failure (with ``attempt``: only while that claim holds)."""
    with session_scope() as s:
        rec = s.get(Recording, int(recording_id))
        if rec is None or rec.status == "done":
            return
        if attempt is not None and not claims.finish(session=s, model=Recording, record_id=rec.id, attempt=attempt,
                                                     status="failed", error=message, progress=0.0, progress_note=""):
            log.warning("recording %s: claim lost before its failure was written", recording_id)
            return
        crud.set_recording_status(session=s, recording=rec, status="failed", error=message)
        _audit(s, None, "dictate_failed", "recording", rec.id, {"error": message[:200]})


def _tagger() -> Tagger | None:
    """The NER tagger when enabled and loadable; without it the lexicon and term list still work."""
    if not get_dictation_settings().use_ner:
        return None
    from core.text.ner import get_ner

    try:
        return get_ner()
    except (OSError, RuntimeError, KeyError, ValueError):
        log.exception("the NER tagger could not be loaded; entities come from the lexicon and term list only")
        return None


def _entities(text: str, vocabulary: list[str]) -> list[Entity]:
    """Entities of ``text`` (model work: call it outside a transaction)."""
    return extract_entities(text, tagger=_tagger(), vocabulary=vocabulary)


def _entity_row(e: Entity) -> EntityRow:
    return EntityRow(label=e.label, text=e.text[:200], start=e.start, end=e.end, assertions=list(e.assertions),
                     attributes=dict(e.attributes), code=e.code, source=e.source)


def _entity_dict(e: Entity) -> dict:
    """What a signed note keeps of an entity (and what the FHIR export reads)."""
    return {"label": e.label, "text": e.text, "assertions": list(e.assertions), "attributes": dict(e.attributes),
            "code": e.code}


# --- the note -------------------------------------------------------------------------------------------
def open_note(*, username: str, encounter_id: int) -> NoteView:
    with session_scope() as s:
        user = _user(s, username)
        enc = _encounter(s, user, encounter_id)
        note = crud.get_note(session=s, encounter_id=enc.id)
        t = crud.latest_transcript(session=s, encounter_id=enc.id)
        ents = crud.list_entities(session=s, transcript_id=t.id) if t else []
        _audit(s, user, "read", "note", enc.id)
        return NoteView(
            encounter_id=enc.id, patient={"id": enc.patient.id, "name": enc.patient.name, "mrn": enc.patient.mrn},
            sections={k: getattr(note, k) if note else "" for k in crud.SECTIONS}, version=note.version if note else 0,
            status=note.status if note else "none", signed_by=note.signed_by if note else "",
            addenda=[{"text": a.text, "author": a.author, "at": a.created_at}
                     for a in (crud.list_addenda(session=s, note_id=note.id) if note else [])],
            transcript=t.text if t else "", transcript_version=t.version if t else 0,
            entities=[{"label": e.label, "text": e.text, "start": e.start, "end": e.end, "assertions": e.assertions,
                       "attributes": e.attributes, "code": e.code, "source": e.source} for e in ents],
            repairs=list(t.repairs) if t else [])


def save_note(*, username: str, encounter_id: int, sections: dict[str, str], expected_version: int) -> int:
    """Save the draft; raises NoteConflict when someone saved since ``expected_version`` was read."""
    limit = get_dictation_settings().max_note_words
    cleaned = {k: clean_text(sections.get(k, ""), k) for k in crud.SECTIONS}
    n_words = sum(len(v.split()) for v in cleaned.values())
    if n_words > limit:
        raise DictationError(f"The note has {n_words:,} words, more than the {limit:,} a note may hold; "
                             "nothing was saved — split it or shorten it.")
    after = medication_names(_body(cleaned))  # the drugs the saved text names (pure text, before the transaction)
    with session_scope() as s:
        user = _user(s, username)
        enc = _encounter(s, user, encounter_id)
        note = crud.get_note(session=s, encounter_id=enc.id)
        try:
            if note is None:
                if int(expected_version) != 0:
                    raise crud.StaleNoteError("The note disappeared after you opened it.")
                note = crud.create_note(session=s, encounter=enc, sections=cleaned, username=username)
            else:
                before = medication_names(_body({k: getattr(note, k) for k in crud.SECTIONS}))
                crud.save_note(session=s, note=note, sections=cleaned, expected_version=int(expected_version),
                               username=username)
                _learn_corrections(s, user, before, after)
        except crud.StaleNoteError as exc:
            theirs = {k: getattr(note, k) for k in crud.SECTIONS} if note else {}
            raise NoteConflict(f"Not saved: {exc} Your text is still in the editor; their version is shown "
                               "below — merge, then save again.", theirs, note.version if note else 0) from exc
        except crud.SignedNoteError as exc:
            raise DictationError(str(exc)) from exc
        _audit(s, user, "update", "note", enc.id, {"version": note.version, "words": n_words})
        return note.version


def sign_note(*, username: str, encounter_id: int, expected_version: int) -> None:
    """Sign the note as it was at ``expected_version``; its entities are found first (outside the
    transaction) and stored with it, so the export reads exactly what was signed."""
    with session_scope() as s:
        user = _user(s, username)
        enc = _encounter(s, user, encounter_id)
        note = crud.get_note(session=s, encounter_id=enc.id)
        if note is None or not any(getattr(note, k).strip() for k in crud.SECTIONS):
            raise DictationError("There is nothing to sign yet: dictate or type the note first.")
        sections = {k: getattr(note, k) for k in crud.SECTIONS}
    entities = [_entity_dict(e) for e in _entities(_body(sections), [])]  # model work, no transaction open
    with session_scope() as s:
        user = _user(s, username)
        enc = _encounter(s, user, encounter_id)
        note = crud.get_note(session=s, encounter_id=enc.id)
        if {k: getattr(note, k) for k in crud.SECTIONS} != sections:  # changed while the entities were found
            raise DictationError("Not signed: the note was saved again meanwhile; review it, then sign.")
        content = note_text(enc.patient.name, enc.patient.mrn, sections)
        try:
            crud.sign_note(session=s, note=note, expected_version=int(expected_version), username=username,
                           content_sha256=hashlib.sha256(content.encode()).hexdigest(), entities=entities)
        except (crud.StaleNoteError, crud.SignedNoteError) as exc:
            raise DictationError(f"Not signed: {exc}") from exc
        learnt = _learn(s, user, [e["text"] for e in entities if e["label"] == "MEDICATION"], "signed")
        _audit(s, user, "sign", "note", enc.id, {"version": note.version, "entities": len(entities),
                                                 "vocabulary_learnt": learnt})


def _body(sections: dict[str, str], addenda: list[dict] | None = None) -> str:
    """The note's clinical text: its sections, then its addenda."""
    return "\n\n".join(sections[k] for k in crud.SECTIONS if sections.get(k)) + "".join(
        "\n\n" + a["text"] for a in addenda or [])


def add_addendum(*, username: str, encounter_id: int, text: str) -> None:
    body = clean_text(text, "addendum", required=True)
    with session_scope() as s:
        _encounter(s, _user(s, username), encounter_id)  # refuse before any model work
    entities = [_entity_dict(e) for e in _entities(body, [])]
    with session_scope() as s:
        user = _user(s, username)
        enc = _encounter(s, user, encounter_id)
        note = crud.get_note(session=s, encounter_id=enc.id)
        if note is None or note.status != "signed":
            raise DictationError("Addenda are for signed notes; edit the draft instead.")
        crud.add_addendum(session=s, note=note, text=body, author=username, entities=entities)
        _audit(s, user, "addendum", "note", enc.id)


def history(*, username: str, encounter_id: int) -> list[dict]:
    with session_scope() as s:
        user = _user(s, username)
        enc = _encounter(s, user, encounter_id)
        note = crud.get_note(session=s, encounter_id=enc.id)
        _audit(s, user, "read_history", "note", enc.id)
        return [{"version": v.version, "status": v.status, "by": v.saved_by, "at": v.saved_at, **v.sections}
                for v in (crud.note_history(session=s, note_id=note.id) if note else [])]


def note_text(patient_name: str, mrn: str, sections: dict[str, str], addenda: list[dict] | None = None,
              signed: str = "") -> str:
    parts = [f"Patient: {patient_name} (MRN {mrn})"]
    for k in crud.SECTIONS:
        parts.append(f"{k.upper()}\n{sections.get(k, '').strip() or '-'}")
    for a in addenda or []:
        parts.append(f"ADDENDUM ({a['author']}, {a['at']:%Y-%m-%d %H:%M})\n{a['text']}")
    if signed:
        parts.append(signed)
    return "\n\n".join(parts) + "\n"


def export(*, username: str, encounter_id: int, fmt: str) -> str | dict:
    """The signed note as plain text (``fmt="text"``) or a FHIR R4 DocumentReference (``"fhir"``)
    with the entities stored when it was signed and when each addendum was added."""
    from apps.medical_dictation.fhir import document_reference

    view = open_note(username=username, encounter_id=encounter_id)
    if view.status != "signed":
        raise DictationError("Only a signed note can be exported; sign it first.")
    with session_scope() as s:
        user = _user(s, username)
        note = crud.get_note(session=s, encounter_id=_encounter(s, user, encounter_id).id)
        signed_at, stored = note.signed_at, note.signed_entities
        _audit(s, user, "export", "note", encounter_id, {"format": fmt})
    text = note_text(view.patient["name"], view.patient["mrn"], view.sections, view.addenda,
                     signed=f"Signed by {view.signed_by} at {signed_at:%Y-%m-%d %H:%M} UTC")
    if fmt == "text":
        return text
    if stored is None:  # signed before entities were stored with the note
        log.info("note %s has no stored entities; finding them for the export", encounter_id)
        stored = [_entity_dict(e) for e in _entities(_body(view.sections, view.addenda), [])]
    return document_reference(note_id=encounter_id, text=text, patient=view.patient, author=view.signed_by,
                              signed_at=signed_at, entities=list(stored))


def update_transcript(*, username: str, encounter_id: int, text: str, vocabulary: list[str] | None = None) -> NoteView:
    """The clinician corrected the transcript: store it as a new version and find the entities again
    (the note itself is not touched: its sections are edited separately)."""
    body = clean_text(text, "transcript", required=True)
    if len(body.split()) > get_dictation_settings().max_note_words:
        raise DictationError("The transcript is longer than a note may be; nothing was saved.")
    with session_scope() as s:
        user = _user(s, username)
        enc = _encounter(s, user, encounter_id)  # refuse before any model work
        previous = crud.latest_transcript(session=s, encounter_id=enc.id)
        before = previous.text if previous else ""
        words = _vocabulary(s, user, vocabulary)
    found = _entities(body, words)
    rows = [_entity_row(e) for e in found]
    with session_scope() as s:
        user = _user(s, username)
        enc = _encounter(s, user, encounter_id)
        t = crud.add_transcript(session=s, encounter=enc, text=body, source="edit", created_by=username)
        crud.replace_entities(session=s, transcript=t, entities=rows)
        _learn_corrections(s, user, medication_names(before, words),
                           [e.text for e in found if e.label == "MEDICATION"])
        _audit(s, user, "update", "transcript", enc.id, {"version": t.version})
    return open_note(username=username, encounter_id=encounter_id)


# --- each clinician's vocabulary: typed, and learnt from signed notes and corrections --------------------
def medication_names(text: str, vocabulary: list[str] | None = None) -> list[str]:
    """Drug names in ``text`` found by the lexicon and the vocabulary (no model: cheap, pure text)."""
    return [e.text for e in extract_entities(text, vocabulary=vocabulary or []) if e.label == "MEDICATION"]


def _vocabulary(session, user, typed: list[str] | None) -> list[str]:
    """What biases the recogniser and the repair: the terms typed with this request, then the
    clinician's stored list (most used first), at most MAX_VOCABULARY_TERMS."""
    stored = [t.term for t in crud.list_vocabulary(session=session, clinician_id=user.id)]
    typed = [w.strip() for w in (typed or []) if w.strip()]
    return list(dict.fromkeys(typed + stored))[:MAX_VOCABULARY_TERMS]


def _learn(session, user, terms: list[str], source: str) -> list[str]:
    """Add drug names to the clinician's list; names a person could not type there (a 106-character
    vaccine name, odd characters) are left out rather than failing the signature or the save."""
    fit = [t for t in terms if len(t) <= MAX_TERM_CHARS and _TERM.fullmatch(t)]
    return crud.learn_terms(session=session, clinician_id=user.id, terms=fit, source=source) if fit else []


def _learn_corrections(session, user, before: list[str], after: list[str]) -> None:
    """Drug names the clinician's edit brought in (in ``after``, not ``before``) join their vocabulary."""
    seen = {b.lower() for b in before}
    new = [a for a in after if a.lower() not in seen]
    if new:
        learnt = _learn(session, user, new, "correction")
        log.info("vocabulary of %s learnt %d corrected names", user.username, len(learnt))


def parse_terms(text: str | list[str]) -> list[str]:
    """A typed list (commas or new lines) -> clean terms; refuses what is not a name or too much."""
    raw = text if isinstance(text, list) else re.split(r"[,\n;]", text or "")
    terms = [" ".join(clean_text(t, "vocabulary term").split()) for t in raw]
    terms = list(dict.fromkeys(t for t in terms if t))
    bad = [t for t in terms if len(t) > MAX_TERM_CHARS or not _TERM.fullmatch(t)]
    if bad:
        raise DictationError(f"Not saved: {bad[0][:40]!r} is not a drug name or term (letters, digits, spaces, "
                             f"hyphens; at most {MAX_TERM_CHARS} characters).")
    if len(terms) > MAX_VOCABULARY_TERMS:
        raise DictationError(f"Not saved: {len(terms)} terms, more than the {MAX_VOCABULARY_TERMS} a list may hold.")
    return terms


def get_vocabulary(*, username: str) -> list[dict]:
    """The clinician's list: term, where it came from (typed / signed / correction), uses."""
    with session_scope() as s:
        user = _user(s, username)
        return [{"term": t.term, "source": t.source, "uses": t.uses}
                for t in crud.list_vocabulary(session=s, clinician_id=user.id)]


def save_vocabulary(*, username: str, terms: str | list[str]) -> list[dict]:
    """Replace the list with what the clinician typed (learnt terms they deleted are dropped)."""
    cleaned = parse_terms(terms)
    with session_scope() as s:
        user = _user(s, username)
        crud.set_vocabulary(session=s, clinician_id=user.id, terms=cleaned)
        _audit(s, user, "update", "vocabulary", user.id, {"terms": len(cleaned)})
    return get_vocabulary(username=username)

