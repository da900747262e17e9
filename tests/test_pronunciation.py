"""Pronunciation core: prompt text, lexicon and G2P, the reference voice, CTC (tiny overfit,
decoding), GOP and miscues on constructed posteriors, tips, and the recipe's smoke run."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from core.asr.ctc import CTCConfig, CTCHead, beam_decode, ctc_loss, edit_distance, greedy_decode
from core.pronunciation.gop import evaluate_pronunciation
from core.pronunciation.lexicon import Lexicon, read_lexicon
from core.pronunciation.miscues import find_miscues, word_error
from core.pronunciation.phones import INDEX, VOCABULARY, ipa, stress_free
from core.pronunciation.prompt_text import number_words, spoken_words
from core.pronunciation.recognizer import Posteriors
from core.pronunciation.tips import tips_for


def test_prompt_text_spells_out_what_a_reader_says():
    said = dict(spoken_words("Dr. Lee has 2 cats! In 1990, the 21st; 3.5% café — don’t 🙂"))
    assert said["Dr."] == ["DOCTOR"] and said["2"] == ["TWO"] and said["cats!"] == ["CATS"]
    assert said["1990,"] == ["NINETEEN", "NINETY"] and said["21st;"] == ["TWENTY", "FIRST"]
    assert said["3.5%"] == ["THREE", "POINT", "FIVE", "PERCENT"] and said["café"] == ["CAFE"]
    assert said["don’t"] == ["DON'T"] and "—" not in said and "🙂" not in said
    assert number_words(2005) == ["two", "thousand", "five"] and number_words(115) == ["one", "hundred", "fifteen"]


def test_lexicon_uses_cmudict_then_g2p_for_unknown_words():
    words = Lexicon().prompt("Xiaoming read 2 blorft books.")
    by_text = {w.text: w for w in words}
    assert by_text["read"].source == "cmudict" and len(by_text["read"].variants) == 2
    assert by_text["2"].phones == ("T", "UW1")
    assert by_text["blorft"].source == "g2p" and [stress_free(p) for p in by_text["blorft"].phones][:2] == ["B", "L"]
    assert by_text["Xiaoming"].phones  # a name no dictionary has still gets phones
    assert Lexicon({"READ": (("R", "IY1", "D"),)}).prompt("read")[0].variants == (("R", "IY1", "D"),)


def test_read_lexicon_rejects_symbols_outside_arpabet(tmp_path):
    good = tmp_path / "lex.txt"
    good.write_text("CAT\tK AE1 T\nA AH0\nA EY1\n")
    assert read_lexicon(good) == {"CAT": (("K", "AE1", "T"),), "A": (("AH0",), ("EY1",))}
    bad = tmp_path / "bad.txt"
    bad.write_text("CAT k a t\n")
    with pytest.raises(KeyError):
        read_lexicon(bad)


def test_reference_voice_and_g2p_come_from_the_espeak_wheel():
    from core.pronunciation.espeak import phonemize, synthesize

    audio = synthesize("Think about it.")
    assert audio.dtype == np.float32 and 0.5 < len(audio) / 16000 < 3 and np.abs(audio).max() > 0.1
    assert "θ" in phonemize("think")
    assert ipa("TH") == "θ"


def test_ctc_head_overfits_a_tiny_set_in_seconds():
    torch.manual_seed(0)
    head = CTCHead(CTCConfig(input_dim=8, vocab=("<b>", "a", "b", "c"), hidden=32, layers=1, dropout=0.0,
                             time_masks=0, feature_masks=0))
    x = torch.randn(2, 30, 8)
    lengths = torch.tensor([30, 24])
    targets = torch.tensor([[1, 2, 3], [3, 1, 0]])
    tl = torch.tensor([3, 2])
    opt = torch.optim.Adam(head.parameters(), lr=0.02)
    first = None
    for _ in range(150):
        loss = ctc_loss(head(x, lengths), lengths, targets, tl)
        first = first if first is not None else float(loss)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss) < first / 5
    head.eval()
    lp = head(x, lengths)
    assert greedy_decode(lp[0], 30) == [1, 2, 3] and beam_decode(lp[1], 24) == [3, 1]


def test_edit_distance():
    assert edit_distance(list("kitten"), list("sitting")) == 3 and edit_distance([], [1, 2]) == 2


def _posteriors(phones: list[str], frames_per_phone: int = 6, gap: int = 2) -> Posteriors:
    """Peaky CTC posteriors that spell ``phones`` (blank between), as a trained recogniser gives."""
    rows = []
    for p in phones:
        rows += [INDEX["<b>"]] * gap + [INDEX[p]] * frames_per_phone
    rows += [INDEX["<b>"]] * gap
    logits = torch.full((len(rows), len(VOCABULARY)), -6.0)
    for t, i in enumerate(rows):
        logits[t, i] = 6.0
    return Posteriors(log_probs=torch.log_softmax(logits, -1), logits=logits, features=np.zeros((len(rows), 4)))


def test_gop_flags_the_substituted_phone_and_names_what_was_heard():
    post = _posteriors(["S", "IH", "NG", "K"])  # the student said "sink"
    ev = evaluate_pronunciation(post, [("think", ["TH", "IH1", "NG", "K"])])
    first, rest = ev.words[0].phones[0], ev.words[0].phones[1:]
    assert first.phone == "TH" and first.heard == "S" and first.lpr < -3
    assert all(p.heard == p.phone and p.lpr > 3 for p in rest)
    assert word_error(ev, 0) == "mispronounced"
    tips = tips_for([{"text": "think", "error": "", "accuracy": 50.0,
                      "phones": [{"phone": p.phone, "heard": p.heard, "score": 0 if p.lpr < 0 else 2} for p in ev.words[0].phones]}])
    assert tips[0].startswith("In 'think' you said /s/ where /θ/ was expected")


def test_reading_path_skips_missing_words_and_keeps_extra_speech_in_the_gaps():
    from core.pronunciation.reading_path import decode_reading

    cat, dog = ["K", "AE", "T"], ["D", "AO", "G"]
    ids = [[INDEX[p] for p in cat], [INDEX[p] for p in dog]]
    assert decode_reading(_posteriors(cat + dog).log_probs, ids).said == (True, True)
    path = decode_reading(_posteriors(cat).log_probs, ids)
    assert path.said == (True, False) and path.gaps == ((), (), ())
    path = decode_reading(_posteriors(cat + ["B", "IH", "G"] + dog).log_probs, ids)
    assert path.said == (True, True) and path.gaps == ((), ("B", "IH", "G"), ())
    path = decode_reading(_posteriors(["AH"] + cat + dog + ["UH", "M"]).log_probs, ids)
    assert path.gaps == (("AH",), (), ("UH", "M"))
    assert decode_reading(_posteriors([]).log_probs, ids).said == (False, False)  # silence


def test_omitted_and_repeated_words_are_found():
    cat, dog = ["K", "AE", "T"], ["D", "AO", "G"]
    m = find_miscues(_posteriors(cat), [("cat", cat), ("dog", dog)])
    assert m.errors == ("", "omitted") and m.kept == (0,) and [w.text for w in m.said.words] == ["cat"]
    m = find_miscues(_posteriors(cat + cat + dog), [("cat", cat), ("dog", dog)])
    assert m.errors == ("", "") and [(i.after, i.repeats) for i in m.insertions] == [(0, 0)]
    m = find_miscues(_posteriors(cat + ["S"] + dog), [("cat", cat), ("dog", dog)])  # a consonant is not a word
    assert m.insertions == ()


def test_a_different_sentence_fits_worse_than_the_prompt():
    said = ["DH", "AH", "K", "AE", "T", "S", "AE", "T"]
    own = evaluate_pronunciation(_posteriors(said), [("the", said[:2]), ("cat", said[2:5]), ("sat", said[5:])])
    other = evaluate_pronunciation(_posteriors(said), [("a", ["AH"]), ("big", ["B", "IH", "G"]),
                                                       ("dog", ["D", "AO", "G"]), ("ran", ["R", "AE", "N"])])
    assert own.fit < other.fit - 2


def test_phone_recogniser_recipe_smoke_run(tmp_path):
    """Two short epochs on fake cached features write the run files and a loadable artifact."""
    from core.recipes.pronunciation.speechocean762 import train

    cache = tmp_path / "cache"
    (cache / "manifests").mkdir(parents=True)
    rng = np.random.default_rng(0)
    rows = []
    for i in range(12):
        uid = f"{i:09d}"
        feats = rng.standard_normal((40, 16)).astype(np.float16)
        (cache / "features" / "tiny.en").mkdir(parents=True, exist_ok=True)
        np.save(cache / "features" / "tiny.en" / f"{uid}.npy", feats)
        rows.append({"id": uid, "audio": "unused", "text": "CAT", "speaker": f"{i % 4:04d}", "duration": 0.8,
                     "words": [["CAT", ["K", "AE1", "T"]]]})
    (cache / "manifests" / "test.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    (cache / "manifests" / "counts.json").write_text("{}")
    out = train.main(["core/recipes/pronunciation/speechocean762/hparams/phone_ctc_tiny.yaml", "data_dir=unused",
                      f"cache_dir={cache}", f"run_dir={tmp_path / 'run'}", f"export={tmp_path / 'phone.pt'}",
                      "valid_speakers=1", "train.epochs=2", "batch_size=4", "head.hidden=16"])
    assert (tmp_path / "run" / "best.pt").exists() and (tmp_path / "run" / "hparams.yaml").exists()
    art = torch.load(tmp_path / "phone.pt", weights_only=True)
    assert art["config"]["frontend"] == "tiny.en" and out["bytes"] > 0


def test_find_miscues_removes_a_missing_word_before_judging_its_neighbours():
    cat, red, dog, big = ["K", "AE", "T"], ["R", "EH", "D"], ["D", "AO", "G"], ["B", "IH", "G"]
    m = find_miscues(_posteriors(cat + dog), [("cat", cat), ("red", red), ("dog", dog)])
    assert m.errors == ("", "omitted", "") and m.insertions == () and m.kept == (0, 2)
    m = find_miscues(_posteriors(cat + big + dog), [("cat", cat), ("red", red), ("dog", dog)])
    assert m.errors == ("", "substituted", "") and m.insertions == ()  # another word in its place
    m = find_miscues(_posteriors(cat + big + dog), [("cat", cat), ("dog", dog)])
    assert m.errors == ("", "") and [(i.after, i.phones) for i in m.insertions] == [(0, ("B", "IH", "G"))]
    m = find_miscues(_posteriors(cat + ["AH"] + dog), [("cat", cat), ("dog", dog)])  # "cat a dog": one vowel
    assert [(i.after, i.phones) for i in m.insertions] == [(0, ("AH",))]


@pytest.mark.slow
def test_assess_scores_prompts_with_digits_names_and_punctuation_and_refuses_noise():
    from core.pronunciation.assess import AssessmentError, assess
    from core.pronunciation.espeak import synthesize

    prompt = "Dr. Xiaoming has 2 cats — café!"
    result = assess(synthesize("Doctor Xiaoming has two cats, cafe.", rate_wpm=140), prompt)
    assert [w.text for w in result.words] == ["Dr.", "Xiaoming", "has", "2", "cats", "café!"]
    assert all(0 <= v <= 100 for v in (result.accuracy, result.fluency, result.prosody, result.total))
    assert result.completeness >= 80 and result.seconds < 5
    noise = np.random.default_rng(0).standard_normal(16000 * 3).astype(np.float32) * 0.01
    with pytest.raises(AssessmentError) as err:
        assess(noise, prompt)
    assert err.value.code in ("no_speech", "off_prompt")
    with pytest.raises(AssessmentError, match="prompt has no words"):
        assess(noise, " — 🙂 ")
