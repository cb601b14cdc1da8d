"""The stream pipeline end to end: real workers on the embedded broker, writing to the embedded feature store.

For one and for two workers, in one run: ``dialogs_per_s`` is a burst of simulated conversations, generated
beforehand and produced at once to workers that already own their partitions, divided by the time until the
last scored dialog is in the feature store (the simulator's own CPU and the rebalance stay out of the window);
``p50_ms``/``p99_ms`` are produce-to-online-store latencies at a steady rate below capacity, read from the
workers' own latency histograms. The steady run's producer sends its first ``WARMUP_DIALOGS`` before the
window opens: a new idempotent producer's first delivery waits ~0.5 s for its producer id on the embedded broker,
and the first batch of a fresh producer (0.8 to 1.4 s, measured) decided p99 alone, which is the client's start,
not the pipeline's steady state. Also the anonymizer against Presidio's stock analyzer on the same texts.
"""

from __future__ import annotations

import tempfile
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from confluent_kafka import Producer
from prometheus_client.parser import text_string_to_metric_families

from features import repository
from features.config import store_config
from features.traffic import EVER, TrafficQuery, read_traffic
from infra.broker import EmbeddedBroker, free_port, stop_pid
from infra.errors import FlywheelError
from infra.settings import Settings
from infra.stack import create_topics, producer_config
from infra.workers import partitions_split, start_worker, wait_ready
from simulator.options import SimulateOptions
from simulator.run import Publisher
from simulator.sources import open_source, records
from streams.events import Conversation, PolicyUpdate, Satisfaction
from streams.signing import KeyPair, signer

BURST_DIALOGS = 5000
STEADY_DIALOGS, STEADY_RATE, WARMUP_DIALOGS = 1500, 150.0, 100
ANONYMIZER_DIALOGS = 2000


def _stored(settings: Settings) -> int:
    return len(read_traffic(store_config(settings), TrafficQuery(*EVER)))


def _wait_until(condition: Callable[[], bool], timeout_s: float, what: str) -> float:
    """Poll ``condition``; return the time it held, or fail naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise FlywheelError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.2)
    return time.monotonic()


def _wait_stored(settings: Settings, count: int, timeout_s: float) -> float:
    return _wait_until(lambda: _stored(settings) >= count, timeout_s, f"{count} dialogs in the feature store")


def _latency_histogram(ports: list[int]) -> dict[float, float]:
    """Cumulative bucket counts (upper bound -> count) summed over the workers' latency histograms."""
    buckets: dict[float, float] = {}
    for port in ports:
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
        for family in text_string_to_metric_families(body):
            if family.name == "flywheel_stream_end_to_end_latency_seconds":
                for sample in family.samples:
                    if sample.name.endswith("_bucket"):
                        bound = float(sample.labels["le"])
                        buckets[bound] = buckets.get(bound, 0.0) + sample.value
    return buckets


def quantile(q: float, before: dict[float, float], after: dict[float, float]) -> float:
    """``histogram_quantile`` over the observations made between two scrapes (linear within a bucket)."""
    bounds = sorted(after)
    counts = [after[b] - before.get(b, 0.0) for b in bounds]
    rank = q * counts[-1]
    lower, below = 0.0, 0.0
    for bound, cumulative in zip(bounds, counts):
        if cumulative >= rank:
            if bound == float("inf"):
                return lower
            return lower + (bound - lower) * (rank - below) / max(cumulative - below, 1e-12)
        lower, below = bound, cumulative
    return lower


def _serialized(settings: Settings, options: SimulateOptions) -> list[tuple[str, bytes, bytes]]:
    """The run's raw messages as (topic, key, value), ready to produce without generating anything."""
    role = {Conversation: "conversations", Satisfaction: "satisfaction", PolicyUpdate: "policy_updates"}
    return [(settings.topics[role[type(r)]], r.key(), r.to_bytes())
            for r in records(options, signer(settings))]


def _produce(settings: Settings, bootstrap: str, messages: list[tuple[str, bytes, bytes]]) -> None:
    producer = Producer({**producer_config(settings, bootstrap), "linger.ms": 5})
    for topic, key, value in messages:
        producer.produce(topic, key=key, value=value)
        producer.poll(0)
    if producer.flush(60):
        raise FlywheelError("the benchmark's burst was not delivered")


def _phase(settings: Settings, workers: int, scratch: Path) -> dict[str, Any]:
    with EmbeddedBroker() as broker:
        local = settings.model_copy(update={"bootstrap_servers": broker.bootstrap, "data_dir": scratch / f"w{workers}",
                                            **KeyPair.generate("bench").settings()})
        create_topics(local, broker.bootstrap)
        repository.apply(store_config(local))
        burst = _serialized(local, SimulateOptions(dialogs=BURST_DIALOGS, seed=1, start=datetime.now(UTC)))
        ports = [free_port() for _ in range(workers)]
        logs = [scratch / f"w{workers}-worker-{n}.log" for n in range(workers)]
        processes = [start_worker(local, log, port) for log, port in zip(logs, ports)]
        try:
            launched = time.monotonic()
            for process, log in zip(processes, logs):
                wait_ready(process, log)
            startup_s = time.monotonic() - launched
            _wait_until(lambda: partitions_split(logs, local.topic_conversations, local.partitions), 60,
                        "the workers to split the partitions")
            started = time.monotonic()
            _produce(local, broker.bootstrap, burst)
            scored = sum(topic == local.topic_satisfaction for topic, _, _ in burst)
            done = _wait_stored(local, scored, 300)
            before, after = _steady_latencies(local, broker.bootstrap, ports, scored)
        finally:
            for process in processes:
                stop_pid(process.pid, timeout_s=15, popen=process)
    return {
        "dialogs_per_s": round(BURST_DIALOGS / (done - started), 1),
        "scored_dialogs_per_s": round(scored / (done - started), 1),
        "p50_ms": round(1000 * quantile(0.50, before, after), 1),
        "p99_ms": round(1000 * quantile(0.99, before, after), 1),
        "workers_ready_s": round(startup_s, 1),
        "burst_dialogs": BURST_DIALOGS,
        "steady_rate_per_s": STEADY_RATE,
    }


def _steady_latencies(settings: Settings, bootstrap: str, ports: list[int],
                      stored: int) -> tuple[dict[float, float], dict[float, float]]:
    """The workers' latency histograms around a steady run at ``STEADY_RATE``, opened once its producer has
    delivered its first ``WARMUP_DIALOGS`` (``stored`` dialogs were in the store before the run)."""
    options = SimulateOptions(dialogs=STEADY_DIALOGS, seed=2, start=datetime.now(UTC), rate_per_s=STEADY_RATE)
    events = open_source(options, signer(settings)).events()
    publisher = Publisher(settings, bootstrap, STEADY_RATE)
    publisher.send(events, WARMUP_DIALOGS)
    publisher.producer.flush(30)
    _wait_stored(settings, stored + publisher.deliveries.tally.summary().satisfaction, 60)
    before = _latency_histogram(ports)
    publisher.send(events)
    summary = publisher.finish()
    _wait_stored(settings, stored + summary.satisfaction, 120)
    return before, _latency_histogram(ports)


def _anonymizer() -> dict[str, Any]:
    from streams.anonymizer import measure

    options = SimulateOptions(dialogs=ANONYMIZER_DIALOGS, seed=3, start=datetime(2026, 11, 2, tzinfo=UTC))
    texts = [t.text for r in records(options, KeyPair.generate("bench").signer())
             if isinstance(r, Conversation) for t in r.turns]
    return measure(texts)


def run(settings: Settings) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-streams-") as scratch:
        result = {f"workers_{n}": _phase(settings, n, Path(scratch)) for n in (1, 2)}
    return {**result, **_anonymizer()}
