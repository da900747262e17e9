"""speechocean762 (or your own recordings) -> checked JSONL manifests for Whisper fine-tuning.

Each line: ``{"id", "path", "text", "speaker", "duration"}``. The train split is cut into a
training part and a speaker-disjoint validation part (``valid_speakers`` speakers, seeded); the
test split is left for the benchmark. Rows are checked before any training: a missing or
unreadable file, an empty transcript, or audio too short for its words (under ``min_s_per_word``
seconds a word) is left out, and each reason is counted and printed.

    python -m core.recipes.asr.speechocean762.prepare --data ../shared/data --out runs/asr/manifests
    # your own recordings: a JSONL of path, text, speaker (, duration); paths relative to the list
    python -m core.recipes.asr.speechocean762.prepare --list /data/our_dictations.jsonl --out runs/asr_ours/manifests
"""
from __future__ import annotations

import argparse
import json
import random
from collections import Counter
from pathlib import Path

EXPECTED = {"train": 2500, "test": 2500}
MIN_S_PER_WORD = 0.12  # faster than ~8 words a second is not speech that matches its transcript


def _duration(path: Path) -> float | None:
    import soundfile as sf

    try:
        info = sf.info(str(path))
    except (RuntimeError, OSError, ValueError):
        return None
    return info.frames / info.samplerate if info.samplerate else None


def check_rows(rows: list[dict], *, min_s_per_word: float = MIN_S_PER_WORD) -> tuple[list[dict], Counter]:
    """Keep the rows that can train; count why the others cannot."""
    kept, dropped = [], Counter()
    for r in rows:
        path, text = Path(r.get("path", "")), " ".join(str(r.get("text", "")).split())
        if not text:
            dropped["empty transcript"] += 1
            continue
        if not path.is_file():
            dropped["missing file"] += 1
            continue
        seconds = r.get("duration") or _duration(path)
        if seconds is None:
            dropped["unreadable audio"] += 1
            continue
        if seconds < min_s_per_word * len(text.split()):
            dropped["audio too short for its transcript"] += 1
            continue
        kept.append({"id": str(r.get("id") or path.stem), "path": str(path), "text": text,
                     "speaker": str(r.get("speaker", "")), "duration": round(float(seconds), 3)})
    return kept, dropped


def read_speechocean(root: Path, split: str) -> list[dict]:
    rows = [json.loads(line) for line in (root / f"{split}.jsonl").read_text().splitlines() if line.strip()]
    assert len(rows) == EXPECTED[split], (split, len(rows))
    return [{**r, "path": str(root / r["audio"])} for r in rows]


def read_list(path: Path) -> list[dict]:
    """A JSONL of path, text, speaker (, duration, id); relative paths are read from the list's folder.
    The file may be named ``audio`` instead of ``path`` (the layout of ``../shared/data``)."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            r = json.loads(line)
            p = Path(r.get("path") or r.get("audio") or "")
            rows.append({**r, "path": str(p if p.is_absolute() else path.parent / p)})
    return rows


def split_speakers(rows: list[dict], n_valid: int, seed: int) -> tuple[list[dict], list[dict]]:
    speakers = sorted({r["speaker"] for r in rows})
    valid = set(random.Random(seed).sample(speakers, min(n_valid, max(len(speakers) - 1, 0))))
    return [r for r in rows if r["speaker"] not in valid], [r for r in rows if r["speaker"] in valid]


def write(rows: list[dict], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")


def prepare(out: Path, *, data: Path | None = None, listing: Path | None = None, valid_speakers: int = 12,
            seed: int = 1234) -> dict:
    """Write train / valid (/ test) manifests and ``counts.json``; returns the counts."""
    if listing is not None:
        source, test = read_list(listing), []
    else:
        root = data / "speechocean762"
        source, test = read_speechocean(root, "train"), read_speechocean(root, "test")
    kept, dropped = check_rows(source)
    train, valid = split_speakers(kept, valid_speakers, seed)
    write(train, out / "train.jsonl")
    write(valid, out / "valid.jsonl")
    counts = {"train": len(train), "valid": len(valid), "dropped": dict(dropped),
              "valid_speakers": sorted({r["speaker"] for r in valid})}
    if test:
        test_kept, test_dropped = check_rows(test)
        write(test_kept, out / "test.jsonl")
        counts.update({"test": len(test_kept), "test_dropped": dict(test_dropped)})
    (out / "counts.json").write_text(json.dumps(counts, indent=1))
    return counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--list", type=Path, default=None, help="your own JSONL (path, text, speaker)")
    ap.add_argument("--out", type=Path, default=Path("runs/asr/manifests"))
    ap.add_argument("--valid-speakers", type=int, default=12)
    ap.add_argument("--seed", type=int, default=1234)
    args = ap.parse_args()
    print(json.dumps(prepare(args.out, data=args.data, listing=args.list, valid_speakers=args.valid_speakers,
                             seed=args.seed)))


if __name__ == "__main__":
    main()
