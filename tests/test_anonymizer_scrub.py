"""The anonymizer as the pipeline uses it: placeholders stable across a conversation, offsets into the input,
names learned from one turn and found in the next, options, and no network."""

from __future__ import annotations

import pytest
import requests
import tldextract
from presidio_analyzer import AnalyzerEngine
from tldextract import tldextract as tldextract_module

from streams.anonymizer import Anonymizer, AnonymizerOptions, EntityType, measure, presidio_default_analyzer
from streams.anonymizer.session import Session, value_key


@pytest.fixture(scope="module")
def anonymizer() -> Anonymizer:
    return Anonymizer()


def scrub_dialog(anonymizer: Anonymizer, turns: list[str]) -> list[str]:
    session = anonymizer.session()
    return [anonymizer.scrub(turn, session).text for turn in turns]


def test_a_phone_keeps_its_placeholder_across_turns_and_spellings(anonymizer):
    assert scrub_dialog(anonymizer, ["我的电话是13800138000", "打 138 0013 8000 没人接？", "换成 +86 138-0013-8000 试试"]) == [
        "我的电话是<PHONE_1>", "打 <PHONE_1> 没人接？", "换成 <PHONE_1> 试试"]


def test_a_second_value_of_a_type_gets_the_next_number(anonymizer):
    assert scrub_dialog(anonymizer, ["call 415-555-0100 or +1 (415) 555-0199", "sorry, 415.555.0100 is mine"]) == [
        "call <PHONE_1> or <PHONE_2>", "sorry, <PHONE_1> is mine"]


def test_placeholders_are_numbered_per_type_in_reading_order(anonymizer):
    text = "邮箱b@x.com和a@x.com，电话13900139000，备用13800138000"
    assert anonymizer.scrub(text).text == "邮箱<EMAIL_1>和<EMAIL_2>，电话<PHONE_1>，备用<PHONE_2>"


def test_conversations_do_not_share_placeholders(anonymizer):
    first, second = anonymizer.session(), anonymizer.session()
    anonymizer.scrub("13800138000", first)
    assert anonymizer.scrub("13900139000", second).text == "<PHONE_1>"
    assert anonymizer.scrub("13900139000", first).text == "<PHONE_2>"


def test_offsets_point_at_the_input_text(anonymizer):
    text = "Ｈｉ，我叫王伟，手机１３８００１３８０００，邮箱 wang.wei@163.com，寄到北京市朝阳区建国路88号"
    result = anonymizer.scrub(text)
    assert [(e.type, text[e.start:e.end]) for e in result.entities] == [
        (EntityType.PERSON, "王伟"), (EntityType.PHONE, "１３８００１３８０００"), (EntityType.EMAIL, "wang.wei@163.com"),
        (EntityType.ADDRESS, "北京市朝阳区建国路88号")]
    rebuilt, last = "", 0
    for entity, placeholder in zip(result.entities, ["<PERSON_1>", "<PHONE_1>", "<EMAIL_1>", "<ADDRESS_1>"],
                                   strict=True):
        rebuilt += text[last:entity.start] + placeholder
        last = entity.end
    assert rebuilt + text[last:] == result.text


def test_scrubbing_scrubbed_text_changes_nothing(anonymizer):
    once = anonymizer.scrub("My name is John Smith, card 4111 1111 1111 1111, 我叫王伟 13800138000").text
    assert anonymizer.scrub(once).text == once


def test_a_name_given_once_is_found_again_without_its_cue(anonymizer):
    assert anonymizer.scrub("帮王伟看看订单").text == "帮王伟看看订单"  # alone, no rule finds the name
    assert scrub_dialog(anonymizer, ["我叫王伟想问一下退款", "帮王伟看看订单"]) == [
        "我叫<PERSON_1>想问一下退款", "帮<PERSON_1>看看订单"]


def test_a_learned_name_inside_a_longer_word_is_left(anonymizer):
    assert scrub_dialog(anonymizer, ["My name is Ann Lee", "Annual fee for Ann Lee?"]) == [
        "My name is <PERSON_1>", "Annual fee for <PERSON_1>?"]


def test_a_name_and_its_parts_are_one_person(anonymizer):
    assert scrub_dialog(anonymizer, ["My name is John Smith", "Thanks John", "Noted, Mr. Smith"]) == [
        "My name is <PERSON_1>", "Thanks <PERSON_1>", "Noted, <PERSON_1>"]
    assert scrub_dialog(anonymizer, ["我叫王伟", "王先生您好"]) == ["我叫<PERSON_1>", "<PERSON_1>先生您好"]


@pytest.mark.parametrize(("question", "reply", "scrubbed"), [
    ("您好，请问怎么称呼您？", "王伟", "<PERSON_1>"),
    ("如需回访，方便留一下您的姓名和联系方式吗？", "郭莉 199-6125-6373", "<PERSON_1> <PHONE_1>"),
    ("May I have your name and a phone number or email?", "it's Mary Jones, 415-555-0100",
     "it's <PERSON_1>, <PHONE_1>"),
    ("What's your name, please?", "john smith", "<PERSON_1>"),
])
def test_a_reply_to_a_name_request_opens_with_a_name(anonymizer, question, reply, scrubbed):
    assert scrub_dialog(anonymizer, [question, reply]) == [question, scrubbed]


@pytest.mark.parametrize("reply", ["好的", "Sure", "Not now", "不用了，谢谢"])
def test_declining_to_give_a_name_is_not_a_name(anonymizer, reply):
    assert scrub_dialog(anonymizer, ["请问怎么称呼您？", reply])[1] == reply


def test_a_bare_name_without_a_request_is_left(anonymizer):
    assert scrub_dialog(anonymizer, ["好的", "王伟"]) == ["好的", "王伟"]


def test_order_numbers_can_be_scrubbed_when_configured():
    strict = Anonymizer(AnonymizerOptions(scrub_order_ids=True))
    assert strict.scrub("订单号DD20240512123456，手机13800138000").text == "订单号<ORDER_ID_1>，手机<PHONE_1>"
    assert strict.scrub("订单 13800138000 的物流").text == "订单 <ORDER_ID_1> 的物流"


def test_allow_listed_values_are_kept():
    shop = Anonymizer(AnonymizerOptions(allow_list=("service@shop.example.com", "021-61234567")))
    assert shop.scrub("请发邮件到 service@shop.example.com 或拨打 021-61234567，或联系 a@b.com").text == (
        "请发邮件到 service@shop.example.com 或拨打 021-61234567，或联系 <EMAIL_1>")


def test_value_keys_unify_spellings():
    assert value_key(EntityType.PHONE, "+86 138 0013 8000") == value_key(EntityType.PHONE, "138-0013-8000")
    assert value_key(EntityType.PHONE, "+86 10 1234 5678") == value_key(EntityType.PHONE, "010-12345678")
    assert value_key(EntityType.BANK_CARD, "4111-1111-1111-1111") == value_key(EntityType.BANK_CARD, "4111111111111111")
    assert value_key(EntityType.EMAIL, "A@B.com") == value_key(EntityType.EMAIL, "a@b.COM")
    assert value_key(EntityType.PERSON, "Mr. Smith") == value_key(EntityType.PERSON, "smith")


def test_a_session_is_independent_of_the_anonymizer_that_made_it(anonymizer):
    session = Session()
    assert anonymizer.scrub("13800138000", session).text == "<PHONE_1>"
    assert Anonymizer().scrub("+8613800138000", session).text == "<PHONE_1>"


def test_nothing_is_fetched_from_the_network(monkeypatch, tmp_path):
    """tldextract, as imported, fetches the public-suffix list at first use (and swallows the failure)."""
    fetched: list[str] = []

    def record(session: requests.Session, method: str, url: str, *args: object, **kwargs: object) -> None:
        fetched.append(url)
        raise requests.ConnectionError("no network in this test")

    # a fresh machine: an online extractor with an empty cache
    monkeypatch.setattr(tldextract_module, "TLD_EXTRACTOR", tldextract.TLDExtract(cache_dir=str(tmp_path)))
    monkeypatch.setattr(requests.Session, "request", record)
    assert Anonymizer().scrub("mail me at someone@example.org").text == "mail me at <EMAIL_1>"
    assert presidio_default_analyzer().analyze("mail me at someone@example.org", "en")
    assert fetched == []


def test_presidio_default_analyzer_runs_the_stock_recognizers():
    default = presidio_default_analyzer()
    assert isinstance(default, AnalyzerEngine)
    found = {r.entity_type for r in default.analyze("card 4111 1111 1111 1111, mail a@example.com", "en")}
    assert {"CREDIT_CARD", "EMAIL_ADDRESS"} <= found


def test_measure_reports_both_throughputs_on_the_same_texts():
    result = measure(["我叫王伟，手机13800138000", "Where is my card?", "order #12345678 to 123 Main Street"] * 20,
                     repeats=1)
    assert result["texts"] == 60
    assert result["anonymizer_texts_per_s"] > 0 and result["presidio_default_texts_per_s"] > 0
    assert result["anonymizer_cached_texts_per_s"] > 0
