"""Faults for integration tests: a private PostgreSQL and a private Redis that a test stops and starts again.

Each server runs on a free loopback port with a data directory of its own, as a child of the test process that
dies with it (PDEATHSIG); it is stopped by its own pid and its directory removed, so the machine's own servers
(on 5432 and 6379) and other tests' are never touched. A stopped server restarts on the same port and data
directory, so what it had committed is still there: an outage, not a new store.

PostgreSQL refuses to run as root; run as root (as here and in CI), the server and ``initdb`` run as the
``postgres`` user, in a directory under the system temporary directory that user can reach (pytest's own is
private to root).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from infra.broker import die_with_parent, free_port
from infra.settings import Settings
from simulator.options import SimulateOptions
from simulator.run import simulate
from streams.events import PolicyUpdate
from streams.signing import signer
from tests.test_pipeline import expected_scored

READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 20.0


def _binary(name: str) -> str:
    """``name`` from the newest PostgreSQL under /usr/lib/postgresql (Debian's layout), else from PATH."""
    versions = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda p: int(p.parts[-3]))
    found = str(versions[-1]) if versions else shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} not found under /usr/lib/postgresql/*/bin nor on PATH: the fault tests "
                                f"need PostgreSQL and Redis server binaries")
    return found


class PrivateServer:
    """One server process this test owns: ``start`` (again after ``stop``) on the same port and directory."""

    name = "server"
    stop_signal = signal.SIGTERM

    def __init__(self, root: Path):
        self.root = root
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    def answers(self) -> bool:
        """True once the server accepts clients."""
        raise NotImplementedError

    def _popen_options(self) -> dict[str, Any]:
        return {}

    def start(self) -> None:
        assert self.process is None or self.process.poll() is not None, f"{self.name} already runs"
        with open(self.root / "server.log", "ab") as log:
            self.process = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=log,
                                            stderr=subprocess.STDOUT, preexec_fn=die_with_parent,
                                            **self._popen_options())
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not self.answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"private {self.name} on port {self.port} did not start; see "
                                   f"{self.root / 'server.log'}")
            time.sleep(0.1)

    def stop(self) -> None:
        """Stop the server (its own shutdown first, SIGKILL if it hangs) and reap it."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        for sig, wait_s in ((self.stop_signal, STOP_TIMEOUT_S), (signal.SIGKILL, 5.0)):
            process.send_signal(sig)
            try:
                process.wait(wait_s)
                return
            except subprocess.TimeoutExpired:
                continue

    @contextmanager
    def down(self, seconds: float) -> Iterator[float]:
        """Stop the server for ``seconds`` from entering the block, then start it again, even if the block fails.
        Yields the monotonic time at which the server is due back."""
        self.stop()
        back_at = time.monotonic() + seconds
        try:
            yield back_at
            time.sleep(max(0.0, back_at - time.monotonic()))
        finally:
            self.start()


class PrivatePostgres(PrivateServer):
    """A PostgreSQL cluster of its own (``initdb``), trusting local connections as ``postgres``."""

    name = "PostgreSQL"
    stop_signal = signal.SIGINT  # fast shutdown: SIGTERM (smart) would wait for the workers to disconnect

    def __init__(self, root: Path):
        super().__init__(root)
        self.data = root / "data"
        subprocess.run([_binary("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync",
                        "-E", "UTF8", "--locale=C"], check=True, capture_output=True, **self._popen_options())

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def command(self) -> list[str]:
        return [_binary("postgres"), "-D", str(self.data), "-p", str(self.port), "-c", "listen_addresses=127.0.0.1",
                "-c", f"unix_socket_directories={self.root}", "-c", "fsync=off", "-c", "shared_buffers=32MB"]

    def answers(self) -> bool:
        import psycopg

        try:
            psycopg.connect(self.dsn, connect_timeout=2).close()
            return True
        except psycopg.OperationalError:
            return False

    def _popen_options(self) -> dict[str, Any]:
        """As root, run as ``postgres`` (PDEATHSIG is set after the switch, so it still applies)."""
        return {"user": "postgres", "group": "postgres", "extra_groups": []} if os.geteuid() == 0 else {}


class PrivateRedis(PrivateServer):
    """A Redis of its own with an append-only file synced on every write: restarted, it has what it had (a Redis
    that forgot the online store on restart would lose data the pipeline did deliver)."""

    name = "Redis"

    @property
    def url(self) -> str:
        """Feast's form of the address."""
        return f"127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [shutil.which("redis-server") or "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", str(self.root), "--save", "", "--appendonly", "yes", "--appendfsync", "always",
                "--daemonize", "no"]

    def answers(self) -> bool:
        from redis import Redis
        from redis.exceptions import ConnectionError as RedisDown

        try:
            with Redis(port=self.port, socket_connect_timeout=1) as client:
                return bool(client.ping())
        except RedisDown:
            return False


def _private_dir(prefix: str, owner: str | None = None) -> Path:
    """A fresh directory under the system temporary directory (which every user can reach), given to ``owner``
    when running as root."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    if owner is not None and os.geteuid() == 0:
        shutil.chown(root, owner, owner)
    return root


@contextmanager
def private_stores() -> Iterator[tuple[PrivatePostgres, PrivateRedis]]:
    """A running private PostgreSQL and Redis; on exit both are stopped and their directories removed."""
    roots = [_private_dir("flywheel-pg-", owner="postgres"), _private_dir("flywheel-redis-")]
    servers: list[PrivateServer] = []
    try:
        postgres, redis = PrivatePostgres(roots[0]), PrivateRedis(roots[1])
        servers += [postgres, redis]
        for server in servers:
            server.start()
        yield postgres, redis
    finally:
        for server in servers:
            server.stop()
        for root in roots:
            shutil.rmtree(root, ignore_errors=True)


def production_overrides(postgres: PrivatePostgres, redis: PrivateRedis, project: str = "faults") -> dict[str, str]:
    """``Settings`` fields that point the feature store at these private servers."""
    return {"feature_store": "production", "postgres_dsn": postgres.dsn, "redis_url": redis.url,
            "feature_schema": project, "feature_project": project}


def gauge(web_port: int, name: str) -> float | None:
    """The value of gauge ``name`` on a worker's /metrics; None when the worker does not export it (or does not
    answer: it is down or between restarts)."""
    from prometheus_client.parser import text_string_to_metric_families

    try:
        body = urllib.request.urlopen(f"http://127.0.0.1:{web_port}/metrics", timeout=5).read().decode()
    except OSError:
        return None
    return next((sample.value for family in text_string_to_metric_families(body) for sample in family.samples
                 if sample.name == name), None)


def watch(seconds: float, probe: Callable[[], None], every_s: float = 0.5) -> None:
    """Call ``probe`` every ``every_s`` for ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        probe()
        time.sleep(every_s)


def duplicates(keys: Sequence[Hashable]) -> int:
    """How many messages repeat a key already seen (0 when each key is there once)."""
    return len(keys) - len(set(keys))


def lost_and_doubled(stored: list[str], wanted: set[str]) -> str:
    """What a store holds wrongly, for failure messages: ids lost, doubled, and stored without being wanted."""
    seen = set(stored)
    lost, extra = sorted(wanted - seen), sorted(seen - wanted)
    parts = [f"{len(lost)} of {len(wanted)} lost" + (f" (e.g. {lost[:3]})" if lost else ""),
             f"{len(stored) - len(seen)} stored twice"]
    return ", ".join(parts + ([f"{len(extra)} stored unasked (e.g. {extra[:3]})"] if extra else []))


class Traffic:
    """Simulated traffic published in the background while the block injects faults; leaving the block waits for
    the last event to be published and re-raises what went wrong publishing it."""

    def __init__(self, settings: Settings, bootstrap: str, options: SimulateOptions, timeout_s: float = 120):
        self._thread = threading.Thread(target=self._publish, args=(settings, bootstrap, options), daemon=True)
        self._timeout_s = timeout_s
        self._error: BaseException | None = None

    def _publish(self, settings: Settings, bootstrap: str, options: SimulateOptions) -> None:
        try:
            simulate(settings, bootstrap, options, progress=False)
        except BaseException as exc:  # noqa: BLE001 - handed to the test's thread on exit
            self._error = exc

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is not None:
            return  # the test failed: the thread is a daemon, and its broker is about to stop
        self._thread.join(self._timeout_s)
        assert not self._thread.is_alive(), f"traffic still publishing after {self._timeout_s:.0f} s"
        if self._error is not None:
            raise self._error


# The only two places the fault tests sign policy updates (the simulation signs those it publishes).

def expected_dialogs(settings: Settings, options: SimulateOptions) -> set[str]:
    """Conversation ids the simulation ``options`` both talks and scores: each must be stored exactly once."""
    return expected_scored(options, signer(settings))


def signed(settings: Settings, update: PolicyUpdate) -> PolicyUpdate:
    """``update`` as the policy team signs it, with the key ``settings`` name."""
    return signer(settings).sign(update)
