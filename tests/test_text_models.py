"""Text models: tiny-overfit checks (loss falls within seconds), recipe smoke tests (2 short epochs
write their files and a loadable artifact), calibration and span helpers."""
from __future__ import annotations

import json

import pytest
import torch

from core.text.calibration import fit_temperature, oos_operating_point
from core.text.tagger import BC5CDR_TAGS, NCBI_TAGS, TokenTagger, align_labels, bio_spans, tagging_collate

SENTENCES = {"card_arrival": ["my card has not arrived", "when will my new card come"],
             "lost_or_stolen_card": ["someone stole my card", "i lost my card yesterday"],
             "exchange_rate": ["what is the exchange rate", "how much is a euro in dollars"],
             "out_of_scope": ["what is the weather like", "play some music"]}


def _overfit(model, batch_fn, loss_fn, steps=25, lr=3e-3) -> tuple[float, float]:
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr)
    model.train()
    first = last = None
    for _ in range(steps):
        loss = loss_fn(model, batch_fn())
        opt.zero_grad()
        loss.backward()
        opt.step()
        first = float(loss) if first is None else first
        last = float(loss)
    return first, last


def test_sentence_classifier_overfits_a_tiny_set():
    from core.text.classifier import SentenceClassifier
    from core.text.encoder import EncoderConfig

    torch.manual_seed(0)
    labels = list(SENTENCES)
    texts = [t for lab in labels for t in SENTENCES[lab]]
    y = torch.tensor([i for i, lab in enumerate(labels) for _ in SENTENCES[lab]])
    model = SentenceClassifier(EncoderConfig(lora_rank=4), num_labels=len(labels))
    enc = model.encoder.tokenize(texts)
    first, last = _overfit(model, lambda: enc, lambda m, b: torch.nn.functional.cross_entropy(
        m(b["input_ids"], b["attention_mask"]), y))
    assert last < 0.3 * first, (first, last)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert trainable < 0.1 * sum(p.numel() for p in model.parameters())  # only adapter + head train


def test_token_tagger_overfits_and_spans_decode():
    from core.text.encoder import EncoderConfig

    torch.manual_seed(0)
    rows = [{"dataset": "bc5cdr", "tokens": "Naloxone reverses clonidine induced hypotension .".split(),
             "tags": ["B-Chemical", "O", "B-Chemical", "O", "B-Disease", "O"]},
            {"dataset": "bc5cdr", "tokens": "Acute renal failure after aspirin .".split(),
             "tags": ["B-Disease", "I-Disease", "I-Disease", "O", "B-Chemical", "O"]}]
    model = TokenTagger(EncoderConfig(lora_rank=4, max_length=32), {"bc5cdr": BC5CDR_TAGS, "ncbi": NCBI_TAGS})
    batch = tagging_collate(model.encoder.tokenizer, 32, model.tags)(rows)
    ce = torch.nn.CrossEntropyLoss(ignore_index=-100)
    first, last = _overfit(model, lambda: batch, lambda m, b: ce(
        m(b["input_ids"], b["attention_mask"], head="bc5cdr").flatten(0, 1), b["labels"].flatten()), steps=30)
    assert last < 0.3 * first, (first, last)


def test_bio_spans_and_label_alignment():
    assert bio_spans(["B-Disease", "I-Disease", "O", "B-Chemical"]) == {(0, 2, "Disease"), (3, 4, "Chemical")}
    assert bio_spans(["I-Disease", "I-Disease", "I-Chemical"]) == {(0, 2, "Disease"), (2, 3, "Chemical")}
    assert align_labels([None, 0, 0, 1, None], [3, 0]) == [-100, 3, -100, 0, -100]


def test_temperature_and_oos_threshold():
    torch.manual_seed(0)
    predicted = torch.randint(0, 3, (400,))
    logits = torch.nn.functional.one_hot(predicted, 3).float() * 8.0  # sure of itself ...
    labels = torch.where(torch.rand(400) < 0.3, torch.randint(0, 3, (400,)), predicted)  # ... but often wrong
    t = fit_temperature(logits, labels)
    assert t > 1.0
    probs = (logits / t).softmax(-1)
    point = oos_operating_point(probs, labels, oos_index=2, min_in_scope_accuracy=0.7)
    assert point["in_scope_accuracy"] >= 0.7 and 0 < point["threshold"] <= 1 and point["oos_recall"] > 0


def _write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


@pytest.mark.slow
def test_intent_recipe_smoke_writes_a_loadable_artifact(tmp_path):
    from core.recipes.intent.banking77 import train as recipe
    from core.text.intent import IntentClassifier

    run = tmp_path / "run"
    man = run / "manifests"
    man.mkdir(parents=True)
    rows = [{"text": t, "label": lab} for lab, ts in SENTENCES.items() for t in ts]
    _write_jsonl(man / "train.jsonl", rows * 2)
    _write_jsonl(man / "valid.jsonl", rows)
    (man / "labels.json").write_text(json.dumps(list(SENTENCES)))
    (man / "counts.json").write_text("{}")
    export = tmp_path / "intent.pt"
    hp = recipe.__file__.replace("train.py", "hparams/minilm_lora.yaml")
    recipe.main([hp, "data_dir=unused", f"run_dir={run}", f"export={export}", "train.epochs=2", "batch_size=4",
                 "encoder.lora_rank=4", "min_in_scope_accuracy=0.0"])
    for name in ("best.pt", "last.pt", "hparams.yaml", "metrics.jsonl"):
        assert (run / name).exists(), name
    assert len((run / "metrics.jsonl").read_text().splitlines()) == 2
    clf = IntentClassifier(export)
    out = clf.predict(["my card has not arrived", ""])
    assert out[0].top[0].intent in SENTENCES and out[1].out_of_scope
    assert export.stat().st_size < 2_000_000
    # evaluate.py scores the exported artifact on the test manifest (and leaves the run's files alone)
    from core.recipes.intent.banking77 import evaluate

    _write_jsonl(man / "test.jsonl", rows)
    before = (run / "hparams.yaml").read_text()
    figures = evaluate.main([hp, "data_dir=unused", f"run_dir={run}", f"artifact={export}"])
    assert figures["in_scope_examples"] == 6 and figures["oos_examples"] == 2
    assert 0 <= figures["in_scope_accuracy"] <= figures["accuracy"] <= 1 and 0 <= figures["oos_recall"] <= 1
    assert (run / "hparams.yaml").read_text() == before


@pytest.mark.slow
def test_emotion_and_ner_recipes_smoke(tmp_path):
    from core.recipes.ner.bc5cdr_ncbi import train as ner_recipe
    from core.recipes.text_emotion.goemotions import train as emo_recipe
    from core.text.emotion import TextEmotionClassifier

    run = tmp_path / "emo"
    man = run / "manifests"
    man.mkdir(parents=True)
    rows = [{"text": "I am so angry about this", "labels": ["anger"]}, {"text": "thank you so much", "labels": ["joy"]},
            {"text": "ok", "labels": ["neutral"]}, {"text": "that is scary and sad", "labels": ["fear", "sadness"]}]
    _write_jsonl(man / "train.jsonl", rows * 2)
    _write_jsonl(man / "valid.jsonl", rows)
    (man / "labels.json").write_text(json.dumps(["anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise"]))
    (man / "counts.json").write_text("{}")
    export = tmp_path / "emo.pt"
    emo_recipe.main([emo_recipe.__file__.replace("train.py", "hparams/minilm_lora.yaml"), "data_dir=unused",
                     f"run_dir={run}", f"export={export}", "train.epochs=2", "train.eval_every=0", "batch_size=4",
                     "encoder.lora_rank=4"])
    assert (run / "best.pt").exists()
    scores = TextEmotionClassifier(export).predict(["I am furious"])[0].scores
    assert set(scores) == {"anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise"}
    from core.recipes.text_emotion.goemotions import evaluate as emo_eval

    _write_jsonl(man / "test.jsonl", rows)
    figures = emo_eval.main([emo_recipe.__file__.replace("train.py", "hparams/minilm_lora.yaml"), "data_dir=unused",
                             f"run_dir={run}", f"artifact={export}"])
    assert figures["examples"] == 4 and 0 <= figures["macro_f1"] <= 1 and "surprise_f1" in figures

    run = tmp_path / "ner"
    man = run / "manifests"
    man.mkdir(parents=True)
    bc = [{"dataset": "bc5cdr", "tokens": ["Aspirin", "caused", "asthma", "."], "tags": ["B-Chemical", "O", "B-Disease", "O"]}]
    nc = [{"dataset": "ncbi", "tokens": ["Breast", "cancer", "genes", "."], "tags": ["B-Disease", "I-Disease", "O", "O"]}]
    for split in ("train", "valid"):
        _write_jsonl(man / f"bc5cdr_{split}.jsonl", bc * 3)
        _write_jsonl(man / f"ncbi_{split}.jsonl", nc * 3)
    (man / "counts.json").write_text("{}")
    export = tmp_path / "ner.pt"
    summary = ner_recipe.main([ner_recipe.__file__.replace("train.py", "hparams/minilm_lora.yaml"), "data_dir=unused",
                               f"run_dir={run}", f"export={export}", "train.epochs=2", "batch_size=2",
                               "encoder.lora_rank=4"])
    assert export.exists() and "bc5cdr_f1" in summary and "ncbi_f1" in summary
    from core.recipes.ner.bc5cdr_ncbi import evaluate as ner_eval

    for name, rows_ in (("bc5cdr", bc), ("ncbi", nc)):
        _write_jsonl(man / f"{name}_test.jsonl", rows_)
    figures = ner_eval.main([ner_recipe.__file__.replace("train.py", "hparams/minilm_lora.yaml"), "data_dir=unused",
                             f"run_dir={run}", f"artifact={export}", "precision=fp32"])
    assert figures["bc5cdr_gold"] == 2 and figures["ncbi_gold"] == 1 and 0 <= figures["ncbi_f1"] <= 1

    # second stage: dictionary features, train + dev, started from the first stage's artifact
    import shutil

    from core.text.ner import BiomedicalNER

    shutil.copytree(man, tmp_path / "ner_gaz" / "manifests")  # start_run prepares only when they are missing
    stage2 = tmp_path / "ner_gaz.pt"
    summary = ner_recipe.main([ner_recipe.__file__.replace("train.py", "hparams/minilm_lora_gazetteer.yaml"),
                               "data_dir=unused", f"run_dir={tmp_path / 'ner_gaz'}", f"export={stage2}", f"init_from={export}",
                               f"gazetteer.export={tmp_path / 'ner_gaz.tsv'}", "holdout.bc5cdr=1", "holdout.ncbi=1",
                               "train.epochs=1", "batch_size=2", "encoder.lora_rank=4"])
    assert "bc5cdr_f1" in summary
    ner = BiomedicalNER(stage2)
    assert ner.gazetteer is not None and ner.gazetteer.features(["aspirin", "caused", "asthma"]) == [1, 0, 3]
    assert all(kind in ("Chemical", "Disease") for *_, kind in ner.spans("Aspirin caused asthma."))


def test_shipped_ner_precision_and_traced_encoder_match_eager():
    """The shipped tagger runs in bf16 (fp32 where the CPU lacks bf16); its frozen TorchScript
    encoder gives exactly eager's hidden states on other lengths and on a padded batch."""
    from core.model_resolver import project_artifact
    from core.text.artifact import cpu_has_bf16, restore
    from core.text.ner import DEFAULT_ARTIFACT, BiomedicalNER
    from core.text.tagger import piece_features

    path = project_artifact(DEFAULT_ARTIFACT)
    traced, eager = BiomedicalNER(path), BiomedicalNER(path, freeze=False)
    assert isinstance(traced.encode, torch.jit.ScriptModule)
    assert next(traced.model.parameters()).dtype == (torch.bfloat16 if cpu_has_bf16() else torch.float32)
    sentences = [["Naloxone", "reversed", "the", "clonidine", "-", "induced", "hypotension", "."],
                 "Aspirin caused asthma in a patient with chronic kidney disease and long standing hypertension .".split()]
    for batch in ([sentences[0]], [sentences[1]], sentences):
        enc = traced.tokenizer(batch, is_split_into_words=True, padding=True, return_tensors="pt")
        feats = torch.tensor([piece_features(enc.word_ids(i), traced.gazetteer.features(s)) for i, s in enumerate(batch)])
        with torch.inference_mode():
            a = traced.encode(enc["input_ids"], enc["attention_mask"], feats)
            b = eager.encode(enc["input_ids"], enc["attention_mask"], feats)
        real = enc["attention_mask"].bool()
        assert a.shape == b.shape and torch.equal(a[real], b[real])
    assert ("Chemical" in {k for *_, k in traced.spans("Naloxone reversed the hypotension.")}
            and traced.spans("Aspirin caused asthma.") == eager.spans("Aspirin caused asthma."))
    with pytest.raises(ValueError, match="precision"):
        restore(torch.nn.Linear(1, 1), {"state_dict": {}}, precision="int4")


def test_ner_heads_merge_adds_missing_diseases_and_joins_touching_spans():
    from core.text.ner import merge_heads

    # NCBI found "community acquired" (B I) + "pneumonia" (B), BC5CDR only "pneumonia": one mention
    assert merge_heads({(5, 6, "Disease")}, {(3, 5, "Disease"), (5, 6, "Disease")}) == [(3, 6, "Disease")]
    # an NCBI span overlapping a BC5CDR one is dropped; one elsewhere is added
    assert merge_heads({(0, 1, "Chemical"), (4, 6, "Disease")}, {(5, 7, "Disease"), (9, 10, "Disease")}) == [
        (0, 1, "Chemical"), (4, 6, "Disease"), (9, 10, "Disease")]
    # touching spans of different types stay apart ("naloxone" + "hypotension")
    assert merge_heads({(0, 1, "Chemical"), (1, 2, "Disease")}, set()) == [(0, 1, "Chemical"), (1, 2, "Disease")]
