"""A frozen pretrained speech encoder as the phone recogniser's front end: the Whisper encoder
through CTranslate2 (no torch), 50 frames per second.

Windows are sized to the audio (Whisper's encoder accepts fewer than 3,000 mel frames), so 3 s of
speech costs a 3 s encode, not a 30 s one; longer recordings are cut into 25 s windows.

>>> fe = WhisperFrontEnd("tiny.en")               # doctest: +SKIP
>>> fe(samples).shape                              # [T, 384], T = ceil(seconds * 50)
"""
from __future__ import annotations

import math
import os

import numpy as np

from core.audio import SAMPLE_RATE
from core.model_resolver import resolve_whisper

FRAMES_PER_SECOND = 50  # encoder output rate (mel hop 10 ms, then a stride-2 convolution)
SAMPLES_PER_FRAME = SAMPLE_RATE // FRAMES_PER_SECOND
WINDOW_S = 25.0  # longest piece encoded at once (Whisper's limit is 30 s)
TAIL_PAD_S = 0.3  # silence appended so the last phone is not at the window's very edge


class WhisperFrontEnd:
    """Samples -> Whisper encoder states ``[T, D]`` (float32); ``D`` is 384 for tiny.en, 512 for base."""

    def __init__(self, model: str = "tiny.en", *, compute_type: str = "int8", cpu_threads: int = 0):
        import ctranslate2

        from core.asr.log_mel import LogMel

        self.name = model
        path = resolve_whisper(model)
        self._ct2 = ctranslate2
        self._model = ctranslate2.models.Whisper(path, device="cpu", compute_type=compute_type,
                                                 intra_threads=cpu_threads or os.cpu_count() or 1)
        self._mel = LogMel(self._model.n_mels)  # in torch: see core.asr.log_mel
        self.dim = None

    def __call__(self, samples: np.ndarray) -> np.ndarray:
        samples = np.asarray(samples, dtype=np.float32)
        n_frames = max(1, math.ceil(len(samples) / SAMPLES_PER_FRAME))
        step = int(WINDOW_S * SAMPLE_RATE)
        pieces = [self._encode(samples[a:a + step]) for a in range(0, max(len(samples), 1), step)]
        out = np.concatenate(pieces, axis=0)[:n_frames]
        self.dim = out.shape[1]
        return out

    def _encode(self, piece: np.ndarray) -> np.ndarray:
        n_out = max(1, math.ceil(len(piece) / SAMPLES_PER_FRAME))
        padded = np.concatenate([piece, np.zeros(int(TAIL_PAD_S * SAMPLE_RATE), np.float32)])
        mel = self._mel(padded)  # [n_mels, F]
        frames = mel.shape[1] - mel.shape[1] % 2
        x = np.ascontiguousarray(mel[None, :, :frames], dtype=np.float32)
        enc = np.asarray(self._model.encode(self._ct2.StorageView.from_array(x), to_cpu=True))[0]
        return enc[:n_out].astype(np.float32)
