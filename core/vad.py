"""Speech segments with silero-vad (the ONNX model ships inside the ``silero-vad`` wheel; no download).

>>> vad = get_vad()                                  # doctest: +SKIP
>>> vad.segments(audio.samples)                      # [SpeechSegment(start=0.42, end=2.9), ...]
"""
from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from core.audio import SAMPLE_RATE


@dataclass(frozen=True)
class SpeechSegment:
    start: float  # seconds from the start of the audio
    end: float  # seconds from the start of the audio

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class VadOptions:
    threshold: float = 0.5  # speech probability above which a 32 ms frame is speech
    min_speech_ms: int = 250  # shorter bursts are dropped (clicks, coughs)
    min_silence_ms: int = 400  # pauses shorter than this do not split a segment
    speech_pad_ms: int = 200  # padding added on both sides of each segment
    max_segment_s: float = 28.0  # longer speech is split at the best pause (Whisper sees 30 s)


class VoiceActivityDetector:
    """silero-vad's ONNX model run with onnxruntime (no torch: keeps the ASR path's memory small).

    The model reads 32 ms frames (512 samples + 64 samples of left context) and carries an LSTM
    state. The wheel's "sequence" export takes many frames per call, which is twice as fast as
    one call per frame and gives identical probabilities; blocks of BLOCK_FRAMES keep memory flat
    on hours of audio. Calls are serialised with a lock so one instance can serve many threads.
    """

    FRAME = 512  # samples per decision at 16 kHz
    CONTEXT = 64  # samples of the previous frame the model also sees
    BLOCK_FRAMES = 4096  # frames per call (~2 min of audio)
    MODEL_FILE = "silero_vad_16k_sequence.onnx"

    def __init__(self, options: VadOptions = VadOptions()):
        import onnxruntime

        so = onnxruntime.SessionOptions()
        so.inter_op_num_threads = 1
        so.intra_op_num_threads = 1
        so.log_severity_level = 3
        self.options = options
        self._session = onnxruntime.InferenceSession(
            str(silero_model_path(self.MODEL_FILE)), sess_options=so, providers=["CPUExecutionProvider"]
        )
        self._lock = threading.Lock()

    def probabilities(self, samples: np.ndarray) -> np.ndarray:
        """[T] float32 16 kHz -> [ceil(T / 512)] speech probability per 32 ms frame."""
        n = -(-samples.size // self.FRAME)
        padded = np.zeros(n * self.FRAME + self.CONTEXT, dtype=np.float32)
        padded[self.CONTEXT : self.CONTEXT + samples.size] = samples
        window = np.arange(self.FRAME + self.CONTEXT)[None, :]
        probs = np.empty(n, dtype=np.float32)
        h = np.zeros((1, 1, 128), dtype=np.float32)
        c = np.zeros((1, 1, 128), dtype=np.float32)
        with self._lock:
            for a in range(0, n, self.BLOCK_FRAMES):
                b = min(n, a + self.BLOCK_FRAMES)
                frames = padded[np.arange(a, b)[:, None] * self.FRAME + window]  # [frames, 576]
                p, h, c = self._session.run(None, {"input": frames, "h": h, "c": c})
                probs[a:b] = p
        return probs

    def segments(self, samples: np.ndarray, options: VadOptions | None = None) -> list[SpeechSegment]:
        """[T] float32 mono at 16 kHz -> speech segments in time order."""
        if samples.size < SAMPLE_RATE // 10:
            return []
        return segments_from_probabilities(
            self.probabilities(samples), options or self.options, duration=samples.size / SAMPLE_RATE
        )

    def speech_seconds(self, samples: np.ndarray) -> float:
        """Total seconds of detected speech."""
        return sum(s.duration for s in self.segments(samples))


def silero_model_path(name: str = VoiceActivityDetector.MODEL_FILE) -> Path:
    """An ONNX file inside the installed silero-vad wheel (found without importing the package,
    whose __init__ imports torch)."""
    spec = importlib.util.find_spec("silero_vad")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("The silero-vad package is not installed.")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / name
    if not path.exists():
        raise RuntimeError(f"silero-vad model missing at {path}")
    return path


def segments_from_probabilities(
    probs: np.ndarray, opt: VadOptions, *, duration: float
) -> list[SpeechSegment]:
    """Per-frame probabilities -> segments, with hysteresis (enter at threshold, leave 0.15 below),
    minimum speech and silence lengths, padding, and splitting of over-long speech at its quietest
    frame."""
    frame_s = VoiceActivityDetector.FRAME / SAMPLE_RATE
    leave = max(opt.threshold - 0.15, 0.01)
    raw: list[tuple[int, int]] = []  # frame index ranges [a, b)
    start, silent = None, 0
    for i, p in enumerate(probs):
        if start is None:
            if p >= opt.threshold:
                start, silent = i, 0
            continue
        silent = silent + 1 if p < leave else 0
        if silent * frame_s * 1000 >= opt.min_silence_ms:
            raw.append((start, i - silent + 1))
            start = None
    if start is not None:
        raw.append((start, len(probs) - silent))
    max_frames = max(1, int(opt.max_segment_s / frame_s))
    split: list[tuple[int, int]] = []
    for a, b in raw:
        while b - a > max_frames:  # cut at the least speech-like frame in the second half
            lo = a + max_frames // 2
            cut = lo + int(np.argmin(probs[lo : a + max_frames]))
            split.append((a, cut))
            a = cut
        split.append((a, b))
    pad = opt.speech_pad_ms / 1000
    out: list[SpeechSegment] = []
    for a, b in split:
        if (b - a) * frame_s * 1000 < opt.min_speech_ms:
            continue
        s, e = max(0.0, round(a * frame_s - pad, 3)), min(duration, round(b * frame_s + pad, 3))
        if out and s <= out[-1].end and e - out[-1].start <= opt.max_segment_s + 2 * pad:
            out[-1] = SpeechSegment(out[-1].start, e)
        else:
            if out and s < out[-1].end:
                s = out[-1].end
            out.append(SpeechSegment(s, e))
    return out


@lru_cache(maxsize=1)
def get_vad() -> VoiceActivityDetector:
    """The process-wide detector (loaded once)."""
    return VoiceActivityDetector()


def merge_segments(
    segments: list[SpeechSegment], *, max_chunk_s: float = 28.0, max_gap_s: float = 2.0
) -> list[SpeechSegment]:
    """Join neighbouring speech segments into chunks of at most ``max_chunk_s`` seconds.

    Whisper reads up to 30 s at a time; fewer, fuller chunks decode faster and give the model
    context, while long silences (> max_gap_s) still start a new chunk.
    """
    chunks: list[SpeechSegment] = []
    for seg in segments:
        if chunks:
            last = chunks[-1]
            if seg.end - last.start <= max_chunk_s and seg.start - last.end <= max_gap_s:
                chunks[-1] = SpeechSegment(last.start, seg.end)
                continue
        chunks.append(seg)
    return chunks
