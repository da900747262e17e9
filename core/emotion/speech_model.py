"""Speech-emotion recognition: frozen front-end frames -> attentive statistics pooling -> the eight
emotion labels, plus arousal and valence.

The network is small on purpose: the front end (the Whisper encoder the ASR runs anyway) does the
listening; this head learns which frames carry the emotion (attention over time) and their mean
and spread. Audio of any length: frames are pooled, and a turn longer than ``MAX_SECONDS`` is
judged on its loudest-speech window.

Artifact (``models/speech_emotion/<name>.pt``): ``{"config": SpeechEmotionConfig dict,
"state_dict", "calibration": {"temperature"}, "card": {...}}``.

>>> ser = load_speech_emotion()                              # doctest: +SKIP
>>> ser.analyse(samples).label, ser.analyse(samples).confidence
('angry', 0.71)
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from core.emotion.labels import LABELS

log = logging.getLogger(__name__)

MAX_SECONDS = 20.0  # longer turns: the 20 s with the most speech energy
MIN_SECONDS = 0.25  # shorter: no judgement (confidence 0)
DEFAULT_ARTIFACT = "speech_emotion/ravdess-whisper-tiny-layers.pt"


@dataclass(frozen=True)
class SpeechEmotionConfig:
    frontend: str = "tiny.en"  # core.emotion.frontends name
    input_dim: int = 384
    hidden: int = 128
    attention: int = 64
    dropout: float = 0.3
    labels: tuple[str, ...] = LABELS
    encoder: str = "asp"  # "asp": one conv + attentive statistics pooling (on a pretrained front end);
    #                       "ecapa": SpeechBrain's ECAPA-TDNN trained from scratch (on log-mel)
    channels: int = 256  # ECAPA-TDNN width
    layers: int = 1  # > 1: the input is every encoder layer [L, T, D], mixed with learnt weights
    members: int = 1  # > 1: that many heads trained from different seeds, their logits averaged

    @classmethod
    def from_dict(cls, d: dict) -> "SpeechEmotionConfig":
        d = dict(d)
        d["labels"] = tuple(d.get("labels", LABELS))
        return cls(**d)


class SpeechEmotionNet(nn.Module):
    def __init__(self, config: SpeechEmotionConfig):
        super().__init__()
        from speechbrain.lobes.models.ECAPA_TDNN import AttentiveStatisticsPooling

        self.config = config
        h = config.hidden
        self.layer_weights = nn.Parameter(torch.zeros(config.layers)) if config.layers > 1 else None
        if config.encoder == "ecapa":
            from speechbrain.lobes.models.ECAPA_TDNN import ECAPA_TDNN

            c = config.channels
            self.ecapa = ECAPA_TDNN(config.input_dim, lin_neurons=2 * h, channels=[c, c, c, c, 3 * c],
                                    attention_channels=config.attention)
        else:
            self.frames = nn.Sequential(nn.Conv1d(config.input_dim, h, 3, padding=1), nn.BatchNorm1d(h), nn.ReLU(),
                                        nn.Dropout(config.dropout / 2))
            self.pool = AttentiveStatisticsPooling(h, attention_channels=config.attention)
        self.body = nn.Sequential(nn.BatchNorm1d(2 * h), nn.Dropout(config.dropout), nn.Linear(2 * h, h), nn.ReLU(),
                                  nn.Dropout(config.dropout))
        self.classes = nn.Linear(h, len(config.labels))
        self.affect = nn.Linear(h, 2)  # arousal, valence in [-1, 1]

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``x [B, T, D]`` frames (``[B, L, T, D]`` with layers), ``lengths [B]`` in frames ->
        (logits ``[B, C]``, affect ``[B, 2]``)."""
        if self.layer_weights is not None:
            x = nn.functional.layer_norm(x, x.shape[-1:])  # layers differ in scale
            x = (torch.softmax(self.layer_weights, 0)[None, :, None, None] * x).sum(1)
        rel = None if lengths is None else lengths.float() / x.shape[1]
        if self.config.encoder == "ecapa":
            z = self.ecapa(x, rel).squeeze(1)
        else:
            z = self.pool(self.frames(x.transpose(1, 2)), rel).squeeze(-1)
        z = self.body(z)
        return self.classes(z), torch.tanh(self.affect(z))


class SpeechEmotionEnsemble(nn.Module):
    """``config.members`` heads on the same frames (each trained from its own seed); logits and
    affect are their means. The heads cost about a millisecond each; the front end is shared.

    >>> net = build_net(SpeechEmotionConfig(members=3))
    >>> logits, affect = net(torch.randn(2, 150, 384))   # [B, C], [B, 2]
    """

    def __init__(self, config: SpeechEmotionConfig, members: list[SpeechEmotionNet] | None = None):
        super().__init__()
        self.config = config
        one = SpeechEmotionConfig.from_dict({**asdict(config), "members": 1})
        self.members = nn.ModuleList(members or [SpeechEmotionNet(one) for _ in range(config.members)])

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        outs = [m(x, lengths) for m in self.members]
        return torch.stack([o[0] for o in outs]).mean(0), torch.stack([o[1] for o in outs]).mean(0)


def build_net(config: SpeechEmotionConfig) -> nn.Module:
    """The network a config describes: one head, or an ensemble of ``config.members`` heads."""
    return SpeechEmotionEnsemble(config) if config.members > 1 else SpeechEmotionNet(config)


@dataclass(frozen=True)
class SpeechEmotion:
    label: str
    probabilities: dict[str, float]
    arousal: float  # -1 (sleepy, flat) .. 1 (agitated)
    valence: float  # -1 (negative) .. 1 (positive)
    confidence: float  # 0..1: low when this is not emotional speech (silence, music, tones) or the model is unsure
    speech_share: float = 0.0  # share of the turn the voice-activity detector calls speech
    notes: tuple[str, ...] = field(default_factory=tuple)


class SpeechEmotionRecognizer:
    def __init__(self, net: nn.Module, temperature: float = 1.0, frontend=None):
        self.net = net.eval()
        self.config = net.config
        self.temperature = float(temperature)
        self._frontend = frontend

    @classmethod
    def load(cls, path: str | Path | None = None) -> "SpeechEmotionRecognizer":
        from core.model_resolver import project_artifact

        art = torch.load(path or project_artifact(DEFAULT_ARTIFACT), map_location="cpu", weights_only=True)
        net = build_net(SpeechEmotionConfig.from_dict(art["config"]))
        net.load_state_dict({k: v.float() for k, v in art["state_dict"].items()})
        return cls(net, art.get("calibration", {}).get("temperature", 1.0))

    @property
    def frontend(self):
        if self._frontend is None:
            from core.emotion.frontends import make_frontend

            self._frontend = make_frontend(self.config.frontend)
        return self._frontend

    @torch.no_grad()
    def from_frames(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Front-end frames ``[T, D]`` -> (probabilities ``[C]``, (arousal, valence))."""
        x = torch.from_numpy(np.asarray(frames, dtype=np.float32))[None]
        logits, affect = self.net(x, torch.tensor([x.shape[-2]]))
        probs = torch.softmax(logits[0] / self.temperature, -1).numpy()
        return probs, affect[0].numpy()

    def analyse(self, samples: np.ndarray, frames: np.ndarray | None = None) -> SpeechEmotion:
        """One turn of mono 16 kHz float32 audio (``frames``: its front-end output, when the caller
        has it already) -> label, probabilities, arousal, valence and confidence."""
        from core.audio import SAMPLE_RATE

        samples = np.asarray(samples, dtype=np.float32)
        neutral = {k: (1.0 if k == "neutral" else 0.0) for k in self.config.labels}
        if len(samples) < MIN_SECONDS * SAMPLE_RATE:
            return SpeechEmotion("neutral", neutral, 0.0, 0.0, 0.0, 0.0, ("too short to judge",))
        notes = []
        if len(samples) > MAX_SECONDS * SAMPLE_RATE:
            samples = loudest_window(samples, int(MAX_SECONDS * SAMPLE_RATE))
            frames = None
            notes.append(f"judged on the liveliest {MAX_SECONDS:.0f} s")
        share = speech_share(samples)
        if share < 0.1:
            return SpeechEmotion("neutral", neutral, 0.0, 0.0, 0.0, share, (*notes, "no speech heard"))
        if frames is None:
            frames = self.frontend(samples)
        probs, affect = self.from_frames(frames)
        top = int(np.argmax(probs))
        confidence = float(probs[top]) * min(1.0, share / 0.5)
        return SpeechEmotion(label=self.config.labels[top],
                             probabilities={k: round(float(p), 4) for k, p in zip(self.config.labels, probs)},
                             arousal=round(float(affect[0]), 3), valence=round(float(affect[1]), 3),
                             confidence=round(confidence, 3), speech_share=round(share, 3), notes=tuple(notes))

    def predict(self, samples: np.ndarray) -> dict[str, float]:
        """The ``core.emotion.speech`` seam: label -> probability."""
        return self.analyse(samples).probabilities


def speech_share(samples: np.ndarray) -> float:
    """Share of the samples silero-vad calls speech (music, hold tones and silence score low)."""
    from core.audio import SAMPLE_RATE
    from core.vad import get_vad

    try:
        seconds = get_vad().speech_seconds(samples)
    except Exception:  # noqa: BLE001 - the VAD is a guard, never a reason to fail a turn
        log.exception("voice activity detection failed; treating the turn as speech")
        return 1.0
    return min(1.0, seconds / max(len(samples) / SAMPLE_RATE, 1e-6))


def loudest_window(samples: np.ndarray, n: int) -> np.ndarray:
    """The ``n``-sample window with the most energy (starts on 0.1 s steps; linear time)."""
    from core.audio import SAMPLE_RATE

    if len(samples) <= n:
        return samples
    block = SAMPLE_RATE // 10
    m = len(samples) // block
    energy = np.einsum("ij,ij->i", samples[:m * block].reshape(m, block), samples[:m * block].reshape(m, block))
    cum = np.concatenate([[0.0], np.cumsum(energy, dtype=np.float64)])
    k = n // block
    start = int(np.argmax(cum[k:] - cum[:-k])) * block
    return samples[start:start + n]


def load_speech_emotion(folder: str | Path | None = None) -> SpeechEmotionRecognizer:
    """The shipped model (or the first artifact in ``folder``)."""
    if folder is not None:
        found = sorted(Path(folder).glob("*.pt"))
        if found:
            return SpeechEmotionRecognizer.load(found[0])
    return SpeechEmotionRecognizer.load()


def config_dict(config: SpeechEmotionConfig) -> dict:
    d = asdict(config)
    d["labels"] = list(config.labels)
    return d
