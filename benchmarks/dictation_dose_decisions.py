"""Every dose decision of the drug spotting on the dictation sets, next to the item's gold doses:
the data the dose thresholds (``core.clinical.drug_spotting``: MIN_NUMBER_FIX_GAIN and the rest)
are chosen on, and the same for the words after each dose where a route or frequency is said
(MIN_INSTRUCTION_GAIN).

For each set and decode (plain: no list, the recogniser proposes names; biased: the set's list),
each dose the spotting weighed is printed as one JSON line: the words heard, the phones' best
dose, its gain over the words and its margin over the next dose, and whether the heard dose and
the phones' best are among the item's gold doses. A summary follows of the doses heard as one
("100 milligrams") whose number the phones would change, then every reading of the words after a
dose as a route or frequency. The after-doses set (``benchmarks.dictation_sets.AFTER_DOSES``:
ordinary words after a dose, "with food", "on an empty stomach") is decoded here (it is small); a
phrase the phones read there is one not said.

    python benchmarks/dictation_dose_decisions.py --transcripts runs/dictation_asr_sets.json --sets untuned

Reads the decodes cached by ``benchmarks/dictation.py --transcripts`` (run it first; the audio is
made again with espeak-ng). About 2 min per set and decode on 2 cores.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--transcripts", type=Path, required=True, help="the cache benchmarks/dictation.py wrote")
    ap.add_argument("--sets", nargs="+", default=["tuned/orders", "untuned", "untuned2", "after-doses"])
    args = ap.parse_args()
    from benchmarks.dictation import norm, speak
    from apps.medical_dictation.config import asr_options
    from benchmarks.dictation_sets import AFTER_DOSES, UNTUNED_VOICES, VOICES, meds, orders, untuned_sets
    from core.asr import get_transcriber
    from core.asr.types import Segment, Transcript, Word
    from core.clinical.drug_spotting import (_amount, _spoken, _well_formed, instruction_agreed, recogniser_listen,
                                             recogniser_propose, spot_drug_names)
    from core.text.sounds_like import phones_of, sound_similarity
    from core.clinical.normalisation import normalise_numbers_and_units
    from core.clinical.repair import INSTRUCTION_PHRASES

    notes = [json.loads(p.read_text()) for p in sorted((args.data / "primock57" / "notes").glob("*.json"))]
    gold_notes = [meds(n["note"]) for n in notes]
    untuned, untuned2 = untuned_sets(args.data)
    sets = {"tuned/orders": ([orders(sorted(g), seed=i) for i, g in enumerate(gold_notes) if g], VOICES),
            "untuned": (untuned, UNTUNED_VOICES), "untuned2": (untuned2, UNTUNED_VOICES),
            "after-doses": ([(s, {}) for s in AFTER_DOSES], VOICES)}
    tuned_list = [m for m, _ in Counter(m for g in gold_notes for m in g).most_common(40)]
    cache = json.loads(args.transcripts.read_text())
    tr = get_transcriber("base")
    listen, propose = recogniser_listen(tr), recogniser_propose(tr)
    work = Path(tempfile.mkdtemp(prefix="parlance-dose-decisions-"))
    rows, instructions = [], []
    for set_name in args.sets:
        items, voices = sets[set_name]
        entry = cache.get(f"base:{set_name}:app-options-3")
        if set_name == "after-doses" and entry is None:  # small: decoded here (plain and with the tuned list)
            audios = [speak(said, i, work / f"{i}.wav", voices) for i, (said, _) in enumerate(items)]
            entry = {"said": [s for s, _ in items], "texts": {}, "words": {}}
            for decode, vocab in (("plain", []), ("biased", tuned_list)):
                out = tr.transcribe_many(audios, asr_options(vocab))
                entry["texts"][decode] = [t.text for t in out]
                entry["words"][decode] = [[[w.text, w.start, w.end, w.confidence] for w in t.words] for t in out]
            cache[f"base:{set_name}:app-options-3"] = entry
            args.transcripts.write_text(json.dumps(cache))
        if entry is None or entry["said"] != [s for s, _ in items]:
            sys.exit(f"{set_name}: no decode of this set in {args.transcripts}; run benchmarks/dictation.py first")
        for decode in ("plain", "biased"):
            vocab = [] if decode == "plain" else (tuned_list if set_name.startswith(("tuned", "after"))
                                                  else sorted({m for _, g in items for m in g}))
            for i, (said, gold) in enumerate(items):
                audio = speak(said, i, work / f"{i}.wav", voices)
                text, ws = entry["texts"][decode][i], entry["words"][decode][i]
                seg = Segment(0.0, audio.duration, text, tuple(Word(*w) for w in ws))
                r = spot_drug_names(Transcript(text=text, segments=(seg,), language="en", duration=audio.duration),
                                    audio.samples, vocab, None, listen, propose if decode == "plain" else None)
                golds = {norm(a["dosage"]) for a in gold.values() if a.get("dosage")}
                said_instructions = {norm(a[k]) for a in gold.values() for k in ("route", "frequency") if a.get(k)}
                for heard, top, gain, margin in r.considered:
                    if top and top[0].isdigit():
                        rows.append({"set": set_name, "decode": decode, "heard": heard, "top": top, "gain": gain,
                                     "margin": margin, "top_right": norm(top) in golds,
                                     "heard_right": norm(normalise_numbers_and_units(heard)) in golds})
                        print(json.dumps(rows[-1]), flush=True)
                    elif top in INSTRUCTION_PHRASES:
                        instructions.append({"set": set_name, "decode": decode, "heard": heard, "top": top,
                                             "gain": gain, "margin": margin,
                                             "top_right": norm(top) in said_instructions})
                        print(json.dumps(instructions[-1]), flush=True)
    print("\nDoses heard as one whose number the phones would change (gain, margin, which was right):")
    for r in rows:
        spoken = _spoken([Word(w, 0, 0, 1) for w in r["heard"].split()])
        if _well_formed(spoken) and _amount(spoken) != r["top"].split()[0]:
            right = "the phones" if r["top_right"] else "the words" if r["heard_right"] else "neither"
            print(f"  {r['set']:13} {r['decode']:6} {r['heard']!r:32} -> {r['top']:9} gain {r['gain']:6.2f} "
                  f"margin {r['margin']:6.2f}  right: {right}")

    print("\nWords after a dose where a route or frequency is said, and the phones' best phrase (by gain; "
          "similarity: how the words sound like it; taken: by the thresholds now):")
    for r in sorted(instructions, key=lambda r: -r["gain"]):
        heard = re.sub(r"[^a-z' ]", "", r["heard"].lower()).split()
        sim = sound_similarity(phones_of(heard), phones_of(r["top"].split()))
        taken = r["taken"] = instruction_agreed(heard, r["top"], r["gain"], r["margin"])
        print(f"  {r['set']:13} {r['decode']:6} {r['heard']!r:32} -> {r['top']:17} gain {r['gain']:6.2f} "
              f"margin {r['margin']:6.2f} similarity {sim:4.2f}  {'said' if r['top_right'] else 'not said':8}"
              f"  {'taken' if taken else ''}")
    print(json.dumps({"dose_decisions": len(rows), "instruction_readings": len(instructions),
                      "instructions_taken_said": sum(r["taken"] and r["top_right"] for r in instructions),
                      "instructions_taken_not_said": sum(r["taken"] and not r["top_right"] for r in instructions),
                      "after_doses_taken": sum(r["taken"] for r in instructions if r["set"] == "after-doses")}))


if __name__ == "__main__":
    main()
