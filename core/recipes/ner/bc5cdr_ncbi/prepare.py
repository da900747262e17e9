"""BC5CDR (Chemical, Disease) and NCBI-disease (Disease) CoNLL files -> JSONL manifests.

One line per sentence: ``{"dataset", "tokens", "tags"}``. Re-runnable; asserts sentence counts.

    python -m core.recipes.ner.bc5cdr_ncbi.prepare --data ../shared/data --out runs/ner/manifests
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

DATASETS = {"bc5cdr": "bc5cdr", "ncbi": "ncbi_disease"}
SPLITS = {"train": "train", "valid": "devel", "test": "test"}
EXPECTED = {("bc5cdr", "train"): 4560, ("bc5cdr", "valid"): 4581, ("bc5cdr", "test"): 4797,
            ("ncbi", "train"): 5424, ("ncbi", "valid"): 923, ("ncbi", "test"): 940}


def read_conll(path: Path) -> list[tuple[list[str], list[str]]]:
    sentences, tokens, tags = [], [], []
    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        if not line.strip():
            if tokens:
                sentences.append((tokens, tags))
            tokens, tags = [], []
            continue
        word, _, tag = line.rpartition("\t")
        tokens.append(word)
        tags.append(tag.strip())
    return sentences


def prepare(data_dir: Path, out_dir: Path) -> dict[str, int]:
    out_dir.mkdir(parents=True, exist_ok=True)
    sizes = {}
    for name, folder in DATASETS.items():
        for split, fname in SPLITS.items():
            sents = read_conll(data_dir / folder / f"{fname}.tsv")
            expected = EXPECTED[(name, split)]
            assert len(sents) == expected, f"{name}/{split}: expected {expected} sentences, found {len(sents)}"
            with (out_dir / f"{name}_{split}.jsonl").open("w", encoding="utf-8") as f:
                for tokens, tags in sents:
                    f.write(json.dumps({"dataset": name, "tokens": tokens, "tags": tags}) + "\n")
            sizes[f"{name}_{split}"] = len(sents)
    (out_dir / "counts.json").write_text(json.dumps(sizes))
    return sizes


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--out", type=Path, default=Path("runs/ner/manifests"))
    args = ap.parse_args(argv)
    print(prepare(args.data, args.out))


if __name__ == "__main__":
    main()
