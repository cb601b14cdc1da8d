"""A real stream pipeline for integration tests: a broker, a feature store and `flywheel worker` processes.

Workers are started as the CLI starts them, die with the test process (PDEATHSIG) and are stopped by pid;
nothing else on the machine is touched.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from features import repository
from features.config import store_config
from features.traffic import EVER, TrafficQuery, read_traffic
from infra.broker import EmbeddedBroker, free_port, stop_pid
from infra.settings import Settings
from infra.stack import create_topics
from infra.workers import READY_LINE, start_worker, wait_ready
from streams.signing import KeyPair
from tests.conftest import read_topic


@dataclass
class Pipeline:
    """One broker, one feature store and the workers started on them."""

    broker: EmbeddedBroker
    settings: Settings
    logs: Path
    workers: list[subprocess.Popen] = field(default_factory=list)
    web_ports: list[int] = field(default_factory=list)

    @classmethod
    def start(cls, root: Path, **overrides: object) -> Pipeline:
        broker = EmbeddedBroker()
        broker.start()
        tansu = {"table_store": "memory://"}  # the broker is Tansu: see streams.app.table_store
        settings = Settings(bootstrap_servers=broker.bootstrap, data_dir=root / "data", partitions=4,
                            **{**KeyPair.generate("test").settings(), **tansu, **overrides})
        create_topics(settings, broker.bootstrap)
        repository.apply(store_config(settings))
        logs = root / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        return cls(broker, settings, logs)

    def start_worker(self, wait: bool = True) -> subprocess.Popen:
        """Start a worker; with ``wait``, return once it owns partitions (its first rebalance is done)."""
        log = self.logs / f"worker-{len(self.workers)}.log"
        self.web_ports.append(free_port())
        process = start_worker(self.settings, log, self.web_ports[-1])
        self.workers.append(process)
        if wait:
            wait_ready(process, log)
        return process

    def start_workers(self, count: int) -> list[subprocess.Popen]:
        """Start ``count`` workers at once (they start in parallel) and return when each owns partitions."""
        started = [self.start_worker(wait=False) for _ in range(count)]
        for process in started:
            wait_ready(process, self.worker_log(process))
        return started

    def kill(self, process: subprocess.Popen) -> None:
        """SIGKILL: no shutdown, no offset commit, as a crash would leave it."""
        process.send_signal(signal.SIGKILL)
        process.wait(10)

    def log_text(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.logs.glob("*.log")))

    def worker_log(self, process: subprocess.Popen) -> Path:
        return self.logs / f"worker-{self.workers.index(process)}.log"

    def owns_partitions(self, process: subprocess.Popen) -> bool:
        """True when ``process`` runs and has owned partitions since it started (non-blocking ``wait_ready``)."""
        return process.poll() is None and READY_LINE in self.worker_log(process).read_text(errors="replace")

    def assert_up(self, processes: list[subprocess.Popen] | None = None) -> None:
        """Fail at once, with its first error line, if a worker exited (only the test stops workers); all the
        workers started by default."""
        for process in self.workers if processes is None else processes:
            if process.poll() is not None:
                log = self.worker_log(process)
                errors = [line for line in log.read_text(errors="replace").splitlines() if "ERROR" in line]
                first = errors[0][:400] if errors else "no error logged"
                raise AssertionError(f"a worker exited with status {process.returncode} ({first}); see {log}")

    def while_up(self, condition: Callable[[], bool],
                 processes: list[subprocess.Popen] | None = None) -> Callable[[], bool]:
        """``condition`` for ``wait_for`` that fails at once if a worker exits instead of waiting it out."""
        def checked() -> bool:
            self.assert_up(processes)
            return condition()
        return checked

    def web_port(self, process: subprocess.Popen) -> int:
        return self.web_ports[self.workers.index(process)]

    def stored_ids(self) -> list[str]:
        """Conversation ids in the feature store's traffic log, one per stored row (a double shows twice)."""
        return list(read_traffic(store_config(self.settings), TrafficQuery(*EVER))["conversation_id"])

    def topic_messages(self, role: str) -> list[tuple[bytes, bytes]]:
        """Every (key, value) of the topic with this role (``scored_dialogs``, ``dead_letters``...)."""
        return read_topic(self.broker.bootstrap, self.settings.topics[role], self.settings.partitions)

    def dead_letters(self) -> list[dict]:
        return [json.loads(value) for _, value in self.topic_messages("dead_letters")]

    def stop(self) -> None:
        for process in self.workers:
            if process.poll() is None:
                stop_pid(process.pid, timeout_s=15, popen=process)
        self.broker.stop()
        repository.destroy(store_config(self.settings))

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str, every_s: float = 0.5,
             progress: Callable[[], str] | None = None) -> None:
    """Poll ``condition``; on timeout say what was awaited and, from ``progress``, how far it got."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            seen = f" ({progress()})" if progress else ""
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}{seen}")
        time.sleep(every_s)
