"""The bundled CTranslate2 Whisper weights as a PyTorch (transformers) Whisper encoder.

CTranslate2's ``model.bin`` stores the weights in fp16, so the conversion is exact (layout in
../shared/OFFLINE_FACTS.md). The torch encoder gives what CTranslate2 does not: every layer's
hidden states (for models that weigh the layers, as speech-emotion does) and gradients (for
adapting Whisper).

>>> enc = whisper_encoder(resolve_whisper("tiny.en"))    # doctest: +SKIP
>>> enc(mel[None], output_hidden_states=True).hidden_states   # 5 x [1, T/2, 384]
"""
from __future__ import annotations

import re
import struct
from pathlib import Path

import numpy as np
import torch

_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}


def read_ct2(path: str | Path) -> dict[str, np.ndarray]:
    """Every variable of a CTranslate2 ``model.bin`` (folder or file) by name."""
    path = Path(path)
    if path.is_dir():
        path = path / "model.bin"
    out: dict[str, np.ndarray] = {}
    with path.open("rb") as f:
        def u32() -> int:
            return struct.unpack("<I", f.read(4))[0]

        def string() -> str:
            n = struct.unpack("<H", f.read(2))[0]
            return f.read(n)[:-1].decode()

        version = u32()
        if version < 5:
            raise ValueError(f"{path}: CTranslate2 binary version {version} is not supported")
        string()  # spec name
        u32()  # spec revision
        for _ in range(u32()):
            name = string()
            rank = f.read(1)[0]
            dims = [u32() for _ in range(rank)]
            dtype = f.read(1)[0]
            raw = f.read(u32())
            if dtype not in _DTYPES:
                continue  # bfloat16 scalars and the like: not needed here
            out[name] = np.frombuffer(raw, dtype=_DTYPES[dtype]).reshape(dims)
    return out


def count_layers(weights: dict[str, np.ndarray], stack: str) -> int:
    """How many ``<stack>/layer_<i>`` blocks (``stack``: "encoder" or "decoder") the model has."""
    return 1 + max(int(m[1]) for k in weights if (m := re.match(rf"{stack}/layer_(\d+)/", k)))


def layer_state_dict(weights: dict[str, np.ndarray], src: str, dst: str, d: int) -> dict[str, torch.Tensor]:
    """One transformer layer's self-attention (CTranslate2 fuses q, k, v; k has no bias) and
    feed-forward block, encoder or decoder alike."""
    def t(name: str) -> torch.Tensor:
        return torch.from_numpy(weights[name].astype(np.float32))

    qkv_w, qkv_b = t(f"{src}/self_attention/linear_0/weight"), t(f"{src}/self_attention/linear_0/bias")
    return {
        f"{dst}.self_attn.q_proj.weight": qkv_w[:d], f"{dst}.self_attn.q_proj.bias": qkv_b[:d],
        f"{dst}.self_attn.k_proj.weight": qkv_w[d:2 * d],
        f"{dst}.self_attn.v_proj.weight": qkv_w[2 * d:], f"{dst}.self_attn.v_proj.bias": qkv_b[2 * d:],
        f"{dst}.self_attn.out_proj.weight": t(f"{src}/self_attention/linear_1/weight"),
        f"{dst}.self_attn.out_proj.bias": t(f"{src}/self_attention/linear_1/bias"),
        f"{dst}.self_attn_layer_norm.weight": t(f"{src}/self_attention/layer_norm/gamma"),
        f"{dst}.self_attn_layer_norm.bias": t(f"{src}/self_attention/layer_norm/beta"),
        f"{dst}.fc1.weight": t(f"{src}/ffn/linear_0/weight"), f"{dst}.fc1.bias": t(f"{src}/ffn/linear_0/bias"),
        f"{dst}.fc2.weight": t(f"{src}/ffn/linear_1/weight"), f"{dst}.fc2.bias": t(f"{src}/ffn/linear_1/bias"),
        f"{dst}.final_layer_norm.weight": t(f"{src}/ffn/layer_norm/gamma"),
        f"{dst}.final_layer_norm.bias": t(f"{src}/ffn/layer_norm/beta"),
    }


def encoder_state_dict(weights: dict[str, np.ndarray]) -> tuple[dict[str, torch.Tensor], dict]:
    """CTranslate2 encoder variables -> (transformers ``WhisperEncoder`` state dict, config values)."""
    def t(name: str) -> torch.Tensor:
        return torch.from_numpy(weights[name].astype(np.float32))

    d = weights["encoder/conv1/weight"].shape[0]
    n_layers = count_layers(weights, "encoder")
    sd = {"conv1.weight": t("encoder/conv1/weight"), "conv1.bias": t("encoder/conv1/bias"),
          "conv2.weight": t("encoder/conv2/weight"), "conv2.bias": t("encoder/conv2/bias"),
          "embed_positions.weight": t("encoder/position_encodings/encodings"),
          "layer_norm.weight": t("encoder/layer_norm/gamma"), "layer_norm.bias": t("encoder/layer_norm/beta")}
    for i in range(n_layers):
        sd.update(layer_state_dict(weights, f"encoder/layer_{i}", f"layers.{i}", d))
    heads = int(weights["encoder/num_heads"]) if "encoder/num_heads" in weights else max(1, d // 64)
    config = {"d_model": d, "encoder_layers": n_layers, "encoder_attention_heads": heads,
              "encoder_ffn_dim": weights["encoder/layer_0/ffn/linear_0/weight"].shape[0],
              "num_mel_bins": weights["encoder/conv1/weight"].shape[1],
              "max_source_positions": weights["encoder/position_encodings/encodings"].shape[0]}
    return sd, config


def whisper_encoder(folder: str | Path):
    """A transformers ``WhisperEncoder`` (eval mode, fp32) with the weights of a CTranslate2 Whisper
    folder (``core.model_resolver.resolve_whisper(name)`` gives one)."""
    from transformers import WhisperConfig
    from transformers.models.whisper.modeling_whisper import WhisperEncoder

    sd, values = encoder_state_dict(read_ct2(folder))
    config = WhisperConfig(**values, decoder_layers=1, decoder_attention_heads=values["encoder_attention_heads"],
                           activation_function="gelu")
    encoder = WhisperEncoder(config)
    missing, unexpected = encoder.load_state_dict(sd, strict=False)
    if unexpected or [k for k in missing if not k.endswith("k_proj.bias")]:
        raise ValueError(f"weights do not fit the encoder: missing {missing}, unexpected {unexpected}")
    return encoder.eval()
