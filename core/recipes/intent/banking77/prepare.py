"""Banking77 + CLINC150 out-of-scope -> JSONL manifests (re-runnable; asserts expected counts).

Labels: the 77 Banking77 intents plus ``out_of_scope``. Out-of-scope examples for training are
CLINC150's ``oos_train`` plus a sample of CLINC150 in-scope queries from domains a bank's
call-center does not serve (kitchen, travel, small talk, ...): a bank customer who asks for a
recipe is out of scope. Banking77 has no validation split, so a stratified slice of its training
set is held out. The test manifest is Banking77 test + CLINC150 ``oos_test`` (never trained on).

    python -m core.recipes.intent.banking77.prepare --data ../shared/data --out runs/intent/manifests
"""
from __future__ import annotations

import argparse
import csv
import json
import random
from collections import defaultdict
from pathlib import Path

OOS = "out_of_scope"
BANK_DOMAINS = {"banking", "credit_cards"}  # CLINC domains that overlap Banking77: never used as OOS
EXPECTED = {"banking_train": 10003, "banking_test": 3080, "oos_train": 100, "oos_val": 100, "oos_test": 1000}


def _read_banking(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as f:
        return [{"text": r["text"].strip(), "label": r["category"].strip()} for r in csv.DictReader(f)]


def _write(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def prepare(data_dir: Path, out_dir: Path, *, valid_fraction: float = 0.05, oos_per_intent_train: int = 25,
            oos_per_intent_valid: int = 5, seed: int = 1234) -> dict[str, int]:
    rng = random.Random(seed)
    bank = data_dir / "banking77"
    labels = json.loads((bank / "categories.json").read_text())
    assert len(labels) == 77, len(labels)
    train_all = _read_banking(bank / "train.csv")
    test = _read_banking(bank / "test.csv")
    clinc = json.loads((data_dir / "clinc150" / "data_full.json").read_text())
    domains = json.loads((data_dir / "clinc150" / "domains.json").read_text())
    counts = {"banking_train": len(train_all), "banking_test": len(test), "oos_train": len(clinc["oos_train"]),
              "oos_val": len(clinc["oos_val"]), "oos_test": len(clinc["oos_test"])}
    for key, n in EXPECTED.items():
        assert counts[key] == n, f"{key}: expected {n}, found {counts[key]} (is the data complete?)"
    unknown = {r["label"] for r in train_all + test} - set(labels)
    assert not unknown, unknown

    by_label: dict[str, list[dict]] = defaultdict(list)
    for r in train_all:
        by_label[r["label"]].append(r)
    train, valid = [], []
    for label in labels:
        rows = by_label[label][:]
        rng.shuffle(rows)
        k = max(1, round(len(rows) * valid_fraction))
        valid += rows[:k]
        train += rows[k:]

    foreign = {i for d, intents in domains.items() if d not in BANK_DOMAINS for i in intents}

    def sample(split: str, per_intent: int) -> list[dict]:
        grouped: dict[str, list[str]] = defaultdict(list)
        for text, intent in clinc[split]:
            if intent in foreign:
                grouped[intent].append(text)
        out = []
        for intent in sorted(grouped):
            texts = grouped[intent][:]
            rng.shuffle(texts)
            out += [{"text": t, "label": OOS, "source": f"clinc150:{intent}"} for t in texts[:per_intent]]
        return out

    train += [{"text": t, "label": OOS, "source": "clinc150:oos"} for t, _ in clinc["oos_train"]]
    train += sample("train", oos_per_intent_train)
    valid += [{"text": t, "label": OOS, "source": "clinc150:oos"} for t, _ in clinc["oos_val"]]
    valid += sample("val", oos_per_intent_valid)
    test_rows = test + [{"text": t, "label": OOS, "source": "clinc150:oos"} for t, _ in clinc["oos_test"]]
    rng.shuffle(train)
    _write(out_dir / "train.jsonl", train)
    _write(out_dir / "valid.jsonl", valid)
    _write(out_dir / "test.jsonl", test_rows)
    (out_dir / "labels.json").write_text(json.dumps(labels + [OOS], indent=1))
    sizes = {"train": len(train), "valid": len(valid), "test": len(test_rows), "labels": len(labels) + 1}
    (out_dir / "counts.json").write_text(json.dumps(sizes))
    return sizes


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--out", type=Path, default=Path("runs/intent/manifests"))
    args = ap.parse_args(argv)
    print(prepare(args.data, args.out))


if __name__ == "__main__":
    main()
