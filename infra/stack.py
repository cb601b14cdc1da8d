"""The local stack behind ``flywheel up``/``down``/``status``: which processes run and where the broker is.

``up`` starts the embedded broker detached (it outlives the CLI), records its pid and command line in
``<data_dir>/stack/stack.json`` and creates the topics; ``down`` stops exactly the recorded processes, by
pid, after checking the pid still runs the recorded command (pids are reused). With
``FLYWHEEL_BOOTSTRAP_SERVERS`` set the project starts no broker and only manages topics on that cluster.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel

from infra.broker import EmbeddedBroker, exec_cmdline, free_port, pid_alive, pid_cmdline, stop_pid
from infra.errors import FlywheelError
from infra.settings import Settings
from infra.topics import TopicInfo, describe_topics, ensure_topics
from infra.workers import start_worker, wait_ready


class ManagedProcess(BaseModel):
    name: str
    pid: int
    cmdline: list[str]
    started_at: datetime
    log: str | None = None
    metrics_url: str | None = None

    def is_running(self) -> bool:
        """Alive and still the process we started (the pid was not reused by something else)."""
        return pid_alive(self.pid) and pid_cmdline(self.pid) == self.cmdline


class StackState(BaseModel):
    bootstrap: str
    embedded: bool
    processes: list[ManagedProcess] = []


class ProcessStatus(ManagedProcess):
    running: bool


class StackStatus(BaseModel):
    bootstrap: str
    embedded: bool
    processes: list[ProcessStatus]
    topics: list[TopicInfo]


def _state_file(settings: Settings) -> Path:
    return settings.state_dir / "stack.json"


def read_state(settings: Settings) -> StackState | None:
    path = _state_file(settings)
    return StackState.model_validate_json(path.read_text()) if path.exists() else None


def _write_state(settings: Settings, state: StackState) -> None:
    path = _state_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(state.model_dump_json(indent=2))
    tmp.replace(path)


def bootstrap_servers(settings: Settings) -> str:
    """Where the broker is: the configured cluster, or the embedded broker `flywheel up` started."""
    if not settings.embedded:
        return settings.bootstrap_servers  # type: ignore[return-value]
    state = read_state(settings)
    if state is None or not any(p.name == "broker" and p.is_running() for p in state.processes):
        raise FlywheelError("the stack is not running: run `flywheel up` (or set FLYWHEEL_BOOTSTRAP_SERVERS)")
    return state.bootstrap


def kafka_config(settings: Settings, bootstrap: str | None = None) -> dict[str, str]:
    """The librdkafka options every client of the project starts from."""
    return {"bootstrap.servers": bootstrap or bootstrap_servers(settings), **settings.kafka_security()}


def require_broker(settings: Settings, bootstrap: str, timeout_s: float = 10.0) -> None:
    """Return once the broker at ``bootstrap`` answers a metadata request; else one ``FlywheelError`` with
    librdkafka's reason, as soon as it reports every broker down or refuses the credentials (a host that does
    not answer at all takes ``timeout_s``). A client started without this check retries forever or, in Faust,
    dies with a long traceback."""
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import AdminClient

    all_down = KafkaError._ALL_BROKERS_DOWN  # noqa: SLF001 - librdkafka's own error codes
    fatal = {all_down, KafkaError._AUTHENTICATION}  # noqa: SLF001
    reported: list[KafkaError] = []
    admin = AdminClient({**kafka_config(settings, bootstrap), "log_level": 0, "error_cb": reported.append})
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            admin.list_topics(timeout=0.25)
            return
        except KafkaException as exc:
            unanswered = exc.args[0].str()
        admin.poll(0)  # serves error_cb
        if time.monotonic() > deadline or any(e.code() in fatal for e in reported):
            why = next((e.str() for e in reported if e.code() != all_down), unanswered)
            raise FlywheelError(f"cannot reach the Kafka broker at {bootstrap} ({why})")


def producer_config(settings: Settings, bootstrap: str | None = None) -> dict[str, str | bool]:
    """Options for every producer of the project. Keys are partitioned with murmur2, as Kafka's Java clients
    and Faust do, so a conversation id lands on the same partition whoever writes it (librdkafka's default,
    CRC32, would split a key across the raw topics and the stream workers' own topics)."""
    return {**kafka_config(settings, bootstrap), "partitioner": "murmur2_random", "acks": "all",
            "enable.idempotence": True}


def create_topics(settings: Settings, bootstrap: str) -> list[str]:
    topics = list(settings.topics.values())
    return ensure_topics(kafka_config(settings, bootstrap), topics, settings.partitions, settings.replication_factor)


def up(settings: Settings, workers: int = 0) -> StackState:
    """Bring the stack up (idempotent) and return once the broker answers, every topic exists and
    ``workers`` stream workers own their partitions."""
    state = read_state(settings)
    if state is not None and state.processes and all(p.is_running() for p in state.processes):
        create_topics(settings, state.bootstrap)
        return state
    if state is not None:  # a stale record: whatever still runs of it is ours to stop first
        down(settings)
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    state = StackState(bootstrap=settings.bootstrap_servers or "", embedded=settings.embedded)
    try:
        if settings.embedded:
            state = _start_broker(settings, state)
        create_topics(settings, state.bootstrap)
        if workers:
            _start_workers(settings, state, workers)
    except BaseException:
        down(settings)
        raise
    return state


def _record(settings: Settings, state: StackState, process: ManagedProcess) -> StackState:
    """Record a started process at once, so `down` can stop it even if `up` fails later."""
    state.processes.append(process)
    _write_state(settings, state)
    return state


def _start_broker(settings: Settings, state: StackState) -> StackState:
    log = settings.state_dir / "broker.log"
    broker = EmbeddedBroker(log_path=log, attached=False)
    broker.start()
    state.bootstrap = broker.bootstrap
    return _record(settings, state, ManagedProcess(name="broker", pid=broker.pid, cmdline=exec_cmdline(broker.pid),
                                                   started_at=datetime.now(UTC), log=str(log)))


def _start_workers(settings: Settings, state: StackState, count: int) -> None:
    """Start ``count`` detached stream workers on an applied feature store and wait until each owns partitions."""
    from features import repository
    from features.config import store_config

    repository.apply(store_config(settings))
    # The workers find the broker as every command does: the configured cluster, or the embedded broker in
    # the stack record under data_dir. Given the embedded broker's address instead, they would count as
    # configured for an external cluster and refuse the development policy keys.
    worker_settings = settings.model_copy(update={"data_dir": settings.data_dir.resolve()})
    started = []
    for n in range(count):
        log, port = settings.state_dir / f"worker-{n}.log", free_port()
        process = start_worker(worker_settings, log, port, attached=False)
        record = ManagedProcess(name=f"worker-{n}", pid=process.pid, cmdline=exec_cmdline(process.pid),
                                started_at=datetime.now(UTC), log=str(log),
                                metrics_url=f"http://127.0.0.1:{port}/metrics")
        _record(settings, state, record)
        started.append((process, log))
    for process, log in started:
        wait_ready(process, log)


def down(settings: Settings) -> list[ManagedProcess]:
    """Stop every process the stack recorded (newest first) and forget them; return those stopped."""
    state = read_state(settings)
    if state is None:
        return []
    stopped = []
    for process in reversed(state.processes):
        if process.is_running():
            stop_pid(process.pid)
            stopped.append(process)
    _state_file(settings).unlink(missing_ok=True)
    return stopped


def status(settings: Settings) -> StackStatus:
    """Where the broker is, what runs, and every topic with its partitions and end offsets."""
    state = read_state(settings)
    if settings.embedded and state is None:
        raise FlywheelError("the stack is not running: run `flywheel up`")
    processes = [ProcessStatus(**p.model_dump(), running=p.is_running()) for p in (state.processes if state else [])]
    bootstrap = bootstrap_servers(settings)
    topics = describe_topics(kafka_config(settings, bootstrap), list(settings.topics.values()))
    return StackStatus(bootstrap=bootstrap, embedded=settings.embedded, processes=processes, topics=topics)
