"""Processes of the local stack, started the way a user starts them: `flywheel worker` and `flywheel serve`.

Used by `flywheel up` (detached workers it records and `down` stops), by the demo and benchmarks and by the
integration tests (attached processes that die with their parent). Readiness is the process's own log line: for a
stream worker ``READY_LINE`` (it owns partitions and its tables are recovered), for the chat API
``serving.app.READY_LINE``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from infra.broker import die_with_parent
from infra.errors import FlywheelError
from infra.settings import Settings

READY_LINE = "flywheel worker owns partitions"  # not Faust's "Revoking previously assigned partitions"


def flywheel_executable() -> str:
    """The `flywheel` console script of this environment."""
    return str(Path(sys.executable).with_name("flywheel"))


def start_flywheel(args: list[str], settings: Settings, log: Path, attached: bool = True) -> subprocess.Popen:
    """Start ``flywheel ARGS`` running with ``settings`` (its explicit fields passed as FLYWHEEL_* variables),
    its output in a fresh ``log`` (readiness is read from it). An attached process dies with its parent."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        return subprocess.Popen(
            [flywheel_executable(), *args],
            env={**os.environ, **settings.as_env()}, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent if attached else None, start_new_session=not attached)


def start_worker(settings: Settings, log: Path, web_port: int, attached: bool = True) -> subprocess.Popen:
    """Start one `flywheel worker` running with ``settings``."""
    return start_flywheel(["worker", "--web-port", str(web_port)], settings, log, attached)


def wait_ready(process: subprocess.Popen, log: Path, timeout_s: float = 120.0, ready_line: str = READY_LINE,
               what: str = "stream worker") -> float:
    """Block until ``ready_line`` is in the process's log (for a worker: it owns partitions); return the seconds
    it took. A process that exits first, or takes longer than ``timeout_s``, is an error naming its log (and the
    one-line reason the CLI gave, if it exited with one)."""
    started = time.monotonic()
    while ready_line not in log.read_text(errors="replace"):
        if process.poll() is not None:
            raise FlywheelError(f"{what} exited with status {process.returncode}{_reason(log)}; see {log}")
        if time.monotonic() - started > timeout_s:
            raise FlywheelError(f"{what} not ready after {timeout_s:.0f} s; see {log}")
        time.sleep(0.2)
    return time.monotonic() - started


def _reason(log: Path) -> str:
    """`` (why)`` from the CLI's last one-line error in ``log`` (a ``FlywheelError``), or nothing."""
    said = [line for line in log.read_text(errors="replace").splitlines() if line.startswith("flywheel: ")]
    return f" ({said[-1].removeprefix('flywheel: ')[:300]})" if said else ""


def owned_partitions(log: Path, topic: str) -> set[int]:
    """The partitions of ``topic`` a worker owned after its last rebalance, read from its log."""
    lines = re.findall(rf"{READY_LINE} (\{{.*\}})", log.read_text(errors="replace"))
    return set(json.loads(lines[-1]).get(topic, [])) if lines else set()


def partitions_split(logs: list[Path], topic: str, partitions: int) -> bool:
    """True when every worker owns partitions of ``topic`` and together they own each one exactly once."""
    owned = [owned_partitions(log, topic) for log in logs]
    return all(owned) and sum(map(len, owned)) == partitions and set().union(*owned) == set(range(partitions))
