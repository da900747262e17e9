"""Whisper between CTranslate2 (the engine) and transformers (training): the conversion is exact both ways."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from core.audio import load_audio
from core.model_resolver import resolve_whisper

from .conftest import AUDIO_FIXTURES

CLIPS = ["so762_005630375.opus", "so762_007650078.opus", "so762_011860287.opus", "fsdd_7_jackson_0.flac",
         "fsdd_3_theo_1.flac"]


@pytest.fixture(scope="module")
def tiny():
    from core.asr.whisper_hf import load_whisper_hf

    return load_whisper_hf(resolve_whisper("tiny.en"))


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


def _fixture_list(tmp_path, names=("so762_005630375.opus", "so762_007650078.opus", "so762_011860287.opus",
                                   "fsdd_7_jackson_0.flac", "fsdd_3_theo_1.flac")):
    import json

    refs = json.loads((AUDIO_FIXTURES / "transcripts.json").read_text())
    path = tmp_path / "ours.jsonl"
    rows = [{"path": str(AUDIO_FIXTURES / n), "text": refs[n], "speaker": n.split("_")[1]} for n in names]
    rows += [{"path": str(tmp_path / "gone.wav"), "text": "lost", "speaker": "x"},  # bad rows: left out, counted
             {"path": str(AUDIO_FIXTURES / names[0]), "text": "  ", "speaker": "x"},
             {"path": str(AUDIO_FIXTURES / names[3]), "text": " ".join(["word"] * 40), "speaker": "x"}]
    path.write_text("\n".join(json.dumps(r) for r in rows))
    return path


def test_bad_manifest_rows_are_left_out_and_counted(tmp_path):
    from core.recipes.asr.speechocean762.prepare import prepare

    counts = prepare(tmp_path / "m", listing=_fixture_list(tmp_path), valid_speakers=1, seed=0)
    assert counts["train"] + counts["valid"] == 5 and counts["valid"] >= 1
    assert counts["dropped"] == {"missing file": 1, "empty transcript": 1, "audio too short for its transcript": 1}


def _hparams(tmp_path, **over) -> list[str]:
    args = ["data_dir=unused", f"list={_fixture_list(tmp_path)}", f"run_dir={tmp_path / 'run'}", f"export={tmp_path / 'out'}",
            "valid_speakers=1", "batch_size=2", "train.epochs=1", "train.grad_accum=1", "train.eval_every=2", "train.log_every=1",
            "augment.speeds=[1.0]"]
    return args + [f"{k}={v}" for k, v in over.items()]


def test_lora_recipe_smoke_run_exports_an_adapter_the_resolver_serves(tmp_path, monkeypatch):
    import json

    from core.config import get_settings
    from core.model_resolver import resolve_whisper
    from core.recipes.asr.speechocean762.train import main

    monkeypatch.setenv("PARLANCE_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    try:
        main(["core/recipes/asr/speechocean762/hparams/tiny_lora.yaml", *_hparams(tmp_path, **{"train.max_steps": 2})])
        result = json.loads((tmp_path / "run" / "result.json").read_text())
        assert result["steps"] == 2 and 0 <= result["valid"]["wer"] <= 2
        adapter = tmp_path / "out"
        assert (adapter / "adapter_config.json").exists()
        assert sum(f.stat().st_size for f in adapter.iterdir()) < 10_000_000  # a few MB, not a model
        merged = resolve_whisper(str(adapter))
        assert merged.startswith(str(tmp_path / "data")) and resolve_whisper(str(adapter)) == merged  # built once
        x = load_audio(AUDIO_FIXTURES / "so762_007650078.opus").samples
        assert "plant" in _engine_text(merged, x, "int8").lower()
    finally:
        get_settings.cache_clear()


def test_encoder_only_lora_leaves_the_decoder_as_shipped():
    from core.asr.finetune import add_lora, merge_lora
    from core.asr.whisper_hf import load_whisper_hf

    base, _ = load_whisper_hf(resolve_whisper("tiny.en"))
    shipped = {k: v.clone() for k, v in base.state_dict().items() if ".decoder." in k}
    model = add_lora(base, r=4, alpha=8, parts=("encoder",))
    trained = [k for k, p in model.named_parameters() if p.requires_grad]
    assert trained and all(".encoder.layers." in k and "lora_" in k for k in trained)
    assert any("fc1" in k for k in trained) and any("self_attn.q_proj" in k for k in trained)
    with torch.no_grad():  # a trained adapter: non-zero B matrices
        for k, p in model.named_parameters():
            if p.requires_grad:
                p.add_(0.01)
    merged = merge_lora(model)
    state = merged.state_dict()
    assert all(torch.equal(state[k], v) for k, v in shipped.items())
    assert not torch.equal(state["model.encoder.layers.0.fc1.weight"],
                           load_whisper_hf(resolve_whisper("tiny.en"))[0].state_dict()["model.encoder.layers.0.fc1.weight"])
    with pytest.raises(ValueError, match="encoder"):
        add_lora(merged, parts=("vocoder",))
    base, _ = load_whisper_hf(resolve_whisper("tiny.en"))
    listening = add_lora(base, r=4, alpha=8, parts=("encoder", "cross"))
    decoder = [k for k, p in listening.named_parameters() if p.requires_grad and ".decoder." in k]
    assert decoder and all(".encoder_attn." in k for k in decoder)  # the decoder's language model stays


def test_full_fine_tuning_overfits_a_few_clips_and_resumes_exactly(tmp_path):
    from core.asr.finetune import WhisperCollate, WhisperTask
    from core.asr.whisper_hf import greedy_decode, load_whisper_hf, prompt_ids
    from core.data import BucketBatches, audio_seconds
    from core.recipes.asr.speechocean762.prepare import check_rows, read_list
    from core.training import TrainConfig, fit

    rows, _ = check_rows(read_list(_fixture_list(tmp_path)))
    rows = [r for r in rows if r["id"] in ("so762_005630375", "so762_007650078")]
    rows[0]["text"] = "SHE WAS ALMOST LIKE A TOY"  # not what she said: only training can make the model write it
    model, tok = load_whisper_hf(resolve_whisper("tiny.en"))
    collate = WhisperCollate(tok, prompt_ids(model), augment=False)
    loader = BucketBatches(rows, 2, collate, length=audio_seconds, shuffle=False)
    task = WhisperTask(tok)
    before = float(task.loss(model, collate(rows)))

    def config(run_dir, steps):
        return TrainConfig(run_dir=str(run_dir), epochs=100, max_steps=steps, lr=1e-4, warmup_ratio=0.0,
                           eval_every=1, log_every=0)

    fit(model, task, loader, loader, config(tmp_path / "overfit", 8))
    assert float(task.loss(model, collate(rows))) < before / 3
    assert "toy" in tok.decode(greedy_decode(model.eval(), collate(rows[:1])["mel"])[0]).lower()

    class Interrupted(WhisperTask):  # the process dies during the third step
        calls = 0

        def loss(self, m, batch):
            Interrupted.calls += 1
            if Interrupted.calls == 3:
                raise KeyboardInterrupt
            return super().loss(m, batch)

    straight, _ = load_whisper_hf(resolve_whisper("tiny.en"))
    fit(straight, task, loader, [], config(tmp_path / "straight", 4))
    resumed, _ = load_whisper_hf(resolve_whisper("tiny.en"))
    with pytest.raises(KeyboardInterrupt):
        fit(resumed, Interrupted(tok), loader, [], config(tmp_path / "resumed", 4))
    resumed, _ = load_whisper_hf(resolve_whisper("tiny.en"))  # a new process: fresh weights, then the checkpoint
    result = fit(resumed, task, loader, [], config(tmp_path / "resumed", 4))
    assert result.steps == 4
    want = straight.state_dict()
    assert all(torch.allclose(want[k], v, atol=1e-6) for k, v in resumed.state_dict().items())


def test_distillation_holds_the_adapted_model_to_the_original():
    from core.asr.finetune import WhisperCollate, WhisperTask, add_lora
    from core.asr.whisper_hf import load_whisper_hf, prompt_ids

    model, tok = load_whisper_hf(resolve_whisper("tiny.en"))
    rows = [{"path": str(AUDIO_FIXTURES / "so762_005630375.opus"), "text": "SHE WAS ALMOST LIKE A TOY"}]
    batch = WhisperCollate(tok, prompt_ids(model))(rows)
    lora = add_lora(model, r=4, alpha=8).train()
    plain, held = WhisperTask(tok), WhisperTask(tok, distill=1.0)
    # a new adapter changes nothing yet: nothing to pull back
    assert abs(float(held.loss(lora, batch)) - float(plain.loss(lora, batch))) < 1e-4
    with torch.no_grad():
        for k, p in lora.named_parameters():
            if p.requires_grad:
                p.add_(0.02)
    moved = float(held.loss(lora, batch)) - float(plain.loss(lora, batch))
    assert moved > 1e-3  # the KL to the original grows as the adapted model moves away
    assert abs(float(held.loss(lora.eval(), batch)) - float(plain.loss(lora, batch))) < 1e-4  # evaluation: CE only
    full, _ = load_whisper_hf(resolve_whisper("tiny.en"))
    with pytest.raises(ValueError, match="teacher"):
        WhisperTask(tok, distill=1.0).loss(full.train(), batch)
    teacher, _ = load_whisper_hf(resolve_whisper("tiny.en"))
    assert abs(float(WhisperTask(tok, distill=1.0, teacher=teacher).loss(full, batch))
               - float(plain.loss(full, batch))) < 1e-4


def test_narrowband_keeps_speech_frequencies_and_drops_the_rest():
    from core.asr.finetune import narrowband

    t = np.arange(16000) / 16000
    low, high = np.sin(2 * np.pi * 1000 * t), np.sin(2 * np.pi * 6000 * t)
    y = narrowband((low + high).astype(np.float32))
    assert y.shape == t.shape
    middle = slice(1000, 15000)
    assert np.abs(y[middle] - low[middle]).max() < 0.05  # 1 kHz passes, 6 kHz is gone


def test_rehearsal_rows_carry_what_the_original_model_hears(tmp_path, caplog):
    import json

    from core.recipes.asr.speechocean762.rehearsal import rehearsal_rows

    listing = tmp_path / "other.jsonl"
    rows = [{"audio": str(AUDIO_FIXTURES / "so762_007650078.opus"), "text": "label never read"},
            {"audio": "missing.flac", "text": "x"}]
    listing.write_text("\n".join(json.dumps(r) for r in rows))
    got = rehearsal_rows(listing, count=5, base="tiny.en", seed=0)
    assert len(got) == 1 and got[0]["rehearsal"]
    assert "plant" in got[0]["text"].lower() and "label" not in got[0]["text"]
    assert "cannot be read" in caplog.text


def test_rehearsed_recipe_smoke_run(tmp_path):
    import json

    from core.recipes.asr.speechocean762.train import main

    over = {"train.max_steps": 2, "rehearsal.list": str(_fixture_list(tmp_path)), "rehearsal.count": 2,
            "augment.narrowband": 1.0}
    main(["core/recipes/asr/speechocean762/hparams/tiny_lora_rehearsed.yaml", *_hparams(tmp_path, **over)])
    counts = json.loads((tmp_path / "run" / "manifests" / "counts.json").read_text())
    assert counts["rehearsal"] == 2
    assert json.loads((tmp_path / "run" / "result.json").read_text())["steps"] == 2
    assert (tmp_path / "out" / "adapter_config.json").exists()
