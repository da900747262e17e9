"""Where two checkouts' drug spotting opens different stretches, or reads a dose in different
places, on the decodes ``benchmarks/dictation.py --transcripts`` cached: a change to those rules
checked in seconds instead of the benchmark's 25 min of spotting. Where nothing differs, the
spotting's output on the benchmark sets cannot differ either (its listening and readings all start
from these stretches and doses).

    git worktree add /tmp/base <commit>; ln -s "$PWD/.venv" /tmp/base/.venv
    python benchmarks/dictation_regions_diff.py --before /tmp/base --transcripts runs/dictation_asr_sets.json

Prints each differing decode (set, set-up, index: the words, then both checkouts' stretches and
dose starts); last line: JSON.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# run inside each checkout: its stretches and dose starts for every cached decode
DUMP = """
import json, sys
sys.path.insert(0, sys.argv[1])
from core.asr.types import Word
import core.clinical.drug_spotting as ds
out = {}
for key, cached in json.load(open(sys.argv[2])).items():
    for setup, decodes in cached["words"].items():
        for i, ws in enumerate(decodes):
            words = [Word(*w) for w in ws]
            out[f"{key}|{setup}|{i}"] = [" ".join(w.text for w in words), ds.regions(words, lambda w: False),
                                         [j for j in range(len(words)) if ds._dose_follows(words, j)]]
print(json.dumps(out))
"""


def found(checkout: Path, transcripts: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", DUMP, str(checkout), str(transcripts)], check=True,
                          capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", type=Path, required=True, help="the other checkout (a git worktree)")
    ap.add_argument("--after", type=Path, default=ROOT)
    ap.add_argument("--transcripts", type=Path, default=ROOT / "runs" / "dictation_asr_sets.json")
    args = ap.parse_args()
    before, after = found(args.before, args.transcripts), found(args.after, args.transcripts)
    differ = sorted(k for k in after if before.get(k) != after[k])
    for k in differ:
        _, was_stretches, was_doses = before.get(k, (None, None, None))
        print(f"{k}: {after[k][0]}\n  before: stretches {was_stretches}, doses at {was_doses}\n"
              f"  after:  stretches {after[k][1]}, doses at {after[k][2]}")
    print(json.dumps({"decodes": len(after), "differ": len(differ)}))


if __name__ == "__main__":
    main()
