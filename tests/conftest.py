"""Shared fixtures. Integration tests start the real components they need and stop exactly those."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

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
