"""Broker throughput: produce and consume conversation-sized messages through one confluent-kafka client each.

Runs against the embedded broker (started here, stopped here) unless FLYWHEEL_BOOTSTRAP_SERVERS names a
cluster, in which case it uses a topic of its own and deletes it afterwards.
"""

from __future__ import annotations

import itertools
import statistics
import time
import uuid
from contextlib import contextmanager
from collections.abc import Iterator
from datetime import UTC, datetime

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from infra.broker import EmbeddedBroker
from infra.settings import Settings
from infra.stack import kafka_config, producer_config
from infra.topics import ensure_topics
from simulator.options import SimulateOptions
from simulator.sources import records
from streams.events import Conversation
from streams.signing import KeyPair

MESSAGES = 200_000
DISTINCT = 2_000  # distinct simulated conversations, cycled: generating 200k would measure the simulator


def _payloads() -> list[tuple[bytes, bytes]]:
    options = SimulateOptions(dialogs=DISTINCT, seed=1, start=datetime(2026, 11, 2, tzinfo=UTC))
    return [(r.key(), r.to_bytes()) for r in records(options, KeyPair.generate("bench").signer()) if isinstance(r, Conversation)]


@contextmanager
def _bootstrap(settings: Settings) -> Iterator[str]:
    if not settings.embedded:
        yield settings.bootstrap_servers  # type: ignore[misc]
        return
    with EmbeddedBroker() as broker:
        yield broker.bootstrap


def _produce(conf: dict, topic: str, payloads: list[tuple[bytes, bytes]]) -> float:
    producer = Producer({**conf, "linger.ms": 5})
    started = time.perf_counter()
    for key, value in itertools.islice(itertools.cycle(payloads), MESSAGES):
        while True:
            try:
                producer.produce(topic, key=key, value=value)
                break
            except BufferError:
                producer.poll(0.05)
    assert producer.flush(120) == 0, "messages left undelivered"
    return MESSAGES / (time.perf_counter() - started)


def _consume(conf: dict[str, str], topic: str, partitions: int) -> float:
    consumer = Consumer({**conf, "group.id": f"bench-{uuid.uuid4().hex}", "enable.auto.commit": False,
                         "enable.partition.eof": True})
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    seen, finished = 0, set()
    started = last = time.perf_counter()
    while len(finished) < partitions:
        # consume() waits out its whole timeout unless the batch fills: time the last message, not the call
        for msg in consumer.consume(10_000, timeout=0.5):
            if msg.error() is None:
                seen += 1
                last = time.perf_counter()
            elif msg.error().code() == KafkaError._PARTITION_EOF:
                finished.add(msg.partition())
    consumer.close()
    assert seen == MESSAGES, f"consumed {seen} of {MESSAGES}"
    return MESSAGES / (last - started)


def run(settings: Settings) -> dict:
    payloads = _payloads()
    topic = f"bench.broker.{uuid.uuid4().hex[:8]}"
    with _bootstrap(settings) as bootstrap:
        conf = kafka_config(settings, bootstrap)
        ensure_topics(conf, [topic], settings.partitions, settings.replication_factor)
        try:
            produce_rate = _produce(producer_config(settings, bootstrap), topic, payloads)
            consume_rate = _consume(conf, topic, settings.partitions)
        finally:
            if not settings.embedded:
                AdminClient(conf).delete_topics([topic])[topic].result()
    return {
        "produce_msgs_per_s": round(produce_rate),
        "consume_msgs_per_s": round(consume_rate),
        "messages": MESSAGES,
        "message_bytes_median": statistics.median(len(v) for _, v in payloads),
        "partitions": settings.partitions,
        "broker": "embedded tansu" if settings.embedded else "external",
    }
