"""Each recognizer on what it must find, and on the look-alikes it must leave: order and tracking numbers,
prices, dates, timestamps, model numbers, near-miss check digits."""

from __future__ import annotations

import pytest

from streams.anonymizer import Anonymizer, EntityType
from streams.anonymizer.recognizers.checksums import luhn_valid, resident_id_check_char, resident_id_valid
from tests.anonymizer_harness import found

PHONE, EMAIL, ID, CARD, ADDRESS, PERSON = (EntityType.PHONE, EntityType.EMAIL, EntityType.ID_NUMBER,
                                           EntityType.BANK_CARD, EntityType.ADDRESS, EntityType.PERSON)


@pytest.fixture(scope="module")
def anonymizer() -> Anonymizer:
    return Anonymizer()



def assert_finds(anonymizer: Anonymizer, text: str, entity_type: EntityType, value: str) -> None:
    assert found(anonymizer, text) == [(entity_type, value)], text


# --- phones ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "value"), [
    ("我的手机13800138000", "13800138000"),
    ("手机：138 0013 8000，谢谢", "138 0013 8000"),
    ("电话138-0013-8000", "138-0013-8000"),
    ("联系电话 +86 138 0013 8000", "+86 138 0013 8000"),
    ("联系电话 (+86)13800138000", "(+86)13800138000"),
    ("0086 13912345678 打这个", "0086 13912345678"),
    ("１３８００１３８０００", "１３８００１３８０００"),  # full-width digits, offsets still into the input
])
def test_mainland_mobiles(anonymizer, text, value):
    assert_finds(anonymizer, text, PHONE, value)


@pytest.mark.parametrize(("text", "value"), [
    ("座机010-12345678", "010-12345678"),
    ("公司电话0755-1234567转123", "0755-1234567转123"),
    ("打(021)88886666", "(021)88886666"),
    ("电话 020 8888 6666 找前台", "020 8888 6666"),
    ("分机 010-12345678-801", "010-12345678-801"),
])
def test_mainland_landlines(anonymizer, text, value):
    assert_finds(anonymizer, text, PHONE, value)


@pytest.mark.parametrize(("text", "value"), [
    ("Call me at +1 (415) 555-0100.", "+1 (415) 555-0100"),
    ("my number is 415-555-0100", "415-555-0100"),
    ("reach me on 415.555.0100x1234 please", "415.555.0100x1234"),
    ("phone: (415)555-0100", "(415)555-0100"),
    ("call 4155550100 anytime", "4155550100"),
    ("dial 001-537-640-6812 from abroad", "001-537-640-6812"),
    ("My UK number is +44 20 7946 0958", "+44 20 7946 0958"),
    ("mobile +44 7700 900123", "+44 7700 900123"),
    ("Tokyo office +81 3-1234-5678", "+81 3-1234-5678"),
])
def test_north_american_and_international_phones(anonymizer, text, value):
    assert_finds(anonymizer, text, PHONE, value)


def test_service_hotlines_are_not_personal_numbers(anonymizer):
    assert found(anonymizer, "请拨打客服热线400-820-8820或800-810-8888") == []


# --- emails ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "value"), [
    ("邮箱zhangwei@163.com谢谢", "zhangwei@163.com"),  # Presidio's \w pattern would swallow the Chinese around it
    ("发到 John.Doe+shop@Example.CO.UK 吧", "John.Doe+shop@Example.CO.UK"),
    ("email me: a_b-c@mail.example.org.", "a_b-c@mail.example.org"),
    ("ＺＷ＠ｑｑ．ｃｏｍ", "ＺＷ＠ｑｑ．ｃｏｍ"),
])
def test_emails(anonymizer, text, value):
    assert_finds(anonymizer, text, EMAIL, value)


@pytest.mark.parametrize("text", ["an @ sign and user@localhost", "版本 v1.2@beta", "price@ 5.00"])
def test_things_with_an_at_sign_that_are_not_emails(anonymizer, text):
    assert found(anonymizer, text) == []


# --- resident IDs and SSNs -----------------------------------------------------------------------------------

def test_resident_id_checksum():
    assert resident_id_valid("11010519491231002X") and resident_id_valid("11010519491231002x".upper())
    assert resident_id_check_char("11010519491231002") == "X"
    assert not resident_id_valid("110105194912310021")  # wrong check character
    assert not resident_id_valid("110105194902300023")  # 30 February
    assert not resident_id_valid("11010519491231002")  # 17 characters


@pytest.mark.parametrize(("text", "value"), [
    ("我的身份证11010519491231002X", "11010519491231002X"),
    ("证件 11010519491231002x 已上传", "11010519491231002x"),
    ("ID 110105 19491231 002X", "110105 19491231 002X"),
    ("My SSN is 173-65-3719 for the credit check", "173-65-3719"),
])
def test_id_numbers(anonymizer, text, value):
    assert_finds(anonymizer, text, ID, value)


def test_an_18_digit_number_with_a_wrong_check_character_is_no_id(anonymizer):
    assert found(anonymizer, "编号110105194912310021") == []


def test_a_number_called_an_id_number_is_one_even_with_a_typo(anonymizer):
    assert_finds(anonymizer, "身份证号110105194912310021", ID, "110105194912310021")


# --- cards --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("number", ["4111111111111111", "6222021234567890128", "371449635398431", "30569309025904",
                                    "6304000000000000", "630451787687"])
def test_luhn_accepts_real_card_numbers(number):
    assert luhn_valid(number)


@pytest.mark.parametrize("number", ["4111111111111112", "6222021234567890127", "371449635398430"])
def test_luhn_rejects_a_changed_last_digit(number):
    assert not luhn_valid(number)


@pytest.mark.parametrize(("text", "value"), [
    ("退款到 4111 1111 1111 1111 这张", "4111 1111 1111 1111"),
    ("储蓄 6222-0212-3456-7890-128", "6222-0212-3456-7890-128"),
    ("charged to 4111111111111111 twice", "4111111111111111"),
    ("Amex 3714 496353 98431 please", "3714 496353 98431"),
    ("Diners 3056 930902 5904", "3056 930902 5904"),
    ("maestro 630451787687 ok", "630451787687"),
])
def test_bank_cards(anonymizer, text, value):
    assert_finds(anonymizer, text, CARD, value)


@pytest.mark.parametrize("text", ["编号 4111 1111 1111 1112", "ref 6222021234567890127", "code 0000000000000000"])
def test_luhn_near_misses_without_a_card_cue_are_left(anonymizer, text):
    assert found(anonymizer, text) == []


def test_a_number_called_a_card_number_is_one_even_with_a_typo(anonymizer):
    assert_finds(anonymizer, "银行卡号 6217 0000 1234 5678 901", CARD, "6217 0000 1234 5678 901")


# --- order numbers and other harmless numbers ----------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "我的订单号是4111111111111111",  # Luhn-valid, but introduced as an order number
    "订单 13800138000 什么时候发",  # mobile-shaped, but introduced as an order number
    "订单号：DD20240512123456", "订单3245871290183746512到哪了", "单号 SF1234567890123 查一下",
    "快递单号773012345678901", "运单号YT7321234567890", "退款单号 2024051212345678 处理中",
    "My order 4111111111111111 hasn't arrived", "Order #123456789012 was charged $1,234.56 on 05/12/2024",
    "Tracking number 1Z999AA10123456784", "SKU 100012043978 is out of stock", "商品编号100012043978缺货",
    "Tracking number 9400 1110 7718 7655 0511 46 hasn't updated",  # printed in groups, as USPS prints it
    "Can I swap item 7577026675 for the blue one?",
])
def test_order_and_tracking_numbers_are_kept(anonymizer, text):
    assert anonymizer.scrub(text).text == text


@pytest.mark.parametrize(("text", "kind"), [
    ("order number is 4111 1111 1111 1111", "BANK_CARD"),  # a card in groups is no grouped reference
    ("Tracking number 138 0013 8000", "PHONE"),  # nor is a phone number in groups
])
def test_a_card_or_phone_in_groups_after_a_reference_cue_is_still_replaced(anonymizer, text, kind):
    assert [entity.type.value for entity in anonymizer.scrub(text).entities] == [kind]


@pytest.mark.parametrize("text", [
    "2024-05-12 13:45:10 下的单", "2024年5月12日下午3点", "价格¥1,299.00，优惠后999元", "时间戳1715500000000",
    "iPhone 15 Pro 256GB 有货吗", "RTX 4090 和 4080 Super 差多少", "型号A2849，序列号F2LXK0ABCD12",
    "Model SM-G9980 with 12GB RAM", "USB 3.0接口，1080p分辨率", "充电宝20000mAh", "版本号 v2.3.14 有bug",
    "邮编100022", "验证码是384756", "金额是13800元", "我的会员号是88888888", "IP是192.168.1.100",
    "I paid $20 but only got $20.00 back on 12/05/2023", "双11买的，618还能退吗", "3号发货，5号能到吗",
])
def test_prices_dates_timestamps_and_model_numbers_are_kept(anonymizer, text):
    assert anonymizer.scrub(text).text == text


# --- addresses ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "value"), [
    ("寄到北京市朝阳区建国路88号SOHO现代城A座1201室", "北京市朝阳区建国路88号SOHO现代城A座1201室"),
    ("收货地址：广东省深圳市南山区科技园南区高新南七道10号", "广东省深圳市南山区科技园南区高新南七道10号"),
    ("送到上海市浦东新区世纪大道100号，谢谢", "上海市浦东新区世纪大道100号"),
    ("阳光花园3栋2单元501", "阳光花园3栋2单元501"),
    ("地址是长乐路123弄4号", "长乐路123弄4号"),
    ("广西壮族自治区淑华市高港杨街g座 483960", "广西壮族自治区淑华市高港杨街g座 483960"),  # Faker zh_CN
    ("Ship to 123 Main Street, Apt 4, Springfield, IL 62704 please", "123 Main Street, Apt 4, Springfield, IL 62704"),
    ("1600 Pennsylvania Ave NW, Washington, DC 20500", "1600 Pennsylvania Ave NW, Washington, DC 20500"),
    ("80695 Brown Hills Apt. 304\nPort Charlesport, WA 21237",  # Faker en_US
     "80695 Brown Hills Apt. 304\nPort Charlesport, WA 21237"),
    ("PSC 5388, Box 8539, APO AE 31878", "PSC 5388, Box 8539, APO AE 31878"),
])
def test_street_addresses(anonymizer, text, value):
    assert_finds(anonymizer, text, ADDRESS, value)


@pytest.mark.parametrize("text", [
    "我在北京市朝阳区", "送到上海市吗", "去超市的路上顺便看了下", "我家小区门口有快递柜", "1号线地铁站附近",
    "第1单元的门禁坏了", "I waited 3 days at the station", "shipping to Texas takes 5 days", "I'm at 5th Avenue store",
])
def test_places_that_are_not_street_addresses(anonymizer, text):
    assert anonymizer.scrub(text).text == text


# --- names --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "value"), [
    ("我叫王伟，订单没到", "王伟"), ("我叫王伟想问一下退款", "王伟"), ("收件人：欧阳娜娜", "欧阳娜娜"),
    ("联系人是李秀英 电话稍后给", "李秀英"), ("我是张伟。", "张伟"), ("王先生您好", "王"), ("李秀英女士，您好", "李秀英"),
    ("你可以叫我小王", "小王"), ("我叫马想", "马想"), ("my name is 王伟", "王伟"), ("我叫John Smith", "John Smith"),
    ("Hi, my name is Mary Jones and my parcel is late", "Mary Jones"), ("my name is john smith", "john smith"),
    ("This is Robert, calling about a refund", "Robert"), ("Please contact Ms. Johnson", "Ms. Johnson"),
    ("Dear Robert Smith, your refund", "Robert Smith"), ("Thanks, Grace", "Grace"),
    ("Lonnie Williams Jr. ordered it", "Lonnie Williams Jr."),
])
def test_names_from_their_cues_and_the_gazetteers(anonymizer, text, value):
    assert_finds(anonymizer, text, PERSON, value)


@pytest.mark.parametrize("text", [
    "我是新用户", "我是黄金会员，有没有折扣", "这位先生说明天到", "谢谢先生，辛苦了", "我和先生一起买的", "我叫了快递",
    "收件人写错了", "本人申请退款", "我是李宁粉丝", "Hi, May I return it within 30 days?", "Hello, Will my card work abroad?",
    "I'm Chinese and live in London", "This is Apple Pay related", "The Grace Period is 30 days", "Call me back please",
    "my name is on the card",
])
def test_cue_words_without_a_name_after_them(anonymizer, text):
    assert anonymizer.scrub(text).text == text
