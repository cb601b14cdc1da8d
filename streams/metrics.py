"""Prometheus metrics of the stream workers, behind typed helpers so agents never spell a metric or label.

Every ``StreamMetrics`` owns its registry rather than using prometheus_client's global one: two apps (or
two tests) in one process then count separately instead of colliding on metric names. The Faust app
serves ``render()`` at ``/metrics`` with ``CONTENT_TYPE``. Labels hold topic names, partitions, dead-letter
reasons and check names only: small, closed sets, and never anything from a payload.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import get_args

from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import values

from streams.events import DeadLetterReason

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
"""The HTTP content type of ``render()``'s output: text format 0.0.4, what prometheus_client's own HTTP
handler sends with it (``CONTENT_TYPE_LATEST`` announces 1.0.0, for UTF-8 metric names, unused here)."""

# Importing feast sets PROMETHEUS_MULTIPROC_DIR, which switches prometheus_client (for every metric child made
# afterwards, process-wide) to values kept in mmap files and shared by metric name across all registries: two
# StreamMetrics would then count into one another. Worker metrics are per registry and per process: pin plain
# in-process values, whatever was imported first.
values.ValueClass = values.MutexValue

PREFIX = "flywheel_stream_"
# Produce -> online store: ~1 ms when the pipeline keeps up, up to seconds under backlog (target p99 < 1 s).
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Micro-batches run from a single straggler to a few thousand events read at once.
BATCH_BUCKETS = (1, 10, 50, 100, 250, 500, 1000, 2500, 5000)
STALL_AFTER_S = 5.0
"""A store write pending this long is stalled even before it fails: through a short outage redis-py retries the
lost connection inside one write, which then neither fails nor finishes. Healthy writes take well under a second."""


class StreamMetrics:
    """One worker's metrics: event flow per topic, rejections, data-quality failures, lag and latency."""

    def __init__(self, stall_after_s: float = STALL_AFTER_S) -> None:
        self.registry = CollectorRegistry()
        self._events_in = self._counter("events_in", "Events read, by source topic.", "topic")
        self._events_out = self._counter("events_out", "Events written, by destination topic.", "topic")
        self._dead_letters = self._counter("dead_letters", "Events sent to dead letters, by reason.", "reason")
        self._expectation_failures = self._counter(
            "expectation_failures", "Scored dialogs failing a data-quality check, by check.", "expectation")
        self._lag = Gauge(PREFIX + "consumer_lag", "Messages behind the end of the partition.",
                          ["topic", "partition"], registry=self.registry)
        self._latency = Histogram(PREFIX + "end_to_end_latency_seconds",
                                  "Seconds from produce to the online feature store.",
                                  buckets=LATENCY_BUCKETS, registry=self.registry)
        self._batch_size = Histogram(PREFIX + "batch_size", "Events per micro-batch, by source topic.",
                                     ["topic"], buckets=BATCH_BUCKETS, registry=self.registry)
        self._table_keys = Gauge(PREFIX + "table_keys", "Keys held in this worker's state tables, by table.",
                                 ["table"], registry=self.registry)
        self._resends = self._counter("resends", "Sends that failed and were sent again, by destination topic.",
                                      "topic")
        self._writes: list[float] = []  # start of each store write in progress, retries included
        self._failing, self._stall_after_s = False, stall_after_s
        Gauge(PREFIX + "store_stalled_seconds",
              "Seconds the oldest feature-store write has been held up, failing or unanswered (0: healthy).",
              registry=self.registry).set_function(self._stalled_seconds)
        for reason in get_args(DeadLetterReason):  # a closed set: export zeros so rate() works from the start
            self._dead_letters.labels(reason=reason)

    def _counter(self, name: str, documentation: str, label: str) -> Counter:
        return Counter(PREFIX + name, documentation, [label], registry=self.registry)

    def consumed(self, topic: str, count: int = 1) -> None:
        self._events_in.labels(topic=topic).inc(count)

    def produced(self, topic: str, count: int = 1) -> None:
        self._events_out.labels(topic=topic).inc(count)

    def dead_lettered(self, reason: DeadLetterReason, count: int = 1) -> None:
        self._dead_letters.labels(reason=reason).inc(count)

    def expectations_failed(self, failures: Mapping[str, int]) -> None:
        """Add a batch's failures by check (``BatchVerdict.failures_by_check()``)."""
        for expectation, count in failures.items():
            self._expectation_failures.labels(expectation=expectation).inc(count)

    def set_lag(self, topic: str, partition: int, lag: int) -> None:
        self._lag.labels(topic=topic, partition=str(partition)).set(lag)

    def forget_partition(self, topic: str, partition: int) -> None:
        """Drop the lag of a partition this worker no longer owns (after a rebalance), so that it does not
        report a frozen value beside the worker that took the partition over."""
        self._lag.remove(topic, str(partition))

    def set_table_keys(self, table: str, keys: int) -> None:
        self._table_keys.labels(table=table).set(keys)

    def resent(self, topic: str) -> None:
        self._resends.labels(topic=topic).inc()

    @contextmanager
    def store_write(self) -> Iterator[None]:
        """Around one store write and its retries: the stall counts from the start of the oldest write in
        progress once a write has failed, or once it has been pending ``stall_after_s``."""
        started = time.monotonic()
        self._writes.append(started)
        try:
            yield
        finally:
            self._writes.remove(started)
            self._failing = self._failing and bool(self._writes)  # a refused write is over, not stalled

    def store_failing(self, failing: bool) -> None:
        """Mark the store's writes failing (a write failed and is retried) or healthy again (one succeeded)."""
        self._failing = failing

    def _stalled_seconds(self) -> float:
        waited = time.monotonic() - min(self._writes) if self._writes else 0.0
        return waited if self._failing or waited >= self._stall_after_s else 0.0

    def observe_latency(self, seconds: float) -> None:
        """Record one event's produce-to-store time; clocks of different hosts may disagree by a little, so
        a negative difference counts as zero rather than lowering the sum."""
        self._latency.observe(max(seconds, 0.0))

    def observe_batch(self, topic: str, size: int) -> None:
        self._batch_size.labels(topic=topic).observe(size)

    def render(self) -> bytes:
        """Everything in the Prometheus text format, for the ``/metrics`` web view."""
        return generate_latest(self.registry)
