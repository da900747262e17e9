"""The one training loop every recipe uses (in the spirit of SpeechBrain's ``Brain.fit``).

A recipe supplies a ``Task``: how to compute the loss of a batch and how to evaluate; this module
does the rest: device placement, mixed precision (bf16 autocast on CUDA; fp32 on CPU), gradient
accumulation and clipping, skipping a batch whose loss is not finite (said, counted, training goes on), warm-up + cosine schedule, evaluation every N steps, keeping the best
checkpoint, resuming from the last one, and DDP when started with ``torchrun``.

Checkpoints describe themselves: ``{"config", "state_dict", "optimizer", "scheduler", "step",
"epoch", "best", "metrics"}``.

>>> result = fit(model, task, train_loader, valid_loader, TrainConfig(run_dir="runs/x"))  # doctest: +SKIP
>>> result.best_metric, result.best_path
"""
from __future__ import annotations

import json
import math
import os
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Protocol

import torch
from torch import nn


@dataclass(frozen=True)
class TrainConfig:
    run_dir: str  # checkpoints, hparams copy and metrics.jsonl go here
    seed: int = 1234  # python, numpy and torch seeds
    epochs: int = 3  # passes over the training data
    max_steps: int = 0  # stop after this many optimiser steps (0: no limit)
    lr: float = 5e-5  # peak learning rate (AdamW)
    weight_decay: float = 0.01  # AdamW weight decay (not applied to biases/norms)
    warmup_ratio: float = 0.06  # fraction of steps with linear warm-up, then cosine decay
    grad_accum: int = 1  # batches per optimiser step
    max_grad_norm: float = 1.0  # gradient clipping (0: off)
    eval_every: int = 0  # evaluate every N optimiser steps (0: once per epoch)
    metric: str = "loss"  # which evaluation figure decides "best"
    higher_is_better: bool = False  # direction of that figure
    patience: int = 0  # stop after this many evaluations without improvement (0: never)
    amp: bool = True  # bf16 autocast where the device supports it (CUDA)
    device: str = "auto"  # "auto", "cpu", "cuda"
    log_every: int = 50  # print a progress line every N steps
    extra: dict = field(default_factory=dict)  # recipe-specific values recorded with checkpoints


class Task(Protocol):
    """What a recipe provides to ``fit``."""

    def loss(self, model: nn.Module, batch: Any) -> torch.Tensor:
        """Scalar loss of one batch (already on the device)."""
        ...

    def evaluate(self, model: nn.Module, loader: Iterable) -> dict[str, float]:
        """Figures on held-out data (model is in eval mode, gradients off)."""
        ...


@dataclass(frozen=True)
class FitResult:
    best_metric: float  # best value of config.metric seen
    best_path: Path  # checkpoint with that value
    last_path: Path  # checkpoint to resume from
    steps: int  # optimiser steps taken in total (including before a resume)
    history: list[dict]  # one dict per evaluation


def seed_everything(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)
    try:
        import numpy as np

        np.random.seed(seed)
    except ImportError:  # pragma: no cover
        pass


def resolve_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def to_device(batch: Any, device: torch.device) -> Any:
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_device(v, device) for v in batch)
    return batch


def _distributed() -> tuple[int, int, int]:
    """(rank, local_rank, world_size); initialises the process group under torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not torch.distributed.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        torch.distributed.init_process_group(backend)
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    return rank, local, world


def _param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (no_decay if p.ndim < 2 or "norm" in name.lower() else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def _schedule(total: int, warmup: int):
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / max(1, warmup)
        progress = (step - warmup) / max(1, total - warmup)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    return factor


def fit(
    model: nn.Module,
    task: Task,
    train_loader: Iterable,
    valid_loader: Iterable,
    config: TrainConfig,
) -> FitResult:
    """Train ``model`` with ``task``; resumes from ``run_dir/last.pt`` when it exists."""
    seed_everything(config.seed)
    rank, local_rank, world = _distributed()
    device = resolve_device(config.device)
    if device.type == "cuda" and world > 1:
        device = torch.device("cuda", local_rank)
    run_dir = Path(config.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    model.to(device)
    net: nn.Module = model
    if world > 1:
        net = nn.parallel.DistributedDataParallel(model, device_ids=[local_rank] if device.type == "cuda" else None)
    optimizer = torch.optim.AdamW(_param_groups(model, config.weight_decay), lr=config.lr)
    steps_per_epoch = max(1, len(train_loader) // config.grad_accum)  # type: ignore[arg-type]
    total = config.max_steps or steps_per_epoch * config.epochs
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _schedule(total, int(total * config.warmup_ratio)))
    amp = config.amp and device.type == "cuda"
    state = {"step": 0, "epoch": 0, "best": None, "bad_evals": 0, "history": []}
    last, best = run_dir / "last.pt", run_dir / "best.pt"
    if last.exists():
        ckpt = torch.load(last, map_location=device, weights_only=False)  # written by this loop
        model.load_state_dict(ckpt["state_dict"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        state.update(ckpt["loop"])
        if rank == 0:
            print(f"[train] resumed from {last} at step {state['step']}", flush=True)

    def save(path: Path, metrics: dict) -> None:
        if rank != 0:
            return
        tmp = path.with_suffix(".tmp")
        torch.save({"config": asdict(config), "state_dict": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(), "loop": state, "metrics": metrics}, tmp)
        tmp.replace(path)

    def evaluate() -> bool:
        """Evaluate, keep the best; returns True when patience ran out."""
        net.eval()
        with torch.no_grad(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            metrics = task.evaluate(model, valid_loader)
        net.train()
        metrics = {k: float(v) for k, v in metrics.items()}
        value = metrics[config.metric]
        better = state["best"] is None or (value > state["best"] if config.higher_is_better else value < state["best"])
        state["history"].append({"step": state["step"], "epoch": state["epoch"], **metrics})
        if better:
            state["best"], state["bad_evals"] = value, 0
            save(best, metrics)
        else:
            state["bad_evals"] += 1
        if rank == 0:
            with (run_dir / "metrics.jsonl").open("a") as f:
                f.write(json.dumps(state["history"][-1]) + "\n")
            print(f"[train] step {state['step']} eval {metrics}" + (" (best)" if better else ""), flush=True)
        save(last, metrics)
        return bool(config.patience and state["bad_evals"] >= config.patience)

    net.train()
    stop = False
    started = time.perf_counter()
    while not stop and state["step"] < total and state["epoch"] < config.epochs:
        sampler = getattr(train_loader, "sampler", None)
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(state["epoch"])
        skip = (state["step"] - state["epoch"] * steps_per_epoch) * config.grad_accum  # resume mid-epoch
        running, seen = 0.0, 0
        optimizer.zero_grad(set_to_none=True)
        for i, batch in enumerate(train_loader):
            if i < skip:
                continue
            batch = to_device(batch, device)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                loss = task.loss(net, batch) / config.grad_accum
            if not torch.isfinite(loss.detach()):  # a bad batch (or a blow-up): say so, skip it, keep going
                print(f"[train] epoch {state['epoch']} batch {i}: the loss is {float(loss)}; batch skipped "
                      "(its accumulated gradients dropped)", flush=True)
                optimizer.zero_grad(set_to_none=True)
                state["skipped"] = state.get("skipped", 0) + 1
                continue
            loss.backward()
            running += float(loss.detach()) * config.grad_accum
            seen += 1
            if (i + 1) % config.grad_accum:
                continue
            if config.max_grad_norm:
                nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            state["step"] += 1
            if rank == 0 and config.log_every and state["step"] % config.log_every == 0:
                rate = state["step"] / max(time.perf_counter() - started, 1e-9)
                print(f"[train] epoch {state['epoch']} step {state['step']}/{total} "
                      f"loss {running / max(seen, 1):.4f} lr {scheduler.get_last_lr()[0]:.2e} "
                      f"({rate:.2f} steps/s)", flush=True)
            if config.eval_every and state["step"] % config.eval_every == 0 and evaluate():
                stop = True
            if stop or state["step"] >= total:
                break
        else:  # the epoch ran to its end
            state["epoch"] += 1
            if not config.eval_every and evaluate():
                stop = True
            continue
        break  # max_steps reached or patience ran out
    if not state["history"] or state["history"][-1]["step"] != state["step"]:
        evaluate()
    return FitResult(best_metric=state["best"], best_path=best, last_path=last, steps=state["step"],
                     history=list(state["history"]))


def load_hparams(path: str | Path, overrides: list[str] | None = None) -> dict:
    """A recipe's YAML (the experiment's source of truth) with ``key=value`` / ``a.b=value``
    overrides from the command line; values are parsed as YAML scalars."""
    import yaml

    data = yaml.safe_load(Path(path).read_text()) or {}
    for item in overrides or []:
        key, _, raw = item.partition("=")
        if not _:
            raise ValueError(f"Override '{item}' is not key=value")
        node = data
        parts = key.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = yaml.safe_load(raw)
    missing = [k for k, v in _walk(data) if v == "???"]
    if missing:
        raise ValueError(f"Required values missing in {path}: {', '.join(missing)} (give them as key=value)")
    return data


def save_hparams(hparams: dict, run_dir: str | Path) -> Path:
    import yaml

    path = Path(run_dir) / "hparams.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(hparams, sort_keys=False))
    return path


def _walk(node: Any, prefix: str = ""):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _walk(v, f"{prefix}{k}.")
    else:
        yield prefix.rstrip("."), node
