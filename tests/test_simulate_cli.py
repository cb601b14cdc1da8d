"""`flywheel simulate` as a user runs it: the topics hold exactly what it reports, and a seed replays."""

from __future__ import annotations

import json

import pytest

from infra.settings import Settings
from tests.conftest import flywheel, read_topic

pytestmark = pytest.mark.integration

ROLES = ("conversations", "satisfaction", "policy_updates")


def simulate_on_fresh_stack(env: dict[str, str]) -> tuple[dict, dict[str, list[tuple[bytes, bytes]]]]:
    """Start a stack, simulate 1,000 dialogs with seed 7, read every raw topic back, stop the stack."""
    bootstrap = json.loads(flywheel("up", "--json", "--workers", "0", env=env).stdout)["bootstrap"]
    try:
        run = flywheel("simulate", "--dialogs", "1000", "--seed", "7", "--policy-change-at", "400",
                       "--start", "2026-11-02T09:00:00+00:00", "--json", env=env)
        assert run.returncode == 0, run.stderr
        settings = Settings()
        topics = {role: read_topic(bootstrap, settings.topics[role], settings.partitions) for role in ROLES}
        status = json.loads(flywheel("status", "--json", env=env).stdout)
    finally:
        flywheel("down", env=env)
    counts = {t["name"]: t["messages"] for t in status["topics"]}
    assert [counts[settings.topics[role]] for role in ROLES] == [len(topics[role]) for role in ROLES]
    return json.loads(run.stdout), topics


def test_simulate_produces_exactly_what_it_reports_and_the_seed_replays(tmp_path):
    first_report, first = simulate_on_fresh_stack({"FLYWHEEL_DATA_DIR": str(tmp_path / "a")})
    assert first_report["conversations"] == 1000 == len(first["conversations"])
    assert first_report["satisfaction"] == len(first["satisfaction"]) > 0
    assert first_report["policy_updates"] == len(first["policy_updates"]) == 1

    second_report, second = simulate_on_fresh_stack({"FLYWHEEL_DATA_DIR": str(tmp_path / "b")})
    for role in ROLES:
        assert sorted(second[role]) == sorted(first[role]), f"{role}: same seed, different events"
    assert {k: v for k, v in second_report.items() if k != "wall_s"} == \
        {k: v for k, v in first_report.items() if k != "wall_s"}
