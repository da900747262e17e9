"""Sentence classifier: the shared encoder, mean pooling, dropout and a linear head.

Used for single-label tasks (intent: softmax over intents + an out-of-scope class) and
multi-label ones (emotion: one sigmoid per label); the loss lives in the recipe.

>>> model = SentenceClassifier(EncoderConfig(), num_labels=78)          # doctest: +SKIP
>>> logits = model(input_ids, attention_mask)                           # [B, 78]
"""
from __future__ import annotations

import torch
from torch import nn

from core.text.encoder import EncoderConfig, TextEncoder, mean_pool


class SentenceClassifier(nn.Module):
    def __init__(self, encoder: EncoderConfig, num_labels: int, dropout: float = 0.1):
        super().__init__()
        self.encoder = TextEncoder(encoder)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(self.encoder.hidden_size, num_labels)

    def embed(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """``[B, T]`` ids and mask -> ``[B, H]`` sentence embeddings."""
        return mean_pool(self.encoder(input_ids, attention_mask), attention_mask)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """``[B, T]`` ids and mask -> ``[B, num_labels]`` logits."""
        return self.head(self.dropout(self.embed(input_ids, attention_mask)))


@torch.no_grad()
def predict_logits(model: nn.Module, loader) -> tuple[torch.Tensor, torch.Tensor]:
    """Run ``model`` over a loader of ``{"input_ids", "attention_mask", "labels"}`` batches ->
    (logits ``[N, C]`` float32 on CPU, labels)."""
    device = next(model.parameters()).device
    outs, ys = [], []
    for batch in loader:
        outs.append(model(batch["input_ids"].to(device), batch["attention_mask"].to(device)).float().cpu())
        ys.append(batch["labels"])
    return torch.cat(outs), torch.cat(ys)
