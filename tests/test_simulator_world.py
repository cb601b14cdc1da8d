"""The simulated shop: any shop file's rules, how the simulator changes them, and the signed events it publishes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from infra.errors import FlywheelError
from infra.settings import Settings
from learners.judge import RuleJudge
from simulator.world import World, policy_update_event
from streams.events import PolicyUpdate
from streams.signing import KeyPair, trusted_keys, verify

TEAM, OTHER = KeyPair.generate("team"), KeyPair.generate("team")
TEAM_KEY, OTHER_KEY = (trusted_keys(Settings(**pair.settings()))["team"] for pair in (TEAM, OTHER))
WHEN = datetime(2025, 3, 1, 12, tzinfo=UTC)
REPO = Path(__file__).resolve().parents[1]
ABCD = REPO / "shops" / "abcd" / "shop.yaml"


def test_the_demo_shop_has_at_least_twelve_intents_in_both_languages():
    world = World.create(0)
    assert len(world.intents) >= 12 and set(world.locales) == {"zh", "en"}
    for intent in world.intents:
        for locale in world.locales:
            assert len(world.questions(intent, locale)) >= 5, (intent, locale)
            assert world.answer(intent, locale) and world[intent].text(locale)
            assert len(world[intent].held_out(locale)) >= 6, (intent, locale)


def test_corpus_pairs_every_question_with_its_correct_answer():
    world = World.create(3)
    judge = RuleJudge(world.rules)
    corpus = world.corpus()
    assert {qa.intent for qa in corpus} == set(world.intents)
    assert all(judge(qa.question, qa.locale, world[qa.intent], qa.answer).correct for qa in corpus)


def test_the_seed_changes_how_rules_change_never_the_shop():
    assert World.create(5).rules == World.create(6).rules
    changed = {dict(World.create(seed).with_rule_change("return_window")["return_window"].facts)["days"]
               for seed in range(12)}
    assert len(changed) >= 3 and 7 not in changed


def test_rule_change_bumps_the_version_restates_the_text_and_moves_every_fact():
    world = World.create(1)
    before = world["coupon"]
    changed = world.with_rule_change("coupon")
    after = changed["coupon"]
    judge = RuleJudge(changed.rules)
    assert after.version == before.version + 1
    assert all(after.facts[name] != value for name, value in before.facts.items())
    for locale in ("zh", "en"):
        assert all(str(value) in after.text(locale) for value in after.facts.values())
        assert not judge("", locale, after, before.answer(locale)).correct
        assert judge("", locale, after, after.answer(locale)).correct
    assert {i: r for i, r in changed.rules.rules.items() if i != "coupon"} == \
           {i: r for i, r in world.rules.rules.items() if i != "coupon"}
    assert world["coupon"] is before, "worlds are immutable"


def test_rule_change_to_given_facts_and_bad_facts():
    world = World.create(2).with_rule_change("return_window", {"days": 15})
    assert dict(world["return_window"].facts) == {"days": 15}
    assert "15" in world["return_window"].text("en") and "15" in world["return_window"].answer("zh")
    with pytest.raises(ValueError, match="days"):
        world.with_rule_change("return_window", {"weeks": 2})


def test_a_service_of_the_shop_launches_once_and_an_unknown_one_is_one_clear_error():
    world = World.create(4)
    assert list(world.services) == ["trade_in"]
    launched = world.with_new_service("trade_in")
    assert "trade_in" not in world.intents and "trade_in" in launched.intents
    assert launched["trade_in"].version == 1 and launched["trade_in"].held_out("en")
    with pytest.raises(ValueError):
        launched.with_new_service("trade_in")
    with pytest.raises(FlywheelError, match="no service 'spa_day'"):
        world.with_new_service("spa_day")


def test_policy_update_event_is_signed_complete_and_round_trips():
    rule = World.create(6).with_rule_change("return_window")["return_window"]
    update = policy_update_event(rule, signer=TEAM.signer(), event_id="e1", effective_at=WHEN)
    assert update.key_id == "team" and verify(update, TEAM_KEY) and not verify(update, OTHER_KEY)
    assert (update.policy_id, update.version, update.intent) == (rule.policy_id, 2, "return_window")
    assert update.facts == dict(rule.facts) and set(update.text) == {"zh", "en"}
    assert {e.locale for e in update.examples} == {"zh", "en"}
    assert all(e.answer == rule.answer(e.locale) for e in update.examples)
    assert PolicyUpdate.from_bytes(update.to_bytes()) == update


def test_a_launched_service_is_published_with_its_held_out_questions():
    rule = World.create(0).with_new_service("trade_in")["trade_in"]
    update = policy_update_event(rule, signer=TEAM.signer(), event_id="e2", effective_at=WHEN)
    assert update.held_out and {q.question for q in update.held_out} == set(rule.held_out("zh") + rule.held_out("en"))
    assert verify(update, TEAM_KEY)


def test_the_simulator_reads_another_shop_file():
    world = World.create(0, ABCD)
    assert world.locales == ("en",) and "membership_returns" in world.intents
    assert list(world.services) == ["gift_wrapping"]
    changeable = world.changeable()
    assert changeable and all(world[i].policy is not None and not world[i].handoff for i in changeable)
    changed = world.with_rule_change(changeable[0])
    assert changed[changeable[0]].facts != world[changeable[0]].facts
    with pytest.raises(FlywheelError, match="no policy"):
        world.with_rule_change("order_mystery_fee")
