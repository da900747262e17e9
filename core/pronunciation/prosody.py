"""Fluency and prosody measurements of one recording, from the alignment and Praat (parselmouth).

Fluency: speech rate, pauses and hesitations between aligned words. Prosody: pitch (semitones
re 100 Hz) and intensity contours — range, variability, slope, and how much stressed vowels stand
out from unstressed ones. Figures are plain floats so a scorer can learn from them.
"""
from __future__ import annotations

import logging

import numpy as np

from core.audio import SAMPLE_RATE
from core.pronunciation.gop import PronunciationEvidence
from core.pronunciation.phones import VOWELS

log = logging.getLogger(__name__)
PAUSE_S = 0.25  # a silence between words at least this long counts as a pause
LONG_PAUSE_S = 0.6


def fluency_features(ev: PronunciationEvidence) -> dict[str, float]:
    words = [w for w in ev.words if w.phones]
    duration = ev.frames / 50.0
    if not words:
        return {"speech_s": 0.0, "speech_ratio": 0.0, "phone_rate": 0.0, "pauses": 0.0, "long_pauses": 0.0,
                "pause_s": 0.0, "lead_s": duration, "trail_s": 0.0, "phone_dur_cv": 0.0, "word_dur_cv": 0.0,
                "max_pause_s": 0.0, "pauses_per_word": 0.0}
    start, end = words[0].start, words[-1].end
    speech = max(end - start, 1e-3)
    gaps = np.array([b.start - a.end for a, b in zip(words, words[1:])] or [0.0])
    n_phones = sum(len(w.phones) for w in words)
    phone_durs = np.array([p.end - p.start for w in words for p in w.phones])
    word_durs = np.array([(w.end - w.start) / max(len(w.phones), 1) for w in words])
    return {
        "speech_s": speech, "speech_ratio": speech / max(duration, 1e-3),
        "phone_rate": n_phones / speech,
        "articulation_rate": n_phones / max(speech - float(gaps[gaps >= PAUSE_S].sum()), 1e-3),
        "pauses": float((gaps >= PAUSE_S).sum()), "long_pauses": float((gaps >= LONG_PAUSE_S).sum()),
        "pause_s": float(gaps[gaps >= PAUSE_S].sum()), "max_pause_s": float(gaps.max()),
        "pauses_per_word": float((gaps >= PAUSE_S).sum()) / len(words),
        "lead_s": start, "trail_s": max(0.0, duration - end),
        "phone_dur_cv": float(phone_durs.std() / max(phone_durs.mean(), 1e-3)),
        "word_dur_cv": float(word_durs.std() / max(word_durs.mean(), 1e-3)),
    }


def prosody_features(samples: np.ndarray, ev: PronunciationEvidence,
                     stressed: list[list[bool]] | None = None) -> dict[str, float]:
    """Pitch and intensity statistics over the aligned speech; ``stressed[w][k]`` says whether the
    k-th phone of word w carries primary stress in the lexicon (vowels only matter)."""
    out = {"f0_range_st": 0.0, "f0_std_st": 0.0, "f0_slope_st": 0.0, "voiced_ratio": 0.0, "int_std_db": 0.0,
           "int_range_db": 0.0, "stress_f0_st": 0.0, "stress_int_db": 0.0, "stress_dur_ratio": 1.0,
           "f0_delta_std": 0.0}
    if len(samples) < SAMPLE_RATE // 5:
        return out
    try:
        import parselmouth

        snd = parselmouth.Sound(np.asarray(samples, dtype=np.float64), SAMPLE_RATE)
        pitch = snd.to_pitch(time_step=0.01, pitch_floor=75.0, pitch_ceiling=600.0)
        f0 = pitch.selected_array["frequency"]
        times = pitch.xs()
        inten = snd.to_intensity(time_step=0.01, minimum_pitch=75.0)
        db, itimes = inten.values[0], inten.xs()
    except Exception:  # noqa: BLE001 - Praat failing on odd audio must not stop the scoring
        log.exception("Praat analysis failed")
        return out
    words = [w for w in ev.words if w.phones]
    if words:
        a, b = words[0].start, words[-1].end
        keep = (times >= a) & (times <= b)
        f0, times = f0[keep], times[keep]
        ikeep = (itimes >= a) & (itimes <= b)
        db, itimes = db[ikeep], itimes[ikeep]
    voiced = f0 > 0
    out["voiced_ratio"] = float(voiced.mean()) if len(f0) else 0.0
    if voiced.sum() >= 5:
        st = 12 * np.log2(f0[voiced] / 100.0)
        out["f0_range_st"] = float(np.percentile(st, 90) - np.percentile(st, 10))
        out["f0_std_st"] = float(st.std())
        out["f0_slope_st"] = float(np.polyfit(times[voiced], st, 1)[0])
        out["f0_delta_std"] = float(np.diff(st).std()) if len(st) > 2 else 0.0
    if len(db) >= 5:
        out["int_std_db"] = float(db.std())
        out["int_range_db"] = float(np.percentile(db, 90) - np.percentile(db, 10))
    if stressed and words:
        feats = {True: [], False: []}
        for w, marks in zip(ev.words, stressed):
            for p, s in zip(w.phones, marks):
                if p.phone not in VOWELS:
                    continue
                m_f0 = (times >= p.start) & (times < p.end) & (f0 > 0) if len(f0) else np.zeros(0, bool)
                m_db = (itimes >= p.start) & (itimes < p.end) if len(db) else np.zeros(0, bool)
                feats[bool(s)].append((12 * np.log2(f0[m_f0] / 100).mean() if m_f0.any() else np.nan,
                                       db[m_db].mean() if m_db.any() else np.nan, p.end - p.start))
        if feats[True] and feats[False]:
            st_, un_ = np.array(feats[True]), np.array(feats[False])
            out["stress_f0_st"] = _mean_gap(st_[:, 0], un_[:, 0])
            out["stress_int_db"] = _mean_gap(st_[:, 1], un_[:, 1])
            out["stress_dur_ratio"] = float(st_[:, 2].mean() / max(un_[:, 2].mean(), 1e-3))
    return out


def _mean_gap(a: np.ndarray, b: np.ndarray) -> float:
    """mean(a) - mean(b) over the finite values; 0 when either side has none (unvoiced vowels)."""
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    return float(a.mean() - b.mean()) if len(a) and len(b) else 0.0
