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
from streams.signing import KeyPair

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
    """Settings pointing at the session broker, with topic names of their own so tests never share data, and a
    policy key pair of their own (with the broker configured, the development pair is refused)."""
    prefix = f"t{os.getpid()}-{tmp_path.name}"
    names = {f"topic_{role}": f"{prefix}.{role}" for role in Settings().topics}
    settings = Settings(bootstrap_servers=broker.bootstrap, data_dir=tmp_path / "data", **names,
                        **KeyPair.generate("test").settings())
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


def _base_model_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The data directory of the run's embedded base model, shared by the test processes of ``pytest -n``."""
    mine = tmp_path_factory.getbasetemp()
    return (mine.parent if "PYTEST_XDIST_WORKER" in os.environ else mine) / "base-model"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run order, module by module (``--no-loadscope-reorder`` keeps it): first the integration modules that need
    no base model, whose minutes of processes and waits overlap the model's build; then the modules that need the
    model; last the unit tests, short enough to even out the end of the run."""
    ranks: dict[str, int] = {}
    for item in items:
        rank = 1 if "base_model_dir" in item.fixturenames else 0 if item.get_closest_marker("integration") else 2
        ranks[item.module.__name__] = min(ranks.get(item.module.__name__, 2), rank)
    items.sort(key=lambda item: ranks[item.module.__name__])


def pytest_collection_finish(session: pytest.Session) -> None:
    """When the run has tests that need the base model, start building it at once in a process of its own, so
    the tests that do not need it run meanwhile instead of a test process waiting idle on the build (a few CPU
    minutes). One process starts it (an exclusive marker file); ``base_model_dir`` waits on the build's lock."""
    if not any("base_model_dir" in getattr(item, "fixturenames", ()) for item in session.items):
        return
    from infra.workers import start_flywheel

    root = _base_model_root(session.config._tmp_path_factory)  # noqa: SLF001 - the fixture's factory
    root.mkdir(parents=True, exist_ok=True)
    try:
        (root / ".prebuild").open("x").close()
    except FileExistsError:
        return
    session.config.stash[_PREBUILD] = start_flywheel(["bootstrap", "--json"], Settings(data_dir=root),
                                                      root / "prebuild.log")


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Stop the build this process started if it still runs (a short run that ended first)."""
    from infra.broker import stop_pid

    build = session.config.stash.get(_PREBUILD, None)
    if build is not None and build.poll() is None:
        stop_pid(build.pid, timeout_s=10, popen=build)


_PREBUILD = pytest.StashKey[subprocess.Popen]()


@pytest.fixture(scope="session")
def base_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The embedded base model, bootstrapped once per run (a few CPU minutes, started at collection) and shared by
    every test that needs a real model (LoRA training, evaluation, serving); treat it as read-only. Under
    ``pytest -n`` the test processes share one data directory: whoever builds the model holds the bootstrap's
    lock, the others wait for it and load it from the cache."""
    from learners.bootstrap import bootstrap

    return bootstrap(Settings(data_dir=_base_model_root(tmp_path_factory)), progress=False)
