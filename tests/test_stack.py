"""`flywheel up`/`status`/`down` against the real embedded broker: ready when it returns, nothing left behind."""

from __future__ import annotations

import json

import pytest
from confluent_kafka import Producer

from infra.broker import pid_alive, stop_pid
from infra.settings import Settings
from tests.conftest import flywheel

pytestmark = pytest.mark.integration


@pytest.fixture
def stack_env(tmp_path):
    env = {"FLYWHEEL_DATA_DIR": str(tmp_path), "FLYWHEEL_PARTITIONS": "3"}
    yield env
    flywheel("down", env=env)  # whatever a failing test left running


def test_up_status_down_leaves_no_process_behind(stack_env):
    up = flywheel("up", "--json", "--workers", "1", env=stack_env)
    assert up.returncode == 0, up.stderr
    state = json.loads(up.stdout)
    pids = [p["pid"] for p in state["processes"]]
    assert [p["name"] for p in state["processes"]] == ["broker", "worker-0"]
    assert "worker" in state["processes"][1]["cmdline"], "recorded before exec: `down` would not know it"
    assert all(pid_alive(pid) for pid in pids)

    status = json.loads(flywheel("status", "--json", env=stack_env).stdout)
    assert status["bootstrap"] == state["bootstrap"]
    assert all(p["running"] for p in status["processes"])
    assert {t["name"]: t["partitions"] for t in status["topics"]} == {name: 3 for name in Settings().topics.values()}

    again = json.loads(flywheel("up", "--json", "--workers", "1", env=stack_env).stdout)
    assert again["bootstrap"] == state["bootstrap"], "a second `up` must reuse the running stack"

    down = flywheel("down", "--json", env=stack_env)
    assert down.returncode == 0
    assert sorted(p["pid"] for p in json.loads(down.stdout)["stopped"]) == sorted(pids)
    assert not any(pid_alive(pid) for pid in pids)
    assert flywheel("status", env=stack_env).returncode == 1


def test_status_counts_batched_messages_exactly(stack_env):
    """Tansu's high watermark undercounts batches; status must report the true end offsets."""
    bootstrap = json.loads(flywheel("up", "--json", "--workers", "0", env=stack_env).stdout)["bootstrap"]
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 100})
    for i in range(500):
        producer.produce("cs.conversations", key=f"c{i % 37}", value=b"x" * 300)
    assert producer.flush(30) == 0
    status = json.loads(flywheel("status", "--json", env=stack_env).stdout)
    topic = next(t for t in status["topics"] if t["name"] == "cs.conversations")
    assert topic["messages"] == 500
    assert len(topic["end_offsets"]) == 3


def test_down_never_stops_a_reused_pid(stack_env, tmp_path):
    """A recorded pid that now runs another command is not ours any more: down must leave it alone."""
    pid = json.loads(flywheel("up", "--json", "--workers", "0", env=stack_env).stdout)["processes"][0]["pid"]
    record = tmp_path / "stack" / "stack.json"
    forged = json.loads(record.read_text())
    forged["processes"][0]["cmdline"] = ["some", "other", "program"]
    record.write_text(json.dumps(forged))
    try:
        assert json.loads(flywheel("down", "--json", env=stack_env).stdout)["stopped"] == []
        assert pid_alive(pid)
    finally:
        stop_pid(pid)
