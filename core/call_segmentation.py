"""A phone call -> speaker turns with text: the call-center's view of a recording.

Stereo calls (agent and customer on separate channels) are split by channel; mono calls by
``core.diarization`` (two voices, the first to speak taken as the agent unless told otherwise).
Each channel / the mono mix is transcribed once with the foundation's Transcriber (VAD-gated,
batched, word timestamps), and its words are grouped into turns: a new turn starts when the
speaker changes or after a pause of ``max_pause_s``.

>>> call = segment_call("call.wav", transcriber=get_transcriber())   # doctest: +SKIP
>>> [(t.speaker, t.text) for t in call.turns][:2]                    # [("agent", "Hello..."), ("customer", ...)]
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from core.asr.base import Transcriber
from core.asr.types import TranscribeOptions, Word
from core.audio import Audio, AudioSource, SilentAudioError, load_channels
from core.diarization import SpeakerTurn, diarize
from core.vad import VadOptions, get_vad

AGENT, CUSTOMER = "agent", "customer"
ProgressFn = Callable[[float, str], None]  # (fraction done, what is happening)


@dataclass(frozen=True)
class CallTurn:
    index: int  # 0-based position in the call
    speaker: str  # "agent" or "customer"
    start: float  # seconds
    end: float  # seconds
    text: str  # the words of this turn as transcribed
    confidence: float  # mean word confidence in [0, 1]
    words: tuple[Word, ...] = ()  # word timings


@dataclass(frozen=True)
class SegmentedCall:
    turns: tuple[CallTurn, ...]  # in time order
    duration: float  # seconds
    layout: str  # "stereo" or "mono"
    speech_seconds: dict[str, float]  # per speaker role
    warnings: tuple[str, ...] = ()  # plain-language notes (one-sided call, one voice, ...)
    timings: dict[str, float] = field(default_factory=dict)  # load / diarize / asr seconds


@dataclass(frozen=True)
class CallOptions:
    agent_channel: int = 0  # stereo: which channel is the agent
    agent_speaks_first: bool = True  # mono: the first voice is the agent ("Thank you for calling...")
    max_pause_s: float = 2.0  # a pause this long inside one speaker's speech starts a new turn
    stereo_min_difference: float = 0.05  # channels this similar (correlation > 1 - x) are one mix
    max_seconds: float = 3 * 3600.0  # longest call accepted


def _is_dual_mono(channels: list[Audio], tolerance: float) -> bool:
    a, b = channels[0].samples, channels[1].samples
    if not np.any(a) or not np.any(b):
        return False
    n = min(len(a), len(b), 16000 * 60)
    corr = float(np.corrcoef(a[:n], b[:n])[0, 1])
    return corr > 1.0 - tolerance


def segment_call(source: AudioSource | list[Audio], *, transcriber: Transcriber, options: CallOptions | None = None,
                 asr_options: TranscribeOptions | None = None, progress: ProgressFn | None = None) -> SegmentedCall:
    opt = options or CallOptions()
    asr_opt = asr_options or TranscribeOptions()
    report = progress or (lambda f, s: None)
    t0 = time.perf_counter()
    channels = source if isinstance(source, list) else load_channels(source, max_seconds=opt.max_seconds)
    timings = {"load_s": time.perf_counter() - t0}
    duration = max(c.duration for c in channels)
    warnings: list[str] = []
    vad = get_vad()
    if len(channels) >= 2 and not _is_dual_mono(channels, opt.stereo_min_difference):
        layout = "stereo"
        agent = channels[opt.agent_channel]
        customer = channels[1 - opt.agent_channel] if opt.agent_channel in (0, 1) else channels[1]
        roles = [(AGENT, agent), (CUSTOMER, customer)]
        speech = {role: vad.speech_seconds(a.samples) for role, a in roles}
        if not any(speech.values()):
            raise SilentAudioError("No one speaks in this call: both channels are silent.")
        for role, seconds in speech.items():
            if seconds == 0:
                warnings.append(f"One-sided call: the {role} channel is silent; only the other side is transcribed.")
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
        segments = vad.segments(mix.samples, VadOptions(min_silence_ms=150, speech_pad_ms=30, max_segment_s=600.0))
        if not segments:
            raise SilentAudioError("No speech found in this call.")
        report(0.1, "finding who speaks when")
        t1 = time.perf_counter()
        turns = diarize(mix.samples, segments=segments)
        timings["diarize_s"] = time.perf_counter() - t1
        names = sorted({t.speaker for t in turns})
        if len(names) < 2:
            warnings.append("Only one voice was found in this recording; all speech is treated as the customer's.")
            role_of = {n: CUSTOMER for n in names}
        else:
            first, second = (AGENT, CUSTOMER) if opt.agent_speaks_first else (CUSTOMER, AGENT)
            role_of = {"S1": first, "S2": second}
        report(0.3, "transcribing")
        t2 = time.perf_counter()
        (transcript,) = transcriber.transcribe_many([mix], asr_opt)
        timings["asr_s"] = time.perf_counter() - t2
        words = [(w, role_of[_speaker_at(turns, (w.start + w.end) / 2)]) for w in transcript.words] if turns else []
        speech = {role: sum(t.end - t.start for t in turns if role_of[t.speaker] == role) for role in (AGENT, CUSTOMER)}
    call_turns = group_turns(words, opt.max_pause_s)
    if not call_turns:
        warnings.append("Speech was found but no words could be recognised (is it English?).")
    timings["total_s"] = time.perf_counter() - t0
    report(1.0, "done")
    return SegmentedCall(turns=tuple(call_turns), duration=duration, layout=layout,
                         speech_seconds={k: round(v, 2) for k, v in speech.items()},
                         warnings=tuple(warnings), timings={k: round(v, 3) for k, v in timings.items()})


def _speaker_at(turns: list[SpeakerTurn], t: float) -> str:
    best, dist = turns[0].speaker, float("inf")
    for turn in turns:
        if turn.start <= t <= turn.end:
            return turn.speaker
        d = min(abs(t - turn.start), abs(t - turn.end))
        if d < dist:
            best, dist = turn.speaker, d
    return best


def group_turns(words: list[tuple[Word, str]], max_pause_s: float) -> list[CallTurn]:
    """Words labelled with a speaker -> turns (new turn on a speaker change or a long pause)."""
    groups: list[tuple[str, list[Word]]] = []
    for w, role in sorted(words, key=lambda x: x[0].start):
        if groups and groups[-1][0] == role and w.start - groups[-1][1][-1].end < max_pause_s:
            groups[-1][1].append(w)
        else:
            groups.append((role, [w]))
    return [CallTurn(index=i, speaker=role, start=round(ws[0].start, 2), end=round(ws[-1].end, 2),
                     text=" ".join(w.text.strip() for w in ws).strip(),
                     confidence=round(float(np.mean([w.confidence for w in ws])), 3), words=tuple(ws))
            for i, (role, ws) in enumerate(groups)]
