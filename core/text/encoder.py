"""The shared text encoder (all-MiniLM-L6-v2, 22.7M parameters) with LoRA adapters and task heads.

Every text model in Parlance is this encoder, frozen, plus a LoRA adapter (peft) and a small head;
only the adapter and the head are trained and committed, so an artifact is a few MB. A checkpoint
describes itself: ``{"config": EncoderConfig-as-dict + head fields, "state_dict": trainable
parameters only, ...}``; ``load_trainable`` puts it back on a freshly built model.

>>> enc = TextEncoder(EncoderConfig())                   # doctest: +SKIP
>>> batch = enc.tokenize(["lost my card"])               # input_ids [B, T], attention_mask [B, T]
>>> enc(batch["input_ids"], batch["attention_mask"]).shape  # hidden states [B, T, 384]
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass

import torch
from torch import nn

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")


@dataclass(frozen=True)
class EncoderConfig:
    name: str = "all-MiniLM-L6-v2"  # resolved by core.model_resolver.resolve_encoder
    lora_rank: int = 16  # 0: no adapter (frozen encoder)
    lora_alpha: int = 32  # LoRA scaling numerator (scale = alpha / rank)
    lora_dropout: float = 0.1
    lora_targets: tuple[str, ...] = ("query", "key", "value", "dense")  # every linear layer of BERT
    max_length: int = 64  # tokens per input after truncation


def load_tokenizer(name: str):
    from transformers import AutoTokenizer

    from core.model_resolver import resolve_encoder

    return AutoTokenizer.from_pretrained(resolve_encoder(name))


class TextEncoder(nn.Module):
    """MiniLM (frozen) + optional LoRA; returns hidden states ``[B, T, H]``."""

    def __init__(self, config: EncoderConfig):
        super().__init__()
        from transformers import AutoModel, logging as hf_logging

        from core.model_resolver import resolve_encoder

        hf_logging.set_verbosity_error()
        self.config = config
        base = AutoModel.from_pretrained(resolve_encoder(config.name), add_pooling_layer=False)
        for p in base.parameters():
            p.requires_grad_(False)
        if config.lora_rank:
            from peft import LoraConfig, get_peft_model

            base = get_peft_model(base, LoraConfig(r=config.lora_rank, lora_alpha=config.lora_alpha,
                                                   lora_dropout=config.lora_dropout,
                                                   target_modules=list(config.lora_targets)))
        self.model = base
        self.hidden_size: int = base.config.hidden_size
        self.tokenizer = load_tokenizer(config.name)

    def tokenize(self, texts: list[str], **kwargs) -> dict[str, torch.Tensor]:
        return self.tokenizer(texts, padding=True, truncation=True, max_length=self.config.max_length,
                              return_tensors="pt", **kwargs)

    def forward(self, input_ids: torch.Tensor | None, attention_mask: torch.Tensor,
                inputs_embeds: torch.Tensor | None = None) -> torch.Tensor:
        return self.model(input_ids=input_ids, attention_mask=attention_mask,
                          inputs_embeds=inputs_embeds).last_hidden_state

    def input_embeddings(self) -> nn.Module:
        """The word-piece embedding table (for models that add their own input features)."""
        return self.model.get_input_embeddings()

    def merged(self) -> nn.Module:
        """The plain transformer with the adapter folded in (for fast inference)."""
        if self.config.lora_rank:
            self.model = self.model.merge_and_unload()
        return self.model


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``[B, T, H]`` hidden states, ``[B, T]`` mask -> ``[B, H]`` masked mean (how MiniLM was trained)."""
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)


def trainable_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """Only the parameters that were trained (adapter + head): the committed artifact."""
    names = {n for n, p in model.named_parameters() if p.requires_grad}
    return {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items() if k in names}


def load_trainable(model: nn.Module, state: dict[str, torch.Tensor]) -> None:
    missing = [k for k in state if k not in dict(model.named_parameters())]
    if missing:
        raise ValueError(f"Checkpoint does not fit this model: unknown parameters {missing[:3]}...")
    model.load_state_dict(state, strict=False)


QUANTIZED_ENGINE = "fbgemm"  # int8 kernels: as fast as torch's "x86" default here, oneDNN 30% slower


def quantize_for_cpu(module: nn.Module) -> nn.Module:
    """int8 dynamic quantisation of the Linear layers with fbgemm's kernels (2.9x faster than fp32
    at batch 1 on 2 cores, 3.5x on 1: benchmarks/int8_kernels.py). The engine is pinned so the
    kernels do not change with the machine's heuristics; where fbgemm is missing (ARM), torch's
    default is kept."""
    import warnings

    if QUANTIZED_ENGINE in torch.backends.quantized.supported_engines:
        torch.backends.quantized.engine = QUANTIZED_ENGINE
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.ao.quantization.quantize_dynamic(module, {nn.Linear}, dtype=torch.qint8)


def config_dict(config: EncoderConfig) -> dict:
    d = asdict(config)
    d["lora_targets"] = list(d["lora_targets"])
    return d


def config_from_dict(d: dict) -> EncoderConfig:
    d = dict(d)
    d["lora_targets"] = tuple(d.get("lora_targets", EncoderConfig.lora_targets))
    return EncoderConfig(**{k: v for k, v in d.items() if k in EncoderConfig.__dataclass_fields__})


__all__ = ["EncoderConfig", "TextEncoder", "mean_pool", "trainable_state", "load_trainable",
           "quantize_for_cpu", "config_dict", "config_from_dict", "load_tokenizer"]
