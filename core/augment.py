"""Audio degradations for training and robustness checks: what a phone line does to a voice.

Every function takes and returns mono float32 samples at 16 kHz. ``telephone`` is the narrowband
round trip the call-center benchmark uses; ``phone_call`` chains the whole path with random
settings (band-limiting, G.711 mu-law codec, line noise, gain, a small room's reverberation) for
training augmentation.

>>> y = phone_call(x, np.random.default_rng(0))   # doctest: +SKIP
"""
from __future__ import annotations

import numpy as np

from core.audio import SAMPLE_RATE


def telephone(x: np.ndarray) -> np.ndarray:
    """8 kHz narrowband round trip (300-3400 Hz), like a phone line."""
    from scipy.signal import butter, resample_poly, sosfilt

    y = resample_poly(x, 1, 2)
    y = sosfilt(butter(4, [300, 3400], btype="band", fs=8000, output="sos"), y)
    return resample_poly(y, 2, 1).astype(np.float32)


def mu_law(x: np.ndarray, bits: int = 8) -> np.ndarray:
    """G.711-style companding to ``bits`` bits and back (the codec's quantisation noise)."""
    mu = 2 ** bits - 1
    y = np.sign(x) * np.log1p(mu * np.minimum(np.abs(x), 1.0)) / np.log1p(mu)
    q = np.round((y + 1) / 2 * mu) / mu * 2 - 1
    return (np.sign(q) * np.expm1(np.abs(q) * np.log1p(mu)) / mu).astype(np.float32)


def gain(x: np.ndarray, db: float) -> np.ndarray:
    """Louder or softer by ``db`` decibels, clipped to [-1, 1] as a real input stage would."""
    return np.clip(x * 10 ** (db / 20), -1.0, 1.0).astype(np.float32)


def add_noise(x: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """Pink-ish line noise at ``snr_db`` below the speech power."""
    white = rng.standard_normal(len(x))
    pink = np.cumsum(white) * 0.02 + white  # a little low-frequency weight
    pink -= pink.mean()
    p_sig = float(np.mean(x ** 2)) + 1e-10
    p_noise = float(np.mean(pink ** 2)) + 1e-10
    return (x + pink * np.sqrt(p_sig / p_noise / 10 ** (snr_db / 10))).astype(np.float32)


def reverb(x: np.ndarray, rt60: float, rng: np.random.Generator) -> np.ndarray:
    """A small room: convolution with exponentially decaying noise (RT60 ``rt60`` seconds)."""
    from scipy.signal import fftconvolve

    n = max(1, int(rt60 * SAMPLE_RATE))
    t = np.arange(n) / SAMPLE_RATE
    rir = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)
    rir[0] = 1.0
    rir /= np.sqrt(np.sum(rir ** 2))
    y = fftconvolve(x, rir)[:len(x)]
    peak = np.abs(y).max() + 1e-9
    return (y * min(1.0, np.abs(x).max() / peak)).astype(np.float32)


def phone_call(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The telephone path with random settings: reverberation (half the time), narrowband, mu-law,
    line noise at 10-30 dB SNR, and a gain change of up to +-12 dB."""
    y = np.asarray(x, dtype=np.float32)
    if rng.random() < 0.5:
        y = reverb(y, float(rng.uniform(0.15, 0.5)), rng)
    y = telephone(y)
    y = mu_law(y)
    y = add_noise(y, float(rng.uniform(10, 30)), rng)
    return gain(y, float(rng.uniform(-12, 12)))
