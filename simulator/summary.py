"""What a run produced, counted from the events themselves (the publisher counts only delivered ones)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from pydantic import BaseModel

from simulator.customers import PERSONAL
from simulator.timeline import SimEvent
from streams.events import Conversation, PolicyUpdate, Satisfaction


class SimulationSummary(BaseModel):
    conversations: int
    satisfaction: int
    policy_updates: int
    by_intent: dict[str, int]
    by_locale: dict[str, int]
    with_pii: int  # conversations carrying personal data (order numbers are not)
    handoffs: int
    mean_nps: float | None  # None when no score was produced
    wall_s: float
    topics: dict[str, str]  # role -> topic name; empty when nothing was published

    def describe(self) -> str:
        """A few lines for a person at a terminal."""
        nps = "no scores" if self.mean_nps is None else f"mean NPS {self.mean_nps:.1f}"
        top = ", ".join(f"{intent} {n}" for intent, n in sorted(self.by_intent.items(), key=lambda i: -i[1])[:5])
        lines = [
            f"{self.conversations} conversations, {self.satisfaction} scores ({nps}), "
            f"{self.policy_updates} policy updates in {self.wall_s:.1f} s",
            f"  by locale: {', '.join(f'{loc} {n}' for loc, n in self.by_locale.items()) or '-'}",
            f"  top intents: {top or '-'}",
            f"  with personal data: {self.with_pii}, handed off to an agent: {self.handoffs}",
        ]
        if self.topics:
            lines.append(f"  topics: {', '.join(self.topics.values())}")
        return "\n".join(lines)


class Tally:
    """Counts events one at a time, so a publisher can count exactly those the broker acknowledged."""

    def __init__(self) -> None:
        self.kinds: Counter[type] = Counter()
        self.intents: Counter[str] = Counter()
        self.locales: Counter[str] = Counter()
        self.with_pii = self.handoffs = self.nps_total = 0

    def add(self, event: SimEvent) -> None:
        record = event.record
        self.kinds[type(record)] += 1
        if isinstance(record, Conversation):
            self.intents[str(record.intent)] += 1
            self.locales[record.locale] += 1
            self.handoffs += record.handed_off
            self.with_pii += any(e.type in PERSONAL for turn in event.entities.values() for e in turn)
        elif isinstance(record, Satisfaction):
            self.nps_total += record.nps

    def summary(self, wall_s: float = 0.0, topics: dict[str, str] | None = None) -> SimulationSummary:
        scores = self.kinds[Satisfaction]
        return SimulationSummary(
            conversations=self.kinds[Conversation], satisfaction=scores, policy_updates=self.kinds[PolicyUpdate],
            by_intent=dict(sorted(self.intents.items())), by_locale=dict(sorted(self.locales.items())),
            with_pii=self.with_pii, handoffs=self.handoffs,
            mean_nps=round(self.nps_total / scores, 3) if scores else None, wall_s=round(wall_s, 3),
            topics=topics or {},
        )


def summarize(events: Iterable[SimEvent]) -> SimulationSummary:
    """The summary of a whole run of events (no broker: wall_s 0, no topics)."""
    tally = Tally()
    for event in events:
        tally.add(event)
    return tally.summary()
