"""Drug names spotted in the audio (core.clinical.drug_spotting, core.pronunciation.spotting): the
CTC scoring with free edges against brute force, where it searches, and real synthetic orders
through tiny.en (which writes "search rely in" for sertraline)."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from core.asr.types import Segment, Transcript, Word


def _brute(lp: torch.Tensor, target: list[int]) -> float:
    """Every frame labelling: leading/trailing free frames (the best phone's score) around a CTC
    path of ``target``."""
    T, V = lp.shape
    free = lp.max(1).values
    total = -math.inf
    for path in itertools.product(range(-1, V), repeat=T):  # -1: a free frame
        i, j = 0, T
        while i < T and path[i] == -1:
            i += 1
        while j > i and path[j - 1] == -1:
            j -= 1
        mid = path[i:j]
        if not mid or -1 in mid or [k for k, _ in itertools.groupby(mid) if k != 0] != target:
            continue
        s = sum(float(free[t]) if path[t] == -1 else float(lp[t, path[t]]) for t in range(T))
        total = s if total == -math.inf else float(np.logaddexp(total, s))
    return -(total - float(free.sum()))


def test_spot_costs_equal_brute_force_over_every_path():
    from core.pronunciation.spotting import spot, spot_costs

    torch.manual_seed(0)
    lp = torch.log_softmax(torch.randn(5, 4), -1)
    targets = [[1], [1, 2], [2, 2], [1, 2, 3], [3, 1, 3], []]
    got = spot_costs(lp, targets, phone_bonus=0.0)
    assert np.allclose(got[:-1], [_brute(lp, t) for t in targets[:-1]], atol=1e-3)
    assert got[-1] == float("inf")  # an empty target is never chosen
    bonus = spot_costs(lp, targets, phone_bonus=2.0)
    assert np.allclose(got[:-1] - bonus[:-1], [2.0 * len(t) for t in targets[:-1]], atol=1e-4)
    assert [i for i, _ in spot(lp, targets, top=2, phone_bonus=0.0)] == list(np.argsort(got)[:2])
    assert spot(lp[:0], targets) == [] and spot(lp, []) == []


def _words(*spec: tuple[str, float, float]) -> tuple[Word, ...]:
    return tuple(Word(w, a, b, 0.9) for w, a, b in spec)


def test_regions_follow_drug_verbs_up_to_the_dose_and_skip_named_drugs():
    from core.clinical.drug_spotting import regions

    is_drug = {"metformin"}.__contains__
    ws = _words(("Plan,", 0, .3), ("restart.", .3, .8), ("Can", .9, 1.0), ("you", 1.0, 1.1), ("map", 1.1, 1.4),
                ("200,", 1.5, 1.9), ("and", 1.9, 2.0), ("continuum,", 2.1, 2.6), ("metformin", 2.6, 3.1),
                ("500", 3.2, 3.5), ("she", 3.6, 3.7), ("takes", 3.7, 4.0), ("birth", 4.0, 4.2), ("in", 4.2, 4.3),
                ("color", 4.3, 4.6), ("at", 4.6, 4.7), ("the", 4.7, 4.8), ("moment.", 4.8, 5.2))
    # "metformin" is searched too (a drug already: another name must explain the audio much better)
    assert regions(ws, is_drug) == [(2, 5, False), (8, 9, True), (12, 15, False)]
    give = _words(("Give", 0, .3), ("for", .3, .6), ("5", .7, .9), ("mg.", .9, 1.2))
    assert regions(give, is_drug) == [(1, 2, False)]  # a name heard as a short word before the dose
    talk = _words(("She", 0, .2), ("went", .2, .4), ("to", .4, .5), ("the", .5, .6), ("shops.", .6, 1.0))
    assert regions(talk, is_drug) == []
    long = _words(("start", 0, .4), *[(f"w{i}", .4 + i * .6, 1.0 + i * .6) for i in range(8)])
    (a, b, _), = regions(long, is_drug)
    assert b - a <= 6 and long[b - 1].end - long[a].start <= 2.5  # a region is a drug's length at most


def test_a_phrasal_verb_and_a_time_ago_open_no_order():
    from core.clinical.drug_spotting import _dose_follows, regions

    no_drug = set().__contains__
    # "Takeaway 4/7 ago" heard as "take away 4 days ago": no drug was taken away
    away = _words(("take", 0, .3), ("away", .3, .6), ("4", .7, .9), ("days", .9, 1.2), ("ago,", 1.2, 1.5))
    assert regions(away, no_drug) == []
    assert not _dose_follows(away, 2)
    # a particle in a longer stretch may be a name's syllable ("She takes them off an all": levorphanol)
    off = _words(("She", 0, .2), ("takes", .2, .5), ("them", .5, .7), ("off", .7, .9), ("an", .9, 1.0),
                 ("all", 1.0, 1.3), ("at", 1.4, 1.5), ("the", 1.5, 1.6), ("moment.", 1.6, 2.0))
    assert regions(off, no_drug) == [(3, 6, False)]
    # a number with no "ago" after its time word is still a dose ("take lost 4 mg for 4 days")
    dose = _words(("take", 0, .3), ("lost", .3, .6), ("4", .7, .9), ("mg", .9, 1.2), ("for", 1.2, 1.3),
                  ("4", 1.3, 1.5), ("days", 1.5, 1.8))
    assert _dose_follows(dose, 2) and regions(dose, no_drug) == [(1, 2, False)]


def test_regions_keep_a_name_heard_with_a_number_or_a_stop_word_in_it():
    from core.clinical.drug_spotting import regions

    no_drug = set().__contains__
    # "restart mafenide 100 mg" heard as "May 5 -100mg": the number before the dose's own is the name's end
    mafenide = _words(("restart,", 0, .3), ("May", .4, .5), ("5", .5, .9), ("-100mg", .9, 2.2), ("by", 2.2, 2.5))
    assert regions(mafenide, no_drug) == [(1, 3, False)]
    # "by" before a number is no route ("lost by 100, 100 mg": drospirenone); "by mouth" still ends it
    by = _words(("prescribed,", 0, .3), ("lost", .4, .5), ("by", .5, .7), ("100,", .7, 1.0), ("100", 1.1, 1.5),
                ("milligrams", 1.5, 2.0))
    assert regions(by, no_drug) == [(1, 4, False)]
    mouth = _words(("start", 0, .3), ("lost", .4, .5), ("by", .5, .7), ("mouth", .7, 1.0))
    assert regions(mouth, no_drug) == [(1, 2, False)]
    # "as" not before "needed" is no frequency ("Perform as in 500 mg": perphenazine)
    perform = _words(("continue", 0, .3), ("perform", .3, .6), ("as", .6, .7), ("in", .7, .8), ("500", .8, 1.2),
                     ("mg", 1.2, 1.5))
    assert regions(perform, no_drug) == [(1, 4, False)]
    needed = _words(("continue", 0, .3), ("perform", .3, .6), ("as", .6, .7), ("needed", .7, 1.0))
    assert regions(needed, no_drug) == [(1, 2, False)]
    # one number written in two pieces is no name: "2 .5mg"
    split = _words(("start", 0, .3), ("glatiramer", .3, .9), ("2", .9, 1.1), (".5mg", 1.1, 1.6))
    assert regions(split, no_drug) == [(1, 2, False)]


def _timed(text: str) -> tuple[Word, ...]:
    return tuple(Word(w, i * .35, i * .35 + .3, 0.9) for i, w in enumerate(text.split()))


def test_an_order_whose_verb_was_misheard_is_searched_back_from_its_dose():
    from core.clinical.drug_spotting import regions

    def stretches(text, is_drug=set().__contains__):
        ws = text.split()
        return [(" ".join(ws[a:b]), named) for a, b, named in regions(_timed(text), is_drug)]

    # "prescribe aspirin" heard as "prisk, midostaurin": no verb, a drug written, the dose after it
    assert stretches("Plan: prisk, midostaurin, 1 tablet, all the day.", {"midostaurin"}.__contains__) == [
        ("prisk, midostaurin,", True)]
    # back to the clause's start, the last order's frequency or a subject; never across a sentence
    assert stretches("for 5 days. Tarte hydrochord is on 10 mg by mouth") == [("Tarte hydrochord is on", False)]
    assert stretches("once daily Tart melatonin 250mg orally") == [("Tart melatonin", False)]
    assert stretches("She took 2 tablets. He weighs 70 kg, blood pressure 140 over 90.") == []
    # a verb's own stretch to the dose is not searched twice, nor the words it may swallow on the way
    assert stretches("Plan: restart ibuprofen, 2.5 mg by mouth") == [("ibuprofen,", False)]
    assert stretches("give loss at an one tablet orally") == [("loss", False)]  # losartan: "loss | at an |"


def test_a_stretch_with_no_verb_before_it_gives_its_name_from_its_tail(monkeypatch):
    """Searched back from a dose to the clause's start, a stretch holds words that are no part of
    the name ("plan, Poland's Artemis is ill in" for "Plan colon start amoxicillin"): where the
    whole gives no name, the longest tail that does and begins with a word that is no English word
    is taken; where none does, the whole stays."""
    from core.clinical.drug_spotting import DrugSpotter, MIN_GAIN, MIN_MARGIN

    ws = _timed("For a draft plan, Poland's Artemis is ill in 500 milligrams by mouth")
    spotter = DrugSpotter.__new__(DrugSpotter)
    # each tail's start -> (the names' gains over the words heard, best first: amoxicillin, the next; the words' cost)
    by_start = {3: ([-34.1, -46.3], -80.6), 4: ([-21.0, -31.9], -63.0), 5: ([-8.6, -18.5], -43.4), 6: ([6.8, 5.7], -14.3),
                7: ([3.0, 2.0], -9.0), 8: ([1.0, 0.5], -4.0)}
    monkeypatch.setattr(DrugSpotter, "_costs", lambda self, w, s, a, b, t: (by_start[a][1] - np.array(by_start[a][0]),
                                                                            by_start[a][1]))
    costs, own = spotter._costs(ws, None, 3, 9, [])
    start, tail_costs, tail_own = spotter._name_at_end(ws, None, 3, 9, [], costs, own, MIN_GAIN, MIN_MARGIN)
    assert start == 5 and tail_own == -43.4  # "Artemis is ill in": 8.6 behind the words, 9.9 ahead of the next
    by_start[5] = ([-8.6, -12.0], -43.4)  # no name stands out in any tail: the whole stays
    assert spotter._name_at_end(ws, None, 3, 9, [], costs, own, MIN_GAIN, MIN_MARGIN)[0] == 3
    by_start[6] = ([6.8, -5.7], -14.3)  # nor in a tail of English words ("is ill in"), whatever the phones say
    assert spotter._name_at_end(ws, None, 3, 9, [], costs, own, MIN_GAIN, MIN_MARGIN)[0] == 3


def test_a_word_spelt_into_a_brand_nobody_listed_is_no_near_miss():
    from core.clinical.drug_spotting import _near_miss

    assert _near_miss("solbutamol", [])  # the spelling repair writes the generic name: the recogniser got close
    assert _near_miss("metforman", ["metformin"])
    assert not _near_miss("Artemis", ["amoxicillin"])  # spelt into the brand Artiss: the audio decides


def test_search_window_reaches_back_over_skipped_words_and_into_the_dose_after_a_short_stretch():
    from core.clinical.drug_spotting import INTO_NUMBER_S, search_window

    # "prescribe levamlodipine" heard as "prescribe them another time": "them" is skipped, its audio searched
    ws = _words(("prescribe", .7, 1.08), ("them", 1.08, 1.48), ("another", 1.48, 1.74), ("time,", 1.74, 1.96),
                ("100", 2.16, 2.66))
    assert search_window(ws, 2, 4) == (1.08, 2.66)  # and, a short stretch, on through the number
    # "give, for 5mg": Whisper gave 'for' 0.14 s and '5mg' 1.3 s; the name is searched on into the number
    give = _words(("give,", 6.78, 6.88), ("for", 7.04, 7.18), ("5mg,", 7.18, 8.5))
    start, end = search_window(give, 1, 2)
    assert start == 7.04 and abs(end - (7.18 + INTO_NUMBER_S)) < 1e-9
    # a stretch of a name's length keeps its own times
    long = _words(("start", 0, .3), ("can", .3, .5), ("you", .5, .7), ("map", .7, 1.0), ("200", 1.0, 1.5))
    assert search_window(long, 1, 4) == (.3, 1.0)


def test_the_dose_after_a_short_stretch_is_found_past_the_words_a_name_swallowed():
    from core.clinical.drug_spotting import _dose_start

    ws = _words(("Continue", 0, .4), ("met", .5, .7), ("for", .7, .8), ("min", .8, 1.0), ("100", 1.1, 1.4),
                ("mg", 1.4, 1.6), ("by", 1.7, 1.8), ("mouth.", 1.8, 2.1))
    assert _dose_start(ws, 2) == 4  # "met | for min | 100 mg": the name may have swallowed "for min"
    assert _dose_start(ws, 4) is None  # the dose begins right there
    ended = _words(("Continue", 0, .4), ("met", .5, .7), ("for.", .7, .9), ("100", 1.0, 1.3), ("mg.", 1.3, 1.6))
    assert _dose_start(ended, 2) is None  # not across a sentence's end
    talk = _words(("Give", 0, .3), ("it", .3, .4), ("for", .4, .5), ("a", .5, .6), ("while", .6, .8),
                  ("then", .8, 1.0), ("5", 1.0, 1.2), ("mg", 1.2, 1.4))
    assert _dose_start(talk, 2) is None  # the dose too far on


@pytest.mark.slow
def test_the_recogniser_held_to_the_names_proposes_the_one_said(transcriber):
    """tiny.en writes "search, rely in" for sertraline; held to the lexicon's 2,000 names it hears it,
    ahead of the next. How far depends on what the beam keeps: serine, which shares its start, is 4.7
    behind where it stays in the beam (on an AVX2 CPU after another decode of the same audio, whose
    rounding differs a little); the next name is 14 behind where it does not."""
    from core.clinical.drug_spotting import default_spotter

    order = _order("Start sertraline fifty milligrams once daily.")
    names = default_spotter().names
    (first, lead), (second, behind), *_ = transcriber.propose_terms(order.samples, "Start", names, k=5)
    assert first == "sertraline" and lead - behind >= 4, (first, lead, second, behind)
    assert transcriber.propose_terms(order.samples, "Start", [], k=5) == []
    # scored one by one (teacher-forced), each name gets the search's own score
    again = transcriber.score_terms(order.samples, "Start", [first, second])
    assert again == pytest.approx([lead, behind], abs=0.05)
    # on silence the same names get what the model would say without hearing anything: far less for
    # the name said than in the audio
    silence = np.zeros(48000, np.float32)
    prior_first, _ = transcriber.score_terms(silence, "Start", [first, second])
    assert prior_first < lead - 10


def test_proposals_are_ranked_by_what_the_audio_adds_to_the_recogniser_s_liking():
    """"oxygen" is what Whisper says anyway: its lead over oxycodone in the audio is less than what
    it would lead by on silence, so oxycodone is proposed first."""
    from core.clinical.drug_spotting import recogniser_propose

    class Heard:
        def propose_terms(self, piece, before, names, k):
            return [("oxygen", -10.0), ("oxycodone", -12.0), ("oxybutynin", -25.0)][:k]

        def score_terms(self, piece, before, terms):
            assert not np.any(piece) and before == "start"  # the prior: silence, after the same words
            return [{"oxygen": -15.0, "oxycodone": -30.0, "oxybutynin": -31.0}[t] for t in terms]

    ranked = recogniser_propose(Heard(), k=3, prior_weight=1.0)(np.ones(16000, np.float32), "start", [])
    assert [n for n, _ in ranked] == ["oxycodone", "oxybutynin", "oxygen"]
    assert ranked[0][1] == pytest.approx(18.0)
    raw = recogniser_propose(Heard(), k=3, prior_weight=0.0)(np.ones(16000, np.float32), "start", [])
    assert [n for n, _ in raw] == ["oxygen", "oxycodone", "oxybutynin"]


@pytest.mark.slow
def test_a_name_the_recogniser_proposes_far_ahead_is_taken_unless_the_phones_contradict_it(transcriber, caplog):
    from core.clinical import drug_spotting
    from core.clinical.drug_spotting import default_spotter

    order = _order("Start sertraline fifty milligrams once daily.")
    t = transcriber.transcribe(order)
    never = {"min_margin": 1e9, "agreed_similarity": 2.0}  # the phones alone never decide here
    spotter = default_spotter()

    def listen(piece, readings):  # the recogniser prefers the words it wrote to any name, by 11
        return [0.0] + [-11.0] * (len(readings) - 1)

    def propose(lead):
        return lambda piece, before, names: [("sertraline", -12.0), ("ataluren", -12.0 - lead)]

    assert "sertraline" not in spotter.spot(t, order.samples, listen=listen, **never).text.lower()
    taken = spotter.spot(t, order.samples, listen=listen, propose=propose(14.6), **never)
    assert "sertraline" in taken.text.lower(), taken.considered
    # a small lead (the recogniser torn between names) is no proposal
    assert "sertraline" not in spotter.spot(t, order.samples, listen=listen, propose=propose(4.0), **never).text.lower()
    # nor when the phones hear the words written much better than the name
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(drug_spotting, "PROPOSED_MIN_GAIN", 1e9)
        assert "sertraline" not in spotter.spot(t, order.samples, listen=listen, propose=propose(14.6),
                                                **never).text.lower()

    def broken(piece, before, names):
        raise RuntimeError("the decoder ran out of memory")

    with caplog.at_level("ERROR"):
        failed = spotter.spot(t, order.samples, listen=listen, propose=broken, **never)
    assert "sertraline" not in failed.text.lower() and "proposing drug names failed" in caplog.text


@pytest.mark.slow
def test_what_she_takes_is_proposed_for_but_other_talk_is_not(transcriber, monkeypatch):
    """No dose follows "she takes <drug> at the moment": the recogniser still proposes names there
    (what a patient takes is mostly a drug), but not after a verb in other talk ("reduced appetite")."""
    from core.clinical import drug_spotting
    from core.clinical.drug_spotting import TAKES_PROPOSED_MARGIN, _after_takes, default_spotter

    monkeypatch.setattr(drug_spotting, "PROPOSED_MIN_GAIN", -1e9)  # tiny.en's words there are far from the name

    words = _words(("She", 0.0, 0.2), ("is", 0.2, 0.3), ("taking", 0.3, 0.6), ("the", 0.6, 0.7), ("Tram", 0.7, 1.0))
    assert _after_takes(words, 4) and not _after_takes(_words(("Reduced", 0.0, 0.4), ("appetite", 0.4, 1.0)), 1)
    never = {"min_margin": 1e9, "agreed_similarity": 2.0}  # the phones alone never decide here
    spotter = default_spotter()
    asked = []

    def listen(piece, readings):  # the recogniser prefers the words it wrote to any name, by 11
        return [0.0] + [-11.0] * (len(readings) - 1)

    def propose(lead):
        def heard(piece, before, names):
            asked.append(before)
            return [("sertraline", -12.0), ("ataluren", -12.0 - lead)]
        return heard

    said = _order("Seen today for asthma. She takes sertraline at the moment and it suits her.")
    t = transcriber.transcribe(said)
    taken = spotter.spot(t, said.samples, listen=listen, propose=propose(TAKES_PROPOSED_MARGIN + 2), **never)
    assert "sertraline" in taken.text.lower() and asked and asked[0].lower().startswith("take"), (t.text, asked)
    torn = spotter.spot(t, said.samples, listen=listen, propose=propose(TAKES_PROPOSED_MARGIN - 2), **never)
    assert "sertraline" not in torn.text.lower()
    talk = _order("Reduced appetite and poor sleep for a week.")
    asked.clear()
    t = transcriber.transcribe(talk)
    assert spotter.spot(t, talk.samples, listen=listen, propose=propose(20.0), **never).text == t.text and not asked


def test_after_takes_a_shorter_start_takes_only_the_proposed_first(monkeypatch):
    """The stretch after "takes" runs on into talk, so its shorter starts are read too; there only
    the name the recogniser proposed far ahead may be taken, never another the readings liked."""
    from core.clinical import drug_spotting
    from core.clinical.drug_spotting import TAKES_PROPOSED_MARGIN, default_spotter

    ws = _words(("She", 0.0, 0.3), ("takes", 0.3, 0.7), ("search", 0.7, 1.1), ("rely", 1.1, 1.4), ("in", 1.4, 1.6),
                ("every", 1.6, 2.0), ("day.", 2.0, 2.4))
    text = " ".join(w.text for w in ws)
    t = Transcript(text=text, segments=(Segment(0.0, 2.6, text, ws),), language="en", duration=2.6)
    samples = np.random.default_rng(0).normal(0, 0.01, int(2.6 * 16000)).astype(np.float32)
    monkeypatch.setattr(drug_spotting, "PROPOSED_MIN_GAIN", -1e9)
    never = {"min_margin": 1e9, "agreed_similarity": 2.0}
    stops = []

    def propose(piece, before, names):
        return [("sertraline", -12.0), ("ataluren", -12.0 - TAKES_PROPOSED_MARGIN - 1)]

    def fake_listen(pick_proposed):
        def fake(listen, words, samples, a, b, choices, gains, proposed=(), no_words=False, min_gain=-np.inf):
            stops.append(b)
            if b == 5:  # the whole stretch "search rely in": nothing stands out
                return None, 0.0
            i = choices.index("sertraline")
            return (i, 9.0) if pick_proposed else ((i + 1) % len(choices), 9.0)
        return fake

    monkeypatch.setattr(drug_spotting, "_listen", fake_listen(pick_proposed=False))
    other = default_spotter().spot(t, samples, listen=lambda p, r: [0.0] * len(r), propose=propose, **never)
    assert other.text == text and sorted(set(stops)) == [3, 4, 5], (other.text, stops)
    monkeypatch.setattr(drug_spotting, "_listen", fake_listen(pick_proposed=True))
    taken = default_spotter().spot(t, samples, listen=lambda p, r: [0.0] * len(r), propose=propose, **never)
    assert taken.text.startswith("She takes sertraline"), taken.text


@pytest.mark.slow
def test_the_clinicians_names_are_proposed_among_themselves(transcriber, monkeypatch):
    """Among all 2,000 names the recogniser is torn (a lead of 1); among the clinician's own names
    it hears one of theirs well ahead of the next: that one is taken."""
    from core.clinical import drug_spotting
    from core.clinical.drug_spotting import LISTED_PROPOSED_MARGIN, default_spotter

    order = _order("Start sertraline fifty milligrams once daily.")
    t = transcriber.transcribe(order)
    spotter = default_spotter()
    monkeypatch.setattr(drug_spotting, "MIN_LIST_MARGIN", 1e9)  # the phones alone never decide here
    never = {"min_margin": 1e9, "agreed_similarity": 2.0}
    theirs = ["simvastatin", "sertraline", "salbutamol"]
    asked = []

    def listen(piece, readings):
        return [0.0] + [-11.0] * (len(readings) - 1)

    def propose(lead):
        def heard(piece, before, names):
            asked.append(len(names))
            if len(names) > len(theirs):  # the whole lexicon: torn
                return [("ataluren", -12.0), ("sertraline", -13.0)]
            return [("sertraline", -12.0), ("simvastatin", -12.0 - lead)]
        return heard

    taken = spotter.spot(t, order.samples, theirs, listen=listen, propose=propose(LISTED_PROPOSED_MARGIN + 1), **never)
    assert "sertraline" in taken.text.lower(), taken.considered
    assert len(theirs) in asked and max(asked) > 1000
    torn = spotter.spot(t, order.samples, theirs, listen=listen, propose=propose(LISTED_PROPOSED_MARGIN - 2), **never)
    assert "sertraline" not in torn.text.lower()
    # without a list only the lexicon's proposals count
    assert "sertraline" not in spotter.spot(t, order.samples, listen=listen, propose=propose(20.0), **never).text.lower()


def _order(text: str):
    from core.pronunciation.espeak import synthesize
    from tests.test_asr import as_audio

    quiet = np.zeros(8000, np.float32)
    return as_audio(np.concatenate([quiet, synthesize(text, rate_wpm=140), quiet]))  # a synthetic voice


@pytest.mark.slow
def test_a_drug_the_recogniser_wrote_as_english_is_spotted_in_the_audio(transcriber):
    from core.clinical.drug_spotting import spot_drug_names

    order = _order("Start sertraline fifty milligrams once daily.")
    t = transcriber.transcribe(order)
    assert "sertraline" not in t.text.lower()  # tiny.en hears "search rely in"
    spotted = spot_drug_names(t, order.samples)
    assert "sertraline" in spotted.text.lower() and "50" in spotted.text and spotted.regions >= 1
    (r,) = spotted.repairs
    assert r.replacement == "sertraline" and "sertraline" not in r.original.lower() and 0.6 <= r.similarity <= 1.0


@pytest.mark.slow
def test_a_listed_name_the_recogniser_wrote_gives_way_only_to_one_of_theirs_that_fits_far_better(
        transcriber, monkeypatch):
    from core.clinical import drug_spotting

    order = _order("Give oxazepam ten milligrams at night.")
    ws = transcriber.transcribe(order).words
    dose = next(i for i, w in enumerate(ws) if i > 1 and w.text.strip()[:1].isdigit())  # "10"
    # the recogniser wrote another name of the clinician's list where oxazepam was said
    heard = (ws[0], Word(" oxycodone", ws[1].start, ws[dose - 1].end, 0.9)) + tuple(ws[dose:])
    text = " ".join(w.text.strip() for w in heard)
    t = Transcript(text=text, segments=(Segment(0.0, order.duration, text, heard),), language="en",
                   duration=order.duration)
    listed = ["oxycodone", "oxazepam", "sertraline"]
    spotter = drug_spotting.default_spotter()
    swapped = spotter.spot(t, order.samples, listed)
    assert "oxazepam" in swapped.text.lower() and "oxycodone" not in swapped.text.lower()
    assert [(r.original, r.replacement) for r in swapped.repairs if r.replacement == "oxazepam"] == [
        ("oxycodone", "oxazepam")]
    monkeypatch.setattr(drug_spotting, "MIN_GAIN_OVER_LISTED", 1e9)  # the written name of theirs stays
    assert "oxycodone" in spotter.spot(t, order.samples, listed).text.lower()
    # a name not on their list never replaces one that is
    assert "oxazepam" not in spotter.spot(t, order.samples, ["oxycodone"]).text.lower()


@pytest.mark.slow
def test_ordinary_words_after_a_verb_stay_and_bad_input_keeps_the_text(transcriber, caplog, monkeypatch):
    from core.clinical import drug_spotting
    from core.clinical.drug_spotting import spot_drug_names

    plain = _order("Stop smoking and start walking every day.")
    t = transcriber.transcribe(plain)
    assert spot_drug_names(t, plain.samples).text == " ".join(w.text.strip() for w in t.words)
    empty = Transcript(text="", segments=(), language="en", duration=0.0)
    assert spot_drug_names(empty, np.zeros(0, np.float32)).text == ""
    short = Transcript(text="Start x", segments=(Segment(0, .1, "Start x", _words(("Start", 0, .05), ("x", .05, .1))),),
                       language="en", duration=0.1)
    assert spot_drug_names(short, np.zeros(1600, np.float32)).text == "Start x"  # 100 ms of silence

    class Broken:
        def spot(self, *a, **k):
            raise RuntimeError("a model file went missing")

    monkeypatch.setattr(drug_spotting, "default_spotter", lambda: Broken())
    with caplog.at_level("ERROR"):
        assert spot_drug_names(t, plain.samples).text == t.text
    assert "spotting failed" in caplog.text


def test_dose_candidates_regions_and_spoken_digits():
    from core.clinical.dose_spotting import dose_candidates, dose_region
    from core.clinical.drug_spotting import _spoken

    said = dict(dose_candidates())
    assert said["two hundred and fifty milligrams"] == said["two hundred fifty milligrams"] == "250 mg"
    assert said["one tablet"] == "1 tablet" and said["two puffs"] == "2 puffs" and said["half a milligram"] == "0.5 mg"
    assert said["two point five milligrams"] == "2.5 mg" and "seven puffs" not in said  # counted forms: 1-4 only
    ws = _words(("50", 0, .3), ("milligrams,", .3, .8), ("one", .9, 1.1), ("daily.", 1.1, 1.5))
    assert dose_region(ws, 0) == (0, 2)  # a dose ends with its unit
    assert dose_region(_words(("to", 0, .2), ("puffs", .2, .5), ("inhaled", .5, 1.0)), 0) == (0, 2)
    assert dose_region(_words(("by", 0, .2), ("mouth", .2, .5)), 0) is None  # no number: not a dose
    assert dose_region(ws, 4) is None
    # a number written with its unit ends the dose too: "i mouse" (by mouth) after it stays
    glued = _words(("2", 0, .2), (".5mg", .2, .6), ("i", .6, .7), ("mouse", .7, 1.0), ("at", 1.0, 1.1))
    assert dose_region(glued, 0) == (0, 2)
    assert dose_region(_words(("200,", 0, .3), ("and", .3, .4), ("50mg,", .4, .8), ("all", .8, .9), ("we", .9, 1.0)), 0) == (0, 3)
    hundreds = _words(("200,", 0, .4), ("and", .4, .5), ("50", .5, .8), ("mil", .8, 1), ("plums", 1, 1.3), ("as", 1.3, 1.4))
    assert dose_region(hundreds, 0) == (0, 5)  # "and" inside a number goes on
    assert dose_region(_words(("20", 0, .3), ("and", .3, .4), ("50", .4, .6)), 0) == (0, 1)  # not after 20
    assert dose_region(_words(("milligrams", 0, .5), ("by", .5, .6)), 0) == (0, 1)  # the number was lost
    assert dose_region(_words(("for", 0, .2), ("10", .2, .4), ("mg", .4, .6)), 0) == (0, 3)  # "forty"
    assert dose_region(_words(("for", 0, .2), ("pain", .2, .4)), 0) is None
    # a comma after a word that is no number ends the dose: the route follows ("two laps, topicly")
    assert dose_region(_words(("two", 0, .2), ("laps,", .2, .4), ("topicly", .4, .8), ("a", .8, .9)), 0) == (0, 2)
    # a number heard as other words before a word that sounds like a unit, only where asked for
    lost = _words(("for", 0, .2), ("the", .2, .3), ("millibrem,", .3, .7), ("intravenously", .7, 1.2))
    assert dose_region(lost, 0) is None and dose_region(lost, 0, lost_number=True) == (0, 3)
    twin = _words(("twin,", 0, .2), ("tamelogram,", .2, .6), ("all", .6, .7), ("at", .7, .8), ("once", .8, 1.0))
    assert dose_region(twin, 0, lost_number=True) == (0, 2)
    talk = _words(("for", 0, .2), ("the", .2, .3), ("people", .3, .7), ("who", .7, .8))
    assert dose_region(talk, 0, lost_number=True) is None
    assert _spoken(_words(("2", 0, .5), (".5mg", .5, 1), ("250", 1, 2))) == ["two", "point", "five", "milligrams", "two", "hundred",
                                                              "fifty"]


@pytest.mark.slow
def test_a_dose_the_recogniser_got_wrong_is_rewritten_from_the_audio(transcriber):
    from core.clinical.draft import draft_note
    from core.clinical.drug_spotting import spot_drug_names

    order = _order("Start sertraline fifty milligrams once daily.")
    t = transcriber.transcribe(order)
    assert "50" in t.text  # tiny.en: "Start search rely in 50 milligrams, one daily."

    def heard_as(swap):
        wrong = tuple(Word(swap(w.text.strip()), w.start, w.end, w.confidence) for w in t.words)
        return Transcript(text=" ".join(w.text for w in wrong), segments=(Segment(0, t.duration, "", wrong),),
                          language="en", duration=t.duration)

    unit = spot_drug_names(heard_as(lambda w: "millilitres," if w.startswith("milligram") else w), order.samples)
    assert "50 mg" in unit.text and "millilitres" not in unit.text  # a wrong unit is rewritten from the audio
    assert [r.replacement for r in unit.repairs] == ["sertraline", "50 mg"]
    garbled = spot_drug_names(heard_as(lambda w: {"milligrams,": "mil plums,"}.get(w, w)), order.samples)
    assert "50 mg" in draft_note(garbled.text).text  # a unit heard as other words: its sound (normalisation)
    # a dose heard as one keeps its number: rewriting numbers from the phones wrote wrong ones
    number = spot_drug_names(heard_as(lambda w: "10" if w == "50" else w), order.samples)
    assert [r.replacement for r in number.repairs] == ["sertraline"]
    assert [r.replacement for r in spot_drug_names(t, order.samples).repairs] == ["sertraline"]  # a right dose stays


def _dose_costs(monkeypatch, heard: float, other: float):
    """The spotter with the phones' costs faked: the words heard cost ``heard``, names, doses and
    instruction phrases ``other`` unless in the returned ``liked`` (dose or phrase -> cost); and ``spot(*words)``, each word given
    as (text, start, end) or as text alone (0.3 s apart), -> the text spotted."""
    from core.clinical.drug_spotting import default_spotter
    from core.pronunciation import spotting

    spotter = default_spotter()
    liked: dict[str, float] = {}

    def costs(lp, targets):
        out = np.full(len(targets), other)
        out[-1] = heard
        for written, _ in (spotter._dose_targets(), spotter._instruction_targets()):
            if len(targets) == len(written) + 1:
                for k, w in enumerate(written):
                    out[k] = liked.get(w, out[k])
        return out

    monkeypatch.setattr(spotting, "spot_costs", costs)
    samples = np.random.default_rng(0).normal(0, 0.01, 3 * 16000).astype(np.float32)

    def spot(*spec):
        ws = tuple(Word(w, 0.3 * i, 0.3 * i + 0.25, 0.9) if isinstance(w, str) else Word(*w, 0.9)
                   for i, w in enumerate(spec))
        text = " ".join(w.text for w in ws)
        t = Transcript(text=text, segments=(Segment(0.0, 3.0, text, ws),), language="en", duration=3.0)
        return spotter.spot(t, samples).text

    return spot, liked


def test_words_that_are_no_dose_keep_the_number_heard_first_and_a_lost_number_is_found(monkeypatch):
    """The phones may fix the tail of a dose heard as words ("two laps"), not its first digit:
    they liked 8 units there, where 2 drops was said. A number heard as other words before a
    garbled unit ("for the millibrem") is read as a dose too."""
    spot, liked = _dose_costs(monkeypatch, heard=20.0, other=60.0)  # names and other doses far worse

    liked.update({"8 units": 10.0, "2 drops": 14.0})
    laps = (("Give", 0, .3), ("trimethoprim", .3, 1.0), ("two", 1.0, 1.2), ("laps,", 1.2, 1.5), ("topically.", 1.6, 2.2))
    assert spot(*laps) == "Give trimethoprim two laps, topically."  # a wrong dose is worse than none
    liked.update({"8 units": 14.0, "2 drops": 10.0})
    assert spot(*laps) == "Give trimethoprim 2 drops, topically."
    from core.clinical.drug_spotting import _same_head
    assert _same_head("zero point five mil plums".split(), "0.5 mg") and not _same_head(["zero"], "5 mg")
    assert _same_head(["to", "rub"], "2 drops") and _same_head(["to", "rub"], "20 mg")  # "to" is no number heard
    liked.clear()
    liked.update({"40 mg": 14.0, "10 mg": 17.5})
    lost = (("Start", 0, .3), ("ticagrelor", .3, 1.0), ("for", 1.0, 1.2), ("the", 1.2, 1.3), ("millibrem,", 1.3, 1.8),
            ("intravenously.", 1.9, 2.6))
    assert spot(*lost) == "Start ticagrelor 40 mg, intravenously."


def test_a_drug_name_that_is_an_everyday_word_is_searched_like_other_words(monkeypatch):
    """Whisper writes everyday words for names it does not know, some of them lexicon names
    ("restart oxygen, and 1 tablet" for oxazepam): such a name is searched, not trusted; a rare one
    the recogniser wrote, or one of the clinician's list, stays."""
    from core.clinical.drug_spotting import default_spotter
    from core.clinical.medications import is_everyday_name
    from core.pronunciation import spotting

    assert all(is_everyday_name(n) for n in ("water", "oxygen", "Perform", "My Way"))
    assert not any(is_everyday_name(n) for n in ("aspirin", "morphine", "oxazepam", "metformin", "Halls water"))
    spotter = default_spotter()
    said = spotter.names.index("oxazepam")

    def costs(lp, targets):  # oxazepam explains the stretch far better than the words and any other name
        out = np.full(len(targets), 60.0)
        out[-1] = 20.0
        if len(targets) == len(spotter.names) + 1:
            out[said] = 5.0
        return out

    monkeypatch.setattr(spotting, "spot_costs", costs)
    samples = np.random.default_rng(0).normal(0, 0.01, 3 * 16000).astype(np.float32)
    ws = _words(("Restart", 0, .4), ("oxygen,", .4, 1.0), ("and", 1.0, 1.2), ("1", 1.3, 1.5), ("tablet", 1.5, 1.9),
                ("at", 1.9, 2.0), ("night.", 2.0, 2.4))
    text = " ".join(w.text for w in ws)
    t = Transcript(text=text, segments=(Segment(0.0, 3.0, text, ws),), language="en", duration=3.0)
    assert spotter.spot(t, samples).text.startswith("Restart oxazepam 1 tablet"), spotter.spot(t, samples).text
    assert spotter.spot(t, samples, vocabulary=["oxygen"]).text == text  # theirs: it stays


def test_a_dose_heard_as_one_is_told_from_words_that_are_none():
    from core.clinical.drug_spotting import _amount, _well_formed

    assert _well_formed("two hundred and fifty milligrams".split()) and _well_formed(["one", "tablet"])
    assert not _well_formed(["to", "drop"]) and not _well_formed("fifty mil plums".split())
    assert not _well_formed(["milligrams"]) and not _well_formed("hundred and fifty milligrams".split())
    assert _amount("two point five milligrams".split()) == "2.5" and _amount(["one", "gram"]) == "1"
    assert _well_formed(["ten", "milliliters"])  # US spelling: a dose as heard, not words to replace


def test_a_dose_heard_as_one_changes_its_number_only_where_the_phones_hear_another_far_better(monkeypatch):
    """"100 mg" heard where five hundred milligrams was said: the phones' 500 mg explains the audio
    far better (gain 20+) and leads every other dose (8+); a number they only somewhat prefer, or
    prefer with a close runner-up, stays. A dose said right but written apart ("200. And 50
    milligrams") is written as one."""
    from core.clinical.drug_spotting import MIN_NUMBER_FIX_GAIN, MIN_NUMBER_FIX_MARGIN

    spot, liked = _dose_costs(monkeypatch, heard=40.0, other=80.0)

    order = ("Restart", "mafenide", "100", "mg", "by", "mouth.")
    liked.update({"100 mg": 40.0, "500 mg": 40.0 - MIN_NUMBER_FIX_GAIN - 1, "800 mg": 80.0})
    assert spot(*order) == "Restart mafenide 500 mg by mouth."
    liked["800 mg"] = liked["500 mg"] + MIN_NUMBER_FIX_MARGIN - 1  # another number close behind: stays
    assert spot(*order) == "Restart mafenide 100 mg by mouth."
    liked.update({"500 mg": 40.0 - MIN_NUMBER_FIX_GAIN + 5, "800 mg": 80.0})  # not far enough better: stays
    assert spot(*order) == "Restart mafenide 100 mg by mouth."
    liked.clear()
    liked["250 mg"] = 40.0  # the words heard read as 250 mg exactly
    assert spot("Restart", "cosibelimab", "200.", "And", "50", "milligrams", "orally.") == \
        "Restart cosibelimab 250 mg orally."


def test_the_words_where_a_route_is_said_after_a_dose_are_found():
    from core.clinical.instruction_spotting import instruction_region

    def region(text: str, start: int) -> str | None:
        ws = _timed(text)
        span = instruction_region(ws, start)
        return span and " ".join(w.text for w in ws[span[0]:span[1]])

    assert region("metformin 250 mg or only four times a day", 3) == "or only"
    assert region("aspirin 100 mg, I'm out twice daily", 3) == "I'm out"
    assert region("aspirin 100 mg, by mouse has needed", 3) == "by mouse"  # "has needed" is as needed
    assert region("aspirin 100 mg by mouse in the morning", 3) == "by mouse"
    assert region("aspirin 2 puffs in tail, one staley for 5 days", 3) == "in tail,"
    assert region("aspirin 100 mg morally free times a day", 3) == "morally"  # "free" is three
    for said in ("aspirin 100 mg by mouth in the morning", "aspirin 100 mg once daily", "aspirin 100 mg for 5 days",
                 "aspirin 100 mg. My mouth is dry", "aspirin 100 mg and start metformin", "aspirin 100 mg"):
        assert region(said, 3) is None, said


def test_a_route_heard_as_other_words_after_a_dose_is_read_from_the_phones(monkeypatch):
    """"or only" for orally: the phones' best phrase leads every other one by far, explains the audio
    nearly as well as the words heard, and the words sound like it; ordinary words the phones like
    far better, or where no phrase stands out, or that sound nothing like it, stay. Never after a
    drug without a dose (talk)."""
    from core.clinical.drug_spotting import MIN_INSTRUCTION_GAIN, MIN_INSTRUCTION_MARGIN

    spot, liked = _dose_costs(monkeypatch, heard=40.0, other=80.0)
    order = ("Prescribe", "metformin", "250", "mg", "or", "only", "four", "times", "a", "day.")
    liked["orally"] = 40.0 - MIN_INSTRUCTION_GAIN  # as good as the words heard, if the gain floor is negative
    assert spot(*order) == "Prescribe metformin 250 mg orally four times a day."
    liked["by mouth"] = liked["orally"] + MIN_INSTRUCTION_MARGIN - 1  # another phrase close behind: stays
    assert spot(*order) == " ".join(order)
    liked.pop("by mouth")
    liked["orally"] = 40.0 - MIN_INSTRUCTION_GAIN + 1  # the words heard explain the audio better: stay
    assert spot(*order) == " ".join(order)
    liked["orally"] = 40.0
    # words that do not sound like the phrase stay, however the phones like it ("on an empty" stomach)
    assert spot("Continue", "metformin", "250", "mg", "on", "an", "empty", "stomach.") == \
        "Continue metformin 250 mg on an empty stomach."
    liked["orally"] = 0.0
    assert spot("Continue", "metformin", "or", "only", "at", "night.") == "Continue metformin or only at night."


def test_words_that_are_no_dose_give_way_to_the_dose_that_stands_out_among_the_doses():
    """"for 10 million drums" for forty milligrams: the words read back better than any dose (the
    phones like them too), but among the doses one leads by far; a name needs more."""
    from core.clinical.drug_spotting import NO_WORDS_MARGIN, NO_WORDS_MIN_SCORE, _listen

    ws = _timed("restart proflavine for 10 million drums intravenously")
    samples = np.zeros(16000 * 4, np.float32)

    def listen(piece, readings):  # the words first, then each choice: 40 mg far ahead of 10 mg
        return [0.0, -5.0, -5.0 - NO_WORDS_MARGIN - 3]

    gains = np.array([-13.0, -16.0])
    assert _listen(listen, ws, samples, 2, 6, ["forty milligrams", "ten milligrams"], gains) == (None, 0.0)
    chosen, margin = _listen(listen, ws, samples, 2, 6, ["forty milligrams", "ten milligrams"], gains, no_words=True)
    assert chosen == 0 and margin == pytest.approx(NO_WORDS_MARGIN + 6)
    close = lambda piece, readings: [0.0, -5.0, -6.0]  # noqa: E731 - no dose stands out
    assert _listen(close, ws, samples, 2, 6, ["forty milligrams", "ten milligrams"], gains, no_words=True)[0] is None
    # "100 milledrams": the words read 17 better than 100 mg, and 100 mg leads the doses by 20
    behind = lambda piece, readings: [0.0, -17.0, -34.0]  # noqa: E731
    assert _listen(behind, ws, samples, 2, 6, ["forty milligrams", "ten milligrams"], gains, no_words=True)[0] == 0
    far = lambda piece, readings: [0.0, NO_WORDS_MIN_SCORE + 13 - 5, -80.0]  # noqa: E731 - words far better than any dose
    assert _listen(far, ws, samples, 2, 6, ["forty milligrams", "ten milligrams"], gains, no_words=True)[0] is None


def test_a_dose_written_another_way_is_the_same_dose():
    from core.clinical.drug_spotting import _dose_key

    assert _dose_key("10 milliliters") == _dose_key("10 ml") == _dose_key("10 millilitres")
    assert _dose_key("1 gram") == _dose_key("1 g") and _dose_key("250 milligrams") == _dose_key("250 mg")
    assert _dose_key("75 micrograms") == _dose_key("75 mcg") != _dose_key("75 mg")


def test_the_phones_best_name_is_taken_when_the_words_written_sound_like_it():
    from core.clinical.drug_spotting import _sounds_written

    assert _sounds_written(_words(("try", 0, .2), ("and", .2, .3), ("train,", .3, .6)), "triamterene")
    assert _sounds_written(_words(("search", 0, .3), ("line", .3, .6)), "sertraline")
    assert not _sounds_written(_words(("rally", 0, .3),), "cangrelor")
    assert not _sounds_written(_words(("deadline", 0, .3), ("to", .3, .4)), "calamine")


def test_the_written_candidate_is_found_as_written_or_nearly_so():
    from core.clinical.drug_spotting import written_candidate

    names = ["canakinumab", "insulin glargine", "cangrelor"]
    assert written_candidate("Restart canakinumab, 250 milligrams.", names) == "canakinumab"
    assert written_candidate("Start Insulin Glargine 10 units at night.", names) == "insulin glargine"
    assert written_candidate("Restart canakinamab 250 milligrams.", names) == "canakinumab"  # spelt nearly so
    assert written_candidate("Restart can you map 250 milligrams.", names) is None
    assert written_candidate("Plan, rail 5 mg.", names) is None and written_candidate("", names) is None
    assert written_candidate("cangrelor and canakinumab", names) == "canakinumab"  # the phones' order decides


@pytest.mark.slow
def test_where_no_name_stands_out_the_recogniser_picks_among_the_phones_best(transcriber, caplog):
    from core.clinical.drug_spotting import default_spotter

    order = _order("Start sertraline fifty milligrams once daily.")
    t = transcriber.transcribe(order)
    asked = []

    def redecode(piece, names):  # stands in for the recogniser: writes the name if it is offered
        asked.append((len(piece) / 16000, list(names)))
        return "Start sertraline 50 milligrams once daily." if "sertraline" in names else "Start search rely in."

    spotter = default_spotter()
    never = {"min_margin": 1e9, "agreed_similarity": 2.0}  # the phones alone never decide here
    undecided = spotter.spot(t, order.samples, **never)
    assert not [r for r in undecided.repairs if r.replacement == "sertraline"] and undecided.asked == 0
    picked = spotter.spot(t, order.samples, redecode=redecode, **never)
    assert picked.asked == 1 and "sertraline" in picked.text.lower()
    ((seconds, names),) = asked
    assert len(names) == 5 and "sertraline" in names and 1.0 < seconds < t.duration  # the order, not the file
    (r,) = [r for r in picked.repairs if r.replacement == "sertraline"]
    assert r.similarity == 0.5  # for the clinician to review
    # the recogniser writes none of the candidates: the words heard stay
    kept = spotter.spot(t, order.samples, redecode=lambda piece, names: "Start search rely in.", **never)
    assert kept.asked == 1 and "sertraline" not in kept.text.lower()

    def broken(piece, names):
        raise RuntimeError("the recogniser ran out of memory")

    with caplog.at_level("ERROR"):
        failed = spotter.spot(t, order.samples, redecode=broken, **never)
    assert "sertraline" not in failed.text.lower() and "deciding between spotted drug names failed" in caplog.text


@pytest.mark.slow
def test_where_no_name_stands_out_the_recogniser_listens_to_each_reading(transcriber, caplog):
    from core.clinical.drug_spotting import LISTEN_CANDIDATES, default_spotter, recogniser_listen

    order = _order("Start sertraline fifty milligrams once daily.")
    t = transcriber.transcribe(order)
    never = {"min_margin": 1e9, "agreed_similarity": 2.0}  # the phones alone never decide here
    read = []

    def listen(piece, readings):  # stands in for the recogniser: the reading with sertraline fits best
        read.append((len(piece) / 16000, list(readings)))
        return [30.0 if "sertraline" in r else 0.0 for r in readings]

    spotter = default_spotter()
    picked = spotter.spot(t, order.samples, listen=listen, **never)
    assert "sertraline" in picked.text.lower() and picked.asked == 0
    ((seconds, readings),) = read
    assert len(readings) == 1 + LISTEN_CANDIDATES and 1.0 < seconds < t.duration  # the order, not the file
    assert readings[0].lower().startswith("start") and all(r.lower().startswith("start") for r in readings)
    # the words first heard fit much better than any name: they stay
    kept = spotter.spot(t, order.samples, listen=lambda piece, rs: [50.0] + [0.0] * (len(rs) - 1), **never)
    assert "sertraline" not in kept.text.lower()

    def support(of_name):  # the name's reading this far behind the words first heard, the others far behind
        return lambda piece, rs: [0.0] + [of_name if "sertraline" in r else -40.0 for r in rs[1:]]

    assert "sertraline" in spotter.spot(t, order.samples, listen=support(-3.0), **never).text.lower()
    # the phones prefer sertraline to the words heard (their best name): a little less support will do
    assert "sertraline" in spotter.spot(t, order.samples, listen=support(-5.0), **never).text.lower()
    # the phones alone would carry it, but the recogniser hears the words first written much better
    assert "sertraline" not in spotter.spot(t, order.samples, listen=support(-7.0), **never).text.lower()

    def broken(piece, readings):
        raise RuntimeError("the recogniser ran out of memory")

    with caplog.at_level("ERROR"):
        failed = spotter.spot(t, order.samples, listen=broken, **never)
    assert "sertraline" not in failed.text.lower() and "listening to the spotted drug names failed" in caplog.text
    # the real recogniser: it hears the name in the order read with it
    real = spotter.spot(t, order.samples, listen=recogniser_listen(transcriber), **never)
    assert "sertraline" in real.text.lower(), real.considered


@pytest.mark.slow
def test_the_recogniser_scores_readings_of_a_piece(transcriber):
    """Teacher-forced scores: what was said scores above a reading with another word in it."""
    order = _order("Start sertraline fifty milligrams once daily.")
    said, other = transcriber.score_texts(order.samples, ["Start sertraline, 50 milligrams once daily.",
                                                          "Start potassium, 50 milligrams once daily."])
    assert said > other and said < 0
    assert transcriber.score_texts(order.samples, []) == []


@pytest.mark.slow
def test_batched_readings_score_as_each_read_alone(transcriber):
    """The term search reads many sequences in one batch (the audio's keys and values shared, the
    tokens all begin with read once): each score equals that sequence read alone, token by token."""
    order = _order("Start sertraline fifty milligrams once daily.")
    search, encoded, prefix, tok = transcriber._term_inputs(order.samples, "Start", "en", 8.0)
    seqs = [tok.encode(t) for t in (" sertraline, 50", " sertraline", " ser", " potassium")]
    enc = torch.from_numpy(np.ascontiguousarray(encoded, dtype=np.float32))

    def alone(seq: list[int], boundary: bool) -> float:
        with torch.no_grad():
            hidden = search.decoder(input_ids=torch.tensor([prefix + seq]), encoder_hidden_states=enc).last_hidden_state[0]
        rows = search._log_probs(hidden[len(prefix) - 1:])
        total = float(sum(rows[i, t] for i, t in enumerate(seq)))
        return total + (float(torch.logsumexp(rows[len(seq)][search.boundary], 0)) if boundary else 0.0)

    for boundary in (False, True):
        assert search.forced(encoded, prefix, seqs, boundary) == pytest.approx(
            [alone(s, boundary) for s in seqs], abs=1e-3)
    shared = [tok.encode(" sertraline, 50"), tok.encode(" sertraline, 25")]  # all but the last token shared
    assert search.forced(encoded, prefix, shared) == pytest.approx([alone(s, False) for s in shared], abs=1e-3)
    assert search.forced(encoded, prefix, []) == []


@pytest.mark.slow
def test_scores_on_silence_are_kept_and_the_same_in_any_company(transcriber, monkeypatch):
    """A reading's score on silence is a prior, asked about again and again: worked out once, then
    kept; it does not depend on the other readings scored beside it."""
    silence = np.zeros(32000, np.float32)
    texts = ["Start sertraline, 50 milligrams.", "Start potassium, 50 milligrams."]
    alone = []
    for t in texts:
        transcriber._priors.clear()
        alone.append(transcriber.score_texts(silence, [t])[0])
    transcriber._priors.clear()
    both = transcriber.score_texts(silence, texts)
    assert both == pytest.approx(alone, abs=1e-3)
    term = transcriber.score_terms(silence, "Start", ["sertraline"])

    class NoReading:  # the model, but any reading fails the test
        def __init__(self, model):
            self.model = model

        def __getattr__(self, name):
            return getattr(self.model, name)

        def align(self, *a, **k):
            pytest.fail("a kept prior was worked out again")

    monkeypatch.setattr(transcriber, "_model", NoReading(transcriber._model))
    monkeypatch.setattr(transcriber._term_search, "forced",
                        lambda *a, **k: pytest.fail("a kept prior was worked out again"))
    assert transcriber.score_texts(silence, texts[::-1]) == both[::-1]
    assert transcriber.score_terms(silence, "Start", ["sertraline"]) == term
    with pytest.raises(pytest.fail.Exception):  # the audio itself is never taken from the store
        transcriber.score_texts(np.full(32000, 0.01, np.float32), texts)
    transcriber.forget_priors()
    with pytest.raises(pytest.fail.Exception):
        transcriber.score_texts(silence, texts)


@pytest.mark.slow
def test_a_dose_whose_number_was_lost_is_read_back_to_the_recogniser(transcriber, monkeypatch):
    from core.clinical import drug_spotting
    from core.clinical.drug_spotting import default_spotter, recogniser_listen

    monkeypatch.setattr(drug_spotting, "MIN_DOSE_MARGIN", 1e9)  # the phones alone never decide here

    order = _order("Start sertraline fifty milligrams once daily.")
    t = transcriber.transcribe(order)
    kept = tuple(w for w in t.words if w.text.strip() != "50")  # "... search rely in milligrams, one daily."
    assert len(kept) == len(t.words) - 1
    lost = Transcript(text=" ".join(w.text for w in kept), segments=(Segment(0, t.duration, "", kept),),
                      language="en", duration=t.duration)
    spotter = default_spotter()
    read = []

    def listen(piece, readings):  # stands in for the recogniser: "50 milligrams" fits best
        read.append(readings)
        return [30.0 if "50 milligrams" in r else 0.0 for r in readings]

    assert "50 mg" not in spotter.spot(lost, order.samples, ["sertraline"]).text
    fixed = spotter.spot(lost, order.samples, ["sertraline"], listen=listen)
    assert "50 mg" in fixed.text and any("50 milligrams" in r for rs in read for r in rs)
    # the real tiny.en: "50" and "15" sound alike to it (margin 2.6 < 6), so it writes neither
    real = spotter.spot(lost, order.samples, ["sertraline"], listen=recogniser_listen(transcriber))
    assert "15 mg" not in real.text and "milligrams" in real.text, real.considered
