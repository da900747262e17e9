"""A two-party conversation -> speaker turns with text, and each party's audio.

The caller names the two parties (``ConversationOptions.roles``, e.g. an app's "agent" and
"customer"); the core knows no party by name. Stereo recordings (one party per channel) are
split by channel; mono recordings by ``core.diarization`` (two voices, the first to speak taken
as ``roles[0]`` unless told otherwise). Each channel / the mono mix is transcribed once with the
foundation's Transcriber (VAD-gated, batched, word timestamps), and its words are grouped into
turns: a new turn starts when the speaker changes or after a pause of ``max_pause_s``.

>>> conv = segment_conversation("call.wav", transcriber=get_transcriber(),            # doctest: +SKIP
...                             options=ConversationOptions(roles=("agent", "customer")))
>>> [(t.speaker, t.text) for t in conv.turns][:2]          # [("agent", "Hello..."), ("customer", ...)]
>>> conv.audio_by_role["customer"].duration                # the audio that role's turn times refer to
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from core.asr.base import Transcriber
from core.asr.types import TranscribeOptions, Word
from core.audio import Audio, AudioSource, SilentAudioError, is_silent, load_channels
from core.diarization import SpeakerTurn, diarize
from core.vad import VadOptions, get_vad

ProgressFn = Callable[[float, str], None]  # (fraction done, what is happening)


@dataclass(frozen=True)
class Turn:
    index: int  # 0-based position in the conversation
    speaker: str  # one of ``ConversationOptions.roles``
    start: float  # seconds
    end: float  # seconds
    text: str  # the words of this turn as transcribed
    confidence: float  # mean word confidence in [0, 1]
    words: tuple[Word, ...] = ()  # word timings


@dataclass(frozen=True)
class SegmentedConversation:
    turns: tuple[Turn, ...]  # in time order
    duration: float  # seconds
    layout: str  # "stereo" or "mono"
    speech_seconds: dict[str, float]  # per speaker role
    audio_by_role: dict[str, Audio]  # the audio each role's turn times refer to (its channel, or the mono mix)
    warnings: tuple[str, ...] = ()  # plain-language notes (one-sided recording, one voice, ...)
    timings: dict[str, float] = field(default_factory=dict)  # load / diarize / asr seconds


@dataclass(frozen=True)
class ConversationOptions:
    roles: tuple[str, str] = ("first", "second")  # the two parties' names, as turns and warnings give them
    first_role_channel: int = 0  # stereo: the channel of roles[0] (the other channel is roles[1])
    first_role_speaks_first: bool = True  # mono: the first voice heard is roles[0] ("Thank you for calling...")
    lone_voice_role: int = 1  # mono with one voice found: whose it is taken to be (roles[1])
    max_pause_s: float = 2.0  # a pause this long inside one speaker's speech starts a new turn
    stereo_min_difference: float = 0.05  # channels this similar (correlation > 1 - x) are one mix
    max_seconds: float = 3 * 3600.0  # longest recording accepted


def _is_dual_mono(channels: list[Audio], tolerance: float) -> bool:
    a, b = channels[0].samples, channels[1].samples
    if not np.any(a) or not np.any(b):
        return False
    n = min(len(a), len(b), 16000 * 60)
    corr = float(np.corrcoef(a[:n], b[:n])[0, 1])
    return corr > 1.0 - tolerance


def segment_conversation(source: AudioSource | list[Audio], *, transcriber: Transcriber,
                         options: ConversationOptions | None = None, asr_options: TranscribeOptions | None = None,
                         progress: ProgressFn | None = None) -> SegmentedConversation:
    opt = options or ConversationOptions()
    first, second = opt.roles
    asr_opt = asr_options or TranscribeOptions()
    report = progress or (lambda f, s: None)
    t0 = time.perf_counter()
    channels = source if isinstance(source, list) else load_channels(source, max_seconds=opt.max_seconds)
    timings = {"load_s": time.perf_counter() - t0}
    duration = max(c.duration for c in channels)
    warnings: list[str] = []
    vad = get_vad()
    if len(channels) > 2:  # one party per channel: only the first two can be told apart
        warnings.append(f"This recording has {len(channels)} channels; only the first two are used "
                        f"({first} and {second}), the other {len(channels) - 2} are left out.")
    if len(channels) >= 2 and not _is_dual_mono(channels, opt.stereo_min_difference):
        layout = "stereo"
        own = channels[opt.first_role_channel]
        other = channels[1 - opt.first_role_channel] if opt.first_role_channel in (0, 1) else channels[1]
        roles = [(first, own), (second, other)]
        audio_by_role = dict(roles)
        # a silent channel (no sound above -60 dBFS) needs no voice detection
        speech = {role: 0.0 if is_silent(a.samples) else vad.speech_seconds(a.samples) for role, a in roles}
        if not any(speech.values()):
            raise SilentAudioError("No one speaks in this recording: both channels are silent.")
        for role, seconds in speech.items():
            if seconds == 0:
                warnings.append(f"One-sided recording: the {role} channel is silent; only the other side is "
                                "transcribed.")
        live = [(role, a) for role, a in roles if speech[role] > 0]
        report(0.1, "transcribing both channels")
        t1 = time.perf_counter()
        transcripts = transcriber.transcribe_many([a for _, a in live], asr_opt)
        timings["asr_s"] = time.perf_counter() - t1
        words = [(w, role) for (role, _), tr in zip(live, transcripts) for w in tr.words]
    else:
        layout = "mono"
        mix = channels[0] if len(channels) == 1 else Audio(
            samples=np.mean([c.samples for c in channels], axis=0).astype(np.float32),
            source_sample_rate=channels[0].source_sample_rate, source_channels=len(channels),
            source_format=channels[0].source_format, warnings=channels[0].warnings)
        audio_by_role = {first: mix, second: mix}
        if is_silent(mix.samples):  # hours of silence: refused before voice detection runs over them
            raise SilentAudioError("No speech found in this recording: it is silent.")
        segments = vad.segments(mix.samples, VadOptions(min_silence_ms=150, speech_pad_ms=30, max_segment_s=600.0))
        if not segments:
            raise SilentAudioError("No speech found in this recording.")
        report(0.1, "finding who speaks when")
        t1 = time.perf_counter()
        turns = diarize(mix.samples, segments=segments)
        timings["diarize_s"] = time.perf_counter() - t1
        names = sorted({t.speaker for t in turns})
        if len(names) < 2:
            lone = opt.roles[opt.lone_voice_role]
            warnings.append(f"Only one voice was found in this recording; all speech is treated as the {lone}'s.")
            role_of = {n: lone for n in names}
        else:
            role_of = {"S1": first, "S2": second} if opt.first_role_speaks_first else {"S1": second, "S2": first}
        report(0.3, "transcribing")
        t2 = time.perf_counter()
        (transcript,) = transcriber.transcribe_many([mix], asr_opt)
        timings["asr_s"] = time.perf_counter() - t2
        words = [(w, role_of[_speaker_at(turns, (w.start + w.end) / 2)]) for w in transcript.words] if turns else []
        speech = {role: sum(t.end - t.start for t in turns if role_of[t.speaker] == role) for role in opt.roles}
    turns_out = group_turns(words, opt.max_pause_s)
    if not turns_out:
        warnings.append("Speech was found but no words could be recognised (is it English?).")
    timings["total_s"] = time.perf_counter() - t0
    report(1.0, "done")
    return SegmentedConversation(turns=tuple(turns_out), duration=duration, layout=layout,
                                 speech_seconds={k: round(v, 2) for k, v in speech.items()},
                                 audio_by_role=audio_by_role, warnings=tuple(warnings),
                                 timings={k: round(v, 3) for k, v in timings.items()})


def _speaker_at(turns: list[SpeakerTurn], t: float) -> str:
    best, dist = turns[0].speaker, float("inf")
    for turn in turns:
        if turn.start <= t <= turn.end:
            return turn.speaker
        d = min(abs(t - turn.start), abs(t - turn.end))
        if d < dist:
            best, dist = turn.speaker, d
    return best


def group_turns(words: list[tuple[Word, str]], max_pause_s: float) -> list[Turn]:
    """Words labelled with a speaker -> turns (new turn on a speaker change or a long pause)."""
    groups: list[tuple[str, list[Word]]] = []
    for w, role in sorted(words, key=lambda x: x[0].start):
        if groups and groups[-1][0] == role and w.start - groups[-1][1][-1].end < max_pause_s:
            groups[-1][1].append(w)
        else:
            groups.append((role, [w]))
    return [Turn(index=i, speaker=role, start=round(ws[0].start, 2), end=round(ws[-1].end, 2),
                     text=" ".join(w.text.strip() for w in ws).strip(),
                     confidence=round(float(np.mean([w.confidence for w in ws])), 3), words=tuple(ws))
            for i, (role, ws) in enumerate(groups)]
