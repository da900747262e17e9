"""Speech emotion: the network learns (tiny overfit), the recipe runs end to end on fake cached
features, the telephone path, manifests from other corpora, fusion with the voice's confidence,
and (with the shipped model) gain invariance and a bad-input table."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from core.emotion.fusion import fuse
from core.emotion.labels import LABELS, affect_of, normalise_label
from core.emotion.speech_model import SpeechEmotionConfig, SpeechEmotionNet
from core.model_resolver import PROJECT_MODELS_DIR

SHIPPED = PROJECT_MODELS_DIR / "speech_emotion" / "ravdess-whisper-tiny-layers.pt"
needs_model = pytest.mark.skipif(not SHIPPED.exists(), reason="the speech-emotion artifact is not in models/")


def _fake_frames(label: int, n: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    x = rng.standard_normal((n, dim)).astype(np.float32) * 0.5
    x[:, label] += 2.0  # each class lights up its own feature
    return x


@pytest.mark.parametrize("encoder", ["asp", "ecapa"])
def test_the_network_overfits_a_tiny_set(encoder):
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    dim = 16
    config = SpeechEmotionConfig(input_dim=dim, hidden=32, attention=16, dropout=0.0, encoder=encoder, channels=32)
    net = SpeechEmotionNet(config)
    x = torch.from_numpy(np.stack([_fake_frames(i % 8, 60, dim, rng) for i in range(32)]))
    y = torch.tensor([i % 8 for i in range(32)])
    lengths = torch.tensor([60 - (i % 3) * 10 for i in range(32)])
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    for _ in range(150):
        logits, affect = net(x, lengths)
        loss = torch.nn.functional.cross_entropy(logits, y) + torch.nn.functional.mse_loss(affect, torch.zeros_like(affect))
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.eval()
    with torch.no_grad():
        assert (net(x, lengths)[0].argmax(-1) == y).float().mean() == 1.0


def test_labels_from_other_corpora_and_affect():
    assert normalise_label("ANG") == "angry" and normalise_label("exc") == "happy" and normalise_label("fru") == "angry"
    assert normalise_label("Sadness") == "sad" and normalise_label("bored") is None
    assert affect_of("angry")[0] > 0.5 > affect_of("sad")[0] and affect_of("happy")[1] > 0 > affect_of("angry")[1]
    assert abs(affect_of("angry", strong=True)[0]) >= abs(affect_of("angry")[0])


def test_a_banks_own_list_is_read_with_relative_paths(tmp_path):
    from core.recipes.speech_emotion.ravdess.prepare import read_list

    (tmp_path / "calls.csv").write_text("path,label,speaker\nclips/a.wav,ANG,agent7\nclips/b.wav,neutral,agent8\n")
    rows = read_list(tmp_path / "calls.csv")
    assert [r["label"] for r in rows] == ["angry", "neutral"] and rows[0]["audio"] == str(tmp_path / "clips/a.wav")
    (tmp_path / "bad.jsonl").write_text(json.dumps({"path": "x.wav", "label": "bored", "speaker": "s"}) + "\n")
    with pytest.raises(ValueError, match="needs a path"):
        read_list(tmp_path / "bad.jsonl")


def test_the_telephone_path_band_limits_and_keeps_length():
    from core.augment import gain, mu_law, phone_call, telephone

    rng = np.random.default_rng(0)
    t = np.arange(16000) / 16000
    x = (0.3 * np.sin(2 * np.pi * 200 * t) + 0.3 * np.sin(2 * np.pi * 6000 * t)).astype(np.float32)
    y = telephone(x)
    spec = np.abs(np.fft.rfft(y))
    assert len(y) == len(x) and spec[6000] < 0.05 * spec[200] * 10  # 6 kHz gone, 200 Hz mostly kept
    assert np.max(np.abs(mu_law(x) - x)) < 0.05
    assert np.max(np.abs(gain(x, 12))) <= 1.0
    z = phone_call(x, rng)
    assert z.dtype == np.float32 and len(z) == len(x) and np.isfinite(z).all()


def test_fusion_weighs_the_voice_by_its_confidence():
    text = {"neutral": 0.9, "anger": 0.1}
    voice = {"angry": 0.95, "neutral": 0.05}
    sure = fuse(text=text, speech=voice, speech_confidence=1.0)
    doubtful = fuse(text=text, speech=voice, speech_confidence=0.05)
    off = fuse(text=text, speech=voice, speech_confidence=0.0)
    assert sure.probabilities["anger"] > doubtful.probabilities["anger"] > off.probabilities["anger"]
    assert off.sources == ("text",) and sure.sources == ("text", "speech")
    # either source hearing an emotion counts: a flat voice does not erase angry words, nor calm words an angry voice
    assert fuse(text={"anger": 0.85, "neutral": 0.15}, speech={"neutral": 0.97, "angry": 0.03},
                speech_confidence=0.95).label == "anger"
    assert fuse(text={"neutral": 0.94, "anger": 0.03}, speech={"angry": 0.86, "neutral": 0.1},
                speech_confidence=0.86).label == "anger"
    calm = fuse(text={"neutral": 0.9, "joy": 0.05}, speech={"neutral": 0.8, "calm": 0.15}, speech_confidence=0.8)
    assert calm.label == "neutral" and calm.distress < 0.1


def test_recipe_smoke_run_cross_validates_and_exports(tmp_path, capsys):
    """Two folds and an export of a two-head ensemble on fake cached features: the run files,
    cv.json, a loadable artifact, and a rerun that reuses the finished folds."""
    from core.emotion.speech_model import SpeechEmotionEnsemble, SpeechEmotionRecognizer
    from core.recipes.speech_emotion.ravdess import train
    from core.recipes.speech_emotion.ravdess.prepare import feature_path

    rng = np.random.default_rng(0)
    cache = tmp_path / "cache"
    lines = []
    for i in range(48):
        label = LABELS[i % 8]
        cid = f"clip{i:03d}"
        lines.append(json.dumps({"id": cid, "path": f"{cid}.wav", "label": label, "speaker": f"spk{i % 6}"}))
        for copy in ("clean", "phone", "aug0"):
            p = feature_path(cache, "tiny.en", copy, cid)
            p.parent.mkdir(parents=True, exist_ok=True)
            np.save(p, _fake_frames(i % 8, 40, 16, rng).astype(np.float16))
    (tmp_path / "list.jsonl").write_text("\n".join(lines) + "\n")
    args = ["core/recipes/speech_emotion/ravdess/hparams/whisper_tiny.yaml", "data_dir=unused",
            f"list={tmp_path / 'list.jsonl'}", f"cache_dir={cache}", f"run_dir={tmp_path / 'run'}",
            f"export={tmp_path / 'ser.pt'}", "folds=2", "valid_speakers=1", "augment=1", "members=2",
            "train.epochs=2", "batch_size=8", "model.hidden=16", "model.attention=8"]
    out = train.main(args)
    cv = json.loads((tmp_path / "run" / "cv.json").read_text())
    assert len(cv["folds"]) == 2 and set(cv["clean"]) >= {"accuracy", "ua", "ua_4class"}
    assert out["bytes"] > 0
    ser = SpeechEmotionRecognizer.load(tmp_path / "ser.pt")
    assert isinstance(ser.net, SpeechEmotionEnsemble) and len(ser.net.members) == 2
    probs, affect = ser.from_frames(_fake_frames(0, 30, 16, rng))
    assert probs.shape == (8,) and abs(probs.sum() - 1) < 1e-4 and affect.shape == (2,)
    capsys.readouterr()
    again = train.main(args[:5] + ["export=null"] + args[6:])  # an interrupted run resumes: folds reused
    assert "done earlier" in capsys.readouterr().out and again["clean"] == cv["clean"]


@pytest.mark.slow
@needs_model
def test_gain_does_not_change_the_shipped_models_reading():
    from core.audio import load_audio
    from core.augment import gain
    from core.emotion.speech_model import SpeechEmotionRecognizer

    ser = SpeechEmotionRecognizer.load()
    for name in ("so762_005630375.opus", "so762_007650078.opus", "so762_011860287.opus"):
        x = load_audio(f"tests/fixtures/audio/{name}").samples
        base = ser.analyse(x).probabilities
        for db in (-12, 12):
            other = ser.analyse(gain(x, db)).probabilities
            moved = 0.5 * sum(abs(base[k] - other[k]) for k in base)  # total variation distance
            assert moved < 0.3, (name, db, base, other)


@pytest.mark.slow
@needs_model
def test_bad_input_gives_a_reading_or_a_plain_note_never_a_crash():
    from core.audio import load_audio
    from core.emotion.speech_model import SpeechEmotionRecognizer

    ser = SpeechEmotionRecognizer.load()
    sr = 16000
    t = np.arange(8 * sr) / sr
    speech = load_audio("tests/fixtures/audio/so762_007650078.opus").samples
    silence = ser.analyse(np.zeros(8 * sr, np.float32))
    assert silence.confidence == 0 and "no speech heard" in silence.notes
    tone = ser.analyse((0.3 * np.sin(2 * np.pi * 425 * t) * ((t % 1.0) < 0.4)).astype(np.float32))
    assert tone.confidence < 0.2
    short = ser.analyse(speech[:sr // 10])
    assert short.confidence == 0 and short.notes == ("too short to judge",)
    clipped = ser.analyse(np.clip(speech * 20, -1, 1))
    assert clipped.label in LABELS and 0 <= clipped.confidence <= 1
    long = ser.analyse(np.resize(speech, 600 * sr).astype(np.float32))  # ten minutes
    assert long.label in LABELS and any("liveliest" in n for n in long.notes)
    normal = ser.analyse(speech)
    assert normal.confidence > 0.1 and abs(sum(normal.probabilities.values()) - 1) < 1e-3
    assert -1 <= normal.arousal <= 1 and -1 <= normal.valence <= 1


@pytest.mark.slow
@needs_model
def test_the_callcenter_reads_the_voice_when_the_model_is_there_and_words_alone_when_not(monkeypatch):
    from apps.finance_callcenter.pipeline import analyse_turns
    from core.audio import load_audio
    from core.conversation import Turn
    from core.emotion import speech as speech_seam

    audio = load_audio("tests/fixtures/audio/so762_007650078.opus")
    turn = Turn(index=0, speaker="customer", start=0.0, end=audio.duration, text="a year later the plant was closed",
                confidence=0.9)
    speech_seam.get_speech_emotion.cache_clear()
    with_voice = analyse_turns([turn], {"customer": audio})[0]
    assert with_voice.emotion.sources == ("text", "speech") and set(with_voice.evidence) == {"text", "speech"}
    assert with_voice.evidence["speech"]["label"] in LABELS
    monkeypatch.setenv("PARLANCE_SPEECH_EMOTION", "off")
    speech_seam.get_speech_emotion.cache_clear()
    try:
        words_only = analyse_turns([turn], {"customer": audio})[0]
    finally:
        speech_seam.get_speech_emotion.cache_clear()
    assert words_only.emotion.sources == ("text",) and set(words_only.evidence) == {"text"}
