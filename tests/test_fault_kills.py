"""The kill loop: two workers SIGKILLed again and again at random moments while 5,000 dialogs stream through them
lose nothing and store nothing twice (duplicates on cs.dialogs.scored are allowed, and counted)."""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from features.config import store_config
from features.traffic import EVER
from features.training import DialogQuery, read_dialogs
from simulator.options import SimulateOptions
from tests.fault_harness import Traffic, duplicates, expected_dialogs, lost_and_doubled
from tests.pipeline_harness import Pipeline, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.faults]

START = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
SEED = 15
DIALOGS = 5000  # 3,523 of them both talked and scored
KILLS = 10
RATE_PER_S = 40  # 125 s of traffic, longer than ten kills take (each waits for a worker to own partitions): every
# kill finds dialogs arriving; at 500/s two workers stored the backlog before the tenth kill in one run
MOVED = 10  # dialogs the store must gain between two kills: each kill finds the pipeline at work
KILL_DELAY_S = (0.0, 1.5)  # then a random while before the kill


@pytest.fixture
def pipeline(tmp_path):
    with Pipeline.start(tmp_path) as running:
        yield running


@pytest.mark.timeout(480)
def test_two_workers_killed_ten_times_at_random_moments_lose_nothing_and_store_nothing_twice(pipeline, tmp_path,
                                                                                            record_property):
    """Ten SIGKILLs of two workers at random moments while they work: every scored dialog is in the traffic log
    exactly once, and each detractor once in the dialog log. Duplicates on cs.dialogs.scored are allowed (the
    store keeps one per event id) and counted."""
    options = SimulateOptions(dialogs=DIALOGS, seed=SEED, start=START, rate_per_s=RATE_PER_S)
    loop = KillLoop(pipeline, expected_dialogs(pipeline.settings, options), random.Random(SEED))
    with Traffic(pipeline.settings, pipeline.broker.bootstrap, options):
        for _ in range(KILLS):
            loop.kill_one()
    wait_for(pipeline.while_up(lambda: loop.wanted <= set(pipeline.stored_ids()), loop.slots), 150,
             "every scored dialog after the last kill", progress=loop.whereabouts)
    time.sleep(3)  # a replay that would double anything has had time to land

    stored = pipeline.stored_ids()
    report = loop.report(len(stored), tmp_path / "kill-loop.json", record_property)
    assert sorted(stored) == sorted(loop.wanted), f"{lost_and_doubled(stored, loop.wanted)}; {report}"
    detractors = list(read_dialogs(store_config(pipeline.settings),
                                   DialogQuery(*EVER, max_nps=pipeline.settings.nps_threshold))["conversation_id"])
    assert len(detractors) == len(set(detractors)) > 0, f"the dialog log doubles {duplicates(detractors)} dialogs"
    pipeline.assert_up(loop.slots)


class KillLoop:
    """Two worker slots. Each kill waits for a worker that owns partitions and for the store to have gained
    ``MOVED`` dialogs since the last kill, waits a random while more, SIGKILLs the worker of a random slot that
    owns partitions and starts its successor at once (not waited for: the next kill may find only the other
    worker at work, or wait for this one)."""

    def __init__(self, pipeline: Pipeline, wanted: set[str], rng: random.Random):
        self.pipeline, self.wanted, self.rng = pipeline, wanted, rng
        self.started = time.monotonic()
        self.slots = pipeline.start_workers(2)
        self.kills: list[dict] = []
        self.stored_at_kill = 0

    def kill_one(self) -> None:
        wait_for(lambda: bool(self.owning()) and self.stored() >= self.stored_at_kill + MOVED, 120,
                 f"kill {len(self.kills) + 1}: a worker owning partitions and the store moving", every_s=0.25,
                 progress=lambda: f"{self.stored()} stored, {self.stored_at_kill} at the last kill; slots owning "
                                  f"partitions: {self.owning()} (workers take ~20 s to start, more on a busy machine)")
        time.sleep(self.rng.uniform(*KILL_DELAY_S))
        slot = self.rng.choice(self.owning())
        self.stored_at_kill = self.stored()
        assert self.stored_at_kill < len(self.wanted), f"kill {len(self.kills) + 1} came after everything was stored"
        self.pipeline.kill(self.slots[slot])
        self.slots[slot] = self.pipeline.start_worker(wait=False)
        self.kills.append({"at_s": self.elapsed(), "slot": slot, "stored_before": self.stored_at_kill})
        print(f"kill {len(self.kills)}: {self.kills[-1]}", flush=True)

    def owning(self) -> list[int]:
        """The slots whose worker owns partitions. Only kills stop workers: one that exited fails the test."""
        self.pipeline.assert_up(self.slots)
        return [n for n, worker in enumerate(self.slots) if self.pipeline.owns_partitions(worker)]

    def stored(self) -> int:
        return len(set(self.pipeline.stored_ids()) & self.wanted)

    def elapsed(self) -> float:
        return round(time.monotonic() - self.started, 1)

    def whereabouts(self) -> str:
        """What the store lacks or doubles, and where the missing dialogs got to: a lost dialog on the scored
        topic was lost storing it, one that is not was lost joining (or dead-lettered)."""
        stored = self.pipeline.stored_ids()
        missing = self.wanted - set(stored)
        scored = {key.decode() for key, _ in self.pipeline.topic_messages("scored_dialogs")} & missing
        letters = Counter(letter["reason"] for letter in self.pipeline.dead_letters()
                          if letter["original_key"] in missing)
        return (f"{lost_and_doubled(stored, self.wanted)}; of those missing, {len(scored)} are on the scored "
                f"topic, dead letters {dict(letters)}; kills {self.kills}")

    def report(self, stored: int, path: Path, record_property) -> dict:
        """The run's numbers, kept in a JSON file beside the test's data, in JUnit properties and in the output."""
        keys = [key for key, _ in self.pipeline.topic_messages("scored_dialogs")]
        report = {"dialogs": len(self.wanted), "kills": self.kills, "scored_topic_duplicates": duplicates(keys),
                  "stored": stored, "runtime_s": self.elapsed()}
        path.write_text(json.dumps(report, indent=1))
        for name in ("scored_topic_duplicates", "runtime_s"):
            record_property(name, report[name])
        print(f"kill loop: {json.dumps(report)}", flush=True)
        return report
