"""Personal data in customer messages: valid identifiers, realistic formats, exact ground-truth spans."""

from __future__ import annotations

import random
import re
from collections import Counter

from simulator import identifiers
from simulator.customers import STRUCTURED, Customers, Fragment, clean_samples, message, pii_samples, render

PERSONAL_TYPES = {"PERSON", "PHONE", "EMAIL", "ID_NUMBER", "BANK_CARD", "ADDRESS"}


def test_ground_truth_spans_point_at_the_injected_values():
    samples = pii_samples(600, seed=1)
    for sample in samples:
        assert any(e.type in PERSONAL_TYPES for e in sample.entities), sample.text
        for entity in sample.entities:
            assert sample.text[entity.start:entity.end] == entity.value
    types = Counter(e.type for s in samples for e in s.entities)
    assert set(types) == PERSONAL_TYPES | {"ORDER_ID"}
    assert all(types[t] >= 30 for t in STRUCTURED), types
    assert {s.locale for s in samples} == {"zh", "en"}


def test_identifiers_pass_their_checksums():
    for sample in pii_samples(400, seed=2):
        for entity in sample.entities:
            if entity.type == "ID_NUMBER":
                assert identifiers.resident_id_valid(entity.value), entity.value
            if entity.type == "BANK_CARD":
                assert identifiers.luhn_valid(entity.value), entity.value
            if entity.type == "ORDER_ID":
                assert identifiers.ORDER_ID.fullmatch(entity.value)


def test_checksum_validators_reject_corrupted_numbers():
    assert identifiers.resident_id_valid("11010519491231002X")
    assert not identifiers.resident_id_valid("110105194912310021")
    assert identifiers.luhn_valid("4111 1111 1111 1111") and not identifiers.luhn_valid("4111 1111 1111 1112")


def test_phones_come_in_the_formats_people_write():
    rng = random.Random(3)
    mobiles = {identifiers.cn_mobile(rng) for _ in range(300)}
    assert any(re.fullmatch(r"1[3-9]\d{9}", m) for m in mobiles)
    assert any(re.fullmatch(r"\+86 1\d{2} \d{4} \d{4}", m) for m in mobiles)
    assert any(re.fullmatch(r"0\d{2,3}-\d{8}", identifiers.cn_landline(rng)) for _ in range(100))
    assert any(re.fullmatch(r"\(\d{3}\) \d{3}-\d{4}", identifiers.us_phone(rng)) for _ in range(100))


def test_customers_of_both_locales_carry_their_kind_of_data():
    customers = Customers("t")
    zh, en = customers.draw("zh"), customers.draw("en")
    assert re.search(r"[\u4e00-\u9fff]", zh.name) and re.search(r"[\u4e00-\u9fff]", zh.address)
    assert zh.id_number and zh.landline and "@" in zh.email
    assert en.id_number is None and " " in en.name and "@" in en.email


def test_clean_samples_hold_no_personal_data_but_keep_order_numbers():
    samples = clean_samples(400, seed=4)
    assert all(e.type == "ORDER_ID" for s in samples for e in s.entities)
    with_orders = [s for s in samples if s.entities]
    assert 0.15 * len(samples) < len(with_orders) < 0.5 * len(samples)
    assert all(s.text[e.start:e.end] == e.value for s in with_orders for e in s.entities)


def test_samples_are_reproducible_and_follow_the_locale():
    assert pii_samples(50, seed=9) == pii_samples(50, seed=9)
    assert pii_samples(50, seed=9) != pii_samples(50, seed=10)
    assert {s.locale for s in pii_samples(50, seed=9, locale="zh")} == {"zh"}


def test_fragments_shift_spans_when_joined():
    joined = Fragment.join("，", [render("手机{MOBILE}", {"MOBILE": "13812345678"}),
                                 render("我叫{NAME}", {"NAME": "张伟"})])
    assert [(e.type, joined.text[e.start:e.end]) for e in joined.entities] == [("PHONE", "13812345678"),
                                                                               ("PERSON", "张伟")]


def test_messages_keep_the_question():
    rng, customer = random.Random(5), Customers("m").draw("en")
    for _ in range(50):
        assert "How long is the warranty?" in message("How long is the warranty?", "en", rng, customer).text


def test_customers_type_the_shop_s_questions_their_own_way():
    """Greetings, dropped question marks, lower case and the odd swapped letter: never a word lost."""
    import random
    from collections import Counter

    from simulator.customers import typed

    rng = random.Random(3)
    question = "How many days do I have to return an item?"
    forms = [typed(question, "en", rng) for _ in range(300)]
    assert question in forms and len(set(forms)) > 10
    assert any(f.startswith(("hi", "hello", "hey", "quick")) for f in forms) and any(f == f.lower() for f in forms)
    letters = Counter(c for c in question.lower() if c.isalpha())
    assert all(not letters - Counter(c for c in form.lower() if c.isalpha()) for form in forms)
    assert any(typed("退货期限是几天啊", "zh", rng).startswith(("亲", "你好", "请问")) for _ in range(50))
