"""What every text recipe's ``train.py`` does before and after ``core.training.fit``."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import torch

from core.training import load_hparams, save_hparams


def start_run(argv: list[str], prepare: Callable[[dict, Path], dict]) -> tuple[dict, Path, Path]:
    """YAML + overrides -> (hparams, run_dir, manifests dir); the resolved YAML is copied into the
    run folder and the manifests are prepared once (``prepare(hparams, out_dir)``)."""
    hp = load_hparams(argv[0], argv[1:])
    run_dir = Path(hp["run_dir"])
    save_hparams(hp, run_dir)
    manifests = run_dir / "manifests"
    if not (manifests / "counts.json").exists():
        print("[prepare]", prepare(hp, manifests), flush=True)
    return hp, run_dir, manifests


def load_best(model: torch.nn.Module, best_path: Path) -> dict:
    """Put the best checkpoint's weights on ``model`` (CPU, eval mode); returns its metrics."""
    ckpt = torch.load(best_path, map_location="cpu", weights_only=False)  # written by core.training.fit
    model.load_state_dict(ckpt["state_dict"])
    model.to("cpu").eval()
    return ckpt["metrics"]


def export(artifact: dict, path: str | Path, summary: dict) -> dict:
    """Save the artifact (adapter + head + calibration) and print one JSON summary line."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(artifact, out)
    summary = {"export": str(out), "bytes": out.stat().st_size, **summary}
    print(json.dumps(summary), flush=True)
    return summary
