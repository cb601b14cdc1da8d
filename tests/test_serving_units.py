"""Serving's pieces without Ray: the answer filter, the stream guard, the handoff rule, the cache, the canary
split and the knowledge base."""

from __future__ import annotations

import pytest

from serving.cache import ResponseCache
from serving.guards import MASK, AnswerFilter, StreamGuard, needs_handoff
from learners.rules import PolicyVersion
from serving.knowledge import KnowledgeBase, detect_locale
from serving.routing import Split, canary_bucket
from simulator.world import World
from streams.anonymizer import Anonymizer

WORLD = World.create(7)


@pytest.fixture(scope="module")
def anonymizer() -> Anonymizer:
    return Anonymizer()


@pytest.fixture(scope="module")
def knowledge() -> KnowledgeBase:
    return KnowledgeBase(WORLD.rules)


def test_the_filter_masks_personal_data_sensitive_words_and_echoed_placeholders(anonymizer):
    answer_filter = AnswerFilter(anonymizer, ["competitor"], max_chars=400)
    text = answer_filter("Call 13812345678 or mail li.lei@example.com, unlike Competitor; ref <PHONE_1>.")
    assert "13812345678" not in text and "li.lei@example.com" not in text and "<PHONE_1>" not in text
    assert "Competitor" not in text and text.count(MASK) == 4


def test_long_answers_are_cut_at_a_sentence_end(anonymizer):
    answer_filter = AnswerFilter(anonymizer, [], max_chars=40)
    assert answer_filter("First sentence here. Second sentence is much longer than the limit.") == \
        "First sentence here."
    assert answer_filter("退货期限是七天。超过期限不能退货，请您谅解。" + "好" * 50) == "退货期限是七天。超过期限不能退货，请您谅解。"
    assert answer_filter("x" * 100) == "x" * 39 + "…"


def test_the_stream_guard_never_releases_part_of_a_phone_number(anonymizer):
    guard = StreamGuard(AnswerFilter(anonymizer, [], max_chars=400), max_chars=400)
    pieces = ["Sure, you can call us ", "on 138", "1234", "5678 any time, or read ", "the help page for more."]
    sent = "".join(guard.feed(piece) for piece in pieces) + guard.finish()
    assert "138" not in sent and "5678" not in sent and MASK in sent
    assert sent.startswith("Sure, you can call us") and sent.endswith("the help page for more.")


def test_the_stream_guard_releases_text_before_the_answer_ends(anonymizer):
    guard = StreamGuard(AnswerFilter(anonymizer, [], max_chars=400), max_chars=400)
    early = "".join(guard.feed(word + " ") for word in "You can return any item within seven days of delivery".split())
    assert early and guard.sent


def test_a_person_takes_over_on_request_or_after_the_third_turn():
    assert needs_handoff(["where is my refund"], 3) is False
    assert needs_handoff(["a", "b", "c"], 3) is True
    assert needs_handoff(["转人工"], 3) is True
    assert needs_handoff(["Can I talk to a person please"], 3) is True
    assert needs_handoff(["how do I reset my password"], 3) is False


def test_the_cache_expires_entries_and_evicts_the_least_recently_used():
    now = [0.0]
    cache: ResponseCache[str, str] = ResponseCache(size=2, ttl_s=10, clock=lambda: now[0])
    cache.put("a", "1")
    cache.put("b", "2")
    assert cache.get("a") == "1"
    cache.put("c", "3")  # "b" was used least recently
    assert cache.get("b") is None and cache.get("c") == "3"
    now[0] = 11
    assert cache.get("a") is None and cache.hits == 2 and cache.misses == 2
    off: ResponseCache[str, str] = ResponseCache(size=0, ttl_s=10)
    off.put("a", "1")
    assert off.get("a") is None


def test_the_canary_split_is_sticky_and_close_to_its_share():
    split = Split(champion="lora-a", canary="lora-b", canary_share=0.2)
    ids = [f"conv-{n}" for n in range(5000)]
    chosen = [split.choose(i) for i in ids]
    assert chosen == [split.choose(i) for i in ids]
    assert 0.17 < chosen.count("lora-b") / len(ids) < 0.23
    wider = Split(champion="lora-a", canary="lora-b", canary_share=0.5)
    assert all(wider.choose(i) == "lora-b" for i, c in zip(ids, chosen, strict=True) if c == "lora-b")
    assert Split(champion="lora-a").choose("conv-1") == "lora-a"
    assert 0 <= canary_bucket("x") < 1


def test_the_router_knows_every_intent_of_the_shop_and_a_launched_service(knowledge):
    for rule in WORLD.rules.rules.values():
        for locale in ("zh", "en"):
            routed = knowledge.route(rule.questions(locale)[0])
            assert routed is not None and routed.label == rule.intent
    service = WORLD.services["trade_in"]
    assert knowledge.route(service.examples[0].question).label != "trade_in"
    grown = KnowledgeBase(WORLD.rules.apply(PolicyVersion.from_update(service)))
    assert grown.route(service.examples[-1].question).label == "trade_in"
    assert grown.faq_answer("trade_in", "en", "trade in my phone?") in {e.answer for e in service.examples}
    assert grown.fingerprint != knowledge.fingerprint


def test_canonical_questions_map_a_customer_message_to_the_shop_s_own_words(knowledge):
    asked = "name's <PERSON_1>, order DD20241014573967. how long is the return window"
    assert knowledge.canonical_question(asked, 0.3) == "how long is the return window"
    assert knowledge.canonical_question(asked, 1.01) == asked
    assert detect_locale("退货期限是几天啊") == "zh" and detect_locale("refund?") == "en"
