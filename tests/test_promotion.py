"""Promotion's decisions on real stores: the canary verdict from the traffic log, the admin promotion's demand for
passed gates, the drift gate's view of questions, and a rollback."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from features import repository
from features.config import store_config
from features.writer import FeatureWriter
from infra.errors import FlywheelError
from infra.settings import Settings
from learners.registry import Registry, new_adapter_name
from serving.knowledge import model_input
from serving.promotion import canary_verdict, promote_checked, roll_back
from streams.events import ScoredDialog, Turn

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = Settings(data_dir=tmp_path / "data", canary_min_scores=50, canary_margin=0.5)
    repository.apply(store_config(settings))
    return settings


def scored(n: int, adapter: str, nps: int, at: datetime) -> ScoredDialog:
    turns = [Turn(role="customer", text=f"question {n}", at=at), Turn(role="bot", text="an answer", at=at)]
    return ScoredDialog(event_id=f"e-{adapter}-{n}", event_time=at, conversation_id=f"c-{adapter}-{n}",
                        conversation_event_id=f"ce{n}", satisfaction_event_id=f"se{n}", locale="en", channel="web",
                        turns=turns, adapter_version=adapter, intent="refund_time", resolved=True, handed_off=False,
                        nps=nps)


def write(settings: Settings, dialogs: list[ScoredDialog]) -> None:
    with FeatureWriter(store_config(settings)) as writer:
        writer.write_scored(dialogs, settings.nps_threshold)


def scores(rng: random.Random, center: int, n: int) -> list[int]:
    return [max(0, min(10, center + rng.choice((-1, 0, 0, 1)))) for _ in range(n)]


def test_the_canary_passes_against_the_champion_s_scores_since_it_started(settings):
    rng = random.Random(1)
    before = [scored(n, "champ", 2, NOW - timedelta(hours=2)) for n in range(200)]  # another time: ignored
    since = NOW - timedelta(hours=1)
    champion = [scored(1000 + n, "champ", s, since + timedelta(seconds=n)) for n, s in enumerate(scores(rng, 8, 200))]
    canary = [scored(n, "cand", s, since + timedelta(seconds=n)) for n, s in enumerate(scores(rng, 8, 200))]
    write(settings, before + champion + canary)
    result = canary_verdict(settings, "cand", "champ")
    assert result.verdict == "pass", result
    assert result.metrics["champion_n"] == 200 and result.metrics["canary_n"] == 200


def test_a_worse_canary_fails_and_too_few_scores_wait(settings):
    rng = random.Random(2)
    since = NOW - timedelta(hours=1)
    write(settings, [scored(n, "champ", s, since) for n, s in enumerate(scores(rng, 9, 60))]
          + [scored(n, "cand", s, since) for n, s in enumerate(scores(rng, 9, 10))])
    assert canary_verdict(settings, "cand", "champ").verdict == "wait"
    write(settings, [scored(100 + n, "cand", s, since) for n, s in enumerate(scores(rng, 5, 60))])
    assert canary_verdict(settings, "cand", "champ").verdict == "fail"


def _adapter(registry: Registry, tmp_path: Path, gates: dict | None = None) -> str:
    name = new_adapter_name()
    registry.register(name, tmp_path / name, lineage={"base_model": "b", "snapshot": None},
                      metrics={"gates": gates} if gates else {})
    return name


def test_the_admin_promotion_needs_passed_offline_gates_unless_forced(settings, tmp_path):
    registry = Registry.open(settings)
    passed = {gate: {"verdict": "pass"} for gate in ("ab", "drift")}
    good, unchecked = _adapter(registry, tmp_path, passed), _adapter(registry, tmp_path)
    with pytest.raises(FlywheelError, match="has not passed the ab and drift gate"):
        promote_checked(settings, unchecked)
    assert promote_checked(settings, good).state == "champion"
    assert promote_checked(settings, unchecked, force=True).state == "champion"
    assert registry.history(unchecked)[-1]["reason"] == "forced by the operator"
    assert roll_back(settings, "test").name == good
    assert registry.get(unchecked).state == "rejected"


def test_drift_compares_what_the_model_is_asked_not_how_customers_word_it(settings):
    ask = model_input(settings)
    asked = {ask(q) for q in ["name's <PERSON_1>, order DD20241014573967. how long is the return window",
                              "how long is the return window", "my card <BANK_CARD_1>. 退货期限是几天啊"]}
    assert asked == {"how long is the return window", "退货期限是几天啊"}
    raw = {model_input(settings.model_copy(update={"canonical_questions": False}))("a <PERSON_1> b")}
    assert raw == {"a <PERSON_1> b"}
