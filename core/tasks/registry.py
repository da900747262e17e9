"""The kinds of task the suite knows ("process call N", "draft from recording N", "rescore attempt N").

An app declares each kind once (``AppSpec.tasks``); the server and every worker register the same
list at start, so a message names a kind and a record id and nothing else.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable


class Retry(Exception):
    """Raised by ``TaskKind.run`` after it gave its claim back: this worker cannot do the task now
    (say its machine cannot see the recording); another worker, or this one later, should."""

    def __init__(self, reason: str, countdown: float = 5.0):
        super().__init__(reason)
        self.reason, self.countdown = reason, countdown


@dataclass(frozen=True)
class TaskKind:
    name: str  # "callcenter.process_call": the message names it
    run: Callable[[int], str]  # claim record N and process it: "done" / "failed" / "skipped" (not claimable)
    pending: Callable[[datetime], list[int]]  # put back claims with no heartbeat since the time given, then
    #                                           the ids waiting to be processed, oldest first
    fail: Callable[[int, str], None]  # give up on record N with a sentence for the person (retries spent)


_kinds: dict[str, TaskKind] = {}


def register(*kinds: TaskKind) -> None:
    for kind in kinds:
        _kinds[kind.name] = kind


def get(name: str) -> TaskKind | None:
    return _kinds.get(name)


def all_kinds() -> list[TaskKind]:
    return list(_kinds.values())
