"""The Transcriber interface every ASR engine in Parlance implements."""
from __future__ import annotations

from typing import Callable, Protocol, Sequence, runtime_checkable

from core.asr.types import TranscribeOptions, Transcript
from core.audio import Audio, AudioSource

ProgressFn = Callable[[int, int], None]  # (done, total) chunks


@runtime_checkable
class Transcriber(Protocol):
    name: str  # model identifier shown to people and stored with transcripts

    def transcribe(self, audio: Audio | AudioSource, options: TranscribeOptions | None = None) -> Transcript:
        """One recording -> its transcript. Raises core.audio.AudioError for unusable audio."""
        ...

    def transcribe_many(
        self,
        audios: Sequence[Audio],
        options: TranscribeOptions | None = None,
        progress: ProgressFn | None = None,
    ) -> list[Transcript]:
        """Several already-loaded recordings, decoded in shared batches (faster than one by one)."""
        ...
