"""The speech-emotion model's label set, the names other corpora use for it, and where each
label sits on the arousal / valence plane.

RAVDESS has eight acted emotions and no dimensional ratings, so arousal and valence targets are
the labels' positions on Russell's circumplex (scaled to [-1, 1]; a strong-intensity clip is moved
further out), a documented approximation rather than rated values. Corpora that do carry ratings
(IEMOCAP) pass their own through the manifest.
"""
from __future__ import annotations

LABELS = ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised")
FOUR_CLASS = {"neutral": "neutral", "calm": "neutral", "happy": "happy", "sad": "sad", "angry": "angry"}

# label -> (arousal, valence)
AFFECT = {
    "neutral": (0.0, 0.0), "calm": (-0.4, 0.3), "happy": (0.5, 0.8), "sad": (-0.5, -0.7),
    "angry": (0.8, -0.7), "fearful": (0.6, -0.6), "disgust": (0.2, -0.7), "surprised": (0.7, 0.3),
}
_NAMES = {
    # RAVDESS and plain English
    "neutral": "neutral", "calm": "calm", "happy": "happy", "happiness": "happy", "joy": "happy",
    "sad": "sad", "sadness": "sad", "angry": "angry", "anger": "angry", "fearful": "fearful", "fear": "fearful",
    "disgust": "disgust", "disgusted": "disgust", "surprised": "surprised", "surprise": "surprised",
    # CREMA-D codes
    "neu": "neutral", "hap": "happy", "ang": "angry", "fea": "fearful", "dis": "disgust",
    # IEMOCAP codes
    "exc": "happy", "excited": "happy", "fru": "angry", "frustrated": "angry", "sur": "surprised",
}


def normalise_label(name: str) -> str | None:
    """Any corpus's name for an emotion -> one of ``LABELS`` (None when there is no match)."""
    return _NAMES.get(str(name).strip().lower())


def affect_of(label: str, strong: bool = False) -> tuple[float, float]:
    """(arousal, valence) of a label; ``strong`` intensity moves the point 25% further out."""
    a, v = AFFECT[label]
    k = 1.25 if strong else 1.0
    return max(-1.0, min(1.0, a * k)), max(-1.0, min(1.0, v * k))
