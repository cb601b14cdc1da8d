"""The snapshot suite: what refuses a training snapshot, and that it names rows and groups by id only."""

from __future__ import annotations

import json

import pytest

from infra.settings import Settings
from learners.corpus import shop_corpus
from learners.dataset_checks import DatasetChecks, SnapshotRefused, count_examples, prompt_key
from learners.examples import Example
from learners.rules import shop_rules
from learners.shop import normalize

RULES = shop_rules(Settings())
CORPUS = shop_corpus(RULES)
PHONE, EMAIL, ID_NUMBER, CARD = "13812345678", "zhang.wei@example.com", "110101199003074578", "6222021234567890123"


@pytest.fixture(scope="module")
def checks() -> DatasetChecks:
    return DatasetChecks()


def _with(index: int, **changes: object) -> list[Example]:
    """The corpus with example ``index`` changed (by ``model_copy``: no validation, as rows read from disk)."""
    return [*CORPUS[:index], CORPUS[index].model_copy(update=changes), *CORPUS[index + 1:]]


def test_the_corpus_passes(checks):
    report = checks.run(CORPUS, parent_counts=count_examples(CORPUS), min_examples=len(CORPUS),
                        held_out=RULES.held_out_keys())
    assert report.passed and report.failed == {}
    assert {"no_phone", "unique_prompt", "not_held_out", "intent_share", "locale_share",
            "min_examples"} <= set(report.checks)


@pytest.mark.parametrize(("field", "value", "check"), [
    ("question", f"my number is {PHONE}", "no_phone"),
    ("answer", f"write to {EMAIL}", "no_email"),
    ("context", f"身份证{ID_NUMBER}", "no_id_number"),
    ("answer", f"卡号 {CARD}", "no_bank_card"),
])
def test_personal_data_in_any_text_fails_by_row_id(checks, field, value, check):
    report = checks.run(_with(7, **{field: value, "source_id": "leak"}), parent_counts=None, min_examples=1)
    assert report.failed.keys() >= {check} and report.failed[check] == ["leak#8"]  # line 8 of examples.jsonl
    assert value not in json.dumps(report.summary()) and value not in str(SnapshotRefused(report))


def test_placeholders_and_shop_codes_pass(checks):
    clean = _with(3, answer="I sent it to <PHONE_1>; order DD20240714145896, tracking SF1234567890123")
    assert checks.run(clean, parent_counts=None, min_examples=1).passed


@pytest.mark.parametrize(("change", "check"), [
    ({"question": "q" * 2001}, "question_length"),
    ({"answer": "a" * 4001}, "answer_length"),
    ({"context": "", "question": "a question asked once"}, "context_length"),  # "" would read as no context
    ({"locale": "fr"}, "known_locale"),
])
def test_text_sizes_and_locales_follow_the_example_contract(checks, change, check):
    report = checks.run(_with(0, **change), parent_counts=None, min_examples=1)
    assert report.failed[check] == [f"{CORPUS[0].source_id}#1"]


def test_prompts_that_normalize_alike_are_duplicates(checks):
    first = CORPUS[0]
    twin = first.model_copy(update={"question": f"  {first.question.upper()} ", "answer": "another answer"})
    assert normalize(twin.question) == normalize(first.question) and prompt_key(twin) == prompt_key(first)
    assert prompt_key(first.model_copy(update={"context": "another rule"})) != prompt_key(first)
    report = checks.run([*CORPUS, twin], parent_counts=None, min_examples=1)
    assert report.failed == {"unique_prompt": [f"{first.source_id}#1", f"{twin.source_id}#{len(CORPUS) + 1}"]}


def test_a_question_of_the_held_out_evaluation_set_is_refused(checks):
    held_out = RULES["invoice"].held_out("zh")[1]
    report = checks.run(_with(5, question=f" {held_out}", source_id="evaluation"), parent_counts=None, min_examples=1,
                        held_out=RULES.held_out_keys())
    assert report.failed == {"not_held_out": ["evaluation#6"]}


def test_an_intent_under_its_floor_fails_by_intent_name(checks):
    rare = [e for e in CORPUS if e.intent != "invoice"] + [e for e in CORPUS if e.intent == "invoice"][:2]
    report = checks.run(rare, parent_counts=None, min_examples=1)
    assert report.failed == {"intent_share": ["intent:invoice"]}


def test_a_refresh_may_not_starve_or_lose_an_intent_of_its_parent(checks):
    parent = count_examples(CORPUS)
    halved = [e for e in CORPUS if e.intent != "coupon"] + [e for e in CORPUS if e.intent == "coupon"][:30]
    lost = [e for e in CORPUS if e.intent != "cancellation"]
    assert checks.run(halved, parent_counts=parent, min_examples=1).failed == {"intent_share": ["intent:coupon"]}
    assert checks.run(halved, parent_counts=None, min_examples=1).passed  # on its own, balanced enough
    assert checks.run(lost, parent_counts=parent, min_examples=1).failed == {"intent_share": ["intent:cancellation"]}


def test_a_locale_under_its_floor_and_a_small_snapshot_fail(checks):
    mostly_zh = [e for e in CORPUS if e.locale == "zh"] + [e for e in CORPUS if e.locale == "en"][:10]
    report = checks.run(mostly_zh, parent_counts=None, min_examples=len(mostly_zh) + 1)
    assert report.failed == {"locale_share": ["locale:en"], "min_examples": ["snapshot:size"]}


def test_refusal_message_lists_ids_per_check_and_the_report_keeps_all(checks):
    leaks = [CORPUS[i].model_copy(update={"answer": f"call {PHONE}", "source_id": f"leak{i}"}) for i in range(8)]
    report = checks.run([*leaks, *CORPUS[8:]], parent_counts=None, min_examples=1)
    message = str(SnapshotRefused(report))
    assert len(report.failed["no_phone"]) == 8 and message.count("leak") == 5 and message.endswith("...)")
    assert PHONE not in message


def test_an_empty_snapshot_fails_on_size_only(checks):
    assert checks.run([], parent_counts=None, min_examples=1).failed == {"min_examples": ["snapshot:size"]}
