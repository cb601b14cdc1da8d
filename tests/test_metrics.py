"""Stream-worker metrics: names, labels and values as a Prometheus server scrapes them."""

from __future__ import annotations

import time
from typing import get_args

import prometheus_client
from prometheus_client.parser import text_string_to_metric_families

from streams.events import DeadLetterReason
from streams.metrics import CONTENT_TYPE, LATENCY_BUCKETS, StreamMetrics

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(metrics: StreamMetrics) -> tuple[dict[str, str], Samples]:
    """The families (name -> type) and samples of ``render()``, read back with Prometheus' own parser;
    the ``*_created`` timestamps prometheus_client adds beside each counter and histogram are left out."""
    families = [family for family in text_string_to_metric_families(metrics.render().decode())
                if not family.name.endswith("_created")]
    samples = {(s.name, frozenset(s.labels.items())): s.value for family in families for s in family.samples}
    return {family.name: family.type for family in families}, samples


def labels(**pairs: str) -> frozenset[tuple[str, str]]:
    return frozenset(pairs.items())


def test_every_metric_renders_with_its_name_type_and_labels() -> None:
    metrics = StreamMetrics()
    metrics.consumed("cs.conversations", 500)
    metrics.produced("cs.dialogs.scored", 480)
    metrics.dead_lettered("expectation_failed", 20)
    metrics.expectations_failed({"no_phone": 3, "known_intent": 1})
    metrics.set_lag("cs.conversations", 2, 1234)
    metrics.observe_latency(0.004)
    metrics.observe_batch("cs.dialogs.scored", 500)
    metrics.set_table_keys("joins", 42)
    metrics.resent("cs.dialogs.scored")

    families, samples = scrape(metrics)

    assert families == {
        "flywheel_stream_events_in": "counter", "flywheel_stream_events_out": "counter",
        "flywheel_stream_dead_letters": "counter", "flywheel_stream_expectation_failures": "counter",
        "flywheel_stream_consumer_lag": "gauge", "flywheel_stream_end_to_end_latency_seconds": "histogram",
        "flywheel_stream_batch_size": "histogram", "flywheel_stream_table_keys": "gauge",
        "flywheel_stream_resends": "counter", "flywheel_stream_store_stalled_seconds": "gauge"}
    assert samples[("flywheel_stream_events_in_total", labels(topic="cs.conversations"))] == 500
    assert samples[("flywheel_stream_events_out_total", labels(topic="cs.dialogs.scored"))] == 480
    assert samples[("flywheel_stream_dead_letters_total", labels(reason="expectation_failed"))] == 20
    assert samples[("flywheel_stream_expectation_failures_total", labels(expectation="no_phone"))] == 3
    assert samples[("flywheel_stream_expectation_failures_total", labels(expectation="known_intent"))] == 1
    assert samples[("flywheel_stream_consumer_lag", labels(topic="cs.conversations", partition="2"))] == 1234
    assert samples[("flywheel_stream_end_to_end_latency_seconds_bucket", labels(le="0.005"))] == 1
    assert samples[("flywheel_stream_end_to_end_latency_seconds_bucket", labels(le="0.0025"))] == 0
    assert samples[("flywheel_stream_batch_size_count", labels(topic="cs.dialogs.scored"))] == 1
    assert samples[("flywheel_stream_batch_size_sum", labels(topic="cs.dialogs.scored"))] == 500
    assert samples[("flywheel_stream_table_keys", labels(table="joins"))] == 42
    assert samples[("flywheel_stream_resends_total", labels(topic="cs.dialogs.scored"))] == 1
    assert samples[("flywheel_stream_store_stalled_seconds", labels())] == 0


def test_the_store_stall_counts_from_the_start_of_a_failing_write_until_a_write_succeeds() -> None:
    metrics = StreamMetrics()
    with metrics.store_write():
        metrics.store_failing(True)
        time.sleep(0.05)
        metrics.store_failing(True)  # a later failure of the same outage does not restart the count
        stalled = scrape(metrics)[1][("flywheel_stream_store_stalled_seconds", labels())]
        metrics.store_failing(False)
        assert stalled >= 0.05 and scrape(metrics)[1][("flywheel_stream_store_stalled_seconds", labels())] == 0


def test_a_write_the_store_leaves_unanswered_is_a_stall_without_failing() -> None:
    """A client that retries inside one write (redis-py through a short outage) never reports a failure."""
    metrics = StreamMetrics(stall_after_s=0.05)
    with metrics.store_write():
        assert scrape(metrics)[1][("flywheel_stream_store_stalled_seconds", labels())] == 0
        time.sleep(0.06)
        assert scrape(metrics)[1][("flywheel_stream_store_stalled_seconds", labels())] >= 0.05
    assert scrape(metrics)[1][("flywheel_stream_store_stalled_seconds", labels())] == 0


def test_every_dead_letter_reason_is_exported_from_zero() -> None:
    _, samples = scrape(StreamMetrics())
    reasons = {dict(pairs)["reason"]: value for (name, pairs), value in samples.items()
               if name == "flywheel_stream_dead_letters_total"}
    assert reasons == dict.fromkeys(get_args(DeadLetterReason), 0.0)


def test_latency_buckets_cover_a_millisecond_to_ten_seconds_and_skew_counts_as_zero() -> None:
    metrics = StreamMetrics()
    metrics.observe_latency(-0.2)  # the producer's clock ahead of ours
    metrics.observe_latency(30.0)
    _, samples = scrape(metrics)
    latency = "flywheel_stream_end_to_end_latency_seconds"
    assert (LATENCY_BUCKETS[0], LATENCY_BUCKETS[-1]) == (0.001, 10.0)
    assert samples[(f"{latency}_bucket", labels(le="0.001"))] == 1
    assert samples[(f"{latency}_bucket", labels(le="10.0"))] == 1
    assert samples[(f"{latency}_bucket", labels(le="+Inf"))] == 2
    assert samples[(f"{latency}_sum", labels())] == 30.0


def test_a_revoked_partition_stops_reporting_lag() -> None:
    metrics = StreamMetrics()
    metrics.set_lag("cs.conversations", 0, 10)
    metrics.set_lag("cs.conversations", 1, 20)
    metrics.forget_partition("cs.conversations", 1)
    metrics.forget_partition("cs.conversations", 7)  # never owned: nothing to drop
    _, samples = scrape(metrics)
    assert {pairs: value for (name, pairs), value in samples.items() if name == "flywheel_stream_consumer_lag"} == {
        labels(topic="cs.conversations", partition="0"): 10}


def test_instances_count_apart_and_leave_the_global_registry_alone() -> None:
    first, second = StreamMetrics(), StreamMetrics()
    first.consumed("cs.satisfaction", 3)
    second.consumed("cs.satisfaction")
    assert scrape(first)[1][("flywheel_stream_events_in_total", labels(topic="cs.satisfaction"))] == 3
    assert scrape(second)[1][("flywheel_stream_events_in_total", labels(topic="cs.satisfaction"))] == 1
    assert b"flywheel_stream_" not in prometheus_client.generate_latest(prometheus_client.REGISTRY)


def test_content_type_is_the_prometheus_text_format() -> None:
    assert CONTENT_TYPE.startswith("text/plain; version=0.0.4")
