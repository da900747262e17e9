"""Dictionary features and BIO-constrained decoding for the NER tagger (no data, no model files)."""
from __future__ import annotations

import torch

from core.text.gazetteer import FEATURE_TAGS, Gazetteer, corpus_table, fold_features, lexicon_table
from core.text.tagger import BC5CDR_TAGS, bio_viterbi, piece_features, word_tags_from_logits


def _row(text: str, tags: str) -> dict:
    return {"tokens": text.split(), "tags": tags.split()}


def test_longest_match_features_and_round_trip(tmp_path):
    gaz = Gazetteer({("heart",): "Disease", ("heart", "failure"): "Disease", ("naloxone",): "Chemical"})
    assert gaz.matches(["Heart", "failure", "and", "NALOXONE"]) == [(0, 2, "Disease"), (3, 4, "Chemical")]
    assert [FEATURE_TAGS[i] for i in gaz.features(["Heart", "failure", "naloxone"])] == \
        ["B-Disease", "I-Disease", "B-Chemical"]
    gaz.save(tmp_path / "g.tsv")
    assert Gazetteer.load(tmp_path / "g.tsv").table == gaz.table


def test_corpus_table_drops_strings_rarely_tagged():
    rows = [_row("NO donors relax vessels", "B-Chemical O O O")] + [_row("there was NO change", "O O O O")] * 3 \
        + [_row("aspirin helps", "B-Chemical O")] * 2
    table = corpus_table(rows, min_ratio=0.5)
    assert table == {("aspirin",): "Chemical"}  # "NO" is tagged in 1 of its 4 occurrences
    assert corpus_table(rows, min_ratio=0.0)[("no",)] == "Chemical"


def test_fold_features_leave_the_rows_own_block_out():
    rows = [_row("zoledronate given", "B-Chemical O"), _row("aspirin given", "B-Chemical O"),
            _row("aspirin again", "B-Chemical O"), _row("nothing here", "O O")]
    feats = fold_features(rows, folds=4, base={}, min_ratio=0.5)
    assert feats[0] == [0, 0]  # zoledronate occurs only in its own block: unseen, as at test time
    assert feats[1] == [1, 0] and feats[2] == [1, 0]
    assert lexicon_table(["Co-trimoxazole"]) == {("co", "-", "trimoxazole"): "Chemical"}


def test_viterbi_returns_valid_bio_where_argmax_would_not():
    lp = torch.log(torch.tensor([[0.9, 0.0, 0.05, 0.05, 0.0],   # O
                                 [0.1, 0.0, 0.1, 0.0, 0.8],     # argmax I-Disease right after O
                                 [0.2, 0.0, 0.0, 0.0, 0.8]]) + 1e-6)
    path = [BC5CDR_TAGS[i] for i in bio_viterbi(lp, BC5CDR_TAGS)]
    for previous, tag in zip(["O"] + path, path):
        assert not tag.startswith("I-") or previous in (f"B-{tag[2:]}", tag), path
    # argmax says O, I, I (invalid); the best valid sequence starts the span one word earlier
    assert path == ["B-Disease", "I-Disease", "I-Disease"]
    # first-piece scoring: word 0 has two pieces, special tokens are skipped
    logits = torch.zeros(5, len(BC5CDR_TAGS))
    logits[1, 1] = 5  # B-Chemical on word 0's first piece
    logits[2, 4] = 5  # its second piece is ignored
    assert word_tags_from_logits(logits, [None, 0, 0, 1, None], 2, BC5CDR_TAGS) == ["B-Chemical", "O"]
    assert piece_features([None, 0, 0, 1, None], [3, 0]) == [0, 3, 3, 0, 0]


def test_zero_initialised_features_leave_the_tagger_unchanged():
    from core.text.encoder import EncoderConfig
    from core.text.tagger import TokenTagger

    torch.manual_seed(0)
    model = TokenTagger(EncoderConfig(lora_rank=4, max_length=16), {"bc5cdr": BC5CDR_TAGS}, n_features=5).eval()
    enc = model.encoder.tokenize(["aspirin caused asthma"])
    plain = model(enc["input_ids"], enc["attention_mask"], head="bc5cdr")
    feats = torch.randint(0, 5, enc["input_ids"].shape)
    with_features = model(enc["input_ids"], enc["attention_mask"], head="bc5cdr", features=feats)
    assert torch.allclose(plain, with_features, atol=1e-5)
