"""core.asr: the Whisper engine on real clips, silence/noise guard, batching, options, formats."""
from __future__ import annotations

import json
from dataclasses import FrozenInstanceError

import numpy as np
import pytest

from core.asr import TranscribeOptions, Transcriber
from core.asr.formats import render, to_srt, to_vtt
from core.asr.metrics import word_error_rate
from core.audio import Audio, load_audio
from tests.conftest import tone, white_noise

pytestmark = pytest.mark.slow


def as_audio(x: np.ndarray) -> Audio:
    return Audio(samples=x.astype(np.float32), source_sample_rate=16000, source_channels=1, source_format="numpy")


def test_engine_implements_the_interface(transcriber):
    assert isinstance(transcriber, Transcriber) and transcriber.name == "tiny.en"


def test_real_clips_are_transcribed_accurately(transcriber, speech_clips):
    refs, hyps = [], []
    for path, text in speech_clips.items():
        t = transcriber.transcribe(path)
        refs.append(text)
        hyps.append(t.text)
        assert t.language == "en" and abs(t.duration - load_audio(path).duration) < 1e-6
    assert word_error_rate(refs, hyps) <= 0.15, list(zip(refs, hyps))


def test_words_have_ordered_timestamps_and_confidences(transcriber, speech_clips):
    path = next(p for p in speech_clips if "007650078" in p.name)
    t = transcriber.transcribe(path)
    words = t.words
    assert len(words) >= 5
    for a, b in zip(words, words[1:]):
        assert a.start <= a.end <= b.start + 0.05
    assert all(0.0 <= w.confidence <= 1.0 for w in words)
    assert 0.0 <= words[0].start and words[-1].end <= t.duration + 1e-6
    assert t.timings.total_s > 0 and t.timings.asr_s > 0


@pytest.mark.parametrize("kind", ["silence", "white-noise", "tone", "pink-ish rumble"])
def test_thirty_seconds_without_speech_yield_no_words(transcriber, kind):
    rng = np.random.default_rng(7)
    x = {
        "silence": rng.standard_normal(16000 * 30) * 1e-4,
        "white-noise": white_noise(30, 0.05),
        "tone": tone(30, 220, amp=0.3),
        "pink-ish rumble": np.cumsum(rng.standard_normal(16000 * 30)) * 1e-3,
    }[kind]
    x = x / max(1.0, np.abs(x).max())
    t = transcriber.transcribe(as_audio(x))
    assert t.words == () and t.text == ""


def test_without_vad_noise_still_gives_no_words(transcriber):
    t = transcriber.transcribe(as_audio(white_noise(30, 0.05)), TranscribeOptions(use_vad=False))
    assert t.text == ""


def test_speech_inside_long_silence_is_placed_in_time(transcriber, speech_clips):
    path = next(p for p in speech_clips if "011860287" in p.name)
    speech = load_audio(path).samples
    gap = np.zeros(16000 * 40, np.float32)
    t = transcriber.transcribe(as_audio(np.concatenate([gap, speech, gap, speech])))
    assert word_error_rate(["NO IT IS YOU WHO MUST BE THANKED " * 2], [t.text]) <= 0.15
    assert 39.0 < t.words[0].start < 42.0
    assert t.words[-1].end > 80.0


def test_transcribe_many_matches_one_by_one(transcriber, speech_clips):
    audios = [load_audio(p) for p in speech_clips]
    batched = [t.text for t in transcriber.transcribe_many(audios, progress=lambda d, n: None)]
    single = [transcriber.transcribe(a).text for a in audios]
    assert word_error_rate(single, batched) <= 0.1


def test_options_no_word_timestamps_and_vocabulary(transcriber, speech_clips):
    path = next(p for p in speech_clips if "005630375" in p.name)
    t = transcriber.transcribe(path, TranscribeOptions(word_timestamps=False, vocabulary=("boy", "almost")))
    assert t.words == () and "boy" in t.text.lower()


def _order(text: str) -> Audio:
    from core.pronunciation.espeak import synthesize

    quiet = np.zeros(8000, np.float32)
    return as_audio(np.concatenate([quiet, synthesize(text, rate_wpm=140), quiet]))  # a synthetic voice


def test_suggested_terms_get_a_second_pass_with_them_in_the_prompt(transcriber):
    order = _order("Start sertraline fifty milligrams once daily.")
    assert "sertraline" not in transcriber.transcribe(order).text.lower()  # tiny.en hears "search rely in"
    seen = []
    t = transcriber.transcribe(order, TranscribeOptions(suggest_terms=lambda text: seen.append(text) or ["sertraline"]))
    assert seen and "50" in seen[0]  # called with the chunk's first transcript
    assert "sertraline" in t.text.lower()
    assert transcriber.transcribe(order, TranscribeOptions(suggest_terms=lambda text: [])).text == \
        transcriber.transcribe(order).text  # nothing suggested: the first decode stands


def test_a_failing_suggest_terms_costs_only_the_second_pass(transcriber, caplog):
    order = _order("Start sertraline fifty milligrams once daily.")

    def broken(text: str) -> list[str]:
        raise RuntimeError("a helper bug")

    with caplog.at_level("ERROR"):
        t = transcriber.transcribe(order, TranscribeOptions(suggest_terms=broken))
    assert t.text == transcriber.transcribe(order).text and "suggest_terms failed" in caplog.text


def test_a_decode_the_prompt_cut_short_is_decoded_again_without_the_prompt(transcriber, monkeypatch):
    """Whisper given a vocabulary sometimes writes a few of the prompt's words for a whole order
    ("plan, colon, start, plan, start" for 7 s of speech): far too little text for the speech is a
    failed decode; where every temperature fails under the prompt, a last try goes without it."""
    from types import SimpleNamespace

    from core.asr.whisper_engine import _too_little_text

    assert _too_little_text("plan, colon, start, plan, start", 7.0)
    assert not _too_little_text("Start sertraline 50 milligrams once daily.", 3.2)
    assert not _too_little_text("Yes.", 1.0) and not _too_little_text("no", None)  # short speech, or no VAD

    order = _order("Continue the plan. Start sertraline fifty milligrams once daily for seven days.")
    plain = transcriber.transcribe(order).text
    model, tok = transcriber._model, transcriber._tokenizer("en")
    cut = tok.encode(" plan, start")

    class PromptCutsItShort:  # the real model, except that a prompted decode stops after two words
        def __getattr__(self, name):
            return getattr(model, name)

        def generate(self, features, prompts, **kwargs):
            out = model.generate(features, prompts, **kwargs)
            sampled = kwargs.get("sampling_temperature", 0) > 0  # and sampled, it writes nothing at all
            short = SimpleNamespace(sequences_ids=[tok.encode(" .") if sampled else cut], scores=[-2.0 if sampled else -0.05],
                                    no_speech_prob=0.9 if sampled else 0.0)
            return [short if p[0] == tok.sot_prev else r for r, p in zip(out, prompts)]

    monkeypatch.setattr(transcriber, "_model", PromptCutsItShort())
    again = transcriber.transcribe(order, TranscribeOptions(vocabulary=("sertraline",))).text
    # the whole order, as without a prompt (cut short it would be 12 words of 14 wrong); the last try
    # decodes in the full window, so a word or two may differ: "search for like 50" / "search for 950"
    assert word_error_rate([plain], [again]) <= 0.25, (plain, again)
    assert "seven days" in again.lower() or "7 days" in again.lower(), again


def test_speech_a_prompted_decode_skipped_at_its_start_is_decoded_again(transcriber, monkeypatch, caplog):
    """With a vocabulary in the prompt, Whisper has dropped a chunk's first clause ("10 milliliters
    by mouth..." for "Plan colon continue metformin ten millilitres..."): the alignment then stretches
    the first word over the lost speech ("10" from 0.0 to 1.7 s). That audio is decoded again
    without the vocabulary, and the chunk again under the prompt from what it holds."""
    from types import SimpleNamespace

    from core.asr.whisper_engine import _stretched_word

    assert _stretched_word([{"word": " 10", "start": 0.0, "end": 1.7}]) == 0
    assert _stretched_word([{"word": " plan", "start": 0.0, "end": 0.3},
                            {"word": " hydrochlorothiazide", "start": 0.3, "end": 2.6}]) is None
    order = _order("Plan colon continue metformin ten milligrams by mouth twice daily period. "
                   "Start sertraline fifty milligrams once daily.")
    opt = TranscribeOptions(vocabulary=("amoxicillin", "metformin"))
    whole = transcriber.transcribe(order, opt).text
    model, tok = transcriber._model, transcriber._tokenizer("en")

    class PromptSkipsTheStart:  # the real model, except that a prompted decode drops its first clause
        def __getattr__(self, name):
            return getattr(model, name)

        def generate(self, features, prompts, **kwargs):
            out = model.generate(features, prompts, **kwargs)
            cut = []
            for r, p in zip(out, prompts):
                text = tok.decode([t for t in r.sequences_ids[0] if t < tok.eot])
                skipped = p[0] == tok.sot_prev and p[-1] == tok.no_timestamps and "metformin" in text.lower()
                tail = " " + text.lower().split("metformin", 1)[1].strip() if skipped else None
                cut.append(SimpleNamespace(sequences_ids=[tok.encode(tail)], scores=r.scores,
                                           no_speech_prob=r.no_speech_prob) if skipped else r)
            return cut

    monkeypatch.setattr(transcriber, "_model", PromptSkipsTheStart())
    with caplog.at_level("INFO", logger="core.asr.whisper_engine"):
        again = transcriber.transcribe(order, opt)
    assert "skipped speech" in caplog.text
    assert "metformin" in again.text.lower() and "plan" in again.text.lower(), again.text
    assert word_error_rate([whole], [again.text]) <= 0.25, (whole, again.text)
    assert again.words[0].text.lower().startswith("plan") and again.words[0].end - again.words[0].start < 1.0


def test_the_sampled_fallback_decodes_the_same_in_every_fresh_process(tmp_path):
    """Every decode here needs the fallback (no log-probability is good enough) and the fallback
    only samples (temperature 1), so the text is sampled: two fresh processes write the same (without
    the seed they differ)."""
    import subprocess
    import sys

    import soundfile as sf

    from core.pronunciation.espeak import synthesize

    sf.write(tmp_path / "order.wav", synthesize("Continue metformin ten milligrams twice daily.", rate_wpm=140), 16000)
    script = ("import sys; from core.asr import get_transcriber, TranscribeOptions; "
              "t = get_transcriber('tiny.en').transcribe(sys.argv[1], TranscribeOptions(fallback_log_prob_threshold=0.0, "
              "temperatures=(1.0,))); print(repr(t.text))")
    runs = [subprocess.run([sys.executable, "-c", script, str(tmp_path / "order.wav")], capture_output=True, text=True,
                           cwd=str(__import__("pathlib").Path(__file__).resolve().parent.parent), timeout=300)
            for _ in range(2)]
    assert all(r.returncode == 0 for r in runs), [r.stderr[-500:] for r in runs]
    assert runs[0].stdout.splitlines()[-1] == runs[1].stdout.splitlines()[-1]


def test_a_vocabulary_longer_than_the_prompt_keeps_the_terms_that_sound_like_the_speech(transcriber):
    from core.clinical.drug_slots import lexicon_sound_index
    from core.text.sounds_like import rank_terms

    names = sorted(n for bucket in lexicon_sound_index().names.values() for n in bucket if n != "sertraline")
    vocabulary = ("sertraline",) + tuple(names[:300])  # the one that matters first: a prompt kept its tail
    opt = TranscribeOptions(vocabulary=vocabulary)
    assert not transcriber._prompt_holds("en", opt)
    ranked = [t for t, _ in rank_terms("Start search, rely in 50 milligrams, one daily.", vocabulary)]
    assert ranked[0] == "sertraline"
    kept = transcriber._terms_that_fit("en", opt, ranked)
    assert kept == ranked[:len(kept)] and 10 < len(kept) < 300
    assert transcriber._prompt_holds("en", TranscribeOptions(vocabulary=tuple(kept)))
    assert not transcriber._prompt_holds("en", TranscribeOptions(vocabulary=tuple(ranked[:len(kept) + 1])))
    t = transcriber.transcribe(_order("Start sertraline fifty milligrams once daily."), opt)
    assert "sertraline" in t.text.lower()


def test_results_are_frozen_and_serialisable(transcriber, speech_clips):
    t = transcriber.transcribe(next(iter(speech_clips)))
    with pytest.raises(FrozenInstanceError):
        t.text = "changed"  # type: ignore[misc]
    data = json.loads(render(t, "json"))
    assert data["text"] == t.text and data["segments"][0]["words"]
    assert to_srt(t).startswith("1\n00:00:0") and to_vtt(t).startswith("WEBVTT")


def test_long_recording_is_chunked_batched_and_timed(transcriber, speech_clips):
    """~4 minutes: 12 utterances between pauses and noise -> every utterance found, in order."""
    clips = [load_audio(p).samples for p in speech_clips if p.suffix == ".opus"]
    rng = np.random.default_rng(3)
    parts, starts = [], []
    t = 0.0
    for k in range(12):
        pause = rng.standard_normal(int(16000 * rng.uniform(3, 25))).astype(np.float32) * 0.003
        parts += [pause, clips[k % len(clips)]]
        t += pause.size / 16000
        starts.append(t)
        t += clips[k % len(clips)].size / 16000
    audio = as_audio(np.concatenate(parts))
    calls = []
    (out,) = transcriber.transcribe_many([audio], progress=lambda done, total: calls.append((done, total)))
    assert audio.duration > 120 and calls and calls[-1][0] == calls[-1][1]
    refs = " ".join(["SHE WAS ALMOST LIKE A BOY", "A YEAR LATER THE PLANT WAS CLOSED",
                     "NO IT IS YOU WHO MUST BE THANKED"][k % 3] for k in range(12))
    assert word_error_rate([refs], [out.text]) <= 0.15
    times = [w.start for w in out.words]
    assert times == sorted(times) and out.words[-1].end <= audio.duration
    assert abs(out.words[0].start - starts[0]) < 1.0


@pytest.mark.parametrize("n", [1, 300, 4000, 48000])
def test_torch_log_mel_matches_faster_whispers_features(n):
    from faster_whisper.feature_extractor import FeatureExtractor

    from core.asr.log_mel import LogMel

    x = (np.random.default_rng(n).standard_normal(n) * 0.1).astype(np.float32)
    want = FeatureExtractor(feature_size=80)(x)
    got = LogMel(80)(x)
    assert got.shape == want.shape and got.dtype == np.float32
    assert np.abs(got - want).max() < 1e-4
