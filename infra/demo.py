"""``flywheel demo``: the system on its embedded defaults, end to end, with a live summary on screen.

It starts its own broker (attached: it dies with the demo, also on Ctrl-C or a crash), streams simulated
traffic through the real topics, and reads the traffic back from the broker to summarise it: the numbers
shown are what the topics hold, not what the simulator meant to send. The bot is a stale policy oracle, so
the summary shows what the flywheel exists to fix: satisfaction on a changed rule drops after the change.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

from confluent_kafka import Consumer, TopicPartition

from infra.broker import EmbeddedBroker
from infra.settings import Settings
from infra.stack import create_topics, kafka_config
from simulator.options import SimulateOptions
from simulator.run import simulate
from streams.events import Conversation, PolicyUpdate, Satisfaction, parse


class TrafficTally:
    """What the topics hold so far: conversations, scores joined by id, NPS before and after a change."""

    def __init__(self) -> None:
        self.conversations: dict[str, Conversation] = {}
        self.scores: dict[str, int] = {}
        self.change: PolicyUpdate | None = None

    def add(self, role: str, payload: bytes) -> None:
        record = parse(role, payload)
        if isinstance(record, Conversation):
            self.conversations[record.conversation_id] = record
        elif isinstance(record, Satisfaction):
            self.scores[record.conversation_id] = record.nps
        elif isinstance(record, PolicyUpdate):
            self.change = record

    def nps_by_period(self) -> dict[str, dict[str, float]]:
        """Mean NPS and count, before and after the policy change, for the changed intent and the rest."""
        groups: dict[str, list[int]] = defaultdict(list)
        for cid, nps in self.scores.items():
            conversation = self.conversations.get(cid)
            if conversation is None:
                continue
            after = self.change is not None and conversation.event_time >= self.change.effective_at
            changed = self.change is not None and conversation.intent == self.change.intent
            groups[f"{'after' if after else 'before'}_change/{'changed_intent' if changed else 'other'}"].append(nps)
        return {k: {"mean_nps": round(sum(v) / len(v), 2), "dialogs": len(v)} for k, v in sorted(groups.items())}

    def line(self) -> str:
        scored = [n for cid, n in self.scores.items() if cid in self.conversations]
        mean = sum(scored) / len(scored) if scored else float("nan")
        handoffs = sum(c.handed_off for c in self.conversations.values())
        change = f", policy change v{self.change.version} of {self.change.intent}" if self.change else ""
        return (f"{len(self.conversations)} conversations, {len(self.scores)} scores, mean NPS {mean:.1f}, "
                f"{handoffs} handoffs{change}")


def _follow(conf: dict[str, str], settings: Settings, tally: TrafficTally, stop: threading.Event) -> None:
    """Read the raw topics from the start until ``stop``, feeding the tally and showing it twice a second."""
    roles = {settings.topics[r]: r for r in ("conversations", "satisfaction", "policy_updates")}
    consumer = Consumer({**conf, "group.id": "flywheel-demo", "enable.auto.commit": False})
    consumer.assign([TopicPartition(t, p, 0) for t in roles for p in range(settings.partitions)])
    try:
        while not stop.is_set():
            for msg in consumer.consume(1000, timeout=0.5):
                if msg.error() is None:
                    tally.add(roles[msg.topic()], msg.value())
            print(f"\r  live: {tally.line()}", end="", file=sys.stderr, flush=True)
    finally:
        consumer.close()


def _wait_for(tally: TrafficTally, conversations: int, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while len(tally.conversations) < conversations and time.monotonic() < deadline:
        time.sleep(0.1)


def run_demo(settings: Settings, out: Path, dialogs: int, seed: int) -> dict:
    """Run the demo and write ``out/summary.json``; returns the summary."""
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    print("starting the embedded broker ...", file=sys.stderr)
    with EmbeddedBroker(log_path=out / "broker.log") as broker:
        create_topics(settings, broker.bootstrap)
        tally, stop = TrafficTally(), threading.Event()
        follower = threading.Thread(target=_follow, daemon=True,
                                    args=(kafka_config(settings, broker.bootstrap), settings, tally, stop))
        follower.start()
        options = SimulateOptions(dialogs=dialogs, seed=seed, start=datetime.now(UTC), rate_per_s=400,
                                  policy_change_at=dialogs // 2, change="rule", stale=True)
        print(f"streaming {dialogs} simulated dialogs; halfway the policy team changes a rule that the bot "
              "(a stale policy oracle) does not know about", file=sys.stderr)
        try:
            sent = simulate(settings, broker.bootstrap, options, progress=False)
            _wait_for(tally, sent.conversations)
        finally:
            stop.set()
            follower.join(5)
            print(file=sys.stderr)
    summary = {"conversations": len(tally.conversations), "scores": len(tally.scores),
               "nps": tally.nps_by_period(), "wall_s": round(time.monotonic() - started, 1)}
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))
    return summary
