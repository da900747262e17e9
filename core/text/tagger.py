"""Token tagger for named entities: the shared encoder + one linear BIO head per dataset.

Datasets annotate different entity types (BC5CDR: Chemical and Disease; NCBI-disease: Disease
only, chemicals left as O), so each gets its own head over one shared LoRA-adapted encoder
(multi-task learning); a sentence is tagged by the head of the dataset whose label set you want.

>>> tagger = TokenTagger(EncoderConfig(max_length=128), {"bc5cdr": BC5CDR_TAGS})   # doctest: +SKIP
>>> tagger(input_ids, attention_mask, head="bc5cdr").shape                         # [B, T, 5]
"""
from __future__ import annotations

import torch
from torch import nn

from core.text.encoder import EncoderConfig, TextEncoder

BC5CDR_TAGS = ["O", "B-Chemical", "I-Chemical", "B-Disease", "I-Disease"]
NCBI_TAGS = ["O", "B-Disease", "I-Disease"]


class TokenTagger(nn.Module):
    def __init__(self, encoder: EncoderConfig, heads: dict[str, list[str]], dropout: float = 0.1):
        super().__init__()
        self.encoder = TextEncoder(encoder)
        self.tags = {name: list(tags) for name, tags in heads.items()}
        self.dropout = nn.Dropout(dropout)
        self.heads = nn.ModuleDict({name: nn.Linear(self.encoder.hidden_size, len(tags))
                                    for name, tags in heads.items()})

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, head: str) -> torch.Tensor:
        """``[B, T]`` ids and mask -> ``[B, T, n_tags(head)]`` logits per word piece."""
        return self.heads[head](self.dropout(self.encoder(input_ids, attention_mask)))


def bio_spans(tags: list[str]) -> set[tuple[int, int, str]]:
    """Word-level BIO tags -> ``{(start, end_exclusive, type)}``; a stray I- starts a new span."""
    spans, start, kind = set(), None, None
    for i, tag in enumerate(list(tags) + ["O"]):
        prefix, _, t = tag.partition("-")
        if prefix == "B" or prefix == "O" or (prefix == "I" and t != kind):
            if start is not None:
                spans.add((start, i, kind))
                start, kind = None, None
            if prefix in ("B", "I"):
                start, kind = i, t
    return spans


def align_labels(word_ids: list[int | None], word_tags: list[int]) -> list[int]:
    """Word-level tag ids -> word-piece labels: the first piece of each word gets the tag, the rest -100."""
    out, previous = [], None
    for w in word_ids:
        out.append(-100 if w is None or w == previous else word_tags[w])
        previous = w
    return out


def word_tags_from_logits(logits: torch.Tensor, word_ids: list[int | None], n_words: int, tags: list[str]) -> list[str]:
    """``[T, C]`` word-piece logits -> one tag per word (from its first piece; words cut off by
    truncation get O); I- tags that follow nothing are repaired to B- by ``bio_spans``."""
    best = logits.argmax(-1).tolist()
    out, previous = ["O"] * n_words, None
    for pos, w in enumerate(word_ids):
        if w is not None and w != previous:
            out[w] = tags[best[pos]]
        previous = w
    return out


def tagging_collate(tokenizer, max_length: int, tags: dict[str, list[str]]):
    """Rows ``{"dataset", "tokens", "tags"}`` of one dataset -> ``{"input_ids", "attention_mask": [B, T],
    "labels": [B, T] (-100 on non-first pieces), "head": str, "word_ids": list, "rows": list}``."""
    index = {name: {t: i for i, t in enumerate(ts)} for name, ts in tags.items()}

    def collate(rows: list[dict]) -> dict:
        head = rows[0]["dataset"]
        enc = tokenizer([r["tokens"] for r in rows], is_split_into_words=True, padding=True, truncation=True,
                        max_length=max_length, return_tensors="pt")
        word_ids = [enc.word_ids(i) for i in range(len(rows))]
        labels = [align_labels(w, [index[head][t] for t in r["tags"]]) for w, r in zip(word_ids, rows)]
        return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"],
                "labels": torch.tensor(labels), "head": head, "word_ids": word_ids, "rows": rows}

    return collate


@torch.no_grad()
def evaluate_spans(model: TokenTagger, loader) -> dict[str, dict[str, float]]:
    """Entity-level exact-match micro P/R/F1 per dataset (head), overall and per type."""
    from core.text.metrics import entity_prf

    device = next(model.parameters()).device
    gold: dict[str, list[set]] = {}
    pred: dict[str, list[set]] = {}
    for batch in loader:
        head = batch["head"]
        logits = model(batch["input_ids"].to(device), batch["attention_mask"].to(device), head=head).float().cpu()
        for i, row in enumerate(batch["rows"]):
            words = word_tags_from_logits(logits[i], batch["word_ids"][i], len(row["tokens"]), model.tags[head])
            gold.setdefault(head, []).append(bio_spans(row["tags"]))
            pred.setdefault(head, []).append(bio_spans(words))
    out = {}
    for head in gold:
        out[head] = entity_prf(gold[head], pred[head])
        for kind in sorted({k for s in gold[head] for *_, k in s}):
            out[f"{head}/{kind}"] = entity_prf([{x for x in s if x[2] == kind} for s in gold[head]],
                                               [{x for x in s if x[2] == kind} for s in pred[head]])
    return out
