"""Shared fixtures. Integration tests start the real components they need and stop exactly those."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaError, TopicPartition

from infra.broker import EmbeddedBroker
from infra.settings import Settings
from infra.stack import create_topics

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Default settings with a private data directory."""
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture(scope="session")
def broker() -> Iterator[EmbeddedBroker]:
    """One real Tansu broker for the session; it dies with the test process even on a crash."""
    with EmbeddedBroker() as running:
        yield running


@pytest.fixture
def topic_settings(broker: EmbeddedBroker, tmp_path: Path) -> Settings:
    """Settings pointing at the session broker, with topic names of their own so tests never share data."""
    prefix = f"t{os.getpid()}-{tmp_path.name}"
    names = {f"topic_{role}": f"{prefix}.{role}" for role in Settings().topics}
    settings = Settings(bootstrap_servers=broker.bootstrap, data_dir=tmp_path / "data", **names)
    create_topics(settings, broker.bootstrap)
    return settings


def flywheel(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the real ``flywheel`` console script, as a user would."""
    return subprocess.run([str(Path(sys.executable).with_name("flywheel")), *args], capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})}, cwd=REPO)


def read_topic(bootstrap: str, topic: str, partitions: int) -> list[tuple[bytes, bytes]]:
    """Every (key, value) of ``topic``, read with ``assign`` from offset 0 to each partition's end.

    The end is the partition EOF the fetch reports, not the high watermark, which Tansu undercounts
    (see ``infra.topics.end_offset``); ``assign`` also avoids a consumer-group join.
    """
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "tests", "enable.auto.commit": False,
                         "enable.partition.eof": True})
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    messages, open_partitions = [], set(range(partitions))
    try:
        while open_partitions:
            message = consumer.poll(10)
            assert message is not None, f"no answer reading {topic}"
            if message.error() and message.error().code() == KafkaError._PARTITION_EOF:
                open_partitions.discard(message.partition())
                continue
            assert message.error() is None, message.error()
            messages.append((message.key(), message.value()))
    finally:
        consumer.close()
    return messages


@pytest.fixture(scope="session")
def base_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The embedded base model, bootstrapped once per run (a few CPU minutes) and shared by every test that needs
    a real model (LoRA training, evaluation, serving); treat it as read-only. Under ``pytest -n`` the test
    processes share one data directory: the first builds the model under the bootstrap's lock, the others wait
    for it and load it from the cache."""
    from learners.bootstrap import bootstrap

    mine = tmp_path_factory.getbasetemp()
    root = (mine.parent if "PYTEST_XDIST_WORKER" in os.environ else mine) / "base-model"
    return bootstrap(Settings(data_dir=root), progress=False)
