"""What a Transcriber takes and returns: frozen dataclasses, one comment per field."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Callable, Sequence


@dataclass(frozen=True)
class Word:
    text: str  # the word as written, with attached punctuation ("Hello,")
    start: float  # seconds from the start of the audio
    end: float  # seconds from the start of the audio
    confidence: float  # mean token probability in [0, 1]


@dataclass(frozen=True)
class Segment:
    start: float  # seconds from the start of the audio
    end: float  # seconds from the start of the audio
    text: str  # the segment's text, stripped
    words: tuple[Word, ...] = ()  # empty when word timestamps were not asked for
    avg_logprob: float = 0.0  # decoder's mean log-probability per token (higher = surer)
    no_speech_prob: float = 0.0  # decoder's probability that the chunk holds no speech


@dataclass(frozen=True)
class Timings:
    load_s: float = 0.0  # decoding/resampling the file
    vad_s: float = 0.0  # finding speech
    asr_s: float = 0.0  # features + encoder + decoder + alignment
    total_s: float = 0.0  # wall time of the whole call


@dataclass(frozen=True)
class Transcript:
    text: str  # the whole transcript, segments joined by spaces
    segments: tuple[Segment, ...]  # in time order
    language: str  # ISO 639-1 code ("en")
    duration: float  # seconds of audio
    timings: Timings = field(default_factory=Timings)  # where the time went
    model: str = ""  # which model produced it
    warnings: tuple[str, ...] = ()  # plain-language notes (clipping, fallbacks)

    @property
    def words(self) -> tuple[Word, ...]:
        return tuple(w for s in self.segments for w in s.words)

    @property
    def mean_logprob(self) -> float:
        """Decoder confidence over the speech, segments weighted by duration (0.0 when there is no
        speech). English read by Whisper tiny.en, accented speech included, sits above -0.4; other
        languages forced through an English-only model fall below -0.8."""
        spans = [(s.avg_logprob, max(s.end - s.start, 0.01)) for s in self.segments]
        return sum(lp * d for lp, d in spans) / sum(d for _, d in spans) if spans else 0.0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class TranscribeOptions:
    beam_size: int = 5  # beam width at temperature 0
    word_timestamps: bool = True  # align each word to the audio (cross-attention DTW)
    language: str | None = None  # None: the model's only language, or detected when multilingual
    vocabulary: tuple[str, ...] = ()  # domain words to bias towards (names, drugs, jargon)
    initial_prompt: str | None = None  # free text given to the decoder as preceding context
    use_vad: bool = True  # decode only where silero-vad finds speech (no text where nobody speaks)
    batch_size: int = 8  # speech chunks decoded together
    context_pad_s: float = 8.0  # encoder window = speech + this much padding (<= 30 s); see docs/asr.md
    no_speech_threshold: float = 0.6  # with a low log-prob, drop chunks the model thinks are silent
    log_prob_threshold: float = -1.0  # Whisper's rule: with a high no-speech prob this means silence
    fallback_log_prob_threshold: float = -1.5  # below this a chunk is re-decoded (full window, temperatures)
    compression_ratio_threshold: float = 2.4  # above this (repetition) the chunk is re-decoded
    temperatures: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)  # fallback schedule
    max_new_tokens: int = 220  # per 30 s chunk; speech rarely needs more than ~150
    # a chunk's first transcript -> more terms it may hold (e.g. names that sound like its unknown
    # words); when it gives any, the chunk is decoded again with them in the prompt
    suggest_terms: Callable[[str], Sequence[str]] | None = None
