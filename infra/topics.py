"""Topic administration: create every topic with its configured partition count, and report end offsets.

Topics are created explicitly, never auto-created, because Faust tables need their changelog topics to
have the partition count of the source topic, and the conversation/score join needs both co-partitioned.
"""

from __future__ import annotations

from collections.abc import Iterable

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from pydantic import BaseModel, computed_field

from infra.errors import FlywheelError


class TopicInfo(BaseModel):
    name: str
    partitions: int
    end_offsets: list[int]

    @computed_field
    @property
    def messages(self) -> int:
        """Messages ever written (topics here are never compacted or truncated by the project)."""
        return sum(self.end_offsets)


def ensure_topics(conf: dict[str, str], names: list[str], partitions: int, replication: int = 1) -> list[str]:
    """Create the topics that are missing; return the names created. An existing topic with another
    partition count is an error: silently living with it would break co-partitioning."""
    admin = AdminClient(conf)
    existing = admin.list_topics(timeout=10).topics
    for name in names:
        if name in existing and len(existing[name].partitions) != partitions:
            raise FlywheelError(
                f"topic {name} has {len(existing[name].partitions)} partitions, settings say {partitions} "
                "(FLYWHEEL_PARTITIONS); recreate it or change the setting"
            )
    missing = [n for n in names if n not in existing]
    if not missing:
        return []
    futures = admin.create_topics([NewTopic(n, num_partitions=partitions, replication_factor=replication)
                                   for n in missing])
    for name, future in futures.items():
        try:
            future.result()
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:  # a concurrent `up` won the race
                raise FlywheelError(f"cannot create topic {name}: {exc.args[0].str()}") from None
    return missing


def describe_topics(conf: dict[str, str], names: list[str]) -> list[TopicInfo]:
    """Partition counts and end offsets of the named topics that exist."""
    metadata = AdminClient(conf).list_topics(timeout=10).topics
    present = [n for n in names if n in metadata]
    ends = end_offsets(conf, [(n, p) for n in present for p in sorted(metadata[n].partitions)])
    return [TopicInfo(name=n, partitions=len(metadata[n].partitions),
                      end_offsets=[ends[n, p] for p in sorted(metadata[n].partitions)]) for n in present]


def end_offsets(conf: dict[str, str], partitions: Iterable[tuple[str, int]]) -> dict[tuple[str, int], int]:
    """``end_offset`` of each (topic, partition), read with one consumer."""
    consumer = Consumer({**conf, "group.id": "flywheel-status", "enable.auto.commit": False,
                         "enable.partition.eof": True, "fetch.wait.max.ms": 10})
    try:
        return {(topic, partition): end_offset(consumer, topic, partition) for topic, partition in partitions}
    finally:
        consumer.close()


def end_offset(consumer: Consumer, topic: str, partition: int, timeout_s: float = 10.0) -> int:
    """The offset the next message of a partition will get.

    Tansu reports the high watermark as the base offset of the last record batch plus one (measured: 1,000
    messages produced in one batch gave a watermark of 1), so the watermark alone undercounts. Reading from
    watermark - 1 to the end of the partition gives the true end on Tansu and costs one fetch on Kafka.
    """
    _, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=timeout_s)
    if high <= 0:
        return max(high, 0)
    consumer.assign([TopicPartition(topic, partition, high - 1)])
    try:
        while True:
            msg = consumer.poll(timeout_s)
            if msg is None:
                raise FlywheelError(f"no answer reading the end of {topic}[{partition}] within {timeout_s:.0f} s")
            if msg.error() is None:
                continue
            if msg.error().code() == KafkaError._PARTITION_EOF:
                return msg.offset()
            raise FlywheelError(f"reading the end of {topic}[{partition}]: {msg.error().str()}")
    finally:
        consumer.unassign()


def read_all(conf: dict[str, str], topic: str, partitions: int, timeout_s: float = 10.0) -> list[tuple[bytes, bytes]]:
    """Every (key, value) of ``topic`` from offset 0 to each partition's end (the end the fetch reports, not
    Tansu's undercounted watermark); ``assign`` avoids a consumer-group join."""
    consumer = Consumer({**conf, "group.id": "flywheel-reader", "enable.auto.commit": False,
                         "enable.partition.eof": True})
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    messages, open_partitions = [], set(range(partitions))
    try:
        while open_partitions:
            msg = consumer.poll(timeout_s)
            if msg is None:
                raise FlywheelError(f"no answer reading {topic} within {timeout_s:.0f} s")
            if msg.error() is not None:
                if msg.error().code() != KafkaError._PARTITION_EOF:
                    raise FlywheelError(f"reading {topic}: {msg.error().str()}")
                open_partitions.discard(msg.partition())
                continue
            messages.append((msg.key(), msg.value()))
    finally:
        consumer.close()
    return messages
