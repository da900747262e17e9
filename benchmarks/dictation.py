"""Dictation end to end: PriMock57 clinician notes read aloud (clearly synthetic: espeak-ng voices
at several speeds) -> Transcriber -> dictation normalisation -> medication repair -> entities.

Reports, against the note text itself (medications found there by the lexicon, with the dose and
frequency written after them): medication-name recall and dose / frequency accuracy, for four
set-ups in the same run — plain; + lexicon spelling repair; + vocabulary biasing (a clinician's
list: the 40 medications most common across the notes); + both. Also the time from a 60 s
dictation to a draft note (transcribe, normalise, repair, entities, SOAP), median of --repeats.

Caveat: the "clinician's list" is drawn from the same notes, so the biasing rows are an upper
bound (a clinician whose list holds the drugs they dictate); first version, see docs/decisions.md.

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
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
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


def spoken_form(note: str) -> str:
    text = note
    for pattern, repl in SPOKEN:
        text = re.sub(pattern, repl, text, flags=re.I)
    return text.replace(":", " colon ").replace("\n", " period ")


def meds(text: str) -> dict[str, dict]:
    from core.text.clinical import extract_entities

    return {e.text.lower(): e.attributes for e in extract_entities(text) if e.label == "MEDICATION"}


def norm(value: str) -> str:
    v = value.lower().replace("milligrams", "mg").replace("milligram", "mg")
    return re.sub(r"\s+", "", v)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    if not shutil.which("espeak-ng"):
        sys.exit("espeak-ng is needed: apt-get install espeak-ng")
    from core.asr import TranscribeOptions, get_transcriber
    from core.audio import load_audio
    from core.text.clinical import extract_entities
    from core.text.dictation import normalise_dictation
    from core.text.medications import repair_medications
    from core.text.soap import split_soap

    notes = [json.loads(p.read_text()) for p in sorted((args.data / "primock57" / "notes").glob("*.json"))]
    notes = notes[: args.limit] if args.limit else notes
    gold = [meds(n["note"]) for n in notes]
    vocab = [m for m, _ in Counter(m for g in gold for m in g).most_common(40)]
    work = Path(tempfile.mkdtemp(prefix="parlance-bench-dict-"))
    audios = []
    for i, n in enumerate(notes):
        voice, speed = VOICES[i % len(VOICES)]
        path = work / f"note{i}.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(path), spoken_form(n["note"])],
                       check=True, capture_output=True)
        audios.append(load_audio(path))
    tr = get_transcriber()
    texts = {"plain": [t.text for t in tr.transcribe_many(audios, TranscribeOptions())],
             "biased": [t.text for t in tr.transcribe_many(audios, TranscribeOptions(vocabulary=tuple(vocab)))]}
    setups = {"plain": ("plain", False), "repair": ("plain", True), "biasing": ("biased", False),
              "repair+biasing": ("biased", True)}
    results = {}
    for name, (asr, repair) in setups.items():
        found = total = dose_ok = dose_n = freq_ok = freq_n = 0
        for g, raw in zip(gold, texts[asr]):
            text = normalise_dictation(raw)
            if repair:
                text = repair_medications(text, vocabulary=vocab).text
            got = {e.text.lower(): e.attributes for e in extract_entities(text, vocabulary=vocab if repair else None)
                   if e.label == "MEDICATION"}
            for med, attrs in g.items():
                total += 1
                found += med in got
                if attrs.get("dosage"):
                    dose_n += 1
                    dose_ok += med in got and norm(got[med].get("dosage", "")) == norm(attrs["dosage"])
                if attrs.get("frequency"):
                    freq_n += 1
                    freq_ok += med in got and norm(got[med].get("frequency", "")) == norm(attrs["frequency"])
        results[name] = {"medication_recall": found / max(total, 1), "dose_accuracy": dose_ok / max(dose_n, 1),
                         "frequency_accuracy": freq_ok / max(freq_n, 1), "medications": total,
                         "with_dose": dose_n, "with_frequency": freq_n}
    # latency: a 60 s dictation -> draft note
    long = load_audio(work / "note0.wav")
    import numpy as np

    from core.audio import Audio

    reps = int(np.ceil(60 * 16000 / len(long.samples)))
    sixty = Audio(samples=np.tile(long.samples, reps)[: 60 * 16000], source_sample_rate=16000, source_channels=1,
                  source_format="numpy")
    runs = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        (tt,) = tr.transcribe_many([sixty], TranscribeOptions(vocabulary=tuple(vocab)))
        text = repair_medications(normalise_dictation(tt.text), vocabulary=vocab).text
        extract_entities(text, vocabulary=vocab)
        split_soap(text)
        runs.append(time.perf_counter() - t)
    print(f"\nPriMock57 notes read by espeak-ng (synthetic): {len(notes)} notes, "
          f"{sum(a.duration for a in audios) / 60:.1f} min; medications in the notes: {results['plain']['medications']}\n")
    print(f"{'set-up':16} {'med recall':>11} {'dose acc':>9} {'freq acc':>9}")
    for name, r in results.items():
        print(f"{name:16} {r['medication_recall']:11.3f} {r['dose_accuracy']:9.3f} {r['frequency_accuracy']:9.3f}")
    lat = statistics.median(runs)
    print(f"\n60 s dictation -> draft note: {lat:.2f} s (median of {args.repeats}, 2-core CPU, without the NER tagger)")
    print(json.dumps({**{f"{k}_{m}": round(v, 4) if isinstance(v, float) else v for k, r in results.items()
                         for m, v in r.items()}, "latency_60s_dictation_s": round(lat, 2), "notes": len(notes)}))


if __name__ == "__main__":
    main()
