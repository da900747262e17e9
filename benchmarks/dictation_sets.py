"""The dictation benchmark's two sets, read aloud by espeak-ng (clearly synthetic speech).

- tuned (PriMock57): each consultation note read as written (shorthand spoken out), and one
  dictated order per medication in it. The repair rules and thresholds were tuned on this set.
- untuned: orders and short notes whose drugs are drawn at random (fixed seed) from the medication
  lexicon's ingredients, none of them a PriMock57 drug, read by other voices at other speeds.
  Nothing was tuned on it; it stands for a clinician whose drugs nobody tried.
"""
from __future__ import annotations

import csv
import json
import random
import re
from pathlib import Path

VOICES = [("en-us+m3", 150), ("en-gb+f3", 140), ("en-us+f2", 165)]
# clinician shorthand -> what a dictating clinician would say
SPOKEN = [(r"\bhx\b", "history"), (r"\bpmhx?\b", "past medical history"), (r"\bdh\b", "drug history"),
          (r"\bsh\b", "social history"), (r"\bfh\b", "family history"), (r"\bimp\b", "impression"),
          (r"\bo/e\b", "on examination"), (r"\bex\b", "examination"), (r"\bprn\b", "as needed"),
          (r"\bod\b", "once daily"), (r"\bbd\b", "twice daily"), (r"\btds\b", "three times daily"),
          (r"\bqds\b", "four times daily"), (r"\bpt\b", "patient"), (r"(\d+)/7\b", r"\1 days"),
          (r"(\d+)/52\b", r"\1 weeks"), (r"\bmg\b", "milligrams"), (r"\bmcg\b", "micrograms"),
          (r"\bml\b", "millilitres"), (r"\bx(\d)", r"\1 times"), (r"\bNKDA\b", "no known drug allergies")]


# pieces of a dictated order as (said, written): the written form is what the note should say;
# REGIMENS pair a dose form with a route it goes with: (dose said, dose written, route said, route written)
REGIMENS = [("five hundred milligrams", "500 mg", "by mouth", "by mouth"),
            ("two hundred and fifty milligrams", "250 mg", "orally", "orally"),
            ("ten milligrams", "10 mg", "by mouth", "by mouth"), ("twenty milligrams", "20 mg", "orally", "orally"),
            ("forty milligrams", "40 mg", "intravenously", "intravenously"),
            ("one gram", "1 g", "intravenously", "intravenously"), ("two puffs", "2 puffs", "inhaled", "inhaled"),
            ("seventy five micrograms", "75 mcg", "by mouth", "by mouth"),
            ("two point five milligrams", "2.5 mg", "by mouth", "by mouth"),
            ("one tablet", "1 tablet", "orally", "orally"), ("one hundred milligrams", "100 mg", "by mouth", "by mouth"),
            ("five milligrams", "5 mg", "subcutaneously", "subcutaneously"),
            ("two drops", "2 drops", "topically", "topically")]
FREQUENCIES = [("once daily", "once daily"), ("twice daily", "twice daily"), ("three times a day", "three times a day"),
               ("four times a day", "four times a day"), ("at night", "at night"), ("as needed", "as needed"),
               ("every four to six hours", "every 4 to 6 hours"), ("in the morning", "in the morning")]
DURATIONS = [("for seven days", "for 7 days"), ("for five days", "for 5 days"), ("for two weeks", "for 2 weeks"),
             ("for three months", "for 3 months")]
VERBS = ["Start", "Continue", "Prescribe", "Give", "Restart"]


def orders(note_meds: list[str], seed: int) -> tuple[str, dict[str, dict[str, str]]]:
    """A dictated plan with one order per medication, and the attributes it states."""
    import random

    rnd = random.Random(seed)
    said, gold = ["Plan colon"], {}
    for med in note_meds:
        (d_s, d_w, r_s, r_w), (f_s, f_w) = rnd.choice(REGIMENS), rnd.choice(FREQUENCIES)
        dur = rnd.choice(DURATIONS + [None, None])
        said.append(f"{rnd.choice(VERBS)} {med} {d_s} {r_s} {f_s}" + (f" {dur[0]}" if dur else "") + " period")
        gold[med] = {"dosage": d_w, "route": r_w, "frequency": f_w, **({"duration": dur[1]} if dur else {})}
    return " ".join(said), gold


def spoken_form(note: str) -> str:
    text = note
    for pattern, repl in SPOKEN:
        text = re.sub(pattern, repl, text, flags=re.I)
    return text.replace(":", " colon ").replace("\n", " period ")


def meds(text: str) -> dict[str, dict]:
    from core.clinical.entities import extract_entities

    return {e.text.lower(): e.attributes for e in extract_entities(text) if e.label == "MEDICATION"}


# -- the untuned set -----------------------------------------------------------------------------
UNTUNED_VOICES = [("en-gb-scotland+m1", 155), ("en-us+f4", 170), ("en-gb-x-rp+m7", 140), ("en-029+f1", 150)]
UNTUNED_SEED = 2026
# lexicon rows that are not drugs a clinician dictates (allergen extracts, nutrients, vaccines, ...)
NOT_DICTATED = re.compile(r"extract|pollen|venom|vaccine|allergenic|antigen|toxoid|virus|strain|hair|dander|mold|"
                          r"smut|feather|epithel|insect|mite|food|serum|globulin|immune|cells|tissue|bacteria|plant|"
                          r"^(starch|proline|lactase|glycine|alanine|leucine|isoleucine|valine|serine|lysine|arginine|"
                          r"histidine|methionine|threonine|tryptophan|tyrosine|cysteine|glutamine|asparagine|"
                          r"phenylalanine|water|oxygen|nitrogen|helium|sucrose|glucose|dextrose|fructose|lactose|"
                          r"gelatin|talc|lanolin|glycerin|petrolatum|paraffin|alcohol|sodium|potassium|calcium)$")
PROBLEMS = ["hypertension", "type two diabetes", "asthma", "low back pain", "depression", "atrial fibrillation",
            "reflux", "migraine", "osteoarthritis", "high cholesterol", "a chest infection", "eczema"]


def drug_pool(lexicon_tsv: Path, exclude: set[str]) -> list[str]:
    """Single-word ingredient names of the lexicon (not extracts, nutrients or vaccines), minus ``exclude``."""
    with lexicon_tsv.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    return sorted({r["name"] for r in rows if r["kind"] == "ingredient" and re.fullmatch(r"[a-z]{6,}", r["name"])
                   and not NOT_DICTATED.search(r["name"]) and r["name"] not in exclude})


def untuned_set(pool: list[str], n_orders: int = 24, n_notes: int = 12, seed: int = UNTUNED_SEED
                ) -> list[tuple[str, dict[str, dict[str, str]]]]:
    """(what is said, gold medications with the attributes said) for ``n_orders`` dictated plans of
    one or two orders and ``n_notes`` short notes (a current medication named without a dose, and a
    new one ordered with it)."""
    rnd = random.Random(seed)
    drugs = rnd.sample(pool, n_orders * 2 + n_notes * 2)
    out = []
    for i in range(n_orders):
        meds = drugs[2 * i: 2 * i + 1 + (i % 2)]
        said, gold = orders(meds, seed=seed + i)
        out.append((said, gold))
    base = n_orders * 2
    for i in range(n_notes):
        current, new = drugs[base + 2 * i], drugs[base + 2 * i + 1]
        plan, gold = orders([new], seed=seed + 100 + i)
        said = (f"Seen today for {rnd.choice(PROBLEMS)} period She takes {current} at the moment and it suits her "
                f"period {plan}")
        out.append((said, {current: {}, **gold}))
    return out


def untuned_sets(data: Path) -> tuple[list, list]:
    """The untuned set and untuned2: a second one (other drugs, another seed), kept apart after the
    untuned set's misses had been read to find the spotting's blind spots. Drugs of neither are
    PriMock57's (``data``: the shared data folder)."""
    primock = {m for n in sorted((data / "primock57" / "notes").glob("*.json")) for m in meds(json.loads(n.read_text())["note"])}
    pool = drug_pool(data / "medications" / "medications.tsv", primock)
    untuned = untuned_set(pool)
    return untuned, untuned_set(sorted(set(pool) - {m for _, g in untuned for m in g}), seed=UNTUNED_SEED + 1)


# -- talk: a drug verb, no drug ------------------------------------------------------------------
# what a clinician dictates after the verbs the spotting searches after, with no drug named: the
# names written here are all names not said (a false insertion each). Written for the benchmark,
# never tuned on: plans without drugs, and a patient's habits after "takes" / "uses".
TALK = [
    "Plan colon start physiotherapy twice a week period",
    "Continue the current plan and review in two weeks period",
    "Give advice on diet and exercise period",
    "Stop smoking and cut down on alcohol period",
    "Increase fluids and rest at home period",
    "Restart gentle exercise when the pain settles period",
    "Prescribe rest for two weeks period",
    "Reduce the hours at work for now period",
    "She takes the bus to work at the moment period",
    "He takes a long walk every evening period",
    "She takes her blood pressure at home twice a day period",
    "He is taking time off work this week period",
    "She takes care of her mother at the weekends period",
    "He uses a walking stick outdoors period",
    "She uses a spacer with her inhaler period",
    "He takes a shower in the morning and feels better period",
    "She is using ice on the knee twice daily period",
    "He takes part in football on Saturdays period",
    "Start a food diary and bring it to the next visit period",
    "Continue to monitor the blood sugar at home period",
    "Give the leaflet on back pain period",
    "Stop the running until the ankle heals period",
    "She takes her son to school every morning period",
    "He takes his time climbing the stairs period",
]


# orders where ordinary words follow the dose ("with food", "when wheezy"): the words after a dose
# are read by the phones for a route heard as other words (core.clinical.drug_spotting,
# MIN_INSTRUCTION_GAIN), and these must stay. Written for the instruction thresholds (tuned voices);
# every phrase the phones would write here is one not said.
AFTER_DOSES = [
    "Start amoxicillin five hundred milligrams with food three times a day for five days period",
    "Give paracetamol one gram if the pain is bad period",
    "Continue metformin five hundred milligrams with meals twice daily period",
    "Start omeprazole twenty milligrams before breakfast period",
    "Prescribe ibuprofen four hundred milligrams after meals as needed period",
    "Continue sertraline fifty milligrams each morning period",
    "Give salbutamol two puffs when wheezy period",
    "Start amlodipine five milligrams with water period",
    "Start naproxen five hundred milligrams with a meal twice daily period",
    "Give codeine thirty milligrams only if needed period",
    "Continue levothyroxine one hundred micrograms on an empty stomach period",
    "Start prednisolone forty milligrams in one go with food period",
    "Restart lisinopril ten milligrams so long as the blood pressure is fine period",
    "Give aspirin seventy five milligrams now then daily period",
    "Continue furosemide forty milligrams unless she is dizzy period",
    "Start cetirizine ten milligrams when the pollen count is high period",
]
