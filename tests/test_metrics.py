from core.asr.metrics import edit_distance, normalize_text, number_to_words, word_error_rate


def test_number_words():
    assert number_to_words(0) == "zero"
    assert number_to_words(42) == "forty two"
    assert number_to_words(500) == "five hundred"
    assert number_to_words(2026) == "two thousand twenty six"


def test_normaliser_spells_digits_and_drops_punctuation():
    assert normalize_text("2, 6, 4, 8") == "two six four eight"
    assert normalize_text("Mark's going-to SEE it!") == "marks going to see it"


def test_digit_sequences():
    assert normalize_text("7342", digits="sequence") == "seven three four two"
    assert word_error_rate(["SEVEN THREE FOUR TWO"], ["7342"], digits="sequence") == 0.0
    assert word_error_rate(["SEVEN THREE FOUR TWO"], ["7342"]) > 0


def test_wer():
    assert edit_distance("a b c".split(), "a x c d".split()) == 2
    assert word_error_rate(["TWO SIX FOUR EIGHT"], ["2, 6, 4, 8."]) == 0.0
    assert word_error_rate(["a b c d"], ["a c d e"]) == 0.5
