"""core.audio: every supported format/rate/width loads to mono 16 kHz; bad input gets its typed error."""
from __future__ import annotations

import io
from pathlib import Path
import struct

import numpy as np
import pytest
import soundfile as sf

from core import audio as A
from tests.conftest import AUDIO_FIXTURES, tone


def encode(samples: np.ndarray, rate: int, fmt: str, subtype: str | None = None) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, samples, rate, format=fmt, subtype=subtype)
    return buf.getvalue()


def dominant_hz(x: np.ndarray, rate: int = A.SAMPLE_RATE) -> float:
    spec = np.abs(np.fft.rfft(x))
    return float(np.fft.rfftfreq(x.size, 1 / rate)[spec.argmax()])


@pytest.mark.parametrize("fmt,subtype", [
    ("WAV", "PCM_U8"), ("WAV", "PCM_16"), ("WAV", "PCM_24"), ("WAV", "PCM_32"), ("WAV", "FLOAT"),
    ("FLAC", "PCM_16"), ("FLAC", "PCM_24"), ("OGG", "VORBIS"), ("OGG", "OPUS"), ("MP3", "MPEG_LAYER_III"),
])
def test_formats_and_sample_widths_load(fmt, subtype):
    rate = 48000 if subtype == "OPUS" else 44100
    raw = encode(tone(1.5, 440, rate), rate, fmt, subtype)
    out = A.load_audio(raw)
    assert out.sample_rate == A.SAMPLE_RATE and out.samples.dtype == np.float32 and out.samples.ndim == 1
    assert abs(out.duration - 1.5) < 0.1
    assert abs(dominant_hz(out.samples) - 440) < 5


@pytest.mark.parametrize("rate", [8000, 11025, 16000, 22050, 32000, 44100, 48000, 96000])
def test_sample_rates_8_to_96_khz_resample_to_16k(rate):
    out = A.load_audio(encode(tone(1.0, 300, rate), rate, "WAV", "PCM_16"))
    assert out.source_sample_rate == rate
    assert abs(out.samples.size - A.SAMPLE_RATE) <= 2
    assert abs(dominant_hz(out.samples) - 300) < 3


def test_stereo_is_mixed_to_mono_and_channels_can_be_kept():
    left, right = tone(1.0, 300), tone(1.0, 700)
    raw = encode(np.stack([left, right], axis=1), A.SAMPLE_RATE, "WAV", "PCM_16")
    mono = A.load_audio(raw)
    assert mono.source_channels == 2
    channels = A.load_channels(raw)
    assert [round(dominant_hz(c.samples)) for c in channels] == [300, 700]


def test_gradio_numpy_tuples_int16_and_channels_first():
    x = (tone(1.0, 440, 22050) * 32767).astype(np.int16)
    out = A.load_audio((22050, x))
    assert out.source_format == "numpy" and abs(out.duration - 1.0) < 0.01
    stereo_cf = np.stack([x, x])  # [C, T]
    assert abs(A.load_audio((22050, stereo_cf)).duration - 1.0) < 0.01


def test_real_fixture_clips_load(speech_clips):
    for path in speech_clips:
        out = A.load_audio(path)
        assert 0.2 < out.duration < 10 and not out.warnings


def test_clipping_is_a_warning_not_an_error():
    x = np.clip(tone(1.0, 200, amp=3.0), -1, 1)
    out = A.load_audio(encode(x, 16000, "WAV", "FLOAT"))
    assert any("clipped" in w for w in out.warnings)


def test_float_above_full_scale_is_rescaled():
    out = A.load_audio((16000, tone(1.0, 200, amp=4.0)))
    assert np.abs(out.samples).max() <= 1.0 and out.warnings


def _wav_header_only() -> bytes:
    return encode(np.zeros(0, np.float32), 16000, "WAV", "PCM_16")


def _truncated_wav() -> bytes:
    raw = encode(tone(2.0), 16000, "WAV", "PCM_16")
    return raw[: len(raw) // 3]


def _nan_wav() -> bytes:
    x = tone(1.0)
    x[100:200] = np.nan
    return encode(x, 16000, "WAV", "FLOAT")


def _inf_wav() -> bytes:
    x = tone(1.0)
    x[5] = np.inf
    return encode(x, 16000, "WAV", "FLOAT")


def _nine_channels() -> bytes:
    return encode(np.tile(tone(0.5)[:, None], (1, 9)), 16000, "WAV", "PCM_16")


def _png() -> bytes:
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + b"\x00" * 200


# (case id, input factory, extra kwargs, expected error type)
BAD_INPUTS = [
    ("empty-bytes", lambda tmp: b"", {}, A.EmptyAudioError),
    ("empty-file", lambda tmp: _write(tmp / "e.wav", b""), {}, A.EmptyAudioError),
    ("wav-without-frames", lambda tmp: _wav_header_only(), {}, A.EmptyAudioError),
    ("text-file", lambda tmp: _write(tmp / "notes.wav", b"patient notes, not audio\n" * 20), {}, A.NotAudioError),
    ("png-image", lambda tmp: _png(), {}, A.NotAudioError),
    ("random-bytes", lambda tmp: np.random.default_rng(1).bytes(5000), {}, A.NotAudioError),
    ("json", lambda tmp: b'{"audio": [1, 2, 3]}' * 50, {}, A.NotAudioError),
    ("folder", lambda tmp: tmp, {}, A.NotAudioError),
    ("missing-file", lambda tmp: tmp / "nope.wav", {}, A.AudioFileNotFoundError),
    ("not-a-source", lambda tmp: 12345, {}, A.NotAudioError),
    ("truncated-wav", lambda tmp: _truncated_wav(), {}, A.CorruptAudioError),
    ("flac-garbage", lambda tmp: b"fLaC" + np.random.default_rng(2).bytes(3000), {}, A.CorruptAudioError),
    ("ogg-garbage", lambda tmp: b"OggS" + np.random.default_rng(3).bytes(3000), {}, A.CorruptAudioError),
    ("wav-garbage", lambda tmp: b"RIFF\x10\x00\x00\x00WAVEjunk" + b"\x01" * 500, {}, A.CorruptAudioError),
    ("rate-4khz", lambda tmp: encode(tone(1.0, 300, 4000), 4000, "WAV", "PCM_16"), {}, A.UnsupportedFormatError),
    ("nine-channels", lambda tmp: _nine_channels(), {}, A.UnsupportedFormatError),
    ("tuple-rate-1khz", lambda tmp: (1000, tone(1.0, 100, 1000)), {}, A.UnsupportedFormatError),
    ("too-short", lambda tmp: encode(tone(0.05), 16000, "WAV", "PCM_16"), {}, A.TooShortError),
    ("too-long", lambda tmp: encode(tone(3.0), 16000, "WAV", "PCM_16"), {"max_seconds": 2.0}, A.TooLongError),
    ("digital-silence", lambda tmp: encode(np.zeros(16000, np.float32), 16000, "WAV", "PCM_16"), {}, A.SilentAudioError),
    ("whisper-quiet", lambda tmp: encode(tone(1.0, amp=1e-4), 16000, "WAV", "FLOAT"), {}, A.SilentAudioError),
    ("nan-samples", lambda tmp: _nan_wav(), {}, A.InvalidSamplesError),
    ("inf-samples", lambda tmp: _inf_wav(), {}, A.InvalidSamplesError),
    ("tuple-of-strings", lambda tmp: (16000, np.array(["a", "b"])), {}, A.NotAudioError),
    ("tuple-3d-array", lambda tmp: (16000, np.zeros((2, 2, 2))), {}, A.NotAudioError),
    ("tuple-bad-rate", lambda tmp: ("fast", tone(1.0)), {}, A.NotAudioError),
    ("tuple-empty-array", lambda tmp: (16000, np.zeros(0, np.int16)), {}, A.EmptyAudioError),
    ("tuple-wrong-length", lambda tmp: (16000, tone(1.0), "extra"), {}, A.NotAudioError),
]


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("case,make,kwargs,expected", BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
def test_bad_input_gets_its_typed_error_with_a_plain_message(tmp_path, case, make, kwargs, expected):
    with pytest.raises(expected) as info:
        A.load_audio(make(tmp_path), **kwargs)
    err = info.value
    assert isinstance(err, A.AudioError) and err.message and err.code == expected.code
    assert "Traceback" not in err.message and len(err.message) < 300


def test_mp4_without_ffmpeg_is_unsupported(monkeypatch):
    monkeypatch.setattr(A.shutil, "which", lambda name: None)
    raw = b"\x00\x00\x00\x20ftypM4A " + b"\x00" * 400
    with pytest.raises(A.UnsupportedFormatError):
        A.load_audio(raw)


def test_long_file_is_refused_before_decoding(monkeypatch):
    raw = encode(tone(5.0), 16000, "FLAC", "PCM_16")
    reads = []
    original = sf.SoundFile.read
    monkeypatch.setattr(sf.SoundFile, "read", lambda self, *a, **k: reads.append(1) or original(self, *a, **k))
    with pytest.raises(A.TooLongError):
        A.load_audio(raw, max_seconds=1.0)
    assert reads == []


def test_every_committed_speech_clip_loads_as_16khz_speech():
    import json

    listed = json.loads((AUDIO_FIXTURES / "transcripts.json").read_text())
    assert len(listed) >= 4
    for name in listed:
        audio = A.load_audio(AUDIO_FIXTURES / name)
        assert audio.sample_rate == 16000 and 0.2 < audio.duration < 30, name
        assert float(np.sqrt(np.mean(audio.samples ** 2))) > 0.005, name  # not silence


@pytest.mark.slow
def test_a_long_multichannel_file_is_decoded_without_extra_copies(tmp_path):
    """Issue 11, item 12: the whole file's bytes and extra copies of its samples used to sit in memory
    (a 2-hour 48 kHz stereo upload: +6.6 GB; now +3.5 GB, most of it the decoded samples themselves).
    Measured in a fresh process, so other tests' peaks do not hide it."""
    import subprocess
    import sys

    path = tmp_path / "ten_minutes.wav"
    with sf.SoundFile(path, "w", samplerate=48000, channels=2, subtype="PCM_16") as f:
        rng = np.random.default_rng(0)
        for _ in range(10):
            f.write((rng.standard_normal((48000 * 60, 2)) * 300).astype(np.int16))
    code = ("import resource, sys; from core.audio import load_channels; "
            "b = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss; c = load_channels(sys.argv[1]); "
            "print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - b) / 1024, len(c), c[0].duration)")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1]).stdout.split()
    grown_mb, channels, seconds = float(out[0]), int(out[1]), float(out[2])
    decoded_mb = 48000 * 600 * 2 * 4 / 1e6  # the float32 samples of both channels: 230 MB
    assert channels == 2 and abs(seconds - 600) < 0.1
    assert grown_mb < 1.6 * decoded_mb, grown_mb  # was ~2.4x (bytes + float64 mean + copies)
