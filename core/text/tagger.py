"""Token tagger for named entities: the shared encoder + one linear BIO head per dataset.

Datasets annotate different entity types (BC5CDR: Chemical and Disease; NCBI-disease: Disease
only, chemicals left as O), so each gets its own head over one shared LoRA-adapted encoder
(multi-task learning); a sentence is tagged by the head of the dataset whose label set you want.

>>> tagger = TokenTagger(EncoderConfig(max_length=128), {"bc5cdr": BC5CDR_TAGS})   # doctest: +SKIP
>>> tagger(input_ids, attention_mask, head="bc5cdr").shape                         # [B, T, 5]
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
from torch import nn

from core.text.encoder import EncoderConfig, TextEncoder

BC5CDR_TAGS = ["O", "B-Chemical", "I-Chemical", "B-Disease", "I-Disease"]
NCBI_TAGS = ["O", "B-Disease", "I-Disease"]


class TokenTagger(nn.Module):
    def __init__(self, encoder: EncoderConfig, heads: dict[str, list[str]], dropout: float = 0.1,
                 n_features: int = 0):
        super().__init__()
        self.encoder = TextEncoder(encoder)
        self.tags = {name: list(tags) for name, tags in heads.items()}
        self.dropout = nn.Dropout(dropout)
        self.heads = nn.ModuleDict({name: nn.Linear(self.encoder.hidden_size, len(tags))
                                    for name, tags in heads.items()})
        # Dictionary features (core.text.gazetteer), added to the input embeddings; zero at start,
        # so a tagger trained without them starts out unchanged.
        self.features = nn.Embedding(n_features, self.encoder.hidden_size) if n_features else None
        if self.features is not None:
            nn.init.zeros_(self.features.weight)

    def encode(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
               features: torch.Tensor | None = None) -> torch.Tensor:
        """``[B, T]`` ids, mask (and dictionary feature ids) -> ``[B, T, H]`` hidden states, shared by the heads."""
        if self.features is not None and features is not None:
            embeds = self.encoder.input_embeddings()(input_ids) + self.features(features)
            return self.encoder(None, attention_mask, inputs_embeds=embeds)
        return self.encoder(input_ids, attention_mask)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, head: str,
                features: torch.Tensor | None = None) -> torch.Tensor:
        """``[B, T]`` ids, mask (and dictionary feature ids) -> ``[B, T, n_tags(head)]`` logits per piece."""
        return self.heads[head](self.dropout(self.encode(input_ids, attention_mask, features)))


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


def piece_features(word_ids: list[int | None], word_features: list[int]) -> list[int]:
    """Word-level feature ids -> one per word piece (every piece of a word gets its word's; specials 0)."""
    return [0 if w is None else word_features[w] for w in word_ids]


@lru_cache(maxsize=8)
def _transitions(tags: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """BIO constraints as additive scores: I-X only after B-X or I-X, never first."""
    n = len(tags)
    trans, start = np.zeros((n, n), np.float32), np.zeros(n, np.float32)
    for j, to in enumerate(tags):
        if to.startswith("I-"):
            start[j] = -1e4
            for i, frm in enumerate(tags):
                if not (frm[2:] == to[2:] and frm[:2] in ("B-", "I-")):
                    trans[i, j] = -1e4
    return trans, start


def bio_viterbi(log_probs: torch.Tensor, tags: list[str]) -> list[int]:
    """``[N, C]`` per-word log-probabilities -> the best tag sequence that is valid BIO."""
    trans, start = _transitions(tuple(tags))
    lp = log_probs.numpy()
    score, back = lp[0] + start, []
    for t in range(1, len(lp)):
        cand = score[:, None] + trans
        idx = cand.argmax(0)
        back.append(idx)
        score = cand[idx, range(len(idx))] + lp[t]
    path = [int(score.argmax())]
    for idx in reversed(back):
        path.append(int(idx[path[-1]]))
    return path[::-1]


def word_tags_from_logits(logits: torch.Tensor, word_ids: list[int | None], n_words: int, tags: list[str],
                          o_bias: float = 0.0) -> list[str]:
    """``[T, C]`` word-piece logits -> one tag per word: each word is scored by its first piece and
    the sequence is decoded with BIO constraints (Viterbi); words cut off by truncation get O.
    ``o_bias`` is added to O's log-probability (> 0: fewer, surer entities; tuned on held-out data)."""
    first, words, previous = [], [], None
    for pos, w in enumerate(word_ids):
        if w is not None and w != previous:
            first.append(pos)
            words.append(w)
        previous = w
    out = ["O"] * n_words
    if first:
        lp = logits[first].float().log_softmax(-1)
        if o_bias:
            lp[:, tags.index("O")] += o_bias
        path = bio_viterbi(lp, tags)
        for w, j in zip(words, path):
            out[w] = tags[j]
    return out


def tagging_collate(tokenizer, max_length: int, tags: dict[str, list[str]]):
    """Rows ``{"dataset", "tokens", "tags"}`` of one dataset -> ``{"input_ids", "attention_mask": [B, T],
    "labels": [B, T] (-100 on non-first pieces), "head": str, "word_ids": list, "rows": list}``; rows
    with a ``"features"`` list (one dictionary feature id per word) add ``"features": [B, T]``."""
    index = {name: {t: i for i, t in enumerate(ts)} for name, ts in tags.items()}

    def collate(rows: list[dict]) -> dict:
        head = rows[0]["dataset"]
        enc = tokenizer([r["tokens"] for r in rows], is_split_into_words=True, padding=True, truncation=True,
                        max_length=max_length, return_tensors="pt")
        word_ids = [enc.word_ids(i) for i in range(len(rows))]
        labels = [align_labels(w, [index[head][t] for t in r["tags"]]) for w, r in zip(word_ids, rows)]
        batch = {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"],
                 "labels": torch.tensor(labels), "head": head, "word_ids": word_ids, "rows": rows}
        if "features" in rows[0]:
            batch["features"] = torch.tensor([piece_features(w, r["features"]) for w, r in zip(word_ids, rows)])
        return batch

    return collate


@torch.no_grad()
def evaluate_spans(model: TokenTagger, loader, o_bias: float = 0.0) -> dict[str, dict[str, float]]:
    """Entity-level exact-match micro P/R/F1 per dataset (head), overall and per type."""
    from core.text.metrics import entity_prf

    device = next(model.parameters()).device
    gold: dict[str, list[set]] = {}
    pred: dict[str, list[set]] = {}
    for batch in loader:
        head = batch["head"]
        features = batch.get("features")
        logits = model(batch["input_ids"].to(device), batch["attention_mask"].to(device), head=head,
                       features=None if features is None else features.to(device)).float().cpu()
        for i, row in enumerate(batch["rows"]):
            words = word_tags_from_logits(logits[i], batch["word_ids"][i], len(row["tokens"]), model.tags[head], o_bias)
            gold.setdefault(head, []).append(bio_spans(row["tags"]))
            pred.setdefault(head, []).append(bio_spans(words))
    out = {}
    for head in gold:
        out[head] = entity_prf(gold[head], pred[head])
        for kind in sorted({k for s in gold[head] for *_, k in s}):
            out[f"{head}/{kind}"] = entity_prf([{x for x in s if x[2] == kind} for s in gold[head]],
                                               [{x for x in s if x[2] == kind} for s in pred[head]])
    return out
