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


def test_simulate_plays_the_customers_of_any_shop_file(tmp_path):
    from streams.events import Conversation, PolicyUpdate
    from tests.conftest import REPO

    env = {"FLYWHEEL_DATA_DIR": str(tmp_path)}
    shop = str(REPO / "shops" / "abcd" / "shop.yaml")
    wrong = flywheel("simulate", "--shop", shop, "--policy-change-at", "10", "--change", "new_service",
                     "--change-intent", "trade_in", env=env)
    assert wrong.returncode == 2 and wrong.stderr.count("\n") == 1 and "gift_wrapping" in wrong.stderr
    bootstrap = json.loads(flywheel("up", "--json", "--workers", "0", env=env).stdout)["bootstrap"]
    try:
        run = flywheel("simulate", "--shop", shop, "--dialogs", "200", "--seed", "3", "--policy-change-at", "100",
                       "--change", "new_service", "--json", env=env)
        assert run.returncode == 0, run.stderr
        settings = Settings()
        [(_, update)] = read_topic(bootstrap, settings.topic_policy_updates, settings.partitions)
        conversations = [Conversation.from_bytes(v) for _, v in
                         read_topic(bootstrap, settings.topic_conversations, settings.partitions)]
    finally:
        flywheel("down", env=env)
    assert PolicyUpdate.from_bytes(update).intent == "gift_wrapping"
    assert len(conversations) == 200 and {c.locale for c in conversations} == {"en"}
    assert {c.intent for c in conversations} >= {"membership_returns", "gift_wrapping"}
