"""The tutor page: the student's flow driven through the running suite with gradio_client (as a
browser would), and the teacher's handlers; files served only to who may see them."""
from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
import soundfile as sf

from apps.english_tutor import service, ui
from core import accounts as A
from core.db import session_scope

from .conftest import run_suite_signed_in

pytestmark = pytest.mark.slow
PASSWORD = "student pass 1"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from run_suite_signed_in(tmp_path_factory.mktemp("ui") / "suite.sqlite3", "kim", PASSWORD, "student")


def _prompt(c, title: str, text: str) -> int:
    lessons, _ = c.predict(api_name="/lessons")
    lesson_id = next(v for label, v in lessons["choices"] if title in label)
    prompts = c.predict(lesson_id, api_name="/prompts")
    return next(v for label, v in prompts["choices"] if label == text)


def test_student_reads_a_prompt_and_sees_words_sounds_and_progress(server, tmp_path):
    from gradio_client import Client, handle_file

    from core.pronunciation.espeak import synthesize

    port, token = server
    c = Client(f"http://127.0.0.1:{port}/tutor/", headers={"Cookie": f"parlance_session={token}"}, verbose=False)
    pid = _prompt(c, "th and s", "I think it is thick.")
    reference = c.predict(pid, api_name="/reference")
    assert Path(reference).stat().st_size > 10_000
    reading = tmp_path / "reading.wav"
    sf.write(reading, synthesize("I think it is thick.", rate_wpm=140), 16000)  # a synthetic student
    html, note = c.predict(pid, handle_file(str(reading)), api_name="/score")  # (the attempt id is page state)
    attempt = int(note.split("#")[1].split()[0])
    assert note == f"Attempt #{attempt} scored." and "et-words" in html and "Tips" in html
    assert "think" in html and "/θ/" in html
    assert "Record or upload" in c.predict(pid, None, api_name="/score")[1]
    wrong_prompt = _prompt(c, "Everyday sentences", "There are three thousand books in the library.")
    html2, note2 = c.predict(wrong_prompt, handle_file(str(reading)), api_name="/score")
    assert "does not sound like the prompt" in note2 and "recording is kept" in html2
    table, chart = c.predict(api_name="/history")
    assert len(table["data"]) == 2
    audio = f"http://127.0.0.1:{port}/tutor/files/attempt-{attempt}/audio"
    assert httpx.get(audio, cookies={"parlance_session": token}).content == reading.read_bytes()
    assert httpx.get(audio).status_code == 401
    assert "not yours" in c.predict(attempt + 100, api_name="/attempt")
    assert c.predict(api_name="/teacher_view")["choices"] == []  # no classes for a student
    assert ui.teacher_view(SimpleNamespace(username="kim"))[0]["visible"] is False  # nor the teacher tab


def test_teacher_handlers_manage_a_class_and_never_see_other_classes(server):
    with session_scope() as s:
        A.create_user(session=s, username="ms.lin", password="teacher pass 22", role="teacher")
        A.create_user(session=s, username="mr.ode", password="teacher pass 33", role="teacher")
    t, other = SimpleNamespace(username="ms.lin"), SimpleNamespace(username="mr.ode")
    klass, msg = ui.new_class("Year 4 <i>", t)
    assert msg == "Class created." and klass["value"]
    cid = klass["value"]
    assert ui.enrol(cid, "kim", t) == "kim added to Year 4 <i>."
    assert "no active student" in ui.enrol(cid, "nobody", t)
    lessons = service.list_lessons(username="ms.lin")
    assert "assigned to" in ui.assign(cid, lessons[0]["id"], t)
    students, trend, weak, note = ui.class_report(cid, t)
    assert list(students["student"]) == ["kim"] and "Download CSV" in note and "/tutor/files/class-" in note
    assert "not yours" in ui.class_report(cid, other)[3]
    assert "not yours" in ui.enrol(cid, "kim", other)
    assert ui.teacher_view(t)[0]["visible"] is True and ui.teacher_view(other)[1]["choices"] == []
    assert "not yours" in ui.rescore(cid, other)  # another teacher cannot queue this class
    readings = len(service.history(username="kim"))
    assert readings and ui.rescore(cid, t).startswith(f"{readings} reading(s) queued to be scored again")
    for _ in range(600):  # the server's worker scores them again
        if {r["status"] for r in service.history(username="kim")} <= {"scored", "refused"}:
            break
        time.sleep(0.1)
    assert {r["status"] for r in service.history(username="kim")} <= {"scored", "refused"}
    assert "Choose a class" in ui.rescore(None, t)
