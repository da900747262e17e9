"""Pronunciation assessment of one reading: what the tutor app calls.

``assess(samples, prompt)`` -> ``Assessment``: accuracy, fluency, completeness, prosody and total
on 0-100; per word an accuracy and an error type (omitted, substituted, mispronounced) with
inserted and repeated words beside them; per phone a score on the corpus's 0-2 scale and the
sound actually heard; and whether the recording is the prompt at all.

>>> a = assess(samples, "I think so.")             # doctest: +SKIP
>>> a.words[1].phones[0].heard, a.accuracy
('S', 72.5)
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from core.audio import SAMPLE_RATE
from core.pronunciation.features import scorer_inputs
from core.pronunciation.gop import PronunciationEvidence, evaluate_pronunciation, sequence_nll
from core.pronunciation.lexicon import Lexicon, PromptWord
from core.pronunciation.miscues import MISPRONOUNCED_LPR, Insertion, find_miscues
from core.pronunciation.phones import ipa, stress_free
from core.pronunciation.recognizer import PhoneRecognizer, default_recognizer
from core.pronunciation.scorer import Scorer, default_scorer

OFF_PROMPT_FIT = 4.5  # per-phone log-likelihood gap above which the recording is not the prompt
#   (first 300 train utterances: own prompt 99th percentile 3.3, another prompt 1st percentile 5.7)
ACCENTED_LPR = 1.0  # a phone that wins by less than this is scored 1 (accented), not 2
MIN_SPEECH_S = 0.3  # less aligned speech than this: nothing to score
MAX_LENGTH_RATIO = 4.0  # a recording this many times longer than the prompt needs is refused


class AssessmentError(ValueError):
    """The recording cannot be scored against this prompt; ``message`` says why, for the person."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.message, self.code = message, code


@dataclass(frozen=True)
class PhoneResult:
    phone: str  # expected, ARPAbet without stress
    score: int  # 2 good, 1 accented, 0 wrong or missing (the speechocean762 phone scale)
    heard: str  # most likely sound in its place ("" = nothing)
    confidence: float  # P(expected) among all sounds and nothing
    start: float
    end: float

    @property
    def ipa(self) -> str:
        return ipa(self.phone)

    @property
    def heard_ipa(self) -> str:
        return ipa(self.heard) if self.heard else ""


@dataclass(frozen=True)
class WordResult:
    index: int
    text: str  # as displayed in the prompt
    accuracy: float  # 0-100
    error: str  # "", "mispronounced", "substituted", "omitted"
    phones: tuple[PhoneResult, ...]
    start: float
    end: float


@dataclass(frozen=True)
class Assessment:
    accuracy: float  # 0-100 (the experts' 0-10 scale x 10)
    fluency: float
    completeness: float  # share of prompt words said
    prosody: float
    total: float
    words: tuple[WordResult, ...]
    insertions: tuple[Insertion, ...]
    heard: tuple[str, ...]  # free phone recognition
    fit: float  # per-phone likelihood gap to the free best path (small: the prompt was read)
    duration_s: float
    seconds: float  # processing time

    def to_dict(self) -> dict:
        return {
            "accuracy": self.accuracy, "fluency": self.fluency, "completeness": self.completeness,
            "prosody": self.prosody, "total": self.total, "fit": self.fit, "duration_s": self.duration_s,
            "heard": list(self.heard),
            "insertions": [{"after": i.after, "phones": list(i.phones), "repeats": i.repeats} for i in self.insertions],
            "words": [{"index": w.index, "text": w.text, "accuracy": w.accuracy, "error": w.error, "start": w.start,
                       "end": w.end, "phones": [{"phone": p.phone, "score": p.score, "heard": p.heard,
                                                 "confidence": p.confidence, "start": p.start, "end": p.end}
                                                for p in w.phones]} for w in self.words],
        }


def _phone_score(p) -> int:
    if p.heard != p.phone and p.lpr < MISPRONOUNCED_LPR:
        return 0
    return 2 if p.lpr >= ACCENTED_LPR else 1


def choose_variants(rec: PhoneRecognizer, post, words: list[PromptWord]) -> list[tuple[str, list[str]]]:
    """Per word, the accepted pronunciation that fits the recording best (one CTC pass per variant)."""
    from core.pronunciation.phones import INDEX

    chosen = [list(w.phones) for w in words]
    for i, w in enumerate(words):
        if len(w.variants) < 2:
            continue
        seqs = []
        for v in w.variants:
            trial = chosen[:i] + [list(v)] + chosen[i + 1:]
            seqs.append([INDEX[stress_free(p)] for ph in trial for p in ph])
        nll = sequence_nll(post.log_probs.float(), seqs).numpy()
        chosen[i] = list(w.variants[int(np.argmin(nll))])
    return [(w.text, c) for w, c in zip(words, chosen)]


def assess(samples: np.ndarray, prompt: str | list[PromptWord], *, recognizer: PhoneRecognizer | None = None,
           scorer: Scorer | None = None, lexicon: Lexicon | None = None) -> Assessment:
    """Score a reading of ``prompt``; raises ``AssessmentError`` when it cannot be scored."""
    t0 = time.perf_counter()
    rec = recognizer or default_recognizer()
    scorer = scorer or default_scorer()
    words = prompt if isinstance(prompt, list) else (lexicon or Lexicon()).prompt(prompt)
    if not words:
        raise AssessmentError("The prompt has no words to read.", "empty_prompt")
    duration = len(samples) / SAMPLE_RATE
    n_phones = sum(len(w.phones) for w in words)
    if duration > max(15.0, MAX_LENGTH_RATIO * n_phones * 0.25):
        raise AssessmentError(
            f"The recording is {duration:.0f} s long, far longer than this prompt needs. "
            "Please record just the prompt once.", "too_long")
    feats = rec.frontend(samples)
    post = rec.from_features(feats)
    pairs = choose_variants(rec, post, words)
    ev = evaluate_pronunciation(post, pairs)
    if not ev.heard or sum(w.end - w.start for w in ev.words if w.phones) < MIN_SPEECH_S:
        raise AssessmentError("No speech was heard in this recording. Please try again closer to the microphone.",
                              "no_speech")
    if ev.fit > OFF_PROMPT_FIT:
        raise AssessmentError("This recording does not sound like the prompt. Please read the sentence shown.",
                              "off_prompt")
    utt, rows = scorer_inputs(ev, feats, samples, pairs, scorer.pca)
    word_scores = scorer.words(rows)
    scores = scorer.utterance(utt)
    miscues = find_miscues(post, pairs, first=ev)
    said = {i: miscues.said.words[j] for j, i in enumerate(miscues.kept)}  # rescored without omitted words
    results = []
    for i, (w, s) in enumerate(zip(ev.words, word_scores)):
        error = miscues.errors[i]
        w = said.get(i, w)
        phones = tuple(PhoneResult(phone=p.phone, score=0 if error == "omitted" else _phone_score(p),
                                   heard="" if error == "omitted" else p.heard, confidence=p.confidence,
                                   start=p.start, end=p.end) for p in w.phones)
        results.append(WordResult(index=i, text=w.text, accuracy=0.0 if error == "omitted" else round(10 * s, 1),
                                  error=error, phones=phones, start=w.start, end=w.end))
    said = sum(1 for r in results if r.error != "omitted")
    completeness = 100.0 * said / len(results)
    return Assessment(
        accuracy=round(10 * scores["accuracy"], 1), fluency=round(10 * scores["fluency"], 1),
        completeness=round(completeness, 1), prosody=round(10 * scores["prosodic"], 1),
        total=round(10 * scores["total"], 1), words=tuple(results), insertions=miscues.insertions,
        heard=ev.heard, fit=ev.fit, duration_s=duration, seconds=time.perf_counter() - t0)


__all__ = ["Assessment", "AssessmentError", "WordResult", "PhoneResult", "assess", "PronunciationEvidence"]
