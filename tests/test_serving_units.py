"""Serving's pieces without Ray: the answer filter, the stream guard, the handoff rule, the cache, the canary
split, the knowledge base and the admin token's check."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infra.errors import FlywheelError
from infra.settings import Settings
from serving.api import admin_key
from serving.cache import ResponseCache
from serving.guards import MASK, AnswerFilter, needs_handoff
from learners.rules import PolicyVersion
from serving.knowledge import KnowledgeBase, detect_locale
from serving.routing import Split, canary_bucket
from simulator.world import World
from streams.anonymizer import Anonymizer
from tests.conftest import flywheel

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


def streamed(answer_filter: AnswerFilter, pieces: list[str]) -> str:
    """What a client of the streamed answer receives, piece by piece as the model produced them."""
    guard = answer_filter.stream()
    return "".join(guard.feed(piece) for piece in pieces) + guard.finish()


def test_the_stream_guard_never_releases_part_of_a_phone_number(anonymizer):
    pieces = ["Sure, you can call us ", "on 138", "1234", "5678 any time, or read ", "the help page for more."]
    sent = streamed(AnswerFilter(anonymizer, [], max_chars=400), pieces)
    assert "138" not in sent and "5678" not in sent and MASK in sent
    assert sent.startswith("Sure, you can call us") and sent.endswith("the help page for more.")


def test_the_stream_guard_releases_a_sentence_once_the_next_is_complete(anonymizer):
    guard = AnswerFilter(anonymizer, [], max_chars=400).stream()
    first = "You can return any item within seven days of delivery."
    assert guard.feed(first + " Refunds take three days.") == ""
    assert guard.feed(" Anything") == first and guard.sent
    assert guard.finish() == " Refunds take three days. Anything"


def test_a_name_given_away_later_is_masked_where_it_first_stood_and_no_word_is_garbled(anonymizer):
    answer_filter = AnswerFilter(anonymizer, [], max_chars=400)
    answer = "Li Wei will ship your first refund today. If anything is missing, my name is Li Wei."
    sent = streamed(answer_filter, [answer[i:i + 3] for i in range(0, len(answer), 3)])
    assert sent == answer_filter(answer) == \
        f"{MASK} will ship your first refund today. If anything is missing, my name is {MASK}."


SENTENCES = st.sampled_from([
    "You can return any item within 7 days of delivery.", "Refunds reach your card in 3.5 working days!",
    "退货期限是签收后七天。", "请问还有什么可以帮您？", "Sure; the order ships tomorrow.", "Thanks", " ", "\n",
    "Call 13812345678 any time.", "Mail li.lei@example.com for help.", "my name is Li Wei.", "我叫王伟，",
    "Li Wei will call you.", "Dr. Smith approved it.", "Ask a Competitor", "ref <PHONE_1>.", "卡号6222021234567890128。",
])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(SENTENCES, max_size=8), cuts=st.lists(st.integers(1, 12), min_size=1, max_size=40),
       max_chars=st.sampled_from([40, 120, 400]))
def test_the_streamed_answer_is_the_non_streamed_answer_whatever_the_pieces(anonymizer, parts, cuts, max_chars):
    answer_filter = AnswerFilter(anonymizer, ["competitor"], max_chars=max_chars)
    answer = " ".join(parts)
    pieces, at = [], 0
    while at < len(answer):
        pieces.append(answer[at:at + cuts[len(pieces) % len(cuts)]])
        at += len(pieces[-1])
    whole = answer_filter(answer)
    assert streamed(answer_filter, pieces) == whole
    assert len(whole) <= max_chars
    assert not any(secret in whole for secret in ("13812345678", "li.lei@example.com", "王伟", "<PHONE_1>",
                                                  "6222021234567890128", "Competitor"))


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


@pytest.mark.parametrize(("token", "why"), [("", "is empty"), ("   ", "is empty"),
                                            ("CHANGE-ME-admin-token", "CHANGE-ME placeholder"),
                                            ("s3cret-but-short", "shorter than 32 bytes")])
def test_an_admin_token_that_is_set_but_empty_a_placeholder_or_short_is_refused(token, why):
    with pytest.raises(FlywheelError, match=why):
        admin_key(Settings(admin_token=token))


def test_the_admin_endpoints_are_off_without_a_token_and_on_with_a_long_one():
    assert admin_key(Settings()) is None
    assert admin_key(Settings(admin_token="a" * 32)) == b"a" * 32


def test_serve_with_an_empty_admin_token_stops_at_start_with_one_line(tmp_path):
    served = flywheel("serve", env={"FLYWHEEL_ADMIN_TOKEN": "", "FLYWHEEL_DATA_DIR": str(tmp_path)}, timeout=60)
    assert served.returncode == 1
    assert served.stderr.strip().splitlines() == [served.stderr.strip()] and "FLYWHEEL_ADMIN_TOKEN is empty" in \
        served.stderr
