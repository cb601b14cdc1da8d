"""Worker processes: two of them split the work (killed mid-stream, they resume: tests/test_fault_kills.py), and
what waits in the join for a partner that never comes leaves it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from infra.workers import partitions_split
from simulator.options import SimulateOptions
from simulator.run import simulate
from tests.fault_harness import gauge
from tests.pipeline_harness import Pipeline, wait_for
from streams.signing import signer
from tests.test_fault_poison import Message, conversation, produce
from tests.test_pipeline import expected_scored, traffic

pytestmark = pytest.mark.integration

START = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


@pytest.fixture
def pipeline(tmp_path):
    running = Pipeline.start(tmp_path)
    try:
        yield running
    finally:
        running.stop()


def stored_ids(pipeline: Pipeline) -> list[str]:
    return list(traffic(pipeline)["conversation_id"])


def test_two_workers_split_the_partitions_and_store_everything_once(pipeline):
    first, second = pipeline.start_worker(wait=False), pipeline.start_worker(wait=False)
    logs = sorted(pipeline.logs.glob("worker-*.log"))
    assert len(logs) == 2
    wait_for(lambda: partitions_split(logs, pipeline.settings.topic_conversations, pipeline.settings.partitions),
             90, "the two workers to split the partitions")
    options = SimulateOptions(dialogs=600, seed=9, start=START)
    wanted = expected_scored(options, signer(pipeline.settings))
    simulate(pipeline.settings, pipeline.broker.bootstrap, options, progress=False)
    wait_for(lambda: wanted <= set(stored_ids(pipeline)), 120, "every scored dialog",
             progress=lambda: _missing(wanted, pipeline))
    ids = stored_ids(pipeline)
    assert len(ids) == len(set(ids)) == len(wanted)
    assert first.poll() is None and second.poll() is None


def _missing(wanted: set[str], pipeline: Pipeline) -> str:
    return f"{len(wanted - set(stored_ids(pipeline)))} of {len(wanted)} missing"


def test_conversations_never_scored_leave_the_join_after_the_unscored_window(tmp_path):
    """The sweep drops what waits longer than FLYWHEEL_JOIN_UNSCORED_S, and the table-size gauge shows it go."""
    with Pipeline.start(tmp_path, join_unscored_s=3, join_sweep_s=0.5) as pipeline:
        worker = pipeline.start_worker()
        unscored = [conversation(f"never-scored-{n}", ["where is my parcel", "we will check"]) for n in range(5)]
        produce(pipeline.settings, pipeline.broker.bootstrap,
                [Message("conversations", record.key(), record.to_bytes()) for record in unscored])

        def keys() -> float | None:
            return gauge(pipeline.web_port(worker), "flywheel_stream_table_keys")

        wait_for(pipeline.while_up(lambda: keys() == len(unscored)), 30, "the conversations waiting in the join",
                 progress=lambda: f"table_keys {keys()}")
        wait_for(pipeline.while_up(lambda: keys() == 0), 30, "the join emptied by the sweep",
                 progress=lambda: f"table_keys {keys()}")
