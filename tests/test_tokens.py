"""The suite's one tokenizer and sentence splitter, and what the clinical rules rely on from them."""
from __future__ import annotations

from core.clinical.context import assertions
from core.text.tokens import sentences, tagger_tokens, tokens, words


def test_words_numbers_marks_and_spaces():
    toks = tokens("Don't start metformin500, 1,000 mg\nnow.", spaces=True)
    assert [(t.text, t.kind) for t in toks if t.kind != "space"] == [
        ("Don't", "word"), ("start", "word"), ("metformin", "word"), ("500", "number"), (",", "mark"),
        ("1,000", "number"), ("mg", "word"), ("now", "word"), (".", "mark")]
    assert "".join(t.text for t in toks) == "Don't start metformin500, 1,000 mg\nnow."  # nothing lost
    assert [w.text for w in words("follow-up in 2 weeks")] == ["follow-up", "in", "weeks"]
    text = "xx Naloxone-induced"
    assert [(t.text, t.start) for t in tokens(text, 3)] == [("Naloxone-induced", 3)]  # offsets in the text


def test_options_for_context_triggers():
    joined = [t.text for t in tokens("h/o mother-asthma 120/80", split_hyphens=True, join_slashes=True)]
    assert joined == ["h/o", "mother", "-", "asthma", "120/80"]


def test_sentences_end_at_full_stops_and_lines_but_not_at_decimals_or_queries():
    note = "BP 120/80. Temp 37.5 today; hot/cold,? Fever\nDDx?? Flu. Any rash? No"
    assert [note[a:b] for a, b in sentences(note)] == [
        "BP 120/80.", "Temp 37.5 today;", "hot/cold,? Fever", "DDx?? Flu.", "Any rash?", "No"]
    assert sentences("  \n ") == []


def test_clinical_shorthand_keeps_its_assertions():
    text = "FH: mother-migraine. Feeling hot/cold,? Fever. Well otherwise-no fevers."
    spans = [(text.index(w), text.index(w) + len(w)) for w in ("migraine", "Fever", "fevers")]
    assert assertions(text, spans) == [{"family"}, {"uncertain"}, {"negated"}]


def test_the_taggers_pretokenisation_is_the_corpora_one():
    assert [t.text for t in tagger_tokens("5-fluorouracil (5-FU)-induced")] == [
        "5", "-", "fluorouracil", "(", "5", "-", "FU", ")", "-", "induced"]
