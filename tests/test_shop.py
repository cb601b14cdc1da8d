"""The shop is data: the shop file's format and its one-line errors, the rules in force (the file overlaid with
published policies, new services included), and a first shop file drafted from labelled questions."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from infra.errors import FlywheelError
from learners.rules import PolicyVersion, Rules, describe
from learners.shop import load_shop, render, slots
from learners.shop_init import draft_shop
from streams.events import PolicyExample, PolicyQuestion, PolicyUpdate
from tests.conftest import REPO, flywheel

DEMO, ABCD = REPO / "shops" / "demo" / "shop.yaml", REPO / "shops" / "abcd" / "shop.yaml"
BANKING77 = REPO.parent / "shared" / "data" / "banking77" / "train.csv"
GOOD = """\
name: Tiny shop
locales: [en]
intents:
  - id: returns
    description: Returning an item.
    examples: {en: ["can i return this?", "return window?"]}
    answer: {en: "You can return items within {days} days."}
policies:
  - id: returns-policy
    intent: returns
    text: {en: "Items can be returned within 30 days of delivery."}
    facts: {days: 30}
held_out:
  - {intent: returns, locale: en, question: "how long do returns take to be accepted?"}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "shop.yaml"
    path.write_text(text)
    return path


def test_both_shipped_shops_are_valid_and_unlike_each_other():
    demo, abcd = load_shop(DEMO), load_shop(ABCD)
    assert len(demo.intents) == 13 and demo.locales == ["zh", "en"]
    assert abcd.locales == ["en"] and len(abcd.intents) >= 14
    assert not {i.id for i in demo.intents} & {i.id for i in abcd.intents}
    demo_facts = {f for p in demo.policies for f in p.facts}
    abcd_facts = {f for p in abcd.policies for f in p.facts}
    assert not demo_facts & abcd_facts
    assert any(isinstance(v, str) for p in abcd.policies for v in p.facts.values())  # a text fact
    assert any(not p.facts for p in abcd.policies) and any(i.handoff for i in abcd.intents)


@pytest.mark.parametrize(("change", "expected"), [
    (("    answer: {en:", "    colour: red\n    answer: {en:"), r"shop.yaml:7: intents\.0\.colour: Extra inputs"),
    (("    intent: returns\n", "    intent: refunds\n"), r"shop.yaml:10: policies\.0\.intent: names intent 'refunds'"),
    (("{days} days", "{days} days, {fee} fee"), r"shop.yaml:7: intents\.0\.answer\.en: slot \{fee\} names a fact"),
    (("locales: [en]", "locales: [en, zh]"), r"intents\.0\.examples: intent 'returns' has no zh example"),
    (("  - id: returns-policy", "  - id: returns-policy\n    intent: returns\n    text: {en: x}\n  - id: returns-policy"),
     r"policies\.1\.id: duplicate policy 'returns-policy'"),
    (('question: "how long do returns take to be accepted?"', 'question: "Return window?"'),
     r"held_out\.0\.question: is also an example question"),
    (("facts: {days: 30}", "facts: {days: true}"), r"policies\.0\.facts\.days"),
    (("name: Tiny shop", "name: [unclosed"), r"shop.yaml:\d+: not valid YAML"),
])
def test_a_bad_shop_file_is_one_line_naming_file_line_and_field(tmp_path, change, expected):
    path = write(tmp_path, GOOD.replace(*change))
    with pytest.raises(FlywheelError, match=expected) as error:
        load_shop(path)
    assert "\n" not in str(error.value)


def test_flywheel_shop_check_answers_in_one_line(tmp_path):
    good = flywheel("shop", "check", str(write(tmp_path, GOOD)), "--json")
    assert good.returncode == 0 and json.loads(good.stdout)["intents"] == 1
    bad = flywheel("shop", "check", str(write(tmp_path, GOOD.replace("intent: returns\n", "intent: nope\n"))))
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1 and "names intent 'nope'" in bad.stderr
    assert "Traceback" not in bad.stderr
    missing = flywheel("shop", "check", str(tmp_path / "absent.yaml"))
    assert missing.returncode == 1 and "no shop file" in missing.stderr


def test_a_reference_answer_renders_the_facts_in_force():
    assert slots("within {days} days, {fee} yuan, {{literal}}") == ["days", "fee", "literal"]
    assert render("within {days} days for {fee} yuan", {"days": 30, "fee": 9.9}) == "within 30 days for 9.9 yuan"
    rules = Rules.from_shop(load_shop(DEMO))
    assert "7" in rules["return_window"].answer("en") and "{" not in rules["return_window"].answer("zh")


def update(intent: str, version: int, facts: dict, *, policy_id: str = "returns-policy", examples=(), held_out=(),
           at: datetime = datetime(2026, 1, 1, tzinfo=UTC)) -> PolicyVersion:
    return PolicyVersion.from_update(PolicyUpdate(
        policy_id=policy_id, version=version, intent=intent, effective_at=at, text={"en": f"Rule {facts}"},
        facts=facts, examples=list(examples), held_out=list(held_out), author="policy-team"))


def test_a_published_version_governs_its_intent_and_an_older_one_does_not(tmp_path):
    rules = Rules.from_shop(load_shop(write(tmp_path, GOOD)))
    newer = rules.apply(update("returns", 2, {"days": 15}))
    assert newer["returns"].version == 2 and newer["returns"].answer("en") == "You can return items within 15 days."
    assert newer.apply(update("returns", 1, {"days": 99})) is newer
    assert newer.applied == (("returns-policy", 2),)


def test_a_version_that_drops_a_fact_answers_with_its_published_answer(tmp_path):
    rules = Rules.from_shop(load_shop(write(tmp_path, GOOD)))
    example = PolicyExample(locale="en", question="can i return this?", answer="Returns are free for 60 days.")
    moved = rules.apply(update("returns", 2, {"weeks": 8}, examples=[example]))
    assert moved["returns"].answer("en") == "Returns are free for 60 days."


def test_a_policy_for_an_intent_the_shop_lacks_is_a_new_service_with_its_questions(tmp_path):
    rules = Rules.from_shop(load_shop(write(tmp_path, GOOD)))
    service = update("gift_wrap", 1, {"price": 4.99}, policy_id="gift-wrap", examples=[
        PolicyExample(locale="en", question="do you gift wrap?", answer="Gift wrapping costs $4.99.")],
        held_out=[PolicyQuestion(locale="en", question="can my order come wrapped as a present?")])
    grown = rules.apply(service)
    rule = grown["gift_wrap"]
    assert rule.questions("en") == ("do you gift wrap?",) and rule.answer("en") == "Gift wrapping costs $4.99."
    assert rule.text("en") == "Rule {'price': 4.99}" and rule.held_out("en")
    assert "can my order come wrapped as a present?" in grown.held_out_keys()
    assert "gift_wrap" in [i["intent"] for i in describe(grown)["intents"]]
    cheaper = update("gift_wrap", 2, {"price": 2.99}, policy_id="gift-wrap", examples=[
        PolicyExample(locale="en", question="how much is gift wrap?", answer="Gift wrapping costs $2.99.")])
    again = grown.apply(cheaper)["gift_wrap"]
    assert again.answer("en") == "Gift wrapping costs $2.99." and len(again.questions("en")) == 2


def test_policies_apply_in_effective_order(tmp_path):
    rules = Rules.from_shop(load_shop(write(tmp_path, GOOD)))
    now = datetime(2026, 6, 1, tzinfo=UTC)
    late = update("returns", 3, {"days": 45}, at=now)
    early = update("returns", 2, {"days": 14}, at=now - timedelta(days=1))
    assert rules.apply_all([late, early])["returns"].facts == {"days": 45}


def test_shop_init_drafts_a_valid_shop_from_banking77_and_a_policy_folder(tmp_path):
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "card_arrival.txt").write_text("Cards arrive within 7 working days.\n")
    (policies / "card_arrival.zh.txt").write_text("不会被读取")
    out = tmp_path / "bank" / "shop.yaml"
    draft = draft_shop(BANKING77, "text", "category", policies, out, examples=10, held_out=4)
    shop = load_shop(out)
    assert draft["intents"] == len(shop.intents) == 77
    assert [p.intent for p in shop.policies] == ["card_arrival"]
    arrival = shop.intent("card_arrival")
    assert arrival.answer["en"] == "Cards arrive within 7 working days." and not arrival.handoff
    assert all(i.handoff for i in shop.intents if i.id != "card_arrival")
    assert all(len(i.examples["en"]) == 10 for i in shop.intents) and len(shop.held_out) == 77 * 4
    with pytest.raises(FlywheelError, match="exists"):
        draft_shop(BANKING77, "text", "category", policies, out)


def test_shop_init_refuses_a_policy_for_an_unknown_intent(tmp_path):
    (tmp_path / "warp_drive.txt").write_text("No.")
    with pytest.raises(FlywheelError, match="warp_drive"):
        draft_shop(BANKING77, "text", "category", tmp_path, tmp_path / "shop.yaml")
