"""What every recipe's ``train.py`` does before and after ``core.training.fit``: the run folder
and manifests (``start_run``), the best checkpoint (``load_best``), and the one export of a
self-describing artifact (``export_artifact``)."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable

import torch

from core.training import FitResult, load_hparams, save_hparams


def open_run(argv: list[str], prepare: Callable[[dict, Path], dict]) -> tuple[dict, Path, Path]:
    """YAML + overrides -> (hparams, run_dir, manifests dir); the manifests are prepared once
    (``prepare(hparams, out_dir)``). What ``evaluate.py`` uses: it leaves the run's files alone."""
    hp = load_hparams(argv[0], argv[1:])
    run_dir = Path(hp["run_dir"])
    manifests = run_dir / "manifests"
    if not (manifests / "counts.json").exists():
        print("[prepare]", prepare(hp, manifests), flush=True)
    return hp, run_dir, manifests


def start_run(argv: list[str], prepare: Callable[[dict, Path], dict]) -> tuple[dict, Path, Path]:
    """``open_run`` for training: the resolved YAML is also copied into the run folder."""
    hp, run_dir, manifests = open_run(argv, prepare)
    save_hparams(hp, run_dir)
    return hp, run_dir, manifests


def evaluate_run(argv: list[str], prepare: Callable[[dict, Path], dict], what: str,
                 score: Callable[[dict, Path, str, str], dict]) -> dict:
    """What every ``evaluate.py`` does: YAML + overrides (``artifact=`` defaults to the recipe's
    export, ``split=`` to test), manifests prepared once, ``score(hparams, manifests, split,
    artifact)``, then the report (a table and one JSON line)."""
    hp, _, manifests = open_run(argv, prepare)
    artifact, split = str(hp.get("artifact") or hp["export"]), str(hp.get("split", "test"))
    return report(f"{what} artifact {artifact} on {split}", score(hp, manifests, split, artifact))


def report(title: str, metrics: dict) -> dict:
    """An ``evaluate.py``'s output: a readable table, then one JSON line (the last line)."""
    print(title)
    for key, value in metrics.items():
        print(f"  {key:28} {value:.4f}" if isinstance(value, float) else f"  {key:28} {value}")
    print(json.dumps(metrics), flush=True)
    return metrics


def load_best(model: torch.nn.Module, best_path: Path) -> dict:
    """Put the best checkpoint's weights on ``model`` (CPU, eval mode); returns its metrics."""
    ckpt = torch.load(best_path, map_location="cpu", weights_only=False)  # written by core.training.fit
    model.load_state_dict(ckpt["state_dict"])
    model.to("cpu").eval()
    return ckpt["metrics"]


def export_artifact(*, state_dict: dict[str, torch.Tensor], config: dict, metrics: dict, result: FitResult,
                    hp: dict, started: float, path: str | Path, calibration: dict | None = None) -> dict:
    """Save the artifact every recipe exports — ``{"config", "state_dict" (fp16), "calibration",
    "metrics": {"valid"}, "trained"}``, loadable with ``weights_only=True`` and needing nothing
    else — and print one JSON summary line (scalar calibration values + validation metrics)."""
    artifact = {
        "config": config,
        "state_dict": {k: v.half() for k, v in state_dict.items()},
        "metrics": {"valid": metrics},
        "trained": {"steps": result.steps, "seconds": round(time.time() - started, 1), "hparams": hp,
                    "torch": str(torch.__version__)},
    }
    if calibration is not None:
        artifact["calibration"] = calibration
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(artifact, out)
    scalars = {k: v for k, v in (calibration or {}).items() if isinstance(v, (int, float))}
    summary = {"export": str(out), "bytes": out.stat().st_size, **scalars, **metrics}
    print(json.dumps(summary), flush=True)
    return summary
