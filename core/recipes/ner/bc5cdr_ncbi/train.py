"""Train the biomedical NER tagger (BC5CDR + NCBI-disease, multi-task heads), export the artifact.

    python -m core.recipes.ner.bc5cdr_ncbi.train core/recipes/ner/bc5cdr_ncbi/hparams/minilm_lora.yaml \
        data_dir=../shared/data

Resumable: rerunning the same command continues from ``run_dir/last.pt``.
"""
from __future__ import annotations

import random
import sys
import time
from pathlib import Path

import torch
from torch import nn

from core.recipes.ner.bc5cdr_ncbi.prepare import prepare
from core.text.data import BucketBatches, read_jsonl
from core.text.encoder import EncoderConfig, config_dict, trainable_state
from core.text.tagger import BC5CDR_TAGS, NCBI_TAGS, TokenTagger, evaluate_spans, tagging_collate
from core.recipes.common import export, load_best, start_run
from core.training import TrainConfig, fit

HEADS = {"bc5cdr": BC5CDR_TAGS, "ncbi": NCBI_TAGS}


class MultiSourceBatches:
    """Batches from several BucketBatches (one dataset each), interleaved in a shuffled order."""

    def __init__(self, sources: list[BucketBatches], seed: int):
        self.sources, self.seed, self.epoch = sources, seed, 0
        self.sampler = self

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        for s in self.sources:
            s.set_epoch(epoch)

    def __len__(self) -> int:
        return sum(len(s) for s in self.sources)

    def __iter__(self):
        order = [i for i, s in enumerate(self.sources) for _ in range(len(s))]
        random.Random(self.seed + self.epoch).shuffle(order)
        iters = [iter(s) for s in self.sources]
        for i in order:
            yield next(iters[i])


class TaggingTask:
    def __init__(self):
        self.ce = nn.CrossEntropyLoss(ignore_index=-100)

    def loss(self, model: nn.Module, batch: dict) -> torch.Tensor:
        logits = model(batch["input_ids"], batch["attention_mask"], head=batch["head"])
        return self.ce(logits.flatten(0, 1), batch["labels"].flatten())

    def evaluate(self, model: nn.Module, loader) -> dict[str, float]:
        scores = evaluate_spans(model, loader)
        out = {f"{k}_f1": v["f1"] for k, v in scores.items() if "/" not in k}
        out["mean_f1"] = sum(out.values()) / len(out)
        return out


def loaders(manifests: Path, split: str, tok, max_length: int, batch_size: int, seed: int, shuffle: bool):
    collate = tagging_collate(tok, max_length, HEADS)
    return MultiSourceBatches([
        BucketBatches(read_jsonl(manifests / f"{name}_{split}.jsonl"), batch_size, collate, shuffle=shuffle,
                      seed=seed, length=lambda r: sum(len(t) for t in r["tokens"]))
        for name in HEADS], seed)


def main(argv: list[str]) -> dict:
    hp, run_dir, manifests = start_run(argv, lambda h, out: prepare(Path(h["data_dir"]), out))
    enc_cfg = EncoderConfig(**hp["encoder"])
    torch.manual_seed(hp["seed"])
    model = TokenTagger(enc_cfg, HEADS, dropout=hp["dropout"])
    tok = model.encoder.tokenizer
    train_loader = loaders(manifests, "train", tok, enc_cfg.max_length, hp["batch_size"], hp["seed"], True)
    valid_loader = loaders(manifests, "valid", tok, hp["eval_max_length"], 64, hp["seed"], False)
    cfg = TrainConfig(run_dir=str(run_dir), seed=hp["seed"], **hp["train"])
    started = time.time()
    result = fit(model, TaggingTask(), train_loader, valid_loader, cfg)
    best_metrics = load_best(model, result.best_path)
    artifact = {
        "config": {"kind": "ner", "encoder": config_dict(enc_cfg), "heads": HEADS, "dropout": hp["dropout"],
                   "eval_max_length": hp["eval_max_length"]},
        "state_dict": {k: v.half() for k, v in trainable_state(model).items()},
        "metrics": {"valid": best_metrics},
        "trained": {"steps": result.steps, "seconds": round(time.time() - started, 1), "hparams": hp,
                    "torch": str(torch.__version__)},
    }
    return export(artifact, hp["export"], best_metrics)


if __name__ == "__main__":
    main(sys.argv[1:])
