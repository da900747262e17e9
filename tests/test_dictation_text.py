"""Dictation text: spoken punctuation and commands, numbers and units, medication spelling repair,
ConText assertions (pure text: no models)."""
from __future__ import annotations

import pytest

from core.clinical.context import assertions
from core.clinical.normalisation import SECTION_BREAK, normalise_dictation, words_to_number
from core.clinical.medications import default_lexicon, phonetic_key
from core.clinical.repair import repair_medications


@pytest.mark.parametrize("spoken, written", [
    ("start amoxicillin five hundred milligrams three times daily period", "Start amoxicillin 500 mg three times daily."),
    ("Her last period was two weeks ago period", "Her last period was 2 weeks ago."),
    ("plan colon review in clinic", "Plan: review in clinic"),
    ("the sigmoid colon was normal", "The sigmoid colon was normal"),
    ("temperature thirty seven point five degrees celsius", "Temperature 37.5 °C"),
    ("blood pressure one hundred and twenty over eighty", "Blood pressure 120/80"),
    ("no one else at home comma lives alone", "No one else at home, lives alone"),
    ("paracetamol one gram four times a day question mark", "Paracetamol 1 g four times a day?"),
    ("weight seventy kilograms new line dose five milligrams per kilogram", "Weight 70 kg\nDose 5 mg/kg"),
    ("Take 500 milligrams, period.", "Take 500 mg."),
    ("continue metformin 2 .5 milligrams by mouth", "Continue metformin 2.5 mg by mouth"),  # Whisper's "2 .5"
    # units heard as other words (the untuned dictation set's recogniser output), by their sound
    ("restart torsemide 200, and 50 mil plums as needed", "Restart torsemide 250 mg as needed"),
    ("give aspirin 100 milli -drams by mouth", "Give aspirin 100 mg by mouth"),
    ("glatiramer 2 .5 million rams by mouth", "Glatiramer 2.5 mg by mouth"),
    ("trazodone 75, micrograms at night", "Trazodone 75 mcg at night"),
    # ordinary words after a number stay
    ("we saw 2 million people", "We saw 2000000 people"), ("a 2 mile walk and 50 militants", "A 2 mile walk and 50 militants"),
    ("walks 5 miles every day", "Walks 5 miles every day"),
])
def test_dictation_normalisation(spoken, written):
    assert normalise_dictation(spoken) == written


def test_section_and_paragraph_commands():
    text = normalise_dictation("cough for a week next section chest clear new paragraph plan rest")
    assert SECTION_BREAK.strip() in text and "\n\nPlan rest" in text


@pytest.mark.parametrize("words, value", [("five hundred", 500), ("one thousand two hundred and fifty", 1250),
                                          ("one point five", 1.5), ("twenty five", 25), ("a half", 0.5),
                                          ("banana", None)])
def test_words_to_number(words, value):
    assert words_to_number(words.split()) == value


def test_lexicon_and_phonetic_keys():
    lex = default_lexicon()
    assert len(lex) > 6000 and lex.lookup("METFORMIN").name == "metformin"
    assert phonetic_key("lisinipril") == phonetic_key("lisinopril")


@pytest.mark.parametrize("heard, fixed", [
    ("started metforman and lisinipril", "started metformin and lisinopril"),
    ("on met formin twice daily", "on metformin twice daily"),
    ("atorva statin 20 mg", "atorvastatin 20 mg"),
    ("continue simvastatine", "continue simvastatin"),
    ("plan to review in two weeks", "plan to review in two weeks"),  # ordinary words untouched
    ("patient reports chest pain and cough", "patient reports chest pain and cough"),
])
def test_medication_spelling_repair(heard, fixed):
    assert repair_medications(heard).text == fixed


def test_british_names_are_medications_with_the_us_names_rxnorm_id():
    """PriMock57's UK notes name paracetamol in 19 of 57 and salbutamol in 6: RxNorm has neither."""
    from core.clinical.entities import extract_entities

    found = {e.text.lower(): e for e in extract_entities(
        "Plan: paracetamol 1 g four times a day, salbutamol 2 puffs as needed, co-amoxiclav 625 mg three times a day.")
        if e.label == "MEDICATION"}
    assert set(found) == {"paracetamol", "salbutamol", "co-amoxiclav"}
    assert found["paracetamol"].code == "161" and found["salbutamol"].code == "435"  # acetaminophen, albuterol
    assert found["co-amoxiclav"].code == "" and found["paracetamol"].attributes["dosage"] == "1 g"
    assert repair_medications("she takes paracetemol and clenil").text == "she takes paracetamol and clenil"  # not Clenia


def test_custom_vocabulary_wins():
    out = repair_medications("start zorbitol cream", vocabulary=["Zorbitrol"])
    assert out.text == "start Zorbitrol cream" and out.repairs[0].original == "zorbitol"


def _assert(text, terms):
    return [sorted(a) for a in assertions(text, [(text.index(t), text.index(t) + len(t)) for t in terms])]


def test_context_assertions():
    assert _assert("Patient denies chest pain but reports cough.", ["chest pain", "cough"]) == [["negated"], []]
    assert _assert("No fever, rash or vomiting. Pneumonia was ruled out.",
                   ["fever", "vomiting", "Pneumonia"]) == [["negated"]] * 3
    assert _assert("Family history of breast cancer. She has diabetes.", ["breast cancer", "diabetes"]) == [["family"], []]
    assert _assert("History of myocardial infarction. Possible angina.", ["myocardial infarction", "angina"]) == \
        [["historical"], ["uncertain"]]
    assert _assert("Cough for three days, no increase in sputum.", ["Cough", "sputum"]) == [[], []]


def test_clinical_entities_with_attributes_and_assertions():
    from core.clinical.entities import extract_entities

    text = ("Start metformin 500 mg by mouth twice daily for 3 months. She denies chest pain. "
            "Chest x-ray was normal. Ibuprofen 400 mg as needed. History of appendectomy.")
    ents = {e.text.lower(): e for e in extract_entities(text)}
    met = ents["metformin"]
    assert met.label == "MEDICATION" and met.code and met.attributes == {
        "dosage": "500 mg", "route": "by mouth", "frequency": "twice daily", "duration": "for 3 months"}
    assert ents["ibuprofen"].attributes == {"dosage": "400 mg", "frequency": "as needed"}
    assert ents["chest pain"].label == "PROBLEM" and ents["chest pain"].negated
    assert ents["chest x-ray"].label == "TEST" and not ents["chest x-ray"].assertions
    assert ents["appendectomy"].label == "PROCEDURE" and ents["appendectomy"].assertions == ("historical",)
    assert "mouth" not in ents  # part of the route, not anatomy


def test_clinician_vocabulary_is_a_medication_source():
    from core.clinical.entities import extract_entities

    ents = extract_entities("Apply Zorbitrol cream twice daily.", vocabulary=["Zorbitrol"])
    assert [(e.label, e.source, e.attributes.get("frequency")) for e in ents] == [("MEDICATION", "vocabulary", "twice daily")]


def test_soap_sections_from_headers_commands_and_cues():
    from core.clinical.soap import split_soap

    headed = split_soap(normalise_dictation("history colon cough for a week period examination colon chest clear "
                                            "period impression colon viral infection period plan colon rest period"))
    assert headed == {"subjective": "Cough for a week.", "objective": "Chest clear.",
                      "assessment": "Viral infection.", "plan": "Rest."}
    commanded = split_soap(normalise_dictation("cough for a week next section chest clear next section likely viral "
                                               "next section rest and fluids"))
    assert commanded["objective"] == "Chest clear" and commanded["plan"] == "Rest and fluids"
    cued = split_soap("Cough for a week. On examination the chest is clear. Likely viral. Advised rest and fluids.")
    assert cued == {"subjective": "Cough for a week.", "objective": "On examination the chest is clear.",
                    "assessment": "Likely viral.", "plan": "Advised rest and fluids."}
    written = split_soap("Hx: cough\nPMH: asthma\nO/E: chest clear\nImp: URTI\nPlan: fluids")
    assert written["subjective"] == "Cough\nasthma" and written["assessment"] == "URTI"
    # the recogniser put words before a header ("For a draft plan:" for "Plan colon"); a SOAP name
    # and its colon still start the section, other words before a header do not
    misheard = split_soap("Objective: BP 140/90. Chest clear\n\nAssessment: possible pneumonia\n\n"
                          "For a draft plan: amoxicillin 500 mg. Review in a week.")
    assert misheard == {"subjective": "", "objective": "BP 140/90. Chest clear", "assessment": "Possible pneumonia",
                        "plan": "Amoxicillin 500 mg. Review in a week."}
    assert split_soap("Assessment: viral. Chest exam clear.")["assessment"] == "Viral. Chest exam clear."


def test_vocabulary_repair_searches_the_whole_list_and_crosses_recogniser_commas():
    vocab = ["bisoprolol", "furosemide", "simvastatin"]
    out = repair_medications("Continue, miceoprolol, 2 drops. Start, furos, my 100 mg.", vocabulary=vocab)
    assert out.text == "Continue, bisoprolol, 2 drops. Start, furosemide 100 mg."
    # without the list, the general lexicon (sound-alike buckets, stricter) leaves them alone
    assert repair_medications("Continue, miceoprolol, 2 drops.").text == "Continue, miceoprolol, 2 drops."
    # ordinary English and exact names are never touched
    assert repair_medications("aspirin, metformin daily in April", vocabulary=vocab).repairs == ()


@pytest.mark.parametrize("heard, fixed", [
    ("Start lisinopril 10 mg, my mouth has needed.", "Start lisinopril 10 mg, by mouth as needed."),
    ("ibuprofen, 20 millidram, morally", "ibuprofen, 20 mg, orally"),
    ("Continue bisoprolol 2 drops, Topicale, one snaily.", "Continue bisoprolol 2 drops, topically, once daily."),
    # ordinary words that merely look close stay: no drug before them, or not close enough for English
    ("My mouth is dry and he has needed help.", "My mouth is dry and he has needed help."),
    ("aspirin 75 mg really helps, at nine, via inhaler, 10 grand", "aspirin 75 mg really helps, at nine, via inhaler, 10 grand"),
    # only to the end of the drug's sentence
    ("aspirin 75 mg daily. My mouth is sore.", "aspirin 75 mg daily. My mouth is sore."),
])
def test_instruction_words_after_a_drug_are_repaired(heard, fixed):
    from core.clinical.repair import repair_medications

    assert repair_medications(heard).text == fixed


@pytest.mark.parametrize("heard, fixed", [
    # a route or frequency the recogniser heard as words that sound like it (espeak-ng's voices gave these)
    ("clindamycin 75 mcg by mouse as needed", "clindamycin 75 mcg by mouth as needed"),
    ("aspirin, 100 mg by mouth, one stale for 5 days.", "aspirin, 100 mg by mouth, once daily for 5 days."),
    ("furosemide, 100 mg by mouth, one-stay-ly", "furosemide, 100 mg by mouth, once daily"),
    ("give albuterol 2 puffs in hailed, twice daily", "give albuterol 2 puffs inhaled, twice daily"),
    ("amlodipine 2 drops, typically at night", "amlodipine 2 drops, topically at night"),
    ("losartan 1 tablet or early at height", "losartan 1 tablet orally at night"),
    ("paracetamol 1 g for times a day as needed", "paracetamol 1 g four times a day as needed"),
    # only right after the drug, its dose or another instruction; not an English word that is only near
    # ("really" sounds 0.80 like orally), not a number ("at nine" is a time), not what is already a phrase
    ("metformin 500 mg really helped, by then at nine", "metformin 500 mg really helped, by then at nine"),
    ("metformin 500 mg, she says the mouse bit her", "metformin 500 mg, she says the mouse bit her"),
    ("metformin 500 mg by mouth in the morning", "metformin 500 mg by mouth in the morning"),
    ("she found a mouse by the door. metformin 500 mg", "she found a mouse by the door. metformin 500 mg"),
])
def test_instruction_words_that_sound_like_a_route_or_frequency_are_repaired(heard, fixed):
    assert repair_medications(heard).text == fixed


@pytest.mark.parametrize("heard, fixed", [
    ("Lisinopril, yeah, I take it", "Lisinopril, yeah, I take it"),  # a name and a word: the word stays
    ("Lisonopril, OK", "lisinopril, OK"),  # the misspelt name alone is repaired
    ("fexofenadine which helps", "fexofenadine which helps"),
    ("yes, lisinopril 10 mg", "yes, lisinopril 10 mg"),  # nor a word before it
])
def test_a_word_after_a_drug_name_is_not_taken_into_it(heard, fixed):
    assert repair_medications(heard).text == fixed
    # the clinician's list is searched in full: "yes, lisinopril" once became "lisinopril"
    assert repair_medications(heard, vocabulary=["lisinopril", "fexofenadine"]).text == fixed


def test_attributes_survive_recogniser_commas():
    from core.clinical.entities import extract_entities

    meds = {e.text: e.attributes for e in extract_entities("Restart aspirin, 500 mg, by mouth, once, daily for 5 days. "
                                                           "Start ibuprofen 200 mg three times, a day. "
                                                           "Continue metformin 2.5 mg by mouth.")
            if e.label == "MEDICATION"}
    assert meds["aspirin"] == {"dosage": "500 mg", "route": "by mouth", "frequency": "once daily", "duration": "for 5 days"}
    assert meds["ibuprofen"]["frequency"] == "three times a day"
    assert meds["metformin"] == {"dosage": "2.5 mg", "route": "by mouth"}  # a decimal point ends no sentence


@pytest.mark.parametrize("said, key, written", [
    ("Start ibuprofen 200 mg 4 times a day.", "frequency", "four times a day"),
    ("Start ibuprofen 200 mg 2 times a day.", "frequency", "twice a day"),
    ("Start ibuprofen 200 mg twice daily.", "frequency", "twice daily"),
    ("Give naproxen 1 g intravenous in the morning.", "route", "intravenously"),
    ("Give naproxen 1 g, subcutaneous, at night.", "route", "subcutaneously"),
    ("Give naproxen 1 g by mouth at night.", "route", "by mouth"),
    ("Give naproxen 1 g by mouth for two week's.", "duration", "for 2 weeks"),
    ("Give naproxen 1 g by mouth for three months.", "duration", "for 3 months"),
    ("Give naproxen 1 g by mouth for 1 week.", "duration", "for 1 week"),
    ("Give naproxen 1 g by mouth for a week.", "duration", "for a week"),
])
def test_instructions_are_written_one_way(said, key, written):
    """However the recogniser wrote what was said ("3 times", "intravenous", "two week's"), the note
    writes each instruction one way: frequencies spelt out, routes as adverbs, durations in digits."""
    from core.clinical.entities import extract_entities

    meds = [e.attributes for e in extract_entities(said) if e.label == "MEDICATION"]
    assert meds and meds[0][key] == written


@pytest.mark.parametrize("heard, fixed", [
    ("Start search rely in 50 mg once daily.", "Start sertraline 50 mg once daily."),
    ("Give obi tox a ximab 16 mg intravenously.", "Give obiltoxaximab 16 mg intravenously."),
    ("Started her on atorva statin 20 mg at night.", "Started her on atorvastatin 20 mg at night."),
])
def test_words_in_a_drug_slot_are_matched_by_sound_against_the_whole_lexicon(heard, fixed):
    from core.clinical.drug_slots import fill_drug_slots

    assert fill_drug_slots(heard).text == fixed


@pytest.mark.parametrize("talk", [
    "We will stop the pain killers and give him some rest.",
    "I'd like you to start taking some exercise, maybe 20 minutes a day.",
    "She has had the cough for 3 days and took 2 paracetamol.",
    "Continue simple 10 mg by mouth once daily.",  # too far from any drug by sound: left for the clinician
])
def test_ordinary_words_outside_or_far_from_a_drug_are_left_alone(talk):
    from core.clinical.drug_slots import fill_drug_slots

    assert fill_drug_slots(talk).text == talk


def test_the_clinicians_vocabulary_is_searched_first_in_a_slot():
    from core.clinical.drug_slots import fill_drug_slots
    from core.text.sounds_like import phones_of, sound_similarity

    assert fill_drug_slots("Start zero quell 5 mg daily.", vocabulary=["Seroquel"]).text == "Start Seroquel 5 mg daily."
    assert sound_similarity(phones_of(["search", "rely", "in"]), phones_of(["sertraline"])) > 0.8
    assert sound_similarity(phones_of(["sertraline"]), phones_of(["sertraline"])) == 1.0


@pytest.mark.parametrize("heard, fixed", [
    ("metformin, 200, and 50 mg, orally", "Metformin, 250 mg, orally"),
    ("give salbutamol to puffs inhaled", "Give salbutamol 2 puffs inhaled"),
    ("lisinopril for the milligrams daily", "Lisinopril 40 milligrams daily"),
    ("naproxen one ram intravenously", "Naproxen 1 g intravenously"),
    ("start remdesivir one-gram intravenously", "Start remdesivir 1 g intravenously"),  # one word
    ("start remdesivir one -gram IV for seven -day period", "Start remdesivir 1 g IV for 7 days."),  # words joined
    ("continue salmeterol five -milligrams for two-weeks", "Continue salmeterol 5 mg for 2 weeks"),
    ("a seven-day course", "A seven-day course"),  # no "for": left as said
    ("the 55-year-old man", "The 55-year-old man"),
    # a name the recogniser hyphenated with the words around it: words again, for the repair
    ("plan, colin -star -tamoxicillin 500 mg", "Plan, colin star tamoxicillin 500 mg"),
    ("his mother-in-law, a follow-up x-ray", "His mother-in-law, a follow-up x-ray"),  # English parts stay
    ("give salbutamol two-puffs inhaled", "Give salbutamol 2 puffs inhaled"),
    ("a one-off visit, well-being", "A one-off visit, well-being"),
    ("she wants to drop out", "She wants to drop out"),  # ordinary words stay
    ("we saw 200 and 50 people", "We saw 200 and 50 people"),
])
def test_doses_as_recognisers_mishear_them_are_put_right(heard, fixed):
    assert normalise_dictation(heard) == fixed


def test_a_slot_prefers_the_name_that_covers_all_its_words():
    from core.clinical.drug_slots import fill_drug_slots

    # "rely" alone sounds like the brand Rea-Lo, but "search, rely" before the dose is sertraline
    assert fill_drug_slots("Plan: start, search, rely, 50 mg by mouth.").text == "Plan: start, sertraline, 50 mg by mouth."


def test_a_unit_that_does_not_fit_the_route_is_flagged_not_rewritten():
    from core.clinical.entities import extract_entities

    (med,) = [e for e in extract_entities("Start amlodipine 10 ml by mouth once daily.") if e.label == "MEDICATION"]
    assert med.attributes["dosage"] == "10 ml" and "check the unit" in med.attributes["check"]
    (syrup,) = [e for e in extract_entities("Give amoxicillin 5 ml oral suspension by mouth.") if e.label == "MEDICATION"]
    assert "check" not in syrup.attributes


def test_names_that_sound_like_a_first_transcript_are_suggested_for_a_second_pass():
    from core.clinical.drug_slots import sounds_like_drugs

    assert "meloxicam" in sounds_like_drugs("She takes melixicum at the moment.")  # not English: a name attempt
    assert "sertraline" in sounds_like_drugs("Start search rely in 50 mg once daily.")  # a drug's slot
    assert "torsemide" in sounds_like_drugs("Restart Torsamide 20 mg daily.")
    assert sounds_like_drugs("She went to the shops with her daughter and felt fine.") == []  # plain English
    assert sounds_like_drugs("Start metformin 500 mg twice daily.") == []  # already a drug
    assert len(sounds_like_drugs("Start foo bar baz 5 mg. Give quux zorp 2 puffs. " * 20, limit=7)) <= 7


def test_terms_are_ranked_by_how_much_the_text_sounds_like_them():
    from core.text.sounds_like import rank_terms

    ranked = rank_terms("Start search, rely in 50 milligrams, one daily.", ["metformin", "sertraline", "lisinopril"])
    assert ranked[0][0] == "sertraline" and ranked[0][1] > 0.8 > ranked[1][1]
    assert rank_terms("continue metformin", ["Metformin", "sertraline"])[0] == ("Metformin", 1.0)  # spelt out
    assert rank_terms("", ["sertraline"]) == [("sertraline", 0.0)]


def test_the_page_lists_names_doses_and_instructions_corrected_apart():
    from apps.medical_dictation.ui import repairs_md

    md = repairs_md([["Can you map", "canakinumab", 0.77], ["10 milligrams", "50 mg", 0.44], ["or only", "orally", 0.7],
                     ["milligrums", "mg", 0.9]])
    assert md.split("\n\n") == ["Medication names corrected: “Can you map” → **canakinumab**",
                                 "Doses corrected: “10 milligrams” → **50 mg**; “milligrums” → **mg**",
                                 "Routes and frequencies corrected: “or only” → **orally**"]
    assert repairs_md([]) == ""


def test_digits_inside_spoken_numbers_are_read_with_them():
    from core.clinical.normalisation import normalise_dictation

    # the recogniser wrote "5 hundred" for "five hundred" (seen clicking through the page)
    assert normalise_dictation("5 hundred milligrams by mouth") == "500 mg by mouth"
    assert normalise_dictation("2 hundred and 50 milligrams") == "250 mg"
    assert normalise_dictation("5 thousand units") == "5000 units"
    assert normalise_dictation("take 2 tablets and 50 more") == "Take 2 tablets and 50 more"  # no scale: untouched


def test_garbled_units_leave_odd_input_alone():
    from core.clinical.normalisation import garbled_units

    assert garbled_units("") == "" and garbled_units("10") == "10"
    long_word = "10 " + "x" * 5000  # no unit sounds like it; nothing breaks on a huge word
    assert garbled_units(long_word) == long_word
    assert garbled_units("10 ½ 日本 milidrams") == "10 ½ 日本 milidrams"  # only a word right after the number
    assert garbled_units("dose 10 milidrams, then 20 mil plums") == "dose 10 mg, then 20 mg"


def test_a_drug_takes_no_attributes_from_the_next_drug_named():
    """The recogniser often loses the full stop between "she takes X at the moment" and the plan
    ("... her beard plan, call and give histamine 75 mcg"): X must not take the next drug's dose."""
    from core.clinical.entities import extract_entities

    text = "She takes hydroxychloroquine at the moment, and it suits her beard plan, give histamine 75 mcg by mouth as needed."
    meds = {e.text: e.attributes for e in extract_entities(text) if e.label == "MEDICATION"}
    assert meds == {"hydroxychloroquine": {},
                    "histamine": {"dosage": "75 mcg", "route": "by mouth", "frequency": "as needed"}}


@pytest.mark.parametrize("text, drug, attributes", [
    # the recogniser put a full stop where the voice paused: the sentences that begin with an
    # instruction are the drug's
    ("Restart ibuprofen. 75 mcg by mouth at night. Give paracetamol 100 mg.", "ibuprofen",
     {"dosage": "75 mcg", "route": "by mouth", "frequency": "at night"}),
    ("Continue ibuprofen 5 mg. Subcutaneously, every 4 to 6 hours. Continue sertraline.", "ibuprofen",
     {"dosage": "5 mg", "route": "subcutaneously", "frequency": "every 4 to 6 hours"}),
    ("Start furosemide 100 mg by mouth. Once daily. For 5 days.", "furosemide",
     {"dosage": "100 mg", "route": "by mouth", "frequency": "once daily", "duration": "for 5 days"}),
    # a sentence that begins otherwise ends them, as do a semicolon and a new line
    ("Start aspirin 75 mg. My mouth is dry at night.", "aspirin", {"dosage": "75 mg"}),
    ("Start aspirin 75 mg. 3 days ago she had a rash, once.", "aspirin", {"dosage": "75 mg"}),
    ("Start aspirin 75 mg; by mouth", "aspirin", {"dosage": "75 mg"}),
    ("Start aspirin 75 mg.\nDaily weights.", "aspirin", {"dosage": "75 mg"}),
    # and never the next drug's
    ("Start aspirin. Give metformin 500 mg by mouth.", "aspirin", {}),
])
def test_instructions_go_on_past_a_full_stop_the_recogniser_put_in(text, drug, attributes):
    from core.clinical.entities import extract_entities

    meds = {e.text: e.attributes for e in extract_entities(text) if e.label == "MEDICATION"}
    assert meds[drug] == attributes


def test_a_name_hyphenated_with_the_words_around_it_is_still_found():
    from core.clinical.draft import draft_note

    d = draft_note("Or a draft plan, colin -star -tamoxicillin 500 mg by mouth, three times a day.")
    assert [(e.text, e.attributes["dosage"]) for e in d.entities if e.label == "MEDICATION"] == [("amoxicillin", "500 mg")]
