"""Structured identifiers in the formats people really type, and the Unicode tricks around them.

Every positive case checks that the value is replaced *and* that the reported span points into the original
input (``text[e.start:e.end]`` is the value as typed, Unicode spaces and zero-width characters included); the
negatives are look-alikes that must survive unchanged.
"""

from __future__ import annotations

import io
import json

import pytest

from streams.anonymizer import Anonymizer, EntityType, anonymize_lines
from streams.anonymizer.recognizers.banking import iban_valid
from streams.anonymizer.text import normalize
from tests.anonymizer_harness import found

PHONE, ID, IBAN, IP, DOB = (EntityType.PHONE, EntityType.ID_NUMBER, EntityType.IBAN, EntityType.IP_ADDRESS,
                            EntityType.BIRTH_DATE)


@pytest.fixture(scope="module")
def anonymizer() -> Anonymizer:
    return Anonymizer()



def assert_replaced(anonymizer: Anonymizer, text: str, entity_type: EntityType, value: str) -> None:
    """``value`` (as it stands in ``text``) is the one span found, and the scrubbed text no longer holds it."""
    assert found(anonymizer, text) == [(entity_type, value)], text
    result = anonymizer.scrub(text)
    assert result.text == text.replace(value, f"<{entity_type}_1>"), text


def assert_kept(anonymizer: Anonymizer, text: str) -> None:
    assert anonymizer.scrub(text).text == text, found(anonymizer, text)


# --- Unicode normalisation ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "value"), [
    ("手机 138\u00a00013\u00a08000 谢谢", "138\u00a00013\u00a08000"),          # non-breaking spaces
    ("call +44\u202f20\u202f7946\u202f0958 now", "+44\u202f20\u202f7946\u202f0958"),  # narrow no-break spaces
    ("电话：138\u20090013\u20098000", "138\u20090013\u20098000"),               # thin spaces
    ("手机138\u200b0013\u200b8000吧", "138\u200b0013\u200b8000"),              # zero-width spaces inside
    ("手机1380\u00ad013\ufeff8000", "1380\u00ad013\ufeff8000"),                # soft hyphen, BOM
    ("手机１３８００１３８０００", "１３８００１３８０００"),                             # full-width digits
    ("手机 ١٣٨٠٠١٣٨٠٠٠", "١٣٨٠٠١٣٨٠٠٠"),                                     # Arabic-Indic digits
    ("mobile ۱۳۸۰۰۱۳۸۰۰۰", "۱۳۸۰۰۱۳۸۰۰۰"),                                   # Persian digits
    ("फ़ोन १३८००१३८००० पर", "१३८००१३८०००"),                                     # Devanagari digits
    ("我手机一三八零零一三八零零零", "一三八零零一三八零零零"),                        # Chinese numerals as digits
    ("手机号幺三八〇〇幺三八〇〇〇", "幺三八〇〇幺三八〇〇〇"),                        # 幺 for 1, 〇 for 0
])
def test_unicode_spaces_digits_and_invisible_characters(anonymizer, text, value):
    assert_replaced(anonymizer, text, PHONE, value)


def test_offsets_after_dropped_characters_point_into_the_input(anonymizer):
    text = "\u200b\u200bmail\u200b me: a@example.com, 手机 138\u200b0013\u200b8000"
    result = anonymizer.scrub(text)
    assert [(e.type, text[e.start:e.end]) for e in result.entities] == [
        (EntityType.EMAIL, "a@example.com"), (PHONE, "138\u200b0013\u200b8000")]
    assert result.text == "\u200b\u200bmail\u200b me: <EMAIL_1>, 手机 <PHONE_1>"


def test_batch_output_offsets_index_the_input_line():
    text = "手机138\u200b0013\u200b8000，邮箱 ｚｗ＠ｑｑ．ｃｏｍ"
    out = io.StringIO()
    anonymize_lines(io.StringIO(json.dumps({"text": text}) + "\n"), out)
    line = json.loads(out.getvalue())
    assert [text[e["start"]:e["end"]] for e in line["entities"]] == ["138\u200b0013\u200b8000", "ｚｗ＠ｑｑ．ｃｏｍ"]
    assert line["text"] == "手机<PHONE_1>，邮箱 <EMAIL_1>"


def test_one_value_keeps_its_placeholder_across_spellings(anonymizer):
    session = anonymizer.session()
    first = anonymizer.scrub("手机13800138000", session).text
    second = anonymizer.scrub("手机 一三八零零一三八零零零", session).text
    third = anonymizer.scrub("手机１３８\u200b００１３８０００", session).text
    assert (first, second, third) == ("手机<PHONE_1>", "手机 <PHONE_1>", "手机<PHONE_1>")


def test_normalisation_fast_path_and_short_numeral_runs():
    assert normalize("plain ascii 123")[1] is None and normalize("plain ascii 123")[0] == "plain ascii 123"
    assert normalize("我想问一下退款") == ("我想问一下退款", None)
    assert normalize("三三两两、一二三四五")[0] == "三三两两、一二三四五"  # runs under 7 stay words


# --- phones ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "value"), [
    ("Call (555) 555-0100 tomorrow", "(555) 555-0100"),
    ("my cell is 555.555.0100", "555.555.0100"),
    ("reach me on 555 555 0100 please", "555 555 0100"),
    ("US office +1 (555) 555-0100", "+1 (555) 555-0100"),
    ("London: +44 20 7946 0958", "+44 20 7946 0958"),
    ("London: +44 (0)20 7946 0958", "+44 (0)20 7946 0958"),
    ("ring me on 020 7946 0958", "020 7946 0958"),
    ("Paris +33 1 23 45 67 89", "+33 1 23 45 67 89"),
    ("Berlin +49 30 1234567", "+49 30 1234567"),
    ("北京 +86 138 0013 8000", "+86 138 0013 8000"),
    ("desk (555) 555-0100 x123", "(555) 555-0100 x123"),
    ("desk +1 555-555-0100 ext. 123", "+1 555-555-0100 ext. 123"),
    ("reach me at 5555550100 extension 993 after 6pm", "5555550100 extension 993"),
    ("总机 +86 10 6552 9988转123", "+86 10 6552 9988转123"),
    ("They're not answering at 78 651 450", "78 651 450"),          # any national format after a cue
    ("Can someone call me on (64) 3591-3246?", "(64) 3591-3246"),
    ("The phone number is 1 40 62 05 00.", "1 40 62 05 00"),
    ("电话是67010327。", "67010327"),                                  # Beijing landline without area code
])
def test_phones_in_national_and_international_forms(anonymizer, text, value):
    assert_replaced(anonymizer, text, PHONE, value)


def test_a_cue_introduces_a_list_of_phones(anonymizer):
    text = "电话是61408688、61408110和010-87739799"
    assert found(anonymizer, text) == [(PHONE, "61408688"), (PHONE, "61408110"), (PHONE, "010-87739799")]


@pytest.mark.parametrize("text", [
    "Order #123456789012 was charged $1,234.56 on 05/12/2024", "order number is 12345678",
    "the total is 1234567 yuan", "金额是13800000元", "Call me at 9:30 on 2024-05-12", "open 10:00-21:00",
    "电话是多少？", "my phone number is 12 digits long", "请拨打客服热线400-820-8820",
    "Version 10.0.19041 build", "reference 2024 0512 1234",
])
def test_phone_look_alikes_are_kept(anonymizer, text):
    assert_kept(anonymizer, text)


# --- IBAN ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "value"), [
    ("My IBAN is GB29 NWBK 6016 1331 9268 19, thanks", "GB29 NWBK 6016 1331 9268 19"),
    ("iban: DE89370400440532013000.", "DE89370400440532013000"),
    ("virement vers FR14 2004 1010 0505 0001 3M02 606", "FR14 2004 1010 0505 0001 3M02 606"),
    ("my iban is gb29nwbk60161331926819", "gb29nwbk60161331926819"),
    ("账户 NO93 8601 1117 947", "NO93 8601 1117 947"),                         # shortest registry length
    ("IBAN\u00a0BE68\u00a05390\u00a00754\u00a07034", "BE68\u00a05390\u00a00754\u00a07034"),
])
def test_ibans(anonymizer, text, value):
    assert_replaced(anonymizer, text, IBAN, value)


@pytest.mark.parametrize("text", [
    "IBAN GB29 NWBK 6016 1331 9268 18",   # check digits broken
    "model GB12 ABCD 1234 5678 9012 34",  # IBAN-shaped, fails mod 97
    "XX89370400440532013000",             # not a registry country
])
def test_iban_look_alikes_are_kept(anonymizer, text):
    assert_kept(anonymizer, text)


def test_iban_check():
    assert iban_valid("GB82WEST12345698765432") and not iban_valid("GB82WEST12345698765433")
    assert not iban_valid("GB82WEST1234569876543")  # one character short for GB


# --- IP addresses -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "value"), [
    ("keep getting address 41.173.96.26 blocked", "41.173.96.26"),
    ("我的IP是8.8.4.4", "8.8.4.4"),
    ("from 2001:4860:4860::8888 today", "2001:4860:4860::8888"),
    ("ip 6e40:4041:c617:e898:c11:40d2:c669:2eb4 blocked", "6e40:4041:c617:e898:c11:40d2:c669:2eb4"),
    ("v6 ::ffff:8.8.8.8 here", "::ffff:8.8.8.8"),
])
def test_ip_addresses(anonymizer, text, value):
    assert_replaced(anonymizer, text, IP, value)


@pytest.mark.parametrize("text", [
    "version 1.2.3 is out", "app v2.3.14.1 crashes", "版本号 4.1.0.2", "delivered 12.05.2024", "at 10:30:00",
    "IP是192.168.1.100", "localhost 127.0.0.1", "ratio 3:2:1", "score 1.2.3.4.5",
])
def test_ip_look_alikes_and_local_addresses_are_kept(anonymizer, text):
    assert_kept(anonymizer, text)


# --- passports and driving licences --------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "value"), [
    ("my passport number is E12345678", "E12345678"),
    ("Passport no. 533380006 expires soon", "533380006"),
    ("护照号码：G12345678", "G12345678"),
    ("my driver's license number is 2270-66-1551", "2270-66-1551"),
    ("Driving licence: MORGA753116SM9IJ", "MORGA753116SM9IJ"),
    ("DL# F162823540116", "F162823540116"),
    ("驾照号 110101199003071234", "110101199003071234"),
    ("驾驶证号码是 U62928788557186", "U62928788557186"),
])
def test_passport_and_driving_licence_numbers_after_their_cue(anonymizer, text, value):
    assert_replaced(anonymizer, text, ID, value)


@pytest.mark.parametrize("text", [
    "my passport expired in 2019", "I lost my driver's license", "license key ABCD-EFGH", "护照过期了",
    "download dlc 2024 pack",
])
def test_documents_without_a_number_are_kept(anonymizer, text):
    assert_kept(anonymizer, text)


# --- dates of birth -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "value"), [
    ("DOB: 12/05/1990", "12/05/1990"),
    ("D.O.B. 1990-05-12", "1990-05-12"),
    ("my date of birth is 12 May 1990", "12 May 1990"),
    ("I was born on May 12, 1990.", "May 12, 1990"),
    ("She was born on 10/23/1951.", "10/23/1951"),  # month first, as in the US
    ("Date of birth 1/13/1945, for the age check", "1/13/1945"),
    ("birthday 12th of May 1990", "12th of May 1990"),
    ("出生日期：1990年5月12日", "1990年5月12日"),
    ("我的生日是5月12日", "5月12日"),
    ("生日 1990.05.12", "1990.05.12"),
    ("DOB\u00a0١٩٩٠-٠٥-١٢", "١٩٩٠-٠٥-١٢"),
])
def test_dates_of_birth_after_their_cue(anonymizer, text, value):
    assert_replaced(anonymizer, text, DOB, value)


@pytest.mark.parametrize("text", [
    "delivery on 12/05/2024 at 10:30", "2024年5月12日下午3点送到", "expected May 12, 2024", "3号发货，5号能到吗",
    "ordered 1990-05-12?", "生日礼物什么时候到", "born to shop",
])
def test_dates_without_a_birth_cue_and_times_are_kept(anonymizer, text):
    assert_kept(anonymizer, text)
