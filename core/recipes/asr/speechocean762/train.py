"""Adapt Whisper to our users' speech (speechocean762: non-native English, many children), full or
LoRA, on the one training loop (``core.training.fit``), then export for the engine.

    python -m core.recipes.asr.speechocean762.train core/recipes/asr/speechocean762/hparams/tiny_lora.yaml \
        data_dir=../shared/data
    python -m core.recipes.asr.speechocean762.train core/recipes/asr/speechocean762/hparams/tiny_full.yaml \
        data_dir=../shared/data train.epochs=1
    # your own recordings (JSONL: path, text, speaker):
    python -m core.recipes.asr.speechocean762.train core/recipes/asr/speechocean762/hparams/tiny_lora.yaml \
        list=/data/our_dictations.jsonl run_dir=runs/asr_ours export=models/asr/ours-lora
    # several GPUs: torchrun --nproc_per_node 4 -m core.recipes.asr.speechocean762.train ... (bf16 on CUDA)

A stopped run resumes from ``run_dir/last.pt`` (same command). Export: LoRA -> the adapter folder
(``export``; a few MB, committed; the resolver merges it into a CTranslate2 model once, in the data
dir); full -> a CTranslate2 folder (``export``; 75 MB, not committed).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from core.asr.finetune import AugmentOptions, WhisperCollate, WhisperTask, add_lora
from core.asr.whisper_hf import load_whisper_hf, prompt_ids, save_whisper_hf, to_ctranslate2
from core.data import BucketBatches, audio_seconds, read_jsonl
from core.model_resolver import resolve_whisper
from core.recipes.asr.speechocean762.prepare import check_rows, prepare, write
from core.recipes.asr.speechocean762.rehearsal import rehearsal_rows
from core.recipes.common import load_best, start_run
from core.training import TrainConfig, fit


def _prepare(hp: dict, out: Path) -> dict:
    listing = Path(hp["list"]) if hp.get("list") else None
    data = None if listing else Path(hp["data_dir"])
    counts = prepare(out, data=data, listing=listing, valid_speakers=int(hp["valid_speakers"]), seed=int(hp["seed"]))
    if hp.get("rehearsal"):  # other audio, as the original model hears it (rehearsal.py)
        source = Path(str(hp["rehearsal"]["list"]).replace("{data_dir}", str(hp.get("data_dir") or "")))
        rows, dropped = check_rows(rehearsal_rows(source, count=int(hp["rehearsal"]["count"]), base=hp["base"],
                                                  seed=int(hp["seed"])))
        write(rows, out / "rehearsal.jsonl")
        counts.update({"rehearsal": len(rows), "rehearsal_dropped": dict(dropped), "rehearsal_from": str(source)})
        (out / "counts.json").write_text(json.dumps(counts, indent=1))
    return counts


def build(hp: dict):
    model, tokenizer = load_whisper_hf(resolve_whisper(hp["base"]))
    if hp.get("lora"):
        model = add_lora(model, **hp["lora"])
    return model, tokenizer


def loaders(hp: dict, manifests: Path, tokenizer, prompt: list[int]):
    opt = AugmentOptions(**{k: tuple(v) if isinstance(v, list) else v for k, v in hp["augment"].items()})
    train = WhisperCollate(tokenizer, prompt, augment=True, options=opt, context_pad_s=hp["context_pad_s"],
                           seed=hp["seed"])
    plain = WhisperCollate(tokenizer, prompt, augment=False, context_pad_s=hp["context_pad_s"])
    bs = int(hp["batch_size"])
    rows = read_jsonl(manifests / "train.jsonl")
    if (manifests / "rehearsal.jsonl").exists():
        rows += read_jsonl(manifests / "rehearsal.jsonl")
    return (BucketBatches(rows, bs, train, length=audio_seconds, shuffle=True,
                          seed=hp["seed"]),
            BucketBatches(read_jsonl(manifests / "valid.jsonl"), bs * 2, plain, length=audio_seconds, shuffle=False))


def export(hp: dict, model, tokenizer, run_dir: Path) -> Path:
    target = Path(hp["export"])
    if hp.get("lora"):
        target.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(str(target))  # adapter_config.json + adapter_model.safetensors
        (target / "parlance.json").write_text(json.dumps({"base": hp["base"], "kind": "whisper-lora",
                                                          "trained_on": hp.get("list") or "speechocean762 train"}))
        (target / "README.md").write_text(model_card(hp, run_dir))  # in place of peft's template
        return target
    hf = save_whisper_hf(model, tokenizer, run_dir / "hf")
    return to_ctranslate2(hf, target)


PART_NAMES = {"encoder": "encoder", "decoder": "decoder", "cross": "decoder's attention over the encoder"}


def model_card(hp: dict, run_dir: Path) -> str:
    history = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line.strip()]
    best = min(history, key=lambda h: h["wer"]) if history else {}
    data = hp.get("list") or "speechocean762 train split (CC BY 4.0), speaker-disjoint validation part held out"
    return f"""# Whisper {hp['base']} + LoRA adapter ({Path(hp['export']).name})

Adapts the bundled Whisper {hp['base']} (MIT) to the speech it was trained on: {data}.
LoRA (r {hp['lora'].get('r', 8)}, alpha {hp['lora'].get('alpha', 16)}) on the attention and feed-forward projections of the
{' and '.join(PART_NAMES[x] for x in hp['lora'].get('parts', ['encoder', 'decoder']))}; only the adapter is stored here. `PARLANCE_ASR_MODEL={Path(hp['export']).name}` (or this folder's path)
makes the engine use it: the resolver folds it into the base model and converts it for CTranslate2
once, into the data dir.

Validation (greedy, engine-sized windows): WER {best.get('wer', float('nan')):.3f} at step {best.get('step', '?')}.
Test figures: `python benchmarks/asr_training.py` (README, issue 14).
Retrain: `python -m core.recipes.asr.speechocean762.train core/recipes/asr/speechocean762/hparams/tiny_lora.yaml data_dir=../shared/data`
(recipe: core/recipes/asr/speechocean762/README.md).
"""


def main(argv: list[str]) -> None:
    hp, run_dir, manifests = start_run(argv, _prepare)
    model, tokenizer = build(hp)
    prompt = prompt_ids(getattr(model, "get_base_model", lambda: model)())
    train, valid = loaders(hp, manifests, tokenizer, prompt)
    config = TrainConfig(run_dir=str(run_dir), seed=int(hp["seed"]), **hp["train"])
    distill = float(hp.get("distill") or 0.0)  # KL to the model as shipped (finetune.WhisperTask)
    teacher = None
    if distill and not hp.get("lora"):  # full fine-tuning: a frozen copy; LoRA switches its adapters off
        teacher = load_whisper_hf(resolve_whisper(hp["base"]))[0].eval().requires_grad_(False)
    result = fit(model, WhisperTask(tokenizer, distill=distill, teacher=teacher), train, valid, config)
    metrics = load_best(model, result.best_path)
    print(f"[train] best valid {metrics} after {result.steps} steps", flush=True)
    path = export(hp, model, tokenizer, run_dir)
    (run_dir / "result.json").write_text(json.dumps({"valid": metrics, "steps": result.steps, "export": str(path)}))
    print(f"[train] exported {path}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
