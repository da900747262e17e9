"""Load a committed text-model artifact (``models/<task>/*.pt``) into a fast CPU inference model.

The artifact holds only the adapter + head (fp16); the frozen encoder comes from its package. On
load the adapter is merged into the encoder and the Linear layers are int8-quantised (dynamic),
which is what the latency figures in benchmarks/ measure.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from core.text.encoder import config_from_dict, load_trainable


def read_artifact(path: str | Path) -> dict:
    return torch.load(Path(path), map_location="cpu", weights_only=True)


def restore(model: nn.Module, artifact: dict, *, quantize: bool = True) -> nn.Module:
    """Put the trained adapter/head on ``model``, merge LoRA, quantise; returns it in eval mode."""
    load_trainable(model, {k: v.float() for k, v in artifact["state_dict"].items()})
    model.encoder.merged()
    model.eval()
    if quantize:
        from core.text.encoder import quantize_for_cpu

        model = quantize_for_cpu(model)
    return model


def encoder_config(artifact: dict, **overrides):
    cfg = dict(artifact["config"]["encoder"])
    cfg.update(overrides)
    return config_from_dict(cfg)


def set_threads() -> None:
    """Use the configured CPU thread count for torch inference (0: leave torch's default)."""
    from core.config import get_settings

    n = get_settings().cpu_threads
    if n:
        torch.set_num_threads(n)
