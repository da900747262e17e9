"""Train the biomedical NER tagger (BC5CDR + NCBI-disease, multi-task heads), export the artifact.

    python -m core.recipes.ner.bc5cdr_ncbi.train core/recipes/ner/bc5cdr_ncbi/hparams/minilm_lora.yaml \
        data_dir=../shared/data

Resumable: rerunning the same command continues from ``run_dir/last.pt``. With ``gazetteer`` set,
the tagger also reads dictionary features (core.text.gazetteer) and the dictionary is exported as
a project resource next to the artifact; ``init_from`` starts from an earlier artifact's weights.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import torch
from torch import nn

from core.recipes.ner.bc5cdr_ncbi.prepare import prepare
from core.data import BucketBatches, MultiSourceBatches, read_jsonl, tokens_length
from core.text.encoder import EncoderConfig, config_dict, load_trainable, trainable_state
from core.text.gazetteer import FEATURE_TAGS, Gazetteer, corpus_table, fold_features, lexicon_table
from core.text.artifact import read_artifact
from core.text.tagger import BC5CDR_TAGS, NCBI_TAGS, TokenTagger, evaluate_spans, tagging_collate
from core.recipes.common import export_artifact, load_best, start_run
from core.training import TrainConfig, fit

HEADS = {"bc5cdr": BC5CDR_TAGS, "ncbi": NCBI_TAGS}
O_BIASES = (0.0, 0.5, 1.0, 1.5, 2.0)  # candidates for the bias on O's log-probability (tune_o_bias)


class TaggingTask:
    def __init__(self):
        self.ce = nn.CrossEntropyLoss(ignore_index=-100)

    def loss(self, model: nn.Module, batch: dict) -> torch.Tensor:
        logits = model(batch["input_ids"], batch["attention_mask"], head=batch["head"], features=batch.get("features"))
        return self.ce(logits.flatten(0, 1), batch["labels"].flatten())

    def evaluate(self, model: nn.Module, loader, o_bias: float = 0.0) -> dict[str, float]:
        scores = evaluate_spans(model, loader, o_bias=o_bias)
        out = {f"{k}_f1": v["f1"] for k, v in scores.items() if "/" not in k}
        out["mean_f1"] = sum(out.values()) / len(out)
        return out


def loaders(rows: dict[str, list[dict]], tok, max_length: int, batch_size: int, seed: int, shuffle: bool):
    collate = tagging_collate(tok, max_length, HEADS)
    return MultiSourceBatches([
        BucketBatches(rows[name], batch_size, collate, shuffle=shuffle, seed=seed, length=tokens_length)
        for name in HEADS], seed)


def splits(manifests: Path, hp: dict) -> tuple[dict[str, list[dict]], dict[str, list[dict]]]:
    """(train, valid) rows per dataset. With ``train_on_valid``, the validation split joins training
    except its last ``holdout[dataset]`` sentences, which stay out to pick the checkpoint."""
    train, valid = {}, {}
    for name in HEADS:
        train[name] = read_jsonl(manifests / f"{name}_train.jsonl")
        dev = read_jsonl(manifests / f"{name}_valid.jsonl")
        if hp.get("train_on_valid"):
            keep = int(hp["holdout"][name])
            train[name] += dev[:-keep]
            dev = dev[-keep:]
        valid[name] = dev
    return train, valid


def add_features(train: dict[str, list[dict]], valid: dict[str, list[dict]], hp: dict, run_dir: Path) -> Gazetteer:
    """Dictionary features on every row: training rows from leave-their-block-out dictionaries,
    validation rows from the full one (which is also what inference uses)."""
    from core.clinical.medications import default_lexicon

    g = hp["gazetteer"]
    base = lexicon_table(m.name for m in default_lexicon().by_lower.values()) if g.get("medication_lexicon") else {}
    rows = [r for name in HEADS for r in train[name]]
    for r, f in zip(rows, fold_features(rows, int(g["folds"]), base, float(g["min_ratio"]))):
        r["features"] = f
    full = Gazetteer({**base, **corpus_table(rows, float(g["min_ratio"]))})
    for r in (r for name in HEADS for r in valid[name]):
        r["features"] = full.features(r["tokens"])
    full.save(run_dir / "gazetteer.tsv")
    return full


def tune_o_bias(model: TokenTagger, loader) -> tuple[float, dict]:
    """The bias on O's log-probability that gives the best mean held-out F1 (recall-heavy taggers
    trade a little recall for more precision); returns it with its metrics."""
    best = None
    for bias in O_BIASES:
        metrics = TaggingTask().evaluate(model, loader, o_bias=bias)
        print(f"[train] o_bias {bias}: {metrics}", flush=True)
        if best is None or metrics["mean_f1"] > best[1]["mean_f1"]:
            best = (bias, {**metrics, "o_bias": bias})
    return best


def main(argv: list[str]) -> dict:
    hp, run_dir, manifests = start_run(argv, lambda h, out: prepare(Path(h["data_dir"]), out))
    enc_cfg = EncoderConfig(**hp["encoder"])
    torch.manual_seed(hp["seed"])
    use_gaz = bool(hp.get("gazetteer"))
    model = TokenTagger(enc_cfg, HEADS, dropout=hp["dropout"], n_features=len(FEATURE_TAGS) if use_gaz else 0)
    if hp.get("init_from"):
        load_trainable(model, {k: v.float() for k, v in read_artifact(hp["init_from"])["state_dict"].items()})
        print(f"[train] initialised from {hp['init_from']}", flush=True)
    tok = model.encoder.tokenizer
    train_rows, valid_rows = splits(manifests, hp)
    gazetteer = add_features(train_rows, valid_rows, hp, run_dir) if use_gaz else None
    print("[train] sentences", {k: len(v) for k, v in train_rows.items()}, "valid",
          {k: len(v) for k, v in valid_rows.items()}, "gazetteer", len(gazetteer or []), flush=True)
    train_loader = loaders(train_rows, tok, enc_cfg.max_length, hp["batch_size"], hp["seed"], True)
    valid_loader = loaders(valid_rows, tok, hp["eval_max_length"], 64, hp["seed"], False)
    cfg = TrainConfig(run_dir=str(run_dir), seed=hp["seed"], **hp["train"])
    started = time.time()
    result = fit(model, TaggingTask(), train_loader, valid_loader, cfg)
    best_metrics = load_best(model, result.best_path)
    o_bias, best_metrics = tune_o_bias(model, valid_loader) if hp.get("tune_o_bias") else (0.0, best_metrics)
    if gazetteer is not None:
        gazetteer.save(Path(hp["gazetteer"]["export"]))
    return export_artifact(
        state_dict=trainable_state(model), result=result, hp=hp, started=started, path=hp["export"],
        config={"kind": "ner", "encoder": config_dict(enc_cfg), "heads": HEADS, "dropout": hp["dropout"],
                "eval_max_length": hp["eval_max_length"], "o_bias": o_bias,
                "features": FEATURE_TAGS if use_gaz else None,
                "gazetteer": Path(hp["gazetteer"]["export"]).name if use_gaz else None},  # in core/text/resources
        metrics=best_metrics)


if __name__ == "__main__":
    main(sys.argv[1:])
