"""A real stream pipeline for integration tests: a broker, a feature store and `flywheel worker` processes.

Workers are started as the CLI starts them, die with the test process (PDEATHSIG) and are stopped by pid;
nothing else on the machine is touched.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from features import repository
from features.config import store_config
from infra.broker import EmbeddedBroker, free_port, stop_pid
from infra.settings import Settings
from infra.stack import create_topics
from infra.workers import start_worker, wait_ready


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
        settings = Settings(bootstrap_servers=broker.bootstrap, data_dir=root / "data", partitions=4, **overrides)
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

    def kill(self, process: subprocess.Popen) -> None:
        """SIGKILL: no shutdown, no offset commit, as a crash would leave it."""
        process.send_signal(signal.SIGKILL)
        process.wait(10)

    def log_text(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.logs.glob("*.log")))

    def stop(self) -> None:
        for process in self.workers:
            if process.poll() is None:
                stop_pid(process.pid, timeout_s=15, popen=process)
        self.broker.stop()
        repository.destroy(store_config(self.settings))


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str, every_s: float = 0.5,
             progress: Callable[[], str] | None = None) -> None:
    """Poll ``condition``; on timeout say what was awaited and, from ``progress``, how far it got."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            seen = f" ({progress()})" if progress else ""
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}{seen}")
        time.sleep(every_s)
