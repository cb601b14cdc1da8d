"""Promotion's decisions on real stores: the canary verdict from the traffic log, the admin promotion's demand for
passed gates, the drift gate's view of questions, a rollback, and the watch over a promoted champion."""

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
from serving.promotion import canary_verdict, promote, promote_checked, roll_back
from serving.watch import watch_champion
from streams.events import ModelEvent, ScoredDialog, Turn
from tests.conftest import read_topic

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = Settings(data_dir=tmp_path / "data", canary_min_scores=50, canary_margin=0.5)
    repository.apply(store_config(settings))
    return settings


def scored(n: int, adapter: str, nps: int, at: datetime, handed_off: bool = False) -> ScoredDialog:
    turns = [Turn(role="customer", text=f"question {n}", at=at), Turn(role="bot", text="an answer", at=at)]
    return ScoredDialog(event_id=f"e-{adapter}-{n}", event_time=at, conversation_id=f"c-{adapter}-{n}",
                        conversation_event_id=f"ce{n}", satisfaction_event_id=f"se{n}", locale="en", channel="web",
                        turns=turns, adapter_version=adapter, intent="refund_time", resolved=True,
                        handed_off=handed_off, nps=nps)


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


def _succession(settings: Settings, tmp_path: Path, rng: random.Random) -> tuple[Registry, str, str]:
    """A champion with 200 scores (NPS about 8) before a second adapter is forced in over it."""
    registry = Registry.open(settings)
    previous, forced = _adapter(registry, tmp_path), _adapter(registry, tmp_path)
    promote(settings, previous, force=True)
    write(settings, [scored(n, previous, s, NOW - timedelta(hours=2, seconds=-n))
                     for n, s in enumerate(scores(rng, 8, 200))])
    promote(settings, forced, force=True)
    return registry, previous, forced


def _serve(settings: Settings, adapter: str, nps: list[int], handed_off_every: int = 0) -> None:
    """Scores of ``adapter``'s conversations from now on (every ``handed_off_every``-th one handed to an agent)."""
    since = datetime.now(UTC)
    write(settings, [scored(5000 + n, adapter, s, since + timedelta(seconds=n),
                            handed_off=bool(handed_off_every) and n % handed_off_every == 0)
                     for n, s in enumerate(nps)])


@pytest.mark.integration
def test_a_degraded_adapter_forced_in_is_rolled_back_by_the_watch(topic_settings, tmp_path):
    settings = topic_settings.model_copy(update={"watch_min_scores": 50})
    repository.apply(store_config(settings))
    registry, previous, degraded = _succession(settings, tmp_path, random.Random(3))
    assert watch_champion(settings).verdict == "wait"  # no score of its own yet
    _serve(settings, degraded, scores(random.Random(4), 5, 40))
    result = watch_champion(settings)
    assert result.verdict == "fail" and "worse by more than the margin on NPS" in result.detail, result
    assert registry.champion().name == previous and registry.get(degraded).state == "rejected"
    assert registry.get(degraded).metrics["gates"]["watch"]["verdict"] == "fail"
    assert registry.history(degraded)[-1]["reason"].startswith("watch: ")
    events = [ModelEvent.from_bytes(value) for _, value in
              read_topic(settings.bootstrap_servers, settings.topics["model_events"], settings.partitions)]
    assert [(e.action, e.gate, e.passed) for e in events if e.subject == degraded][-2:] == \
        [("gate_verdict", "watch", False), ("rolled_back", None, None)]
    assert watch_champion(settings) is None  # the restored champion is the known one: nothing to watch


def test_a_champion_as_good_as_the_last_passes_its_watch_and_stays(settings, tmp_path):
    registry, _, champion = _succession(settings, tmp_path, random.Random(5))
    _serve(settings, champion, scores(random.Random(6), 8, 150))
    result = watch_champion(settings)
    assert result.verdict == "pass" and (result.metrics["champion_n"], result.metrics["previous_n"]) == (150, 200)
    assert registry.champion().name == champion
    assert registry.get(champion).metrics["gates"]["watch"]["verdict"] == "pass"
    assert watch_champion(settings) is None  # trusted: the watch is over


def test_a_failed_watch_without_automatic_rollback_is_recorded_and_the_champion_stays(settings, tmp_path):
    settings = settings.model_copy(update={"watch_rollback": False})
    registry, _, champion = _succession(settings, tmp_path, random.Random(7))
    _serve(settings, champion, scores(random.Random(8), 8, 150), handed_off_every=3)  # as liked, a third escalated
    result = watch_champion(settings)
    assert result.verdict == "fail" and "margin on resolved share;" in result.detail, result
    assert result.metrics["resolved_ci_high"] < -0.05 and result.metrics["nps_ci_high"] > -settings.canary_margin
    assert registry.champion().name == champion
    assert registry.get(champion).metrics["gates"]["watch"]["verdict"] == "fail"


def test_a_watch_without_a_verdict_ends_after_its_time(settings, tmp_path):
    registry, _, champion = _succession(settings, tmp_path, random.Random(9))
    _serve(settings, champion, scores(random.Random(10), 8, 20))
    assert watch_champion(settings).verdict == "wait"
    later = datetime.now(UTC) + timedelta(seconds=settings.watch_timeout_s)
    ended = watch_champion(settings, now=later)
    assert ended.verdict == "wait" and ended.detail.startswith("watch ended after")
    assert registry.get(champion).metrics["gates"]["watch"]["verdict"] == "wait"
    assert watch_champion(settings, now=later) is None
