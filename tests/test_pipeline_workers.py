"""Worker processes: killed mid-stream they resume without gaps or duplicates; two of them split the work."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from infra.workers import partitions_split
from simulator.options import SimulateOptions
from simulator.run import simulate
from tests.pipeline_harness import Pipeline, wait_for
from tests.test_pipeline import expected_scored, traffic

pytestmark = pytest.mark.integration

START = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
KILLS = 3


@pytest.fixture
def pipeline(tmp_path):
    running = Pipeline.start(tmp_path)
    try:
        yield running
    finally:
        running.stop()


def stored_ids(pipeline: Pipeline) -> list[str]:
    return list(traffic(pipeline)["conversation_id"])


def test_a_worker_killed_mid_stream_resumes_and_stores_every_dialog_exactly_once(pipeline):
    """Killed three times while it scores, the worker loses nothing: a kill between a join's "scored" state
    reaching the changelog and its dialog reaching the topic lost that dialog (in 2 of 7 suite runs with one
    kill, and in 2 of 2 runs with five) before the state waited for the dialog's delivery."""
    worker = pipeline.start_worker()
    options = SimulateOptions(dialogs=2500, seed=5, start=START, rate_per_s=200)  # traffic goes on for 12 s
    wanted = expected_scored(options, pipeline.settings.policy_hmac_key.get_secret_value())
    traffic_thread = threading.Thread(target=simulate, args=(pipeline.settings, pipeline.broker.bootstrap, options,
                                                             False))
    traffic_thread.start()
    for _ in range(KILLS):
        stored = len(stored_ids(pipeline))
        wait_for(lambda: len(stored_ids(pipeline)) > stored + 100, 90, "the worker to be mid-stream", every_s=0.1)
        pipeline.kill(worker)
        assert len(stored_ids(pipeline)) < len(wanted), "the kill came too late to test recovery"
        worker = pipeline.start_worker()
    traffic_thread.join(60)
    wait_for(lambda: wanted <= set(stored_ids(pipeline)), 120, "every scored dialog after the restart",
             progress=lambda: _missing(wanted, pipeline))
    time.sleep(3)  # a replay that would double anything has had time to land
    ids = stored_ids(pipeline)
    assert len(ids) == len(set(ids)) == len(wanted)


def test_two_workers_split_the_partitions_and_store_everything_once(pipeline):
    first, second = pipeline.start_worker(wait=False), pipeline.start_worker(wait=False)
    logs = sorted(pipeline.logs.glob("worker-*.log"))
    assert len(logs) == 2
    wait_for(lambda: partitions_split(logs, pipeline.settings.topic_conversations, pipeline.settings.partitions),
             90, "the two workers to split the partitions")
    options = SimulateOptions(dialogs=600, seed=9, start=START)
    wanted = expected_scored(options, pipeline.settings.policy_hmac_key.get_secret_value())
    simulate(pipeline.settings, pipeline.broker.bootstrap, options, progress=False)
    wait_for(lambda: wanted <= set(stored_ids(pipeline)), 120, "every scored dialog",
             progress=lambda: _missing(wanted, pipeline))
    ids = stored_ids(pipeline)
    assert len(ids) == len(set(ids)) == len(wanted)
    assert first.poll() is None and second.poll() is None


def _missing(wanted: set[str], pipeline: Pipeline) -> str:
    return f"{len(wanted - set(stored_ids(pipeline)))} of {len(wanted)} missing"
