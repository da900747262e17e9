"""The dictation page driven through the running suite with gradio_client (as a browser would)."""
from __future__ import annotations


import pytest

from .conftest import AUDIO_FIXTURES, run_suite_signed_in

pytestmark = pytest.mark.slow
PASSWORD = "clinician pass 1"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from run_suite_signed_in(tmp_path_factory.mktemp("ui") / "suite.sqlite3", "dr.ui", PASSWORD, "clinician")


def test_clinician_dictates_edits_signs_and_exports(server):
    from gradio_client import Client, handle_file

    port, token = server
    c = Client(f"http://127.0.0.1:{port}/dictation/", headers={"Cookie": f"parlance_session={token}"}, verbose=False)
    _, msg = c.predict("M-1", "<b>Ann</b> Smith", "F", api_name="/add_patient")
    assert msg == "Patient added."
    assert "Not added" in c.predict("", "Nobody", "", api_name="/add_patient")[1]
    enc_update, msg = c.predict(1, "cough", api_name="/start_encounter")
    assert "Encounter #1 started" in msg
    out = c.predict(1, handle_file(str(AUDIO_FIXTURES / "so762_007650078.opus")), "metformin", api_name="/dictate")
    status, transcript, version = out[0], out[1], out[8]
    assert "Dictation added" in status and "plant" in transcript.lower() and version == 1
    assert "Please record" in c.predict(1, None, "", api_name="/dictate")[0]
    saved, v2 = c.predict(1, "Cough for a week.", "Chest clear.", "Viral URTI.", "Start metformin 500 mg twice daily.",
                          1, api_name="/save_note")
    assert "Saved (version 2)" in saved and v2 == 2
    stale, kept = c.predict(1, "Other tab.", "", "", "", 1, api_name="/save_note")
    assert "Not saved" in stale and "Cough for a week." in stale and kept == 1  # conflict shows their text
    signed = c.predict(1, 2, api_name="/sign_note")
    assert signed[0].startswith("Signed.")
    assert "Addendum added" in c.predict(1, "Results normal.", api_name="/add_addendum")[0]
    msg, link = c.predict(1, "FHIR R4 DocumentReference (JSON)", api_name="/export")
    assert 'href="/dictation/files/note-1.json"' in link  # served by the suite, which checks the clinician
    import httpx

    url = f"http://127.0.0.1:{port}/dictation/files/note-1.json"
    got = httpx.get(url, cookies={"parlance_session": token})
    assert got.status_code == 200 and got.headers["cache-control"] == "no-store"
    doc = got.json()
    assert httpx.get(url).status_code == 401  # no session: nothing
    assert httpx.get(url.replace("note-1", "note-2"), cookies={"parlance_session": token}).status_code == 404
    assert doc["resourceType"] == "DocumentReference"
    assert any(x.get("medicationCodeableConcept", {}).get("text") == "metformin" for x in doc["contained"])
    hist = c.predict(1, api_name="/history")
    headers, rows = hist["headers"], hist["data"]
    versions = [dict(zip(headers, r)) for r in rows]
    # 1: the dictated draft, 2: the saved edit, 3: signed (the stale tab's save made no version)
    assert [(v["version"], v["status"]) for v in versions] == [(1, "draft"), (2, "draft"), (3, "signed")]
    assert versions[1]["subjective"] == "Cough for a week." and versions[2]["by"] == "dr.ui"


def test_dictations_of_several_clinicians_run_side_by_side():
    """Issue 11, item 11: Gradio runs an event one call at a time by default, so a 5 s dictation
    waited behind a 4-minute one (9.5 s); dictating and reprocessing now run up to 4 at once."""
    from apps.medical_dictation import ui

    limits = {fn.api_name: fn.concurrency_limit for fn in ui.build_demo().fns.values()}
    assert limits["dictate"] == limits["reprocess"] == ui.DICTATIONS_AT_ONCE >= 2
