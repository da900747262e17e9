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
        cache, enc, before = self._heard(encoded, prefix, self.beam)
        rows = self._log_probs(before[-1:])
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

    def _heard(self, encoded: np.ndarray, prefix: list[int], rows: int):
        """(the decoder's cache after ``prefix`` with the audio's keys and values, shared by ``rows``
        rows without copying them; the prefix's hidden states): the audio is projected once, not
        once per row (that was most of the cost of scoring 30 readings)."""
        enc = torch.from_numpy(np.ascontiguousarray(encoded, dtype=np.float32))
        out = self.decoder(input_ids=torch.tensor([prefix]), encoder_hidden_states=enc, use_cache=True)
        cache = out.past_key_values
        cache.self_attention_cache.batch_repeat_interleave(rows)  # the prefix: a few tokens
        for layer in cache.cross_attention_cache.layers:
            layer.keys, layer.values = layer.keys.expand(rows, -1, -1, -1), layer.values.expand(rows, -1, -1, -1)
        return cache, enc.expand(rows, -1, -1), out.last_hidden_state[0]

    @torch.no_grad()
    def forced(self, encoded: np.ndarray, prefix: list[int], seqs: Sequence[list[int]],
               boundary: bool = False) -> list[float]:
        """Each of ``seqs``' summed log probability right after ``prefix`` (token ids) in the audio
        ``encoded`` (``[1, frames, D]``), teacher-forced in one batch, plus with ``boundary`` that of
        a word boundary after it. The tokens all sequences begin with are read once, in the prefix."""
        if not seqs:
            return []
        common = 0
        shortest = min(len(s) for s in seqs)
        while common < shortest - 1 and all(s[common] == seqs[0][common] for s in seqs):
            common += 1
        shared = list(seqs[0][:common])
        tails = [list(s[common:]) for s in seqs]
        cache, enc, before = self._heard(encoded, prefix + shared, len(tails))
        head = 0.0
        if shared:  # the shared tokens' own log probabilities, read off the prefix's rows
            lp = self._log_probs(before[len(prefix) - 1:-1])
            head = float(lp[torch.arange(len(shared)), torch.tensor(shared)].sum())
        first = self._log_probs(before[-1])  # predicts every tail's first token
        width = max(len(t) for t in tails)
        if width == 0:
            return [head] * len(tails)
        ids = torch.tensor([t + [t[-1] if t else 0] * (width - len(t)) for t in tails])  # right-padded: causal
        hidden = self.decoder(input_ids=ids, encoder_hidden_states=enc, past_key_values=cache,
                              use_cache=True).last_hidden_state
        wanted = [(j, i) for j, t in enumerate(tails) for i in range(len(t) - (0 if boundary else 1))]
        rows = self._log_probs(hidden[[j for j, _ in wanted], [i for _, i in wanted]]) if wanted else None
        out, k = [], 0
        for t in tails:
            total = head + (float(first[t[0]]) if t else 0.0)
            for i in range(1, len(t)):
                total += float(rows[k, t[i]])
                k += 1
            if boundary:
                total += float(torch.logsumexp(rows[k][self.boundary], dim=0)) if t else 0.0
                k += 1 if t else 0
            out.append(total)
        return out

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
        out = [-np.inf] * len(terms)
        for j, total in zip(owner, self.forced(encoded, prefix, seqs, boundary=True)):
            out[j] = max(out[j], total)
        return out
