"""GoEmotions (Ekman taxonomy: anger, disgust, fear, joy, sadness, surprise, neutral) -> JSONL.

Multi-label: each Reddit comment has one or more labels. Re-runnable; asserts the published counts.

    python -m core.recipes.text_emotion.goemotions.prepare --data ../shared/data --out runs/text_emotion/manifests
"""
from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

EXPECTED = {"train": 43410, "dev": 5426, "test": 5427}


def read_split(path: Path, labels: list[str]) -> list[dict]:
    rows = []
    with path.open(encoding="utf-8", newline="") as f:
        for rec in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            text, ids = rec[0], rec[1]
            rows.append({"text": text, "labels": [labels[int(i)] for i in ids.split(",")], "id": rec[2]})
    return rows


def prepare(data_dir: Path, out_dir: Path) -> dict[str, int]:
    root = data_dir / "goemotions" / "data" / "ekman"
    labels = (root / "labels.txt").read_text().split()
    assert labels == ["anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise"], labels
    out_dir.mkdir(parents=True, exist_ok=True)
    sizes = {}
    for split, name in (("train", "train"), ("dev", "valid"), ("test", "test")):
        rows = read_split(root / f"{split}.tsv", labels)
        assert len(rows) == EXPECTED[split], f"{split}: expected {EXPECTED[split]}, found {len(rows)}"
        with (out_dir / f"{name}.jsonl").open("w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        sizes[name] = len(rows)
    (out_dir / "labels.json").write_text(json.dumps(labels))
    (out_dir / "counts.json").write_text(json.dumps(sizes))
    return sizes


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--out", type=Path, default=Path("runs/text_emotion/manifests"))
    args = ap.parse_args(argv)
    print(prepare(args.data, args.out))


if __name__ == "__main__":
    main()
