"""The supervisor dashboard driven through the running suite with gradio_client (as a browser would)."""
from __future__ import annotations

import time

import pytest

from .conftest import AUDIO_FIXTURES, run_suite_signed_in

pytestmark = pytest.mark.slow
PASSWORD = "supervisor pass 1"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from apps.finance_callcenter.config import get_callcenter_settings

    get_callcenter_settings.cache_clear()
    yield from run_suite_signed_in(tmp_path_factory.mktemp("ui") / "suite.sqlite3", "sup", PASSWORD, "supervisor")
    from core.tasks import dispatcher

    dispatcher.stop()  # it works on the suite's database; later tests use their own


def test_supervisor_uploads_watches_opens_edits_and_exports(server, tmp_path):
    from gradio_client import Client, handle_file

    port, token = server
    client = Client(f"http://127.0.0.1:{port}/callcenter/", headers={"Cookie": f"parlance_session={token}"},
                    verbose=False)
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF....WAVEfmt nonsense")
    status, *_ = client.predict([handle_file(str(AUDIO_FIXTURES / "two_speaker_call.flac")), handle_file(str(bad))],
                                "Left channel is the agent", api_name="/upload")
    assert "2 call(s) stored and queued" in status
    for _ in range(240):  # the background worker processes both
        board, waiting, processing = client.predict(api_name="/board")
        if "queued" not in processing and "progress" not in processing:
            break
        time.sleep(0.5)
    assert "failed" in processing and "damaged" in processing  # the broken file says why, and stays listed
    assert "two_speaker_call.flac" in waiting and "Human triage" in board
    choices = str(client.predict(api_name="/list_calls"))
    assert "#1 · two_speaker_call.flac · done" in choices and "#2 · broken.wav · failed" in choices
    summary, transcript, plot, player = client.predict(1, api_name="/call_detail")
    assert "Routing decisions" in summary and "No banking intent" in summary
    assert "Customer" in transcript and "Agent" in transcript and 'src="/callcenter/files/audio/1"' in player
    import httpx

    base, cookie = f"http://127.0.0.1:{port}", {"parlance_session": token}
    audio = httpx.get(f"{base}/callcenter/files/audio/1", cookies=cookie)
    assert audio.status_code == 200 and audio.content[:4] == b"fLaC" and audio.headers["cache-control"] == "no-store"
    assert httpx.get(f"{base}/callcenter/files/audio/1").status_code == 401  # no session, no recording
    assert httpx.get(f"{base}/callcenter/files/audio/99", cookies=cookie).status_code == 404
    assert "Not re-routed" in client.predict(1, "nowhere", "test", api_name="/reroute")
    assert "re-routed to cards" in client.predict(1, "cards", "customer asked about cards", api_name="/reroute")
    bad_table = "queues: {a: {name: A, sla_minutes: 5}}\nroutes: {b: [card_arrival]}\ndefault_queue: a\n" \
                "out_of_scope_queue: a\nescalation: {queue: a}\n"
    status, _, _ = client.predict(bad_table, "typo", api_name="/save_routing_table")
    assert "Not saved" in status and "'b'" in status
    totals, *_ = client.predict("Today", "(all)", "(all)", api_name="/analytics")
    assert "1** processed call" in totals
    link = client.predict("All time", "(all)", "(all)", api_name="/export_csv")
    assert 'href="/callcenter/files/calls.csv"' in link
    exported = httpx.get(f"{base}/callcenter/files/calls.csv", cookies=cookie)
    assert exported.status_code == 200 and exported.text.startswith("call_id,") and "two_speaker_call.flac" in exported.text
    assert httpx.get(f"{base}/callcenter/files/calls.csv").status_code == 401
    assert "taken" in client.predict(1, api_name="/take_call")
    assert "queued again" in client.predict(2, api_name="/retry_call")


def test_the_call_detail_shows_what_the_words_and_the_voice_each_said():
    from apps.finance_callcenter.views import transcript_html

    turn = {"speaker": "customer", "out_of_scope": False, "intent": "card_arrival", "intent_probability": 0.9,
            "emotion": "anger", "distress": 0.7, "start_s": 1.0, "end_s": 4.0, "text": "Fine, thanks.",
            "emotion_evidence": {
                "text": {"label": "neutral", "probabilities": {"neutral": 0.8, "anger": 0.1}},
                "speech": {"label": "angry", "probabilities": {"angry": 0.72, "neutral": 0.1}, "arousal": 0.61,
                           "valence": -0.52, "confidence": 0.64, "notes": []}}}
    html = transcript_html([turn])
    assert "words: neutral 80%" in html and "voice: angry 72%" in html and "arousal +0.6" in html
    turn["emotion_evidence"]["speech"] = {"label": "neutral", "probabilities": {"neutral": 1.0}, "arousal": 0.0,
                                          "valence": 0.0, "confidence": 0.0, "notes": ["no speech heard"]}
    assert "voice: no speech heard" in transcript_html([turn])
    turn["emotion_evidence"] = None  # calls analysed before the speech model: words only, as before
    assert "voice:" not in transcript_html([turn])
