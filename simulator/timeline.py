"""Simulated time: when dialogs start, and the order in which their events reach the topics.

Events carry simulated timestamps from a clock that starts where the caller says and advances by seeded
gaps; ids come from a seeded generator. Nothing reads the wall clock or the global ``random``, so one seed
gives byte-identical events. Events are released in order of their own timestamps, which is what lets a
score that was given before its conversation was reported come out first, and a late one come out long
after, interleaved with later dialogs.
"""

from __future__ import annotations

import heapq
import random
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType

from simulator.customers import Entity
from streams.events import Record


def seconds(value: float) -> timedelta:
    """A simulated duration, to the millisecond (timestamps stay short and exact in JSON)."""
    return timedelta(milliseconds=round(value * 1000))


@dataclass(frozen=True)
class SimEvent:
    """A record for a topic and, for a conversation, the ground truth a real chat platform does not have: what
    each turn carries (turn index -> entities injected into that turn's text) and the intent the customer asked
    about (the conversation's ``intent`` is what the bot took it for)."""

    record: Record
    entities: Mapping[int, tuple[Entity, ...]] = field(default_factory=lambda: MappingProxyType({}))
    asked: str | None = None


class Timeline:
    """The simulated clock, the seeded id generator, and the events waiting for their time."""

    def __init__(self, start: datetime, seed: str, mean_gap_s: float):
        if start.tzinfo is None:
            raise ValueError("the simulated clock needs a timezone-aware start")
        self.start, self.mean_gap_s = start, mean_gap_s
        self.rng = random.Random(seed)
        self.now_s = 0.0  # simulated seconds since start
        self._queue: list[tuple[datetime, int, SimEvent]] = []
        self._scheduled = 0

    def at(self, offset_s: float) -> datetime:
        """The timestamp ``offset_s`` simulated seconds after the start."""
        return self.start + seconds(offset_s)

    def play(self, dialogs: int, dialog: Callable[[int], None]) -> Iterator[SimEvent]:
        """Let ``dialogs`` customers arrive (exponential gaps: they come independently), run ``dialog(index)``
        for each, which schedules its events, and release every event when its time comes."""
        for index in range(dialogs):
            self.now_s += self.rng.expovariate(1.0 / self.mean_gap_s)
            yield from self._due()
            dialog(index)
        while self._queue:
            yield heapq.heappop(self._queue)[2]

    def event_id(self) -> str:
        return uuid.UUID(int=self.rng.getrandbits(128)).hex

    def conversation_id(self) -> str:
        return f"conv-{uuid.UUID(int=self.rng.getrandbits(128)).hex}"

    def schedule(self, event: SimEvent) -> None:
        """Hold ``event`` until the clock reaches its timestamp (ties keep the order of scheduling)."""
        heapq.heappush(self._queue, (event.record.event_time, self._scheduled, event))
        self._scheduled += 1

    def _due(self) -> Iterator[SimEvent]:
        now = self.at(self.now_s)
        while self._queue and self._queue[0][0] <= now:
            yield heapq.heappop(self._queue)[2]
