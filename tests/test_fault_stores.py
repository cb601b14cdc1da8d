"""Store outages: with the production feature store (PostgreSQL offline log and registry, Redis online store) on
private servers, each server stopped for 10 s while dialogs stream in: the workers stay up, report the stall
on /metrics, and store every dialog once when the server is back."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from features.config import store_config
from features.online import OnlineFeatures
from features.traffic import EVER, TrafficQuery, read_traffic
from simulator.options import SimulateOptions
from tests.fault_harness import (
    PrivateServer, Traffic, expected_dialogs, gauge, lost_and_doubled, private_stores, production_overrides, watch,
)
from tests.pipeline_harness import Pipeline, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.faults]

START = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
OUTAGE_S = 10
STALLED = "flywheel_stream_store_stalled_seconds"
PHASE_DIALOGS, RATE_PER_S = 600, 40  # 15 s of traffic a phase: each outage falls inside it


@pytest.fixture
def stores():
    with private_stores() as running:
        yield running


@pytest.fixture
def pipeline(tmp_path, stores):
    with Pipeline.start(tmp_path, **production_overrides(*stores)) as running:
        yield running


@pytest.mark.timeout(360)
def test_postgres_and_redis_each_down_for_10_s_mid_stream_lose_nothing_and_the_stall_shows(pipeline, stores):
    """Each server is stopped while a phase of traffic streams in: the partitions wait, nothing is skipped, and
    once the server is back every dialog of the phase is stored once (the online store kept what it had)."""
    postgres, redis = stores
    workers = pipeline.start_workers(2)
    wanted: set[str] = set()
    for seed, server in enumerate((postgres, redis), start=1):
        options = SimulateOptions(dialogs=PHASE_DIALOGS, seed=seed, start=START, rate_per_s=RATE_PER_S)
        wanted |= expected_dialogs(pipeline.settings, options)
        with Traffic(pipeline.settings, pipeline.broker.bootstrap, options):
            before = len(pipeline.stored_ids())
            wait_for(pipeline.while_up(lambda: len(pipeline.stored_ids()) >= before + 20), 60,
                     "the phase's first dialogs stored")
            stalled = outage(pipeline, server, workers)
        wait_for(pipeline.while_up(lambda: wanted <= set(pipeline.stored_ids())), 120,
                 f"every dialog after the {server.name} outage",
                 progress=lambda: lost_and_doubled(pipeline.stored_ids(), wanted))
        assert stalled is not None, f"the workers export no {STALLED}"
        assert stalled > 0, f"{STALLED} stayed at 0 through the {server.name} outage"

    stored = pipeline.stored_ids()
    assert sorted(stored) == sorted(wanted), lost_and_doubled(stored, wanted)
    assert_detractors_online(pipeline)
    pipeline.assert_up()
    wait_for(lambda: all(gauge(pipeline.web_port(w), STALLED) == 0 for w in workers), 30, f"{STALLED} back at 0")


def outage(pipeline: Pipeline, server: PrivateServer, workers: list) -> float | None:
    """Stop ``server`` for ``OUTAGE_S`` and start it again; return the highest stall any worker reported
    meanwhile (None: no worker exports the gauge). The workers must stay up throughout."""
    seen: list[float] = []

    def probe() -> None:
        pipeline.assert_up()
        seen.extend(value for w in workers if (value := gauge(pipeline.web_port(w), STALLED)) is not None)

    with server.down(OUTAGE_S) as back_at:
        watch(back_at - time.monotonic(), probe)
    return max(seen, default=None)


def assert_detractors_online(pipeline: Pipeline) -> None:
    """Every detractor the traffic log holds is in the online store too (Redis kept what it had been given)."""
    traffic = read_traffic(store_config(pipeline.settings), TrafficQuery(*EVER))
    detractors = traffic[traffic["nps"] <= pipeline.settings.nps_threshold]["conversation_id"]
    online = OnlineFeatures(store_config(pipeline.settings))
    missing = [cid for cid in detractors if online.dialog(cid) is None]
    assert not missing, f"{len(missing)} of {len(detractors)} detractors missing online, e.g. {missing[:3]}"
