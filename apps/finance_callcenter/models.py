"""Call-center tables: queues, agents, routing-table versions, calls, turns, routing decisions.

Supervisors are core accounts (role "supervisor"); the audit log is core's. A call row and its
audio file exist before any processing starts, so nothing is lost when processing fails.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, utcnow


class CallQueue(Base):
    __tablename__ = "cc_queues"

    key: Mapped[str] = mapped_column(String(32), primary_key=True)  # "cards", "priority", ...
    name: Mapped[str] = mapped_column(String(80))
    sla_minutes: Mapped[float] = mapped_column(Float)  # longest acceptable wait before an agent picks it up


class Agent(Base):
    __tablename__ = "cc_agents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    queue_key: Mapped[str | None] = mapped_column(ForeignKey("cc_queues.key", ondelete="SET NULL"), index=True)
    active: Mapped[bool] = mapped_column(default=True)


class RoutingTableVersion(Base):
    __tablename__ = "cc_routing_tables"

    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    document: Mapped[str] = mapped_column(Text)  # the YAML as the supervisor wrote it
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64), default="")  # username ("" = shipped default)
    note: Mapped[str] = mapped_column(String(200), default="")


class Call(Base):
    __tablename__ = "cc_calls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))  # as uploaded
    audio_path: Mapped[str] = mapped_column(String(500))  # stored copy (written before processing)
    audio_sha256: Mapped[str] = mapped_column(String(64), index=True)
    audio_bytes: Mapped[int] = mapped_column(Integer)
    agent_channel: Mapped[int] = mapped_column(Integer, default=0)  # stereo: the agent's channel
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)  # queued/processing/done/failed
    progress: Mapped[float] = mapped_column(Float, default=0.0)  # 0..1 while processing
    progress_note: Mapped[str] = mapped_column(String(200), default="")
    error: Mapped[str] = mapped_column(Text, default="")  # plain-language reason when failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    heartbeat_at: Mapped[datetime | None] = mapped_column(default=None)  # last sign of life while processing
    uploaded_by: Mapped[str] = mapped_column(String(64), default="")
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    processed_at: Mapped[datetime | None] = mapped_column(default=None, index=True)  # routed: starts waiting
    handled_at: Mapped[datetime | None] = mapped_column(default=None)  # an agent took it: stops waiting
    duration_s: Mapped[float | None] = mapped_column(Float, default=None)
    layout: Mapped[str] = mapped_column(String(8), default="")  # "stereo" / "mono"
    processing_s: Mapped[float | None] = mapped_column(Float, default=None)
    queue_key: Mapped[str | None] = mapped_column(ForeignKey("cc_queues.key"), default=None, index=True)
    escalated: Mapped[bool] = mapped_column(default=False, index=True)
    primary_intent: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    peak_distress: Mapped[float | None] = mapped_column(Float, default=None)
    warnings: Mapped[list] = mapped_column(JSON, default=list)

    turns: Mapped[list[Turn]] = relationship(back_populates="call", cascade="all, delete-orphan",
                                             order_by="Turn.index")
    decisions: Mapped[list[RoutingDecisionRow]] = relationship(back_populates="call", cascade="all, delete-orphan",
                                                               order_by="RoutingDecisionRow.id")


class Turn(Base):
    __tablename__ = "cc_turns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("cc_calls.id", ondelete="CASCADE"), index=True)
    index: Mapped[int] = mapped_column(Integer)
    speaker: Mapped[str] = mapped_column(String(16))  # agent / customer
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)
    asr_confidence: Mapped[float] = mapped_column(Float, default=0.0)
    intent: Mapped[str | None] = mapped_column(String(64), default=None, index=True)  # customer turns
    intent_probability: Mapped[float | None] = mapped_column(Float, default=None)
    out_of_scope: Mapped[bool] = mapped_column(default=False)
    top_intents: Mapped[list] = mapped_column(JSON, default=list)  # [[intent, p], ...]
    emotion: Mapped[str] = mapped_column(String(16), default="neutral")
    emotion_scores: Mapped[dict] = mapped_column(JSON, default=dict)  # fused Ekman distribution
    emotion_sources: Mapped[list] = mapped_column(JSON, default=list)  # ["text"], ["text", "speech"]
    # each source's own reading: {"text": {"label", "probabilities"}, "speech": {"label", "probabilities",
    # "arousal", "valence", "confidence", "notes"}}
    emotion_evidence: Mapped[dict | None] = mapped_column(JSON, default=None)
    distress: Mapped[float] = mapped_column(Float, default=0.0)

    call: Mapped[Call] = relationship(back_populates="turns")


class RoutingDecisionRow(Base):
    __tablename__ = "cc_routing_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("cc_calls.id", ondelete="CASCADE"), index=True)
    queue_key: Mapped[str] = mapped_column(ForeignKey("cc_queues.key"))
    escalated: Mapped[bool] = mapped_column(default=False)
    primary_intent: Mapped[str | None] = mapped_column(String(64), default=None)
    reasons: Mapped[list] = mapped_column(JSON, default=list)  # plain-language reasons, in order
    table_version: Mapped[int | None] = mapped_column(ForeignKey("cc_routing_tables.version"), default=None)
    decided_by: Mapped[str] = mapped_column(String(64), default="auto")  # "auto" or the supervisor's username
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)

    call: Mapped[Call] = relationship(back_populates="decisions")
