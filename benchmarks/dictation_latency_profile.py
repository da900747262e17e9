"""Where a 60 s dictation's time goes: the same 60 s as ``benchmarks/dictation.py``'s latency
figures (the first PriMock57 note read by espeak-ng, repeated to 60 s, or the untuned orders;
synthetic), timed by stage
(transcribing, the drug spotting, the draft with the NER), then the spotting of the last run
profiled (cProfile, the 25 calls with the most cumulative time).

    python benchmarks/dictation_latency_profile.py --repeats 3
    python benchmarks/dictation_latency_profile.py --repeats 3 --audio orders   # the untuned orders, no list

Like the latency figure, each run forgets the recogniser's cached silence scores first (a first
dictation); the first run also loads the models, so the medians are of the runs after it. Last
line: JSON.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--repeats", type=int, default=3, help="runs after the first (which loads the models)")
    ap.add_argument("--audio", choices=("note", "orders"), default="note",
                    help="note: the latency figure's 60 s (a PriMock57 note, the tuned list); orders: the "
                         "untuned set's plans for 60 s, no list (benchmarks/dictation.py's second latency figure)")
    args = ap.parse_args()

    from apps.medical_dictation.config import DictationSettings, asr_options
    from benchmarks.dictation import sixty_note, sixty_orders
    from benchmarks.dictation_sets import meds, untuned_sets
    from core.asr import get_transcriber
    from core.clinical.draft import draft_note
    from core.clinical.drug_spotting import recogniser_listen, recogniser_propose, spot_drug_names
    from core.text.ner import get_ner

    notes = [json.loads(p.read_text()) for p in sorted((args.data / "primock57" / "notes").glob("*.json"))]
    work = Path(tempfile.mkdtemp())
    if args.audio == "note":
        vocab = [m for m, _ in Counter(m for n in notes for m in meds(n["note"])).most_common(40)]
        sixty = sixty_note(notes[0]["note"], work)
    else:
        vocab, sixty = [], sixty_orders([said for said, _ in untuned_sets(args.data)[0]], work)
    tr, settings, tagger = get_transcriber("base"), DictationSettings(), get_ner()
    listen, propose = recogniser_listen(tr), recogniser_propose(tr)
    times: dict[str, list[float]] = {"transcribe": [], "spot": [], "draft": []}
    profile = cProfile.Profile()
    for k in range(args.repeats + 1):
        if hasattr(tr, "forget_priors"):
            tr.forget_priors()
        t0 = time.perf_counter()
        (heard,) = tr.transcribe_many([sixty], asr_options(vocab, settings))
        t1 = time.perf_counter()
        if k == args.repeats:
            profile.enable()
        spotted = spot_drug_names(heard, sixty.samples, vocab, None, listen, propose)
        profile.disable()
        t2 = time.perf_counter()
        draft_note(spotted.text, vocabulary=vocab, tagger=tagger)
        t3 = time.perf_counter()
        print(f"run {k}{' (loads the models)' if k == 0 else ''}: transcribe {t1 - t0:.2f} s, spot {t2 - t1:.2f} s "
              f"({spotted.regions} stretches: {[c[0] for c in spotted.considered if not c[1][0].isdigit()]}), "
              f"draft {t3 - t2:.2f} s", flush=True)
        if k:
            for name, seconds in zip(times, (t1 - t0, t2 - t1, t3 - t2)):
                times[name].append(seconds)
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(25)
    print(out.getvalue())
    print(json.dumps({f"{name}_s_median": round(statistics.median(v), 2) for name, v in times.items()}
                     | {"runs": args.repeats, "audio": args.audio}))


if __name__ == "__main__":
    main()
