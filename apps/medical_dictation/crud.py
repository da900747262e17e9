"""Database reads and writes of medical dictation (keyword-only, one Session passed in; no logic
beyond the guarantees the tables make: ownership filters, optimistic locking, signed = frozen)."""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from apps.medical_dictation.models import (Addendum, Encounter, EntityRow, Note, NoteVersion, Patient, Recording,
                                           Transcript, VocabularyTerm)
from core.accounts import User
from core.db import utcnow

SECTIONS = ("subjective", "objective", "assessment", "plan")


class StaleNoteError(RuntimeError):
    """The note changed since it was read (another tab or person saved first)."""


class SignedNoteError(RuntimeError):
    """A signed note cannot change; add an addendum instead."""


# --- patients and encounters (always filtered by the clinician who owns them) -----------------------
def add_patient(*, session: Session, clinician_id: int, mrn: str, name: str, birth_date: date | None = None,
                sex: str = "") -> Patient:
    p = Patient(clinician_id=clinician_id, mrn=mrn, name=name, birth_date=birth_date, sex=sex)
    session.add(p)
    session.flush()
    return p


def list_patients(*, session: Session, clinician_id: int, search: str = "") -> list[Patient]:
    q = select(Patient).where(Patient.clinician_id == clinician_id).order_by(Patient.name)
    if search:
        like = f"%{search.lower()}%"
        q = q.where(func.lower(Patient.name).like(like) | func.lower(Patient.mrn).like(like))
    return list(session.scalars(q))


def get_patient(*, session: Session, clinician_id: int, patient_id: int) -> Patient | None:
    return session.scalars(select(Patient).where(Patient.id == patient_id,
                                                 Patient.clinician_id == clinician_id)).first()


def add_encounter(*, session: Session, patient: Patient, clinician_id: int, reason: str = "") -> Encounter:
    e = Encounter(patient_id=patient.id, clinician_id=clinician_id, reason=reason)
    session.add(e)
    session.flush()
    return e


def list_encounters(*, session: Session, clinician_id: int, patient_id: int) -> list[Encounter]:
    return list(session.scalars(select(Encounter).where(Encounter.patient_id == patient_id,
                                                        Encounter.clinician_id == clinician_id)
                                .order_by(Encounter.started_at.desc())))


def get_encounter(*, session: Session, clinician_id: int, encounter_id: int) -> Encounter | None:
    return session.scalars(select(Encounter).where(Encounter.id == encounter_id,
                                                   Encounter.clinician_id == clinician_id)).first()


# --- recordings and transcripts ---------------------------------------------------------------------
def add_recording(*, session: Session, encounter: Encounter, audio_path: str, audio_sha256: str, audio_bytes: int,
                  filename: str, vocabulary: list[str] | None = None) -> Recording:
    """A new recording, queued for processing."""
    r = Recording(encounter_id=encounter.id, audio_path=audio_path, audio_sha256=audio_sha256,
                  audio_bytes=audio_bytes, filename=filename[:255], status="queued", vocabulary=list(vocabulary or []))
    session.add(r)
    session.flush()
    return r


def set_recording_status(*, session: Session, recording: Recording, status: str, error: str = "",
                         duration_s: float | None = None) -> None:
    recording.status, recording.error = status, error
    if duration_s is not None:
        recording.duration_s = duration_s
    session.flush()


def queue_recording(*, session: Session, recording: Recording, vocabulary: list[str]) -> None:
    """Queue a stored or failed recording again (its claims start over)."""
    recording.status, recording.error, recording.attempts = "queued", "", 0
    recording.progress, recording.progress_note, recording.vocabulary = 0.0, "queued again", list(vocabulary)
    session.flush()


def recording_owner(*, session: Session, recording_id: int) -> str | None:
    """The username of the clinician whose encounter holds the recording (None: no such recording)."""
    return session.scalar(select(User.username).join(Encounter, Encounter.clinician_id == User.id)
                          .join(Recording, Recording.encounter_id == Encounter.id).where(Recording.id == recording_id))


def get_recording(*, session: Session, clinician_id: int, recording_id: int) -> Recording | None:
    """One recording, only if it belongs to an encounter of this clinician."""
    return session.scalars(select(Recording).join(Encounter, Recording.encounter_id == Encounter.id)
                           .where(Recording.id == recording_id, Encounter.clinician_id == clinician_id)).first()


def list_recordings(*, session: Session, encounter_id: int) -> list[Recording]:
    return list(session.scalars(select(Recording).where(Recording.encounter_id == encounter_id).order_by(Recording.id)))


def add_transcript(*, session: Session, encounter: Encounter, text: str, raw_text: str = "", source: str = "asr",
                   recording: Recording | None = None, model: str = "", repairs: list | None = None,
                   created_by: str = "") -> Transcript:
    current = session.scalar(select(func.max(Transcript.version)).where(Transcript.encounter_id == encounter.id)) or 0
    t = Transcript(encounter_id=encounter.id, recording_id=recording.id if recording else None, version=current + 1,
                   raw_text=raw_text, text=text, source=source, model=model, repairs=repairs or [],
                   created_by=created_by)
    session.add(t)
    session.flush()
    return t


def latest_transcript(*, session: Session, encounter_id: int) -> Transcript | None:
    return session.scalars(select(Transcript).where(Transcript.encounter_id == encounter_id)
                           .order_by(Transcript.version.desc()).limit(1)).first()


def replace_entities(*, session: Session, transcript: Transcript, entities: list[EntityRow]) -> None:
    for e in session.scalars(select(EntityRow).where(EntityRow.transcript_id == transcript.id)):
        session.delete(e)
    for e in entities:
        e.transcript_id = transcript.id
        session.add(e)
    session.flush()


def list_entities(*, session: Session, transcript_id: int) -> list[EntityRow]:
    return list(session.scalars(select(EntityRow).where(EntityRow.transcript_id == transcript_id)
                                .order_by(EntityRow.start)))


# --- notes ----------------------------------------------------------------------------------------------
def get_note(*, session: Session, encounter_id: int) -> Note | None:
    return session.scalars(select(Note).where(Note.encounter_id == encounter_id)).first()


def create_note(*, session: Session, encounter: Encounter, sections: dict[str, str], username: str) -> Note:
    note = Note(encounter_id=encounter.id, updated_by=username, **{k: sections.get(k, "") for k in SECTIONS})
    session.add(note)
    session.flush()
    _snapshot(session, note, username)
    return note


def save_note(*, session: Session, note: Note, sections: dict[str, str], expected_version: int, username: str) -> Note:
    """Compare-and-set: saves only if nobody saved since ``expected_version`` was read."""
    if note.status == "signed":
        raise SignedNoteError("This note is signed and cannot be changed; add an addendum instead.")
    values = {k: sections[k] for k in SECTIONS if k in sections}
    result = session.execute(update(Note).where(Note.id == note.id, Note.version == expected_version,
                                                Note.status == "draft")
                             .values(**values, version=expected_version + 1, updated_at=utcnow(), updated_by=username)
                             .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        session.refresh(note)
        raise StaleNoteError(f"This note was saved by {note.updated_by or 'someone'} after you opened it "
                             f"(now version {note.version}).")
    session.refresh(note)
    _snapshot(session, note, username)
    return note


def sign_note(*, session: Session, note: Note, expected_version: int, username: str, content_sha256: str,
              entities: list[dict] | None = None) -> Note:
    result = session.execute(update(Note).where(Note.id == note.id, Note.version == expected_version,
                                                Note.status == "draft")
                             .values(status="signed", version=expected_version + 1, signed_at=utcnow(),
                                     signed_by=username, signed_sha256=content_sha256, updated_at=utcnow(),
                                     updated_by=username, signed_entities=entities)
                             .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        session.refresh(note)
        if note.status == "signed":
            raise SignedNoteError(f"This note was already signed by {note.signed_by}.")
        raise StaleNoteError(f"This note was saved by {note.updated_by} after you opened it; review it, then sign.")
    session.refresh(note)
    _snapshot(session, note, username)
    return note


def add_addendum(*, session: Session, note: Note, text: str, author: str, entities: list[dict] | None = None) -> Addendum:
    """An addendum to a signed note; its ``entities`` join the ones stored when the note was signed."""
    a = Addendum(note_id=note.id, text=text, author=author)
    session.add(a)
    if entities and note.signed_entities is not None:
        note.signed_entities = [*note.signed_entities, *entities]  # a new list: JSON columns track assignment
    session.flush()
    return a


def note_history(*, session: Session, note_id: int) -> list[NoteVersion]:
    return list(session.scalars(select(NoteVersion).where(NoteVersion.note_id == note_id).order_by(NoteVersion.version)))


def list_addenda(*, session: Session, note_id: int) -> list[Addendum]:
    return list(session.scalars(select(Addendum).where(Addendum.note_id == note_id).order_by(Addendum.id)))


def _snapshot(session: Session, note: Note, username: str) -> None:
    session.add(NoteVersion(note_id=note.id, version=note.version, status=note.status, saved_by=username,
                            sections={k: getattr(note, k) for k in SECTIONS}))
    session.flush()


# --- each clinician's vocabulary ------------------------------------------------------------------------
def list_vocabulary(*, session: Session, clinician_id: int) -> list[VocabularyTerm]:
    return list(session.scalars(select(VocabularyTerm).where(VocabularyTerm.clinician_id == clinician_id)
                                .order_by(VocabularyTerm.uses.desc(), VocabularyTerm.key)))


def learn_terms(*, session: Session, clinician_id: int, terms: list[str], source: str) -> list[str]:
    """Add ``terms`` (or count one more use of those already there); returns the ones that are new."""
    have = {t.key: t for t in list_vocabulary(session=session, clinician_id=clinician_id)}
    new = []
    for term in dict.fromkeys(terms):
        key = term.lower()
        if key in have:
            have[key].uses += 1
        else:
            have[key] = VocabularyTerm(clinician_id=clinician_id, term=term, key=key, source=source)
            session.add(have[key])
            new.append(term)
    session.flush()
    return new


def set_vocabulary(*, session: Session, clinician_id: int, terms: list[str]) -> None:
    """The clinician's own edit of the whole list: terms left out are removed (learnt ones too),
    new ones are added as typed."""
    keep = {t.lower() for t in terms}
    for row in list_vocabulary(session=session, clinician_id=clinician_id):
        if row.key not in keep:
            session.delete(row)
    session.flush()
    have = {t.key for t in list_vocabulary(session=session, clinician_id=clinician_id)}
    learn_terms(session=session, clinician_id=clinician_id, terms=[t for t in terms if t.lower() not in have],
                source="typed")

