"""English tutor service (SQLite and PostgreSQL): lessons, classes, enrolment and assignment,
readings stored first and scored (real speech), refused readings kept and retryable, who may see
what, the class report and its CSV."""
from __future__ import annotations

import csv
import io
import shutil

import numpy as np
import pytest
import soundfile as sf

from apps.english_tutor import service
from core import accounts as A
from core.db import session_scope, set_engine

from .conftest import AUDIO_FIXTURES

CLIP = AUDIO_FIXTURES / "so762_005630375.opus"  # "SHE WAS ALMOST LIKE A BOY", a non-native young reader


@pytest.fixture
def db(engine, monkeypatch, tmp_path):
    from apps.english_tutor.config import get_tutor_settings

    monkeypatch.setenv("PARLANCE_TUTOR_AUDIO_DIR", str(tmp_path / "audio"))
    get_tutor_settings.cache_clear()
    service._lessons_ready.clear()
    set_engine(engine)
    with session_scope(engine) as s:
        for name, role in (("ms.t", "teacher"), ("mr.u", "teacher"), ("amy", "student"), ("bob", "student"),
                           ("dr.a", "clinician")):
            A.create_user(session=s, username=name, password="quiet river lamp 7", role=role)
    yield engine
    get_tutor_settings.cache_clear()


def _prompt_id(text: str, username: str = "amy") -> int:
    for lesson in service.list_lessons(username=username):
        for p in service.lesson_prompts(username=username, lesson_id=lesson["id"]):
            if p["text"] == text:
                return p["id"]
    raise AssertionError(text)


def _custom_prompt(engine, text: str) -> int:
    from apps.english_tutor import crud

    with session_scope(engine) as s:
        lesson = crud.upsert_lesson(session=s, key="test-" + text[:20], title="Test", kind="sentences", level=3,
                                    focus="", prompts=[text])
        return lesson.prompts[0].id


def test_lessons_are_seeded_once_and_roles_are_checked(db):
    lessons = service.list_lessons(username="amy")
    assert {l["title"] for l in lessons} >= {"Minimal pairs: th and s", "Minimal pairs: l and r",
                                             "Minimal pairs: v and w", "The North Wind and the Sun"}
    service._lessons_ready.clear()
    assert len(service.list_lessons(username="ms.t")) == len(lessons)  # idempotent
    with pytest.raises(service.TutorError, match="sign in as a student or a teacher"):
        service.list_lessons(username="dr.a")
    with pytest.raises(service.TutorError, match="Only a teacher"):
        service.create_class(username="amy", name="3B")
    rate, ref = service.reference_audio(username="amy", prompt_id=_prompt_id("think, sink"))
    assert rate == 16000 and len(ref) > 8000


def test_classes_enrolment_assignment_and_privacy(db):
    cid = service.create_class(username="ms.t", name="Year 3 <b>")
    assert service.add_student(username="ms.t", class_id=cid, student="amy") == "amy added to Year 3 <b>."
    assert "already" in service.add_student(username="ms.t", class_id=cid, student="AMY ")
    with pytest.raises(service.TutorError, match="no active student account"):
        service.add_student(username="ms.t", class_id=cid, student="mr.u")
    with pytest.raises(service.TutorError, match="not yours"):
        service.add_student(username="mr.u", class_id=cid, student="bob")
    lesson = next(l for l in service.list_lessons(username="ms.t") if l["title"] == "Minimal pairs: l and r")
    assert "assigned" in service.assign_lesson(username="ms.t", class_id=cid, lesson_id=lesson["id"])
    assert service.list_lessons(username="amy")[0]["assigned"] is True  # assigned lessons come first
    assert service.list_lessons(username="bob")[0]["assigned"] is False
    assert service.list_classes(username="mr.u") == []
    with pytest.raises(service.TutorError, match="name"):
        service.create_class(username="ms.t", name="  \x07 ")


@pytest.mark.slow
def test_a_reading_is_stored_scored_and_private(db):
    cid = service.create_class(username="ms.t", name="3B")
    service.add_student(username="ms.t", class_id=cid, student="amy")
    pid = _custom_prompt(db, "She was almost like a boy.")
    view = service.submit_attempt(username="amy", prompt_id=pid, upload=CLIP)
    assert view.status == "scored", view.message
    assert set(view.scores) == {"accuracy", "fluency", "completeness", "prosody", "total"}
    assert all(0 <= v <= 100 for v in view.scores.values())
    assert [w["text"] for w in view.words] == ["She", "was", "almost", "like", "a", "boy."]
    assert all({"phone", "ipa", "heard", "score"} <= set(p) for w in view.words for p in w["phones"])
    assert view.tips and view.scores["completeness"] >= 80
    # who may see it: the student, their teacher; not another student or another teacher
    assert service.get_attempt(username="ms.t", attempt_id=view.id).student == "amy"
    for other in ("bob", "mr.u"):
        with pytest.raises(service.TutorError, match="not yours"):
            service.get_attempt(username=other, attempt_id=view.id)
        with pytest.raises(service.TutorError, match="not yours"):
            service.attempt_audio(username=other, attempt_id=view.id)
    assert service.attempt_audio(username="amy", attempt_id=view.id).read_bytes() == CLIP.read_bytes()
    with pytest.raises(service.TutorError, match="already scored"):
        service.score_attempt(username="amy", attempt_id=view.id)
    assert service.history(username="amy")[0]["total"] == view.scores["total"]
    report = service.class_report(username="ms.t", class_id=cid)
    assert report["students"][0]["attempts"] == 1 and report["weak_phonemes"]
    rows = list(csv.reader(io.StringIO(service.export_csv(username="ms.t", class_id=cid))))
    assert rows[0][:3] == ["class", "student", "attempt_id"] and rows[1][1] == "amy"
    with pytest.raises(service.TutorError, match="not yours"):
        service.export_csv(username="mr.u", class_id=cid)


@pytest.mark.slow
def test_bad_readings_are_kept_with_a_clear_message_and_can_be_retried(db, tmp_path, monkeypatch):
    other = service.submit_attempt(username="amy", upload=CLIP,
                                   prompt_id=_custom_prompt(db, "Could you open the window, please?"))
    assert other.status == "refused" and "does not sound like the prompt" in other.message
    silent = tmp_path / "silence.wav"
    sf.write(silent, np.zeros(32000, np.float32), 16000)
    view = service.submit_attempt(username="amy", upload=silent, prompt_id=_custom_prompt(db, "She was almost like a boy."))
    assert view.status == "refused" and view.message
    corrupt = tmp_path / "broken.wav"
    corrupt.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt junk")
    view = service.submit_attempt(username="amy", upload=corrupt, prompt_id=_custom_prompt(db, "She was almost like a boy."))
    assert view.status == "refused" and view.message
    assert service.attempt_audio(username="amy", attempt_id=view.id).read_bytes() == corrupt.read_bytes()  # kept
    long = tmp_path / "long.wav"
    speech, rate = sf.read(CLIP)
    sf.write(long, np.tile(speech, 12), rate)
    view = service.submit_attempt(username="amy", upload=long, prompt_id=_custom_prompt(db, "She was almost like a boy."))
    assert view.status == "refused" and "longer than this prompt needs" in view.message
    # a crash while scoring: the audio stays, the attempt is "failed" and a retry scores it
    from core.pronunciation import assess as assess_module

    def boom(*a, **k):
        raise RuntimeError("model fell over")

    monkeypatch.setattr(service, "assess", boom)
    pid = _custom_prompt(db, "She was almost like a boy.")
    failed = service.submit_attempt(username="amy", prompt_id=pid, upload=CLIP)
    assert failed.status == "failed" and "recording is kept" in failed.message
    monkeypatch.setattr(service, "assess", assess_module.assess)
    with pytest.raises(service.TutorError, match="not yours"):
        service.score_attempt(username="bob", attempt_id=failed.id)
    assert service.score_attempt(username="amy", attempt_id=failed.id).status == "scored"


def test_csv_cells_are_guarded_against_spreadsheet_formulas(db, tmp_path):
    cid = service.create_class(username="ms.t", name="=HYPERLINK(\"http://x\")")
    service.add_student(username="ms.t", class_id=cid, student="bob")
    from apps.english_tutor import crud

    pid = _custom_prompt(db, "+cmd|' /C calc'!A0")
    with session_scope(db) as s:
        user = A.get_user(session=s, username="bob")
        stored = tmp_path / "a.opus"
        shutil.copy(CLIP, stored)
        crud.add_attempt(session=s, student_id=user.id, prompt=crud.get_prompt(session=s, prompt_id=pid),
                         audio_path=str(stored), audio_sha256="0" * 64, audio_bytes=1)
    rows = list(csv.reader(io.StringIO(service.export_csv(username="ms.t", class_id=cid))))
    assert rows[1][0].startswith("'=") and rows[1][5].startswith("'+")


@pytest.mark.slow
def test_a_class_is_scored_again_on_the_queue_after_a_model_update(db):
    """Issue 15: the teacher's class (or the operator's command) is re-scored by the workers, one
    task per attempt; the old scores stay until the new ones are written; each attempt once."""
    from apps.english_tutor import rescoring
    from core.db import utcnow
    from core.tasks import claims

    cid = service.create_class(username="ms.t", name="3B")
    service.add_student(username="ms.t", class_id=cid, student="amy")
    pid = _custom_prompt(db, "She was almost like a boy.")
    mine = service.submit_attempt(username="amy", prompt_id=pid, upload=CLIP)
    other = service.submit_attempt(username="bob", prompt_id=pid, upload=CLIP)  # bob is in no class
    with pytest.raises(service.TutorError, match="not yours"):
        rescoring.rescore_class(class_id=cid, username="mr.u")
    with pytest.raises(service.TutorError, match="no class 999"):
        rescoring.rescore_class(class_id=999)
    assert rescoring.rescore_class(class_id=cid, username="ms.t") == 1
    queued = service.get_attempt(username="amy", attempt_id=mine.id)
    assert queued.status == "queued" and queued.scores == mine.scores  # the old scores are still shown
    assert rescoring.KIND.pending(utcnow() - claims.STALE_AFTER) == [mine.id]
    assert rescoring.run_rescore(mine.id) == "done" and rescoring.run_rescore(mine.id) == "skipped"
    again = service.get_attempt(username="amy", attempt_id=mine.id)
    assert again.status == "scored" and again.scores == mine.scores  # same model, same reading
    assert service.get_attempt(username="bob", attempt_id=other.id).status == "scored"
    assert rescoring.rescore_class(class_id=cid) == 1  # the operator's command line
