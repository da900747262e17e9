"""Whisper's log-mel spectrogram computed in torch, for the encoders we run ourselves.

The numbers are faster-whisper's ``FeatureExtractor`` (same filters, centred 400-point STFT,
10 ms hop, log10, 8-decade floor, (x + 4) / 4), within 4e-6. It is computed in torch because
numpy's matrix product there wakes OpenBLAS threads that keep spinning after the call and then
fight torch's (or CTranslate2's) threads for the cores. Measured on 2 cores: the speech-emotion
encoder pass for a 3 s turn took 60-100 ms after a numpy mel and 21 ms after this one
(``benchmarks/emotion_speech.py --sections speed``).

>>> LogMel(80)(samples).shape                      # doctest: +SKIP
(80, 301)                                          # [n_mels, frames], 100 frames/s (+ 1)
"""
from __future__ import annotations

import numpy as np

N_FFT = 400
HOP = 160


class LogMel:
    def __init__(self, n_mels: int = 80):
        import torch
        from faster_whisper.feature_extractor import FeatureExtractor

        self._torch = torch
        self.n_mels = n_mels
        filters = FeatureExtractor(feature_size=n_mels).mel_filters
        self._filters = torch.from_numpy(np.asarray(filters, dtype=np.float32))
        self._window = torch.hann_window(N_FFT)

    def __call__(self, samples: np.ndarray) -> np.ndarray:
        """Mono 16 kHz float32 ``[T]`` -> ``[n_mels, T // 160 + 2]`` float32 (padded like faster-whisper)."""
        torch = self._torch
        x = torch.from_numpy(np.pad(np.asarray(samples, dtype=np.float32), (0, HOP)))
        if len(x) <= N_FFT // 2:  # reflect padding needs more samples than half a window
            x = torch.nn.functional.pad(x, (0, N_FFT // 2 + 1 - len(x)))
        with torch.no_grad():
            spec = torch.stft(x, N_FFT, HOP, window=self._window, center=True, pad_mode="reflect",
                              return_complex=True)
            power = spec[:, :-1].abs() ** 2
            log_spec = torch.clamp(self._filters @ power, min=1e-10).log10()
            log_spec = torch.maximum(log_spec, log_spec.max() - 8.0)
            return ((log_spec + 4.0) / 4.0).numpy()
