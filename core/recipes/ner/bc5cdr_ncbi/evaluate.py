"""Evaluate an exported NER artifact on the recipe's test manifests (BC5CDR and NCBI-disease
test), entity-level exact-match micro F1 per dataset, with the precision the app uses (bf16).

    python -m core.recipes.ner.bc5cdr_ncbi.evaluate core/recipes/ner/bc5cdr_ncbi/hparams/minilm_lora_gazetteer.yaml \
        data_dir=../shared/data [artifact=models/ner/bc5cdr-ncbi-minilm-lora.pt] [split=test] [precision=bf16]

Prints a table, then one JSON line. ``benchmarks/ner.py`` adds the dictionary peer and speed.
"""
from __future__ import annotations

import sys
from pathlib import Path

from core.data import read_jsonl
from core.recipes.common import evaluate_run
from core.recipes.ner.bc5cdr_ncbi.prepare import prepare
from core.text.metrics import entity_prf
from core.text.ner import BiomedicalNER
from core.text.tagger import bio_spans

DATASETS = ("bc5cdr", "ncbi")


def evaluate(ner: BiomedicalNER, rows: list[dict], head: str, batch_size: int = 32) -> dict[str, float]:
    gold = [bio_spans(r["tags"]) for r in rows]
    pred = []
    for i in range(0, len(rows), batch_size):
        pred += [bio_spans(t) for t in ner.tag_words([r["tokens"] for r in rows[i:i + batch_size]], head)]
    return entity_prf(gold, pred)


def score(hp: dict, manifests: Path, split: str, artifact: str) -> dict[str, float]:
    ner = BiomedicalNER(artifact, precision=hp.get("precision", "bf16"))
    metrics: dict[str, float] = {}
    for name in DATASETS:
        scores = evaluate(ner, read_jsonl(manifests / f"{name}_{split}.jsonl"), name)
        metrics.update({f"{name}_{k}": v for k, v in scores.items()})
    return metrics


def main(argv: list[str]) -> dict:
    return evaluate_run(argv, lambda h, out: prepare(Path(h["data_dir"]), out), "NER", score)


if __name__ == "__main__":
    main(sys.argv[1:])
