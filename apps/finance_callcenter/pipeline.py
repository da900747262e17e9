"""One call through the models: segmentation + ASR -> per-turn intent and emotion -> routing.

Models load once per process. Intent is computed for customer turns; emotion for every turn
(text evidence, fused with speech evidence when a speech-emotion model is installed).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from apps.finance_callcenter.config import AGENT, CUSTOMER, get_callcenter_settings
from apps.finance_callcenter.routing import RoutingDecision, RoutingTable, TurnSignal, route_call
from core.audio import Audio
from core.conversation import ConversationOptions, SegmentedConversation, Turn, segment_conversation
from core.emotion.fusion import FusedEmotion, fuse


@dataclass(frozen=True)
class AnalysedTurn:
    turn: Turn
    intent: str | None  # customer turns only
    intent_probability: float | None
    out_of_scope: bool
    top_intents: list[list]  # [[intent, probability], ...]
    emotion: FusedEmotion
    evidence: dict | None = None  # each source's own reading (text, and speech when a model is installed)


@dataclass(frozen=True)
class AnalysedCall:
    segmented: SegmentedConversation
    turns: list[AnalysedTurn]
    decision: RoutingDecision


def analyse_turns(turns: list[Turn], audio_by_speaker: dict[str, Audio] | None = None) -> list[AnalysedTurn]:
    """``audio_by_speaker``: the audio each speaker's times refer to (their channel, or the mono mix)."""
    from core.emotion.speech import get_speech_emotion
    from core.text.emotion import get_text_emotion
    from core.text.intent import get_intent_classifier

    customer = [t for t in turns if t.speaker == CUSTOMER]
    intents = dict(zip((t.index for t in customer), get_intent_classifier().predict([t.text for t in customer])))
    emotions = get_text_emotion().predict([t.text for t in turns])
    speech_model = get_speech_emotion() if audio_by_speaker else None
    out = []
    for t, emo in zip(turns, emotions):
        evidence: dict = {"text": {"label": max(emo.scores, key=emo.scores.get) if emo.scores else "neutral",
                                   "probabilities": {k: round(float(v), 4) for k, v in emo.scores.items()}}}
        speech, confidence = None, 0.0
        audio = (audio_by_speaker or {}).get(t.speaker)
        if speech_model is not None and audio is not None:
            clip = audio.samples[int(t.start * audio.sample_rate):int(t.end * audio.sample_rate)]
            heard = speech_model.analyse(clip)
            speech, confidence = heard.probabilities, heard.confidence
            evidence["speech"] = {"label": heard.label, "probabilities": heard.probabilities, "arousal": heard.arousal,
                                  "valence": heard.valence, "confidence": heard.confidence, "notes": list(heard.notes)}
        fused = fuse(text=emo.scores, speech=speech, speech_confidence=confidence)
        res = intents.get(t.index)
        out.append(AnalysedTurn(
            turn=t, intent=None if res is None or res.out_of_scope else res.intent,
            intent_probability=None if res is None else res.top[0].probability,
            out_of_scope=bool(res and res.out_of_scope),
            top_intents=[[s.intent, s.probability] for s in res.top] if res else [], emotion=fused,
            evidence=evidence))
    return out


def signals(turns: list[AnalysedTurn]) -> list[TurnSignal]:
    return [TurnSignal(index=a.turn.index, speaker=a.turn.speaker, intent=a.intent,
                       intent_probability=a.intent_probability or 0.0, out_of_scope=a.out_of_scope,
                       emotion=a.emotion.label, distress=a.emotion.distress) for a in turns]


def call_options(agent_channel: int = 0) -> ConversationOptions:
    """A bank call's two parties: the agent (on ``agent_channel`` when stereo; the first voice when
    mono) and the customer (whose the speech is when only one voice is heard)."""
    return ConversationOptions(roles=(AGENT, CUSTOMER), first_role_channel=agent_channel)


def analyse_call(source, table: RoutingTable, *, agent_channel: int = 0,
                 progress: Callable[[float, str], None] | None = None) -> AnalysedCall:
    from core.asr import TranscribeOptions, get_transcriber
    from core.audio import load_channels
    from core.config import get_settings

    report = progress or (lambda f, s: None)
    report(0.02, "reading the recording")
    channels = load_channels(source, max_seconds=get_settings().max_audio_seconds)
    segmented = segment_conversation(
        channels, transcriber=get_transcriber(get_callcenter_settings().asr_model), options=call_options(agent_channel),
        asr_options=TranscribeOptions(initial_prompt=get_callcenter_settings().asr_prompt or None),
        progress=lambda f, s: report(0.05 + 0.8 * f, s))
    report(0.88, "intent and emotion per turn")
    turns = analyse_turns(list(segmented.turns), segmented.audio_by_role)
    report(0.97, "routing")
    return AnalysedCall(segmented=segmented, turns=turns, decision=route_call(signals(turns), table))
