"""Neural voice prints: the GE2E speaker encoder that ships inside the ``Resemblyzer`` wheel
(3-layer LSTM over 40 mel bands, 256-d L2-normalised embeddings, Apache-2.0, trained on
LibriSpeech, VoxCeleb 1 and 2).

Only the weights are used (``resemblyzer/pretrained.pt``); the wheel is installed without its
dependencies (librosa, webrtcvad), and the mel spectrogram is computed here the way Resemblyzer's
``wav_to_mel_spectrogram`` does (librosa's Slaney mel filters, power spectrum, no log).

>>> enc = default_encoder()                 # doctest: +SKIP
>>> enc.embed([samples[:24000], samples[24000:48000]]).shape
(2, 256)
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch import nn

from core.audio import SAMPLE_RATE

MEL_BANDS = 40
WINDOW = 400  # 25 ms
HOP = 160  # 10 ms
PARTIAL_FRAMES = 160  # 1.6 s: what the encoder was trained on
TARGET_DBFS = -30.0  # Resemblyzer's loudness normalisation (raise quiet audio only)
BLOCK_S = 60.0  # windows are printed from one mel spectrogram per block of at most this many seconds


def weights_path() -> Path:
    """``pretrained.pt`` inside the installed Resemblyzer wheel (never imported: its imports need librosa)."""
    import importlib.util

    spec = importlib.util.find_spec("resemblyzer")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("The Resemblyzer wheel is not installed (pip install --no-deps Resemblyzer==0.1.4).")
    path = Path(list(spec.submodule_search_locations)[0]) / "pretrained.pt"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing from the Resemblyzer wheel.")
    return path


class GE2EEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(MEL_BANDS, 256, 3, batch_first=True)
        self.linear = nn.Linear(256, 256)
        import torchaudio.functional as AF

        fb = AF.melscale_fbanks(WINDOW // 2 + 1, 0.0, SAMPLE_RATE / 2, MEL_BANDS, SAMPLE_RATE, norm="slaney",
                                mel_scale="slaney")
        self.register_buffer("mel_fb", fb, persistent=False)
        self.register_buffer("window", torch.hann_window(WINDOW), persistent=False)

    @classmethod
    def load(cls, path: str | Path | None = None) -> "GE2EEncoder":
        enc = cls()
        state = torch.load(path or weights_path(), map_location="cpu", weights_only=True)["model_state"]
        enc.load_state_dict({k: v for k, v in state.items() if k.split(".")[0] in ("lstm", "linear")})
        return enc.eval()

    def mel(self, samples: np.ndarray) -> torch.Tensor:
        """Mono 16 kHz float32 -> mel power frames ``[T, 40]`` (librosa's centred STFT)."""
        x = torch.from_numpy(np.asarray(samples, dtype=np.float32))
        spec = torch.stft(x, WINDOW, HOP, window=self.window, center=True, pad_mode="constant",
                          return_complex=True).abs() ** 2
        return (spec.T @ self.mel_fb).float()

    def embed(self, clips: list[np.ndarray]) -> np.ndarray:
        """One L2-normalised 256-d print per clip (each cut into 1.6 s partials, averaged)."""
        if not clips:
            return np.zeros((0, 256), np.float32)
        return np.concatenate([self.embed_windows(c, [(0.0, len(c) / SAMPLE_RATE)]) for c in clips])

    @torch.no_grad()
    def embed_windows(self, samples: np.ndarray, windows: list[tuple[float, float]], batch: int = 256) -> np.ndarray:
        """One print per ``(start, end)`` window (seconds) of one recording. The mel spectrogram is
        computed a block (at most ``BLOCK_S``) at a time around the windows, so a 3-hour call
        needs megabytes, not gigabytes; a window is cut into 1.6 s partials (half overlapping; a
        shorter window is one partial padded in front) whose prints are averaged."""
        gain = loudness_gain(samples)
        parts, owner = [], []
        order = sorted(range(len(windows)), key=lambda w: windows[w][0])
        k = 0
        while k < len(order):
            first = windows[order[k]][0]
            group = [order[k]]
            while k + 1 < len(order) and windows[order[k + 1]][1] - first <= BLOCK_S:
                k += 1
                group.append(order[k])
            k += 1
            a0 = max(0, int(first * SAMPLE_RATE))
            b0 = int(max(windows[w][1] for w in group) * SAMPLE_RATE)
            mel = self.mel(np.asarray(samples[a0:b0], dtype=np.float32) * gain)
            for w in group:
                a, b = windows[w]
                s0 = max(0, int(a * SAMPLE_RATE / HOP) - a0 // HOP)
                n = max(1, int((b - a) * SAMPLE_RATE / HOP))
                span = mel[s0:s0 + n]
                if len(span) <= PARTIAL_FRAMES:
                    part = torch.zeros(PARTIAL_FRAMES, MEL_BANDS)
                    part[PARTIAL_FRAMES - len(span):] = span  # padded in front: the LSTM's last state reads it
                    parts.append(part)
                    owner.append(w)
                    continue
                starts = list(range(0, len(span) - PARTIAL_FRAMES + 1, PARTIAL_FRAMES // 2))
                if starts[-1] != len(span) - PARTIAL_FRAMES:
                    starts.append(len(span) - PARTIAL_FRAMES)
                for st in starts:
                    parts.append(span[st:st + PARTIAL_FRAMES])
                    owner.append(w)
        prints = []
        for i in range(0, len(parts), batch):
            _, (hidden, _) = self.lstm(torch.stack(parts[i:i + batch]))
            e = torch.relu(self.linear(hidden[-1]))
            prints.append(e / (e.norm(dim=1, keepdim=True) + 1e-9))
        if not prints:
            return np.zeros((0, 256), np.float32)
        per_part = torch.cat(prints)
        out = torch.zeros(len(windows), 256).index_add_(0, torch.tensor(owner), per_part)
        return (out / (out.norm(dim=1, keepdim=True) + 1e-9)).numpy()


def loudness_gain(x: np.ndarray) -> float:
    """Resemblyzer's loudness normalisation as one factor (quiet audio is raised to -30 dBFS; loud
    audio is left alone), computed without copying the recording."""
    x = np.asarray(x, dtype=np.float32)
    rms = float(np.sqrt(np.dot(x, x) / len(x))) if len(x) else 0.0
    if rms <= 1e-8:
        return 1.0
    change = TARGET_DBFS - 20 * np.log10(rms)
    return float(10 ** (change / 20)) if change > 0 else 1.0


@lru_cache(maxsize=1)
def default_encoder() -> GE2EEncoder:
    return GE2EEncoder.load()
