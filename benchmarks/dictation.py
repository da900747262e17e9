"""Dictation end to end: PriMock57 clinician notes read aloud (clearly synthetic: espeak-ng voices
at several speeds) -> Transcriber -> dictation normalisation -> medication repair -> entities.

Two dictation sets, each run through the same four set-ups side by side — plain; + lexicon
spelling repair; + vocabulary biasing (a clinician's list: the 40 medications most common across
the notes); + both — with the app's full entity layer (lexicon, NER tagger, terms):

- notes: each note read as written (shorthand spoken out). Gold: the medications the lexicon finds
  in the note text. Figure: medication-name recall.
- orders: the notes almost never write a dose after a drug, so for dose / route / frequency /
  duration a second set dictates, for each note, one order per medication in it ("start
  amoxicillin five hundred milligrams by mouth three times a day for seven days"), the regimen
  drawn (seeded) from common adult patterns. Gold: the regimen said. Figures: name recall and
  exact attribute accuracy over all orders (a missed drug counts as wrong attributes).

Also the time from a 60 s dictation to a draft note (transcribe, normalise, repair, entities with
the NER tagger, SOAP), median of --repeats after a warm-up run, as a ratio to the peer in the same
run (faster-whisper, README usage, same weights, only transcribing the same 60 s), and peak RSS.
The last line printed is one JSON object with the figures and the machine's facts.

Caveat: the "clinician's list" is drawn from the same notes, so the biasing rows are an upper
bound (a clinician whose list holds the drugs they dictate).

    python benchmarks/dictation.py --limit 10     # quick
    python benchmarks/dictation.py                # all 57 notes

Needs espeak-ng. The last line printed is one JSON object.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.harness import PeakRss, finish, ratio, time_calls  # noqa: E402
from benchmarks.peers import faster_whisper  # noqa: E402
os.environ.setdefault("HF_HUB_OFFLINE", "1")
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


def norm(value: str) -> str:
    v = value.lower().replace("milligrams", "mg").replace("milligram", "mg")
    return re.sub(r"\s+", "", v)


ATTRIBUTES = ("dosage", "route", "frequency", "duration")


def score(gold: list[dict[str, dict]], texts: list[str], repair: bool, vocab: list[str], tagger,
          errors: list | None = None) -> dict:
    """Medication-name recall and exact attribute accuracy (over gold medications that state it);
    ``errors`` collects (gold medication, its attributes, what the pipeline found, the text)."""
    from core.clinical.draft import draft_note

    found = total = 0
    ok, n = Counter(), Counter()
    for g, raw in zip(gold, texts):
        draft = draft_note(raw, vocabulary=vocab if repair else (), tagger=tagger, repair=repair)  # the app's path
        text = draft.text
        got = {e.text.lower(): e.attributes for e in draft.entities if e.label == "MEDICATION"}
        for med, attrs in g.items():
            total += 1
            found += med in got
            for key in ATTRIBUTES:
                if attrs.get(key):
                    n[key] += 1
                    right = med in got and norm(got[med].get(key, "")) == norm(attrs[key])
                    ok[key] += right
                    if errors is not None and not right:
                        errors.append((med, key, attrs[key], got.get(med), text))
            if errors is not None and med not in got:
                errors.append((med, "name", med, None, text))
    out = {"medication_recall": found / max(total, 1), "medications": total}
    for key in ATTRIBUTES:
        if n[key]:
            out[f"{key}_accuracy"] = ok[key] / n[key]
    return out


def speak(text: str, i: int, path: Path):
    from core.audio import load_audio

    voice, speed = VOICES[i % len(VOICES)]
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(path), text], check=True, capture_output=True)
    return load_audio(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--show-errors", type=int, default=0, help="print this many misses of the repair+biasing set-up")
    ap.add_argument("--transcripts", type=Path, default=None,
                    help="JSON cache of the recogniser's output: written on the first run, reused after "
                         "(to tune the text steps without decoding the audio again)")
    args = ap.parse_args()
    if not shutil.which("espeak-ng"):
        sys.exit("espeak-ng is needed: apt-get install espeak-ng")
    import numpy as np

    from core.asr import TranscribeOptions, get_transcriber
    from core.audio import Audio
    from core.clinical.draft import draft_note
    from core.text.ner import get_ner

    notes = [json.loads(p.read_text()) for p in sorted((args.data / "primock57" / "notes").glob("*.json"))]
    notes = notes[: args.limit] if args.limit else notes
    gold_notes = [meds(n["note"]) for n in notes]
    vocab = [m for m, _ in Counter(m for g in gold_notes for m in g).most_common(40)]
    plans = [orders(sorted(g), seed=i) for i, g in enumerate(gold_notes) if g]
    sets = {"notes": ([spoken_form(n["note"]) for n in notes], gold_notes),
            "orders": ([said for said, _ in plans], [g for _, g in plans])}
    work = Path(tempfile.mkdtemp(prefix="parlance-bench-dict-"))
    tr, tagger = get_transcriber(), get_ner()
    setups = {"plain": ("plain", False), "repair": ("plain", True), "biasing": ("biased", False),
              "repair+biasing": ("biased", True)}
    results, minutes = {}, {}
    cache = json.loads(args.transcripts.read_text()) if args.transcripts and args.transcripts.exists() else {}
    for set_name, (said, gold) in sets.items():
        if set_name in cache and cache[set_name]["said"] == said:
            texts, minutes[set_name] = cache[set_name]["texts"], cache[set_name]["minutes"]
        else:
            audios = [speak(t, i, work / f"{set_name}{i}.wav") for i, t in enumerate(said)]
            minutes[set_name] = sum(a.duration for a in audios) / 60
            texts = {"plain": [t.text for t in tr.transcribe_many(audios, TranscribeOptions())],
                     "biased": [t.text for t in tr.transcribe_many(audios, TranscribeOptions(vocabulary=tuple(vocab)))]}
            cache[set_name] = {"said": said, "texts": texts, "minutes": minutes[set_name]}
        for name, (asr, repair) in setups.items():
            errors: list = []
            results[f"{set_name}/{name}"] = score(gold, texts[asr], repair, vocab, tagger, errors)
            if name == "repair+biasing":
                for med, key, want, got, text in errors[: args.show_errors]:
                    print(f"[miss] {set_name} {key}: want {want!r} for {med!r}; got {got}; text: {text[:200]!r}")
    if args.transcripts:
        args.transcripts.write_text(json.dumps(cache))
    # latency: a 60 s dictation -> draft note (the app's path, NER tagger included), next to the
    # peer in the same run: faster-whisper as its README shows (same tiny.en weights) only
    # transcribing the same 60 s
    long = speak(sets["notes"][0][0], 0, work / "sixty.wav")
    reps = int(np.ceil(60 * 16000 / len(long.samples)))
    sixty = Audio(samples=np.tile(long.samples, reps)[: 60 * 16000], source_sample_rate=16000, source_channels=1,
                  source_format="numpy")

    def draft_60s() -> None:
        (tt,) = tr.transcribe_many([sixty], TranscribeOptions(vocabulary=tuple(vocab)))
        draft_note(tt.text, vocabulary=vocab, tagger=tagger)

    peer_model = faster_whisper()
    plain = lambda: "".join(s.text for s in peer_model.transcribe(sixty.samples, beam_size=5)[0])  # noqa: E731
    with PeakRss() as mem:
        runs = time_calls(lambda _: draft_60s(), [None] * args.repeats, warmup=1)
    peer = time_calls(lambda _: plain(), [None] * args.repeats, warmup=1)
    print(f"\nSynthetic dictations (espeak-ng, {len(VOICES)} voices) of PriMock57 notes: notes {len(notes)} "
          f"({minutes['notes']:.1f} min), orders {len(plans)} plans ({minutes['orders']:.1f} min)\n")
    print(f"{'set':7} {'set-up':15} {'meds':>5} {'recall':>7} " + " ".join(f"{k[:8]:>9}" for k in ATTRIBUTES))
    for key, r in results.items():
        set_name, name = key.split("/")
        cells = " ".join(f"{r[k + '_accuracy']:9.3f}" if k + "_accuracy" in r else f"{'-':>9}" for k in ATTRIBUTES)
        print(f"{set_name:7} {name:15} {r['medications']:5d} {r['medication_recall']:7.3f} {cells}")
    lat, peer_s = runs.p50_ms / 1000, peer.p50_ms / 1000
    print(f"\n60 s dictation -> draft note: {lat:.2f} s (median of {runs.n} after a warm-up run, "
          f"{os.cpu_count()}-CPU machine, NER tagger included); faster-whisper only transcribing the same "
          f"60 s: {peer_s:.2f} s; ratio {ratio(lat, peer_s):.2f}; peak RSS {mem.peak_mb:.0f} MB")
    finish({**{f"{k.replace('/', '_')}_{m}": round(v, 4) if isinstance(v, float) else v
               for k, r in results.items() for m, v in r.items()},
            "latency_60s_dictation_ratio_vs_faster_whisper": ratio(lat, peer_s),
            "latency_60s_dictation_s": round(lat, 2), "latency_60s_faster_whisper_s": round(peer_s, 2),
            "peak_rss_mb": mem.peak_mb, "notes": len(notes)})



if __name__ == "__main__":
    main()
