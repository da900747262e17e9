"""Does a change to the clinical text path change what it produces? Runs the path from recognised
text to a draft note (normalise -> repair -> entities with the NER tagger -> SOAP) of two
checkouts over the same texts and counts the texts whose output differs, field by field.

    git worktree add /tmp/before <commit>
    python benchmarks/clinical_text_ab.py --before /tmp/before --transcripts runs/dictation_transcripts.json

Texts: the 57 PriMock57 clinician notes as written, plus every recogniser transcript cached by
``benchmarks/dictation.py --transcripts`` (the dictation benchmark's inputs). Each checkout runs in
its own process with its own code on ``PYTHONPATH`` (older checkouts had the rules in
core.text.*, newer ones in core.clinical.*). The last line printed is one JSON object.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VOCABULARY = ["metformin", "amoxicillin", "paracetamol", "ibuprofen"]
FIELDS = ("normalised", "text", "repairs", "entities", "sections")

# what runs inside each checkout: its own API, whichever generation it is
DUMP = r'''
import json, sys
texts, vocab = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
from core.text.ner import get_ner
tagger = get_ner()
try:
    from core.clinical.draft import draft_note
    from core.clinical.normalisation import normalise_dictation
    def run(t):
        d = draft_note(t, vocabulary=vocab, tagger=tagger)
        return normalise_dictation(t), d.text, d.repairs, d.entities, d.sections
except ImportError:
    from core.text.clinical import extract_entities
    from core.text.dictation import normalise_dictation
    from core.text.medications import repair_medications
    from core.text.soap import split_soap
    def run(t):
        n = normalise_dictation(t)
        r = repair_medications(n, vocabulary=vocab)
        return n, r.text, r.repairs, extract_entities(r.text, tagger=tagger, vocabulary=vocab), split_soap(r.text)
out = []
for t in texts:
    n, text, repairs, ents, sections = run(t)
    out.append({"normalised": n, "text": text, "repairs": [[r.original, r.replacement, r.similarity] for r in repairs],
                "entities": [[e.label, e.text, e.start, e.end, sorted(e.assertions), e.attributes, e.source] for e in ents],
                "sections": sections})
json.dump(out, open(sys.argv[3], "w"))
'''


def run_checkout(checkout: Path, texts_file: Path, vocab_file: Path, out: Path) -> list[dict]:
    env = {**os.environ, "PYTHONPATH": str(checkout), "HF_HUB_OFFLINE": "1"}
    subprocess.run([sys.executable, "-c", DUMP, str(texts_file), str(vocab_file), str(out)], cwd=checkout, env=env,
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return json.loads(out.read_text())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", type=Path, required=True, help="a checkout of the code to compare with")
    ap.add_argument("--after", type=Path, default=ROOT)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--transcripts", type=Path, default=ROOT / "runs" / "dictation_transcripts.json")
    args = ap.parse_args()
    notes = [json.loads(p.read_text())["note"] for p in sorted((args.data / "primock57" / "notes").glob("*.json"))]
    asr = []
    if args.transcripts.exists():
        for cached in json.loads(args.transcripts.read_text()).values():
            asr += [t for texts in cached["texts"].values() for t in texts]
    work = Path(tempfile.mkdtemp(prefix="parlance-ab-"))
    (work / "texts.json").write_text(json.dumps(notes + asr))
    (work / "vocab.json").write_text(json.dumps(VOCABULARY))
    before = run_checkout(args.before.resolve(), work / "texts.json", work / "vocab.json", work / "before.json")
    after = run_checkout(args.after.resolve(), work / "texts.json", work / "vocab.json", work / "after.json")
    figures: dict[str, int] = {"notes": len(notes), "transcripts": len(asr)}
    print(f"{'texts':28} " + " ".join(f"{f:>11}" for f in FIELDS))
    for name, lo, hi in (("written notes", 0, len(notes)), ("recogniser transcripts", len(notes), len(notes) + len(asr))):
        counts = {f: sum(b[f] != a[f] for b, a in zip(before[lo:hi], after[lo:hi])) for f in FIELDS}
        print(f"{name + f' ({hi - lo})':28} " + " ".join(f"{counts[f]:>11}" for f in FIELDS))
        key = "notes" if lo == 0 else "transcripts"
        figures.update({f"{key}_differing_{f}": counts[f] for f in FIELDS})
    print("(number of texts whose output differs between the two checkouts)")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
