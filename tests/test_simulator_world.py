"""The seeded world: policies in both languages, fact accuracy, policy changes and their signed events."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from learners.dataset_checks import normalize
from simulator.catalog import NEW_SERVICES, SERVICES, held_out_questions
from simulator.facts import numbers_in, states_policy
from simulator.world import LOCALES, World, policy_update_event
from streams.events import PolicyUpdate
from streams.signing import verify

KEY = "test-policy-key"
WHEN = datetime(2025, 3, 1, 12, tzinfo=UTC)
SEEDS = range(25)


def test_at_least_twelve_intents_in_both_languages():
    world = World.create(0)
    assert len(world.intents) >= 12
    for intent in world.intents:
        for locale in LOCALES:
            assert len(world.questions(intent, locale)) >= 5, (intent, locale)
            assert world.answer(intent, locale) and world.policies[intent].text(locale)


def test_every_policy_has_held_out_phrasings_in_both_languages_that_the_bank_does_not_hold():
    """The A/B gate's evaluation set: new words for the same questions, never one the shop publishes."""
    specs = SERVICES + NEW_SERVICES
    bank = {normalize(q) for spec in specs for by_locale in spec.questions.values() for q in by_locale}
    for spec in specs:
        for locale in LOCALES:
            held_out = spec.held_out[locale]
            assert len(held_out) >= 6, (spec.intent, locale)
            assert not {normalize(q) for q in held_out} & bank, (spec.intent, locale)
    assert len(held_out_questions()) == sum(len(q) for spec in specs for q in spec.held_out.values())


def test_corpus_pairs_every_question_with_its_correct_answer():
    world = World.create(3)
    corpus = world.corpus()
    assert {qa.locale for qa in corpus} == set(LOCALES)
    assert {qa.intent for qa in corpus} == set(world.intents)
    assert len(corpus) == sum(len(world.questions(i, loc)) for i in world.intents for loc in LOCALES)
    assert all(states_policy(world.policies[qa.intent], qa.answer) for qa in corpus)


def test_seed_fixes_the_facts_and_different_seeds_give_different_shops():
    assert World.create(5) == World.create(5)
    facts = {tuple(sorted((i, tuple(p.facts.items())) for i, p in World.create(s).policies.items())) for s in SEEDS}
    assert len(facts) > 20


@pytest.mark.parametrize("seed", SEEDS)
def test_only_the_right_answer_states_a_policy(seed):
    """Right answers pass; answers with other fact values, and every other intent's answer, fail."""
    world = World.create(seed)
    for policy in world.policies.values():
        for locale in LOCALES:
            assert states_policy(policy, policy.answer(locale))
            assert not states_policy(policy, policy.with_other_facts(random.Random(seed)).answer(locale))
            for other in world.policies.values():
                if other.intent != policy.intent:
                    assert not states_policy(policy, other.answer(locale)), (policy.intent, other.intent, locale)


def test_numbers_are_read_however_they_are_written():
    assert {7, 15, 20, 120, 2000, 12} <= numbers_in("七天内，十五个工作日，二十元，一百二十分钟，两千元，１２小时")
    assert {15, 21, 30} <= numbers_in("within fifteen days, twenty-one hours or Thirty minutes")
    assert numbers_in("满1,000元减50") >= {1000, 50}
    assert 7 not in numbers_in("17 days, 7.5 hours, 一下")


def test_fact_check_accepts_paraphrases_in_both_languages():
    world = World.create(0).with_rule_change("return_window", {"days": 15})
    policy = world.policies["return_window"]
    assert states_policy(policy, "亲，签收后十五天内都能退货哦")
    assert states_policy(policy, "Returns are accepted for fifteen days after delivery.")
    assert not states_policy(policy, "亲，签收后7天内都能退货哦")
    assert not states_policy(policy, "15 days")  # a number alone does not say what it is about


def test_rule_change_bumps_the_version_and_moves_every_fact():
    world = World.create(1)
    before = world.policies["return_window"]
    changed = world.with_rule_change("return_window")
    after = changed.policies["return_window"]
    assert after.version == before.version + 1
    assert all(after.facts[name] != value for name, value in before.facts.items())
    assert not states_policy(after, before.answer("zh")) and states_policy(after, after.answer("zh"))
    assert {i: p for i, p in changed.policies.items() if i != "return_window"} == \
           {i: p for i, p in world.policies.items() if i != "return_window"}
    assert world.policies["return_window"] is before, "worlds are immutable"


def test_rule_change_to_given_facts_and_bad_facts():
    world = World.create(2).with_rule_change("return_window", {"days": 15})
    assert dict(world.policies["return_window"].facts) == {"days": 15}
    with pytest.raises(ValueError, match="days"):
        world.with_rule_change("return_window", {"weeks": 2})


def test_new_service_adds_an_intent_once():
    world = World.create(4)
    new = NEW_SERVICES[0].intent
    launched = world.with_new_service(new)
    assert new not in world.intents and new in launched.intents
    assert launched.policies[new].version == 1
    with pytest.raises(ValueError):
        launched.with_new_service(new)


def test_policy_update_event_is_signed_complete_and_round_trips():
    policy = World.create(6).with_rule_change("return_window").policies["return_window"]
    update = policy_update_event(policy, key=KEY, event_id="e1", effective_at=WHEN)
    assert verify(update, KEY) and not verify(update, "another-key")
    assert (update.policy_id, update.version, update.intent) == (policy.policy_id, 2, "return_window")
    assert update.facts == dict(policy.facts) and set(update.text) == set(LOCALES)
    assert {e.locale for e in update.examples} == set(LOCALES)
    assert all(states_policy(policy, e.answer) for e in update.examples)
    assert PolicyUpdate.from_bytes(update.to_bytes()) == update


def test_catalog_choices_never_share_a_value_within_a_policy():
    """A wrong answer could otherwise state the rule by accident (see simulator.catalog)."""
    for spec in SERVICES + NEW_SERVICES:
        values = [v for choices in spec.choices.values() for v in choices]
        assert len(values) == len(set(values)), spec.intent
        assert all(len(choices) >= 2 for choices in spec.choices.values()), spec.intent
