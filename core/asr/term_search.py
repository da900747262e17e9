"""Which of a list of terms (the lexicon's drug names) Whisper hears at one place in a piece of
audio: its decoder reads the words said before that place, then may write only tokens that spell a
term (a token trie over every term), beam search; a term's score is the log probability of its
tokens and of a word boundary after them (so "canakin" does not win over "canakinumab").

Why: Whisper writes English for a drug name it has never been shown ("can a kid map" for
canakinumab) because its language model prefers English; held to the names, its ear picks well
among 2,000 of them (canakinumab -12.7 against caffeine -20.3 in a synthetic order). Free
decoding with the names in the prompt (``recogniser_check``) can only be given five; this search
is given them all.

The decoder runs in torch (``core.asr.whisper_hf`` reads the CTranslate2 weights exactly), on
the encoder output of the engine's own CTranslate2 encoder.

>>> search = TermSearch(resolve_whisper("base"), tokenizer)                    # doctest: +SKIP
>>> search.best(TermTrie(tokenizer, names), encoded, prefix_ids, k=2)         # doctest: +SKIP
[('canakinumab', -12.7), ('caffeine', -20.3)]

``WhisperTranscriber.propose_terms`` wraps it (features, encoder, prefix; the decoder is built on
first use, the trie again only when the terms change).
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch

MAX_TERM_TOKENS = 12


def _variants(term: str) -> set[str]:
    """A term as the decoder may write it mid-sentence: lower-case and capitalised, after a space."""
    return {" " + term.lower(), " " + term[:1].upper() + term[1:].lower()}


class TermTrie:
    """``terms`` as token sequences (each as written lower-case and capitalised, after a space), in a
    trie: a node maps a token to the next node; the key None holds the terms that end there."""

    def __init__(self, tokenizer, terms: Sequence[str]):
        self.terms = tuple(terms)
        self.root: dict = {}
        for term in self.terms:
            for variant in _variants(term):
                node = self.root
                for t in tokenizer.encode(variant):
                    node = node.setdefault(t, {})
                node.setdefault(None, set()).add(term)


class TermSearch:
    """The decoder (torch, from the CTranslate2 weights in ``model_folder``) that searches a trie."""

    def __init__(self, model_folder: str | Path, tokenizer, beam: int = 16):
        from core.asr.whisper_hf import load_whisper_hf

        self.tokenizer = tokenizer
        model, _ = load_whisper_hf(model_folder)
        self.decoder = model.model.decoder
        self.out = model.proj_out.weight.detach()  # [V, D], tied to the embeddings
        self.beam = beam
        n_vocab = self.out.shape[0]
        boundary = np.zeros(n_vocab, dtype=bool)  # tokens that do not go on with a word's letters
        for i in range(n_vocab):
            text = tokenizer.tokenizer.decode([i]) if i < tokenizer.eot else ""
            boundary[i] = i >= tokenizer.eot or not text or not text[0].isalpha()
        self.boundary = torch.from_numpy(boundary)

    def _log_probs(self, hidden: torch.Tensor) -> torch.Tensor:
        return torch.log_softmax(hidden @ self.out.T, dim=-1)

    @torch.no_grad()
    def best(self, trie: TermTrie, encoded: np.ndarray, prefix: list[int], k: int = 5) -> list[tuple[str, float]]:
        """The ``k`` terms of ``trie`` Whisper likes best right after ``prefix`` (token ids: the start
        sequence and the words before the place) in the audio ``encoded`` (``[1, frames, D]``),
        with their log probabilities, best first."""
        enc = torch.from_numpy(np.ascontiguousarray(encoded, dtype=np.float32))
        out = self.decoder(input_ids=torch.tensor([prefix]), encoder_hidden_states=enc, use_cache=True)
        cache = out.past_key_values
        cache.batch_repeat_interleave(self.beam)  # the audio's keys and values, once per beam
        enc = enc.expand(self.beam, -1, -1)
        rows = self._log_probs(out.last_hidden_state[:, -1])
        beams: list[tuple[float, dict]] = [(0.0, trie.root)]
        ended: dict[str, float] = {}
        for _ in range(MAX_TERM_TOKENS):
            grown = []
            for j, (score, node) in enumerate(beams):
                kids = [t for t in node if t is not None]
                if kids:
                    grown += [(score + v, node[t], t, j) for t, v in zip(kids, rows[j][kids].tolist())]
            if not grown:
                break
            grown = sorted(grown, key=lambda g: -g[0])[:self.beam]
            fill = [grown[0]] * (self.beam - len(grown))  # the batch keeps its size (the audio's cache)
            cache.self_attention_cache.reorder_cache(torch.tensor([g[3] for g in grown + fill]))
            out = self.decoder(input_ids=torch.tensor([[g[2]] for g in grown + fill]), encoder_hidden_states=enc,
                               past_key_values=cache, use_cache=True)
            cache = out.past_key_values
            rows = self._log_probs(out.last_hidden_state[:len(grown), -1])
            beams = []
            for j, (score, node, _, _) in enumerate(grown):
                if None in node:
                    end = score + float(torch.logsumexp(rows[j][self.boundary], dim=0))
                    for term in node[None]:
                        ended[term] = max(ended.get(term, -np.inf), end)
                beams.append((score, node))
        return sorted(ended.items(), key=lambda kv: -kv[1])[:k]

    @torch.no_grad()
    def score(self, encoded: np.ndarray, prefix: list[int], terms: Sequence[str]) -> list[float]:
        """Each of ``terms``' log probability right after ``prefix`` in the audio ``encoded``, scored
        as ``best`` scores it (its tokens, the better of its two spellings, and a word boundary
        after them), teacher-forced in one batch."""
        if not terms:
            return []
        seqs, owner = [], []
        for i, term in enumerate(terms):
            for variant in sorted(_variants(term)):
                seqs.append(self.tokenizer.encode(variant))
                owner.append(i)
        width = max(len(s) for s in seqs)
        ids = torch.tensor([prefix + s + [s[-1]] * (width - len(s)) for s in seqs])  # right-padded: causal
        enc = torch.from_numpy(np.ascontiguousarray(encoded, dtype=np.float32)).expand(len(seqs), -1, -1)
        rows = self._log_probs(self.decoder(input_ids=ids, encoder_hidden_states=enc).last_hidden_state)
        at = len(prefix) - 1  # the row that predicts a term's first token
        out = [-np.inf] * len(terms)
        for j, s in enumerate(seqs):
            total = float(rows[j, at + torch.arange(len(s)), torch.tensor(s)].sum())
            total += float(torch.logsumexp(rows[j, at + len(s)][self.boundary], dim=0))
            out[owner[j]] = max(out[owner[j]], total)
        return out
