"""Late fusion of emotion evidence from text and speech into one distribution over Ekman labels.

Each source gives scores over its own labels; ``to_ekman`` maps them onto the shared label set
(anger, disgust, fear, joy, neutral, sadness, surprise) and normalises. With two sources an
emotion counts when either hears it (a noisy-OR over the non-neutral labels, each source's
probabilities scaled by its relative trust; neutral is what is left): angry words in a flat voice
stay angry, and "fine, thanks" through clenched teeth is not made neutral by the words. A weighted
mean was measured first and failed exactly there: a confident neutral voice (espeak-ng's) erased
the words' emotion (benchmarks/emotion_speech.py, fusion section). The speech source's weight is further
scaled by the speech model's own confidence for the turn (low on silence, music, hold tones and
clips it is unsure of), so a doubtful voice reading barely moves the text's. The call-center
works with text alone and uses speech when a speech-emotion model is installed
(``core.emotion.speech``), with no change to its callers. ``distress`` (anger + fear + sadness + disgust) is what escalation rules read.

>>> fuse(text={"anger": 0.9, "neutral": 0.2}).label
'anger'
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

EKMAN = ("anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise")
NEGATIVE = ("anger", "disgust", "fear", "sadness")
# speech-emotion corpora label sets (RAVDESS, CREMA-D, IEMOCAP) onto Ekman
SYNONYMS = {
    "angry": "anger", "ang": "anger", "disgusted": "disgust", "dis": "disgust", "fearful": "fear",
    "fea": "fear", "happy": "joy", "hap": "joy", "happiness": "joy", "excited": "joy", "calm": "neutral",
    "neu": "neutral", "sad": "sadness", "surprised": "surprise", "sur": "surprise", "frustrated": "anger",
}
DEFAULT_WEIGHTS = {"text": 1.0, "speech": 1.0}  # chosen in benchmarks/emotion_speech.py (fusion section);
#   the speech weight is further scaled per turn by the speech model's confidence


@dataclass(frozen=True)
class FusedEmotion:
    label: str  # most likely Ekman label
    probabilities: dict[str, float]  # Ekman label -> probability (sums to 1)
    distress: float  # anger + disgust + fear + sadness probability mass, in [0, 1]
    sources: tuple[str, ...]  # which evidence was used: ("text",), ("text", "speech"), ...
    per_source: dict[str, dict[str, float]] = field(default_factory=dict)  # each source's Ekman distribution


def to_ekman(scores: dict[str, float]) -> dict[str, float]:
    """Scores over any label names -> a distribution over EKMAN (unknown labels are dropped)."""
    mass = dict.fromkeys(EKMAN, 0.0)
    for label, value in scores.items():
        name = SYNONYMS.get(label.lower(), label.lower())
        if name in mass:
            mass[name] += max(0.0, float(value))
    total = sum(mass.values())
    if total <= 0:
        return {k: (1.0 if k == "neutral" else 0.0) for k in EKMAN}
    return {k: v / total for k, v in mass.items()}


def fuse(*, text: dict[str, float] | None = None, speech: dict[str, float] | None = None,
         speech_confidence: float = 1.0, weights: dict[str, float] | None = None) -> FusedEmotion:
    weights = dict(weights or DEFAULT_WEIGHTS)
    weights["speech"] = weights.get("speech", 1.0) * max(0.0, min(1.0, speech_confidence))
    if speech and weights["speech"] <= 0:
        speech = None
    per_source = {name: to_ekman(s) for name, s in (("text", text), ("speech", speech)) if s}
    if not per_source:
        per_source = {"none": to_ekman({})}
    if len(per_source) == 1:  # one source: its own distribution
        fused = dict(next(iter(per_source.values())))
    else:  # emotion heard by either source counts; "neutral" from one does not cancel the other's
        top = max(weights.get(n, 1.0) for n in per_source) or 1.0
        trust = {n: min(1.0, weights.get(n, 1.0) / top) for n in per_source}
        fused = {k: 1.0 - float(np.prod([1.0 - trust[n] * d[k] for n, d in per_source.items()]))
                 for k in EKMAN if k != "neutral"}
        fused["neutral"] = max(0.0, 1.0 - sum(fused.values()))
        total = sum(fused.values()) or 1.0
        fused = {k: fused[k] / total for k in EKMAN}
    label = max(fused, key=fused.get)
    return FusedEmotion(label=label, probabilities={k: round(v, 4) for k, v in fused.items()},
                        distress=round(sum(fused[k] for k in NEGATIVE), 4),
                        sources=tuple(n for n in per_source if n != "none"), per_source=per_source)
