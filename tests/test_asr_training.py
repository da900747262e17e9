"""Whisper between CTranslate2 (the engine) and transformers (training): the conversion is exact both ways."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from core.audio import load_audio

from .conftest import AUDIO_FIXTURES

CLIPS = ["so762_005630375.opus", "so762_007650078.opus", "so762_011860287.opus", "fsdd_7_jackson_0.flac",
         "fsdd_3_theo_1.flac"]


@pytest.fixture(scope="module")
def tiny():
    from core.asr.whisper_hf import load_whisper_hf

    return load_whisper_hf("tiny.en")


def _engine_text(model_dir: str, samples: np.ndarray, compute_type: str = "float32") -> str:
    from faster_whisper import WhisperModel

    engine = WhisperModel(model_dir, device="cpu", compute_type=compute_type)
    segments, _ = engine.transcribe(samples, beam_size=1, temperature=0.0, without_timestamps=True,
                                    condition_on_previous_text=False, vad_filter=False, language="en")
    return "".join(s.text for s in segments)


def test_the_transformers_model_transcribes_exactly_as_the_engine(tiny):
    from faster_whisper.feature_extractor import FeatureExtractor

    from core.asr.whisper_hf import greedy_decode
    from core.model_resolver import resolve_whisper

    model, tokenizer = tiny
    fe = FeatureExtractor(feature_size=80)
    audio = [load_audio(AUDIO_FIXTURES / c).samples for c in CLIPS]
    mels = [fe(x)[:, :3000] for x in audio]  # the engine pads the log-mel with zeros to 30 s
    batch = torch.from_numpy(np.stack([np.pad(m, ((0, 0), (0, 3000 - m.shape[1]))) for m in mels]))
    ours = [tokenizer.decode(ids) for ids in greedy_decode(model, batch)]
    engine = [_engine_text(resolve_whisper("tiny.en"), x) for x in audio]
    assert ours == engine
    assert "like a boy" in ours[0] and "seven" in ours[3].lower()


def test_the_round_trip_back_to_ctranslate2_transcribes_the_same(tiny, tmp_path):
    import json

    from core.asr.whisper_hf import save_whisper_hf, to_ctranslate2
    from core.model_resolver import resolve_whisper

    model, tokenizer = tiny
    hf = save_whisper_hf(model, tokenizer, tmp_path / "hf")
    ct2 = to_ctranslate2(hf, tmp_path / "ct2")
    original = resolve_whisper("tiny.en")
    assert json.loads((ct2 / "config.json").read_text()) == json.loads(open(f"{original}/config.json").read())
    for c in CLIPS[:3] + ["two_speaker_call.flac"]:
        x = load_audio(AUDIO_FIXTURES / c).samples
        assert _engine_text(str(ct2), x, "int8") == _engine_text(original, x, "int8"), c
