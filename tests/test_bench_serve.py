"""The serving benchmark's own arithmetic and load driver (the benchmark itself is run, not tested)."""

from __future__ import annotations

import statistics
import time

import pytest

from bench.serve import Clients, Outcome, latency, percentile
from infra.errors import FlywheelError


@pytest.mark.parametrize("values", [[5.0], [3.0, 1.0], list(range(1, 101)), [0.1 * i * i for i in range(37)]])
def test_percentile_interpolates_between_order_statistics(values):
    assert percentile(values, 0.0) == min(values) and percentile(values, 1.0) == max(values)
    if len(values) > 1:
        cuts = statistics.quantiles(values, n=100, method="inclusive")
        assert percentile(values, 0.5) == pytest.approx(cuts[49])
        assert percentile(values, 0.99) == pytest.approx(cuts[98])


def test_latency_counts_failures_but_keeps_them_out_of_the_percentiles():
    outcomes = [Outcome(0.0, 0.010, "lora-a", "model"), Outcome(0.0, 0.020, "lora-a", "cache"),
                Outcome(0.0, 30.0, "ReadTimeout", "failed")]
    result = latency(outcomes, wall_s=2.0)
    assert result["p50_ms"] == 15.0 and result["p99_ms"] < 20.0
    assert result["requests"] == 3 and result["failed"] == 1 and result["requests_per_s"] == 1.5
    with pytest.raises(FlywheelError, match="all 1 requests failed"):
        latency(outcomes[2:], wall_s=1.0)


class FakeApi:
    """Answers with ``model`` at once, and remembers what it was asked."""

    def __init__(self) -> None:
        self.model, self.asked = "old", list[str]()

    def ask(self, conversation_id: str, text: str) -> Outcome:
        self.asked.append(conversation_id)
        now = time.perf_counter()
        time.sleep(0.001)
        return Outcome(now, time.perf_counter(), self.model, "model")


def test_clients_share_the_questions_and_each_is_asked_once():
    api, asks = FakeApi(), [(f"c-{n}", "q") for n in range(25)]
    clients = Clients(api, asks, 8).start()
    assert clients.join() > 0
    assert sorted(api.asked) == sorted(cid for cid, _ in asks) and len(clients.outcomes) == 25


def test_repeating_clients_time_the_first_answer_of_a_new_model():
    api = FakeApi()
    clients = Clients(api, [("c-1", "q"), ("c-2", "q")], 2, repeat=True).start()
    try:
        since = time.perf_counter()
        time.sleep(0.05)
        api.model = "new"
        assert 0.05 <= clients.first_answer("new", since) < 1.0
    finally:
        clients.stop()
    assert len(clients.outcomes) > 2
