"""Medical dictation persistence (SQLite and PostgreSQL): ownership, versions, conflicts, signing."""
from __future__ import annotations

import pytest

from apps.medical_dictation import crud
from core import accounts as A


@pytest.fixture
def clinicians(session):
    a = A.create_user(session=session, username="dr.a", password="password one 1", role="clinician")
    b = A.create_user(session=session, username="dr.b", password="password two 2", role="clinician")
    return a, b


def test_a_clinician_sees_only_their_own_patients_and_encounters(session, clinicians):
    a, b = clinicians
    p = crud.add_patient(session=session, clinician_id=a.id, mrn="A1", name="Ann Smith")
    crud.add_patient(session=session, clinician_id=b.id, mrn="B1", name="Bob Jones")
    assert [x.name for x in crud.list_patients(session=session, clinician_id=a.id)] == ["Ann Smith"]
    assert crud.list_patients(session=session, clinician_id=a.id, search="smi")[0].mrn == "A1"
    assert crud.get_patient(session=session, clinician_id=b.id, patient_id=p.id) is None
    e = crud.add_encounter(session=session, patient=p, clinician_id=a.id, reason="cough")
    assert crud.get_encounter(session=session, clinician_id=b.id, encounter_id=e.id) is None
    assert crud.list_encounters(session=session, clinician_id=a.id, patient_id=p.id)[0].reason == "cough"


def test_transcripts_are_versioned(session, clinicians):
    a, _ = clinicians
    e = crud.add_encounter(session=session, patient=crud.add_patient(session=session, clinician_id=a.id, mrn="1",
                                                                    name="X"), clinician_id=a.id)
    t1 = crud.add_transcript(session=session, encounter=e, text="cough for a week", raw_text="cough for a week")
    t2 = crud.add_transcript(session=session, encounter=e, text="cough for two weeks", source="edit")
    assert (t1.version, t2.version) == (1, 2)
    assert crud.latest_transcript(session=session, encounter_id=e.id).text == "cough for two weeks"


def test_second_save_from_a_stale_tab_is_refused_and_signed_notes_are_frozen(session, clinicians):
    a, _ = clinicians
    e = crud.add_encounter(session=session, patient=crud.add_patient(session=session, clinician_id=a.id, mrn="1",
                                                                    name="X"), clinician_id=a.id)
    note = crud.create_note(session=session, encounter=e, sections={"subjective": "cough"}, username="dr.a")
    opened = note.version  # both tabs read version 1
    crud.save_note(session=session, note=note, sections={"plan": "rest"}, expected_version=opened, username="dr.a")
    with pytest.raises(crud.StaleNoteError, match="saved by dr.a"):
        crud.save_note(session=session, note=note, sections={"plan": "antibiotics"}, expected_version=opened,
                       username="dr.a")
    assert note.plan == "rest" and note.version == 2
    crud.sign_note(session=session, note=note, expected_version=2, username="dr.a", content_sha256="0" * 64)
    assert note.status == "signed" and note.signed_by == "dr.a"
    with pytest.raises(crud.SignedNoteError):
        crud.save_note(session=session, note=note, sections={"plan": "x"}, expected_version=note.version,
                       username="dr.a")
    with pytest.raises(crud.SignedNoteError, match="already signed"):
        crud.sign_note(session=session, note=note, expected_version=2, username="dr.a", content_sha256="1" * 64)
    crud.add_addendum(session=session, note=note, text="Results normal.", author="dr.a")
    assert [x.text for x in crud.list_addenda(session=session, note_id=note.id)] == ["Results normal."]
    assert [(v.version, v.status) for v in crud.note_history(session=session, note_id=note.id)] == \
        [(1, "draft"), (2, "draft"), (3, "signed")]
