"""The answer judge for any shop: facts stated in any usual form, the reference answer where no facts are
declared, the topic test, and the LLM judge's reading of a reply."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from infra.errors import FlywheelError
from infra.settings import Settings
from learners.judge import REFERENCE_THRESHOLD, RuleJudge, numbers_in, states_facts
from learners.llm_judge import judge_for, read_verdict
from learners.rules import Rules
from learners.shop import load_shop
from learners.text_metrics import chrf
from learners.variants import fact_variants
from tests.conftest import REPO

SHOPS = {name: Rules.from_shop(load_shop(REPO / "shops" / name / "shop.yaml")) for name in ("demo", "abcd")}


def test_numbers_are_read_however_they_are_written():
    assert {7, 15, 20, 120, 2000, 12} <= numbers_in("七天内，十五个工作日，二十元，一百二十分钟，两千元，１２小时")
    assert {15, 21, 30} <= numbers_in("within fifteen days, twenty-one hours or Thirty minutes")
    assert numbers_in("满1,000元减50") >= {1000, 50}
    assert 7 not in numbers_in("17 days, 7.5 hours, 一下")


def test_amounts_count_with_or_without_currency_and_text_facts_verbatim():
    facts = {"refund": 50, "fee": 9.9, "method": "original payment method"}
    assert states_facts(facts, "We refund $50.00 to your Original Payment Method; the fee is ¥9.9.")
    assert states_facts(facts, "退款50美元，原路退回 original payment method，手续费9.9元")
    assert not states_facts(facts, "We refund $50 to your card; the fee is 9.9 yuan.")
    assert not states_facts(facts, "We refund $500 to your original payment method; the fee is 9.9.")


@pytest.mark.parametrize("shop", SHOPS)
def test_only_the_right_answer_passes(shop):
    """Each intent's reference answer passes; every other intent's answer fails, and so does the same answer with
    other fact values: whether the judge reads facts or compares with the reference."""
    rules = SHOPS[shop]
    judge = RuleJudge(rules)
    for rule in rules.answered:
        for locale in rule.locales:
            assert judge("q", locale, rule, rule.answer(locale)).correct, (rule.intent, locale)
            for other in rules.answered:
                if other.intent != rule.intent and locale in other.locales:
                    assert not judge("q", locale, rule, other.answer(locale)).correct, (rule.intent, other.intent)
            for variant in fact_variants(rule.policy, 3) if rule.policy else ():
                assert not judge("q", locale, rule, replace(rule, policy=variant).answer(locale)).correct


def test_a_rule_with_facts_is_judged_by_them_and_one_without_by_the_reference():
    rules = SHOPS["abcd"]
    judge = RuleJudge(rules)
    refund = rules["refund_request"]
    assert judge("q", "en", refund, refund.answer("en")).judge == "facts"
    free = next(r for r in rules.answered if not r.facts)
    assert judge("q", "en", free, free.answer("en")).judge == "reference"
    paraphrase = free.answer("en").replace(".", "!").lower()
    assert chrf(paraphrase, free.answer("en")) >= REFERENCE_THRESHOLD and judge("q", "en", free, paraphrase).correct


def test_the_topic_test_uses_keywords_when_given_and_the_closest_reference_otherwise():
    demo = SHOPS["demo"]
    judge = RuleJudge(demo)
    returns = demo["return_window"]
    assert not judge("q", "en", returns, "7 days").correct  # a number alone does not say what it is about
    assert judge("q", "en", returns, "Returns are accepted for seven days after delivery.").correct
    keyless = replace(returns, keywords={})
    assert judge.about(keyless, "en", returns.answer("en"))
    assert not judge.about(keyless, "en", demo["invoice"].answer("en") + " 7")


@pytest.mark.parametrize(("reply", "verdict"), [
    ("YES", True), ("yes.", True), ("No", False), ("NO - the number is wrong", False), ("是", True), ("否", False),
    ("The return window is 7 days.", None), ("", None), ("not sure", None),
])
def test_the_llm_judge_reads_yes_or_no_and_nothing_else(reply, verdict):
    assert read_verdict(reply) is verdict


def test_the_llm_judge_needs_a_model_name():
    rules = SHOPS["demo"]
    assert judge_for(Settings(), rules).name == "rules"
    with pytest.raises(FlywheelError, match="FLYWHEEL_JUDGE_MODEL"):
        judge_for(Settings(judge_url="http://127.0.0.1:9/v1"), rules)
    assert judge_for(Settings(judge_url="http://127.0.0.1:9/v1", judge_model="judge-7b"), rules).name == \
        "llm:judge-7b"
