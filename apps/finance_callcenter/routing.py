"""The call-center's routing: a declarative table (validated) and the rules that apply it.

Pure logic (no database, no models): ``route_call(turns, table)`` takes per-turn signals and returns
a decision with every reason spelled out. The default table is ``routing_table.yaml``; supervisors
edit a copy in the app, and an edit that names an unknown queue or intent is refused with a message.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

DEFAULT_TABLE = Path(__file__).with_name("routing_table.yaml")


class RoutingTableError(ValueError):
    """The routing table cannot be used; the message says why, in plain words."""


class Queue(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt key is an error, not silently ignored

    name: str = Field(min_length=1, max_length=80)
    sla_minutes: float = Field(gt=0, le=24 * 60)


class Escalation(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt key is an error, not silently ignored

    queue: str
    intents: list[str] = []
    distress_threshold: float = Field(0.6, ge=0.0, le=1.0)
    distress_turns: int = Field(2, ge=1, le=20)


class RoutingTable(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt key is an error, not silently ignored

    queues: dict[str, Queue]
    routes: dict[str, list[str]]
    default_queue: str
    out_of_scope_queue: str
    min_intent_probability: float = Field(0.5, ge=0.0, le=1.0)
    escalation: Escalation

    @model_validator(mode="after")
    def _queues_exist(self) -> "RoutingTable":
        known = set(self.queues)
        named = [("routes", q) for q in self.routes] + [
            ("default_queue", self.default_queue), ("out_of_scope_queue", self.out_of_scope_queue),
            ("escalation.queue", self.escalation.queue)]
        for where, q in named:
            if q not in known:
                raise ValueError(f"{where} names the queue '{q}', which is not defined under 'queues' "
                                 f"(defined: {', '.join(sorted(known))})")
        seen: dict[str, str] = {}
        for q, intents in self.routes.items():
            for i in intents:
                if i in seen and seen[i] != q:
                    raise ValueError(f"intent '{i}' is routed to two queues: '{seen[i]}' and '{q}'")
                seen[i] = q
        return self

    def queue_for(self, intent: str) -> str:
        for q, intents in self.routes.items():
            if intent in intents:
                return q
        return self.default_queue


def parse_table(text: str, known_intents: list[str] | None = None) -> RoutingTable:
    """YAML text -> a validated table, or RoutingTableError with the first problem in plain words."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RoutingTableError(f"The routing table is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise RoutingTableError("The routing table must be a YAML mapping with 'queues', 'routes', ...")
    try:
        table = RoutingTable.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors()[:3]:
            where = ".".join(str(p) for p in err["loc"]) or "table"
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown setting (misspelt, or in the wrong place?)"
            problems.append(f"{where}: {msg}")
        raise RoutingTableError("Routing table rejected: " + "; ".join(problems)) from exc
    if known_intents is not None:
        named = {i for v in table.routes.values() for i in v} | set(table.escalation.intents)
        unknown = sorted(named - set(known_intents))
        if unknown:
            raise RoutingTableError(f"Routing table rejected: unknown intent(s) {', '.join(unknown)}")
    return table


def default_table_text() -> str:
    return DEFAULT_TABLE.read_text(encoding="utf-8")


@dataclass(frozen=True)
class TurnSignal:
    index: int  # turn position in the call
    speaker: str  # "agent" or "customer"
    intent: str | None  # best in-scope intent (None for agent turns)
    intent_probability: float  # its calibrated probability
    out_of_scope: bool  # the classifier flagged the turn
    emotion: str  # fused Ekman label
    distress: float  # fused anger + disgust + fear + sadness probability


@dataclass(frozen=True)
class RoutingDecision:
    queue: str  # where the call goes
    escalated: bool  # sent to the escalation queue
    primary_intent: str | None  # the customer's main request (None: out of scope)
    reasons: tuple[str, ...]  # every rule that fired, in plain words


def route_call(turns: list[TurnSignal], table: RoutingTable) -> RoutingDecision:
    customer = [t for t in turns if t.speaker == "customer"]
    voting = [t for t in customer if t.intent and not t.out_of_scope
              and t.intent_probability >= table.min_intent_probability]
    reasons: list[str] = []
    votes: dict[str, float] = {}
    for t in voting:
        votes[t.intent] = votes.get(t.intent, 0.0) + t.intent_probability  # type: ignore[index]
    primary = max(votes, key=votes.get) if votes else None
    if primary is None:
        queue = table.out_of_scope_queue
        reasons.append(f"No banking intent recognised in {len(customer)} customer turn(s): "
                       f"sent to {table.queues[queue].name}.")
    else:
        queue = table.queue_for(primary)
        first = next(t for t in voting if t.intent == primary)
        where = "routed by the table" if queue != table.default_queue or primary in table.routes.get(queue, []) \
            else "not in the table, default queue"
        reasons.append(f"Customer intent '{primary}' (turn {first.index + 1}, p={first.intent_probability:.2f}, "
                       f"{len(votes)} intent(s) heard): {where} -> {table.queues[queue].name}.")
    esc = table.escalation
    escalated = False
    for t in voting:
        if t.intent in esc.intents:
            escalated = True
            reasons.append(f"Escalated: turn {t.index + 1} asks about '{t.intent}' (p={t.intent_probability:.2f}), "
                           "an escalation intent.")
            break
    run: list[TurnSignal] = []
    for t in customer:
        run = run + [t] if t.distress >= esc.distress_threshold else []
        if len(run) >= esc.distress_turns:
            escalated = True
            labels = ", ".join(f"{x.emotion} {x.distress:.2f}" for x in run)
            reasons.append(f"Escalated: sustained distress in customer turns {run[0].index + 1}-{run[-1].index + 1} "
                           f"({labels}; threshold {esc.distress_threshold:.2f} for {esc.distress_turns} turns).")
            break
    if escalated:
        queue = esc.queue
    return RoutingDecision(queue=queue, escalated=escalated, primary_intent=primary, reasons=tuple(reasons))
