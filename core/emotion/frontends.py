"""Front ends the speech-emotion model can sit on: samples -> frames.

- ``tiny.en`` / ``base``: the Whisper encoder's last layer, frozen, through CTranslate2
  (``[T, D]``, 50 frames/s; the same pass the ASR makes);
- ``tiny.en-layers`` / ``base-layers``: every layer of the same encoder, run in PyTorch from the
  same weights (``[L + 1, T, D]``: the input embedding and each layer's output), for a model that
  learns which layers carry emotion (the last layer is tuned for words, not for voices);
- ``logmel``: 80 log-mel filterbanks (``[T, 80]``, 100 frames/s), for a network trained from scratch.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from core.audio import SAMPLE_RATE

LOGMEL_BINS = 80


def logmel(samples: np.ndarray) -> np.ndarray:
    import torch
    from torchaudio.compliance.kaldi import fbank

    x = torch.from_numpy(np.asarray(samples, dtype=np.float32))
    if len(x) < 400:
        x = torch.nn.functional.pad(x, (0, 400 - len(x)))
    f = fbank(x[None] * 32768, num_mel_bins=LOGMEL_BINS, sample_frequency=SAMPLE_RATE, dither=0.0)
    return (f - f.mean(0)).numpy()


class WhisperLayers:
    """Samples -> every Whisper encoder layer ``[L + 1, T, D]`` (float32, 50 frames/s)."""

    def __init__(self, model: str = "tiny.en"):
        import torch

        from core.asr.log_mel import LogMel
        from core.asr.whisper_weights import whisper_encoder
        from core.model_resolver import resolve_whisper

        self.name = f"{model}-layers"
        self._torch = torch
        self.encoder = whisper_encoder(resolve_whisper(model))
        self._mel = LogMel(self.encoder.config.num_mel_bins)

    def __call__(self, samples: np.ndarray) -> np.ndarray:
        from core.pronunciation.frontend import SAMPLES_PER_FRAME, TAIL_PAD_S, WINDOW_S

        samples = np.asarray(samples, dtype=np.float32)
        n_frames = max(1, math.ceil(len(samples) / SAMPLES_PER_FRAME))
        step = int(WINDOW_S * SAMPLE_RATE)
        pieces = []
        for a in range(0, max(len(samples), 1), step):
            piece = np.concatenate([samples[a:a + step], np.zeros(int(TAIL_PAD_S * SAMPLE_RATE), np.float32)])
            pieces.append(self._encode(self._mel(piece)))
        return np.concatenate(pieces, axis=1)[:, :n_frames]

    def _encode(self, mel: np.ndarray) -> np.ndarray:
        torch, enc = self._torch, self.encoder
        F = torch.nn.functional
        mel = mel[:, :mel.shape[1] - mel.shape[1] % 2]
        with torch.no_grad():
            h = F.gelu(enc.conv1(torch.from_numpy(mel)[None]))
            h = F.gelu(enc.conv2(h)).permute(0, 2, 1)
            h = h + enc.embed_positions.weight[:h.shape[1]]
            states = [h]
            for layer in enc.layers:
                out = layer(h, attention_mask=None)
                h = out[0] if isinstance(out, tuple) else out
                states.append(h)
            states[-1] = enc.layer_norm(h)
        return torch.cat(states).numpy()


def make_frontend(name: str) -> Callable[[np.ndarray], np.ndarray]:
    if name == "logmel":
        return logmel
    if name.endswith("-layers"):
        return WhisperLayers(name[:-len("-layers")])
    from core.pronunciation.frontend import WhisperFrontEnd

    return WhisperFrontEnd(name)
