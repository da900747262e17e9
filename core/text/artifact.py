"""Load a committed text-model artifact (``models/<task>/*.pt``) into a fast CPU inference model.

The artifact holds only the adapter + head (fp16); the frozen encoder comes from its package. On
load the adapter is merged into the encoder and the model is put in its inference precision:
``int8`` (dynamic quantisation of the Linear layers; the classifiers' default), ``bf16`` (where the
CPU has native bf16 instructions; the NER tagger, whose tags int8 measurably changes, see
core/text/ner.py) or ``fp32``. The latency figures in benchmarks/ measure these.
"""
from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import nn

from core.text.encoder import config_from_dict, load_trainable

log = logging.getLogger(__name__)


def read_artifact(path: str | Path) -> dict:
    return torch.load(Path(path), map_location="cpu", weights_only=True)


PRECISIONS = ("int8", "bf16", "fp32")


def restore(model: nn.Module, artifact: dict, *, precision: str = "int8") -> nn.Module:
    """Put the trained adapter/head on ``model``, merge LoRA, set the inference precision
    (``int8``, ``bf16``, ``fp32``; ``bf16`` falls back to fp32 on CPUs without native bf16);
    returns it in eval mode."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, not {precision!r}")
    load_trainable(model, {k: v.float() for k, v in artifact["state_dict"].items()})
    model.encoder.merged()
    model.eval()
    if precision == "int8":
        from core.text.encoder import quantize_for_cpu

        model = quantize_for_cpu(model)
    elif precision == "bf16" and cpu_has_bf16():
        model = model.to(torch.bfloat16)
    return model


def frozen(module: nn.Module, example: tuple[torch.Tensor, ...]) -> nn.Module:
    """TorchScript-trace ``module`` on ``example`` and freeze it (constant weights: Linear layers
    pre-packed, ops fused): the NER encoder runs 7.5 -> 5.5 ms per sentence in bf16. The trace
    follows the input shapes (tests check it equals eager on other lengths and padded batches);
    where tracing fails, the module is returned as it is."""
    import warnings

    try:
        with warnings.catch_warnings(), torch.inference_mode():
            warnings.simplefilter("ignore")
            return torch.jit.freeze(torch.jit.trace(module.eval(), example, check_trace=False))
    except Exception:  # noqa: BLE001 - an optimisation only; eager is always correct
        log.warning("TorchScript freeze failed; running the module eagerly (same output, slower)", exc_info=True)
        return module


def cpu_has_bf16() -> bool:
    """Native bf16 matrix instructions (AVX512-BF16 or AMX); without them bf16 is emulated and slower than fp32."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        log.info("/proc/cpuinfo is unreadable; assuming no native bf16", exc_info=True)
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


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
