"""Diarization and conversation segmentation on a real two-party telephone call (pyannote.audio's MIT sample)."""
from __future__ import annotations

import numpy as np
import pytest

from core.asr.types import Word
from core.audio import SilentAudioError, load_audio
from core.conversation import ConversationOptions, group_turns, segment_conversation
from core.diarization import SpeakerTurn, diarization_error_rate, diarize, read_rttm

from .conftest import AUDIO_FIXTURES, SR, white_noise

CALL = AUDIO_FIXTURES / "two_speaker_call.flac"
PARTIES = ConversationOptions(roles=("agent", "customer"))


def segment_call(source, *, transcriber):
    return segment_conversation(source, transcriber=transcriber, options=PARTIES)


def test_der_metric_matches_hand_computed_cases():
    ref = [SpeakerTurn(0, 10, "a"), SpeakerTurn(10, 20, "b")]
    assert diarization_error_rate(ref, [SpeakerTurn(0, 10, "x"), SpeakerTurn(10, 20, "y")], collar_s=0) == 0.0
    assert diarization_error_rate(ref, [SpeakerTurn(0, 20, "x")], collar_s=0) == pytest.approx(0.5, abs=0.01)
    assert diarization_error_rate(ref, [], collar_s=0) == 1.0


def test_two_voices_are_told_apart_on_a_real_call():
    audio = load_audio(CALL)
    hyp = diarize(audio.samples)
    assert {t.speaker for t in hyp} == {"S1", "S2"}
    der = diarization_error_rate(read_rttm(CALL.with_suffix(".rttm")), hyp)
    assert der < 0.15, der  # 0.03 when measured; see benchmarks/callcenter.py


def test_homogeneous_voice_prints_are_one_speaker():
    from core.diarization import DiarizationOptions, _cluster

    x = np.random.default_rng(0).standard_normal((60, 40))
    assert set(_cluster(x, DiarizationOptions())) == {0}
    two = np.concatenate([x[:30] - 4.0, x[30:] + 4.0])
    assert set(_cluster(two, DiarizationOptions())) == {0, 1}


def test_one_voice_recordings_are_told_from_two_party_ones():
    """The GE2E one-voice test: one person's reading (twice, with pauses) is one voice; the same
    reading alternating with another person's is two; the real call stays two (above)."""
    from core.diarization import one_voice_similarity

    a = load_audio(AUDIO_FIXTURES / "so762_005630375.opus").samples
    b = load_audio(AUDIO_FIXTURES / "so762_007650078.opus").samples
    gap = np.zeros(SR // 2, np.float32)
    one = np.concatenate([a, gap, a[: len(a) // 2], gap, a[len(a) // 2:], gap, a])
    two = np.concatenate([a, gap, b, gap, a, gap, b])
    assert {t.speaker for t in diarize(one)} == {"S1"}
    assert {t.speaker for t in diarize(two)} == {"S1", "S2"}
    e = np.eye(4)[[0, 0, 1, 1]]
    assert one_voice_similarity(e) == pytest.approx(0.0) and one_voice_similarity(e[:2]) == pytest.approx(1.0)


def test_words_group_into_turns_on_speaker_change_and_long_pauses():
    w = lambda t, s, e: Word(t, s, e, 0.9)  # noqa: E731
    turns = group_turns([(w("hi", 0, .5), "agent"), (w("hello", 1, 1.5), "customer"), (w("there", 1.6, 2), "customer"),
                         (w("again", 6, 6.5), "customer")], max_pause_s=2.0)
    assert [(t.speaker, t.text) for t in turns] == [("agent", "hi"), ("customer", "hello there"), ("customer", "again")]
    assert [t.index for t in turns] == [0, 1, 2]


@pytest.mark.slow
def test_mono_call_gives_agent_and_customer_turns(transcriber):
    call = segment_call(CALL, transcriber=transcriber)
    assert call.layout == "mono" and not call.warnings
    assert call.audio_by_role["agent"] is call.audio_by_role["customer"]  # both parties' times refer to the mix
    speakers = [t.speaker for t in call.turns]
    assert speakers[0] == "agent" and "customer" in speakers
    text = " ".join(t.text for t in call.turns if t.speaker == "customer").lower()
    assert "sheila" in text and "yankee" in text


@pytest.mark.slow
def test_stereo_call_splits_by_channel_and_flags_one_sided_calls(transcriber, speech_clips, tmp_path):
    import soundfile as sf

    a = load_audio(next(p for p in speech_clips if "007650078" in p.name)).samples
    b = load_audio(next(p for p in speech_clips if "011860287" in p.name)).samples
    gap = np.zeros(SR, np.float32)
    left = np.concatenate([a, gap, np.zeros_like(b), gap])
    right = np.concatenate([np.zeros_like(a), gap, b, gap])
    path = tmp_path / "stereo.wav"
    sf.write(path, np.stack([left, right], 1), SR)
    call = segment_call(path, transcriber=transcriber)
    assert call.layout == "stereo"
    assert [t.speaker for t in call.turns] == ["agent", "customer"]
    # each role's audio is its own channel: the customer's is silent while the agent speaks
    assert np.allclose(call.audio_by_role["customer"].samples[:len(a)], 0)
    assert np.abs(call.audio_by_role["agent"].samples[:len(a)]).max() > 0.01
    assert "plant" in call.turns[0].text.lower() and "thanked" in call.turns[1].text.lower()
    sf.write(path, np.stack([left, np.zeros_like(left)], 1), SR)
    one_sided = segment_call(path, transcriber=transcriber)
    assert any("customer channel is silent" in w for w in one_sided.warnings)
    assert {t.speaker for t in one_sided.turns} == {"agent"}
    flipped = segment_conversation(path, transcriber=transcriber,
                                   options=ConversationOptions(roles=("agent", "customer"), first_role_channel=1))
    assert {t.speaker for t in flipped.turns} == {"customer"}


def test_silent_and_noise_only_calls_are_refused(transcriber, tmp_path):
    import soundfile as sf

    path = tmp_path / "silent.wav"
    sf.write(path, np.zeros(SR * 5, np.float32), SR)
    with pytest.raises(SilentAudioError):
        segment_call(path, transcriber=transcriber)
    sf.write(path, np.stack([white_noise(5, 0.001), np.zeros(SR * 5, np.float32)], 1), SR)
    with pytest.raises(SilentAudioError, match="both channels"):
        segment_call(path, transcriber=transcriber)


@pytest.mark.slow
def test_a_three_hour_call_is_processed_in_bounded_memory(transcriber, tmp_path):
    """Just under 3 hours (the limit), 8 kHz mono, the real call three times in long silence."""
    import resource

    import soundfile as sf
    from scipy.signal import resample_poly

    call = resample_poly(load_audio(CALL).samples, 1, 2).astype(np.float32)
    x = np.zeros(8000 * (3 * 3600 - 5), np.float32)
    for start in (0, 8000 * 3600, 8000 * 7200):
        x[start:start + len(call)] = call
    path = tmp_path / "three_hours.flac"
    sf.write(path, x, 8000)
    del x
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    seg = segment_call(path, transcriber=transcriber)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert seg.duration > 3 * 3600 - 10 and seg.layout == "mono"
    assert sum("yankee" in t.text.lower() for t in seg.turns) == 3  # each copy is found and transcribed
    assert grown_mb < 3000, grown_mb


@pytest.mark.slow
def test_channels_beyond_the_two_parties_are_reported_not_silently_dropped(transcriber, speech_clips, tmp_path):
    import soundfile as sf

    a = load_audio(next(p for p in speech_clips if "007650078" in p.name)).samples
    silence = np.zeros_like(a)
    path = tmp_path / "six.wav"
    sf.write(path, np.stack([a, silence, silence, silence, silence, silence], 1), SR)
    conv = segment_call(path, transcriber=transcriber)
    assert any("6 channels; only the first two are used" in w for w in conv.warnings)


def test_neural_voice_prints_tell_people_apart():
    """The GE2E encoder (Resemblyzer's weights, our own mel front end): two halves of one person's
    reading are closer to each other than to anyone else's."""
    from core.voice_prints import default_encoder

    halves, owner = [], []
    for i, name in enumerate(["so762_005630375.opus", "so762_007650078.opus", "so762_011860287.opus"]):
        x = load_audio(f"tests/fixtures/audio/{name}").samples
        halves += [x[:len(x) // 2], x[len(x) // 2:]]
        owner += [i, i]
    e = default_encoder().embed(halves)
    sim = e @ e.T
    for a in range(len(halves)):
        same = max(sim[a, b] for b in range(len(halves)) if b != a and owner[b] == owner[a])
        other = max(sim[a, b] for b in range(len(halves)) if owner[b] != owner[a])
        assert same > other + 0.1, (a, same, other)
    windows = default_encoder().embed_windows(np.concatenate(halves[:2]), [(0.0, 1.0), (0.5, 4.5)])
    assert windows.shape == (2, 256) and np.allclose(np.linalg.norm(windows, axis=1), 1, atol=1e-4)
