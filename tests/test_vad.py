"""core.vad: silero-vad (ONNX) finds speech in real clips and none in silence, noise or tones."""
from __future__ import annotations

import numpy as np

from core.audio import load_audio
from core.vad import SpeechSegment, VadOptions, get_vad, merge_segments, segments_from_probabilities
from tests.conftest import tone, white_noise


def test_speech_found_in_real_clips(speech_clips):
    vad = get_vad()
    for path in speech_clips:
        audio = load_audio(path)
        segs = vad.segments(audio.samples)
        assert segs, path.name
        assert 0 <= segs[0].start < segs[-1].end <= audio.duration + 1e-6


def test_no_speech_in_silence_noise_or_tone():
    vad = get_vad()
    for x in (np.zeros(16000 * 10, np.float32), white_noise(10, 0.05), tone(10, 440, amp=0.3)):
        assert vad.segments(x) == []


def test_speech_is_located_in_time(speech_clips):
    path = next(p for p in speech_clips if p.suffix == ".opus")
    speech = load_audio(path).samples
    gap = np.zeros(16000 * 5, np.float32)
    segs = get_vad().segments(np.concatenate([gap, speech, gap]))
    assert segs and segs[0].start >= 4.5 and segs[-1].end <= 5.5 + speech.size / 16000


def test_probabilities_shape():
    probs = get_vad().probabilities(np.zeros(16000, np.float32))
    assert probs.shape == (32,) and float(probs.max()) < 0.5


def test_segmentation_rules_on_synthetic_probabilities():
    frame = 512 / 16000
    probs = np.array([0.0] * 10 + [0.9] * 30 + [0.0] * 5 + [0.9] * 30 + [0.0] * 40 + [0.9] * 3 + [0.0] * 10)
    segs = segments_from_probabilities(probs, VadOptions(min_silence_ms=400, speech_pad_ms=0, min_speech_ms=250),
                                       duration=probs.size * frame)
    # the 5-frame (160 ms) pause does not split; the 3-frame (96 ms) burst is dropped as too short
    assert len(segs) == 1
    assert abs(segs[0].start - 10 * frame) < 1e-3 and abs(segs[0].end - 75 * frame) < 1e-3


def test_long_speech_is_split_below_the_maximum():
    probs = np.full(2000, 0.9)  # 64 s of speech
    probs[900] = 0.1
    segs = segments_from_probabilities(probs, VadOptions(max_segment_s=28.0, speech_pad_ms=0), duration=64.0)
    assert len(segs) >= 3 and all(s.duration <= 28.0 + 1e-6 for s in segs)


def test_merge_segments_respects_chunk_length_and_gaps():
    segs = [SpeechSegment(0, 5), SpeechSegment(6, 10), SpeechSegment(20, 25), SpeechSegment(25.5, 40),
            SpeechSegment(41, 50)]
    merged = merge_segments(segs, max_chunk_s=28, max_gap_s=2)
    # 10 s of silence starts a new chunk; 20..50 would be 30 s > 28 s
    assert merged == [SpeechSegment(0, 10), SpeechSegment(20, 40), SpeechSegment(41, 50)]
