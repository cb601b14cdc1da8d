"""Write ``supplement.jsonl``: hand-written customer-service sentences covering what the public sets lack.

Written for this project, independently of its traffic simulator (``simulator/``), whose code and data were
neither read nor reused. The sentence templates below were written by hand; the personal values slotted into
them are made up by this seeded script (same output on every run), with valid checksums where the type has one:
Luhn for bank cards, ISO 7064 MOD 11-2 for Chinese resident ID numbers, ISO 13616 mod-97 for IBANs. Phone
numbers use reserved fictional ranges where a country has one (US 555-01xx, UK 020 7946 0xxx / 07700 900xxx).

Run from the repository root: ``python bench/data/pii/make_supplement.py``. Each template fills ``{TYPE:maker}``
slots with a labelled value of TYPE and ``{=:maker}`` slots with an unlabelled one (an order number, a price).
Half the sentences go to dev and half to test, by a seeded shuffle.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from pathlib import Path

SEED = 20240616
OUT = Path(__file__).resolve().parent / "supplement.jsonl"
SOURCE = "bench/data/pii/make_supplement.py (written for this project)"

# --- values ---------------------------------------------------------------------------------------------------

EN_FIRST = ["Maria", "James", "Aisha", "Tom", "Priya", "Daniel", "Sofia", "Liam", "Fatima", "Oliver", "Chloe",
            "Mateo", "Hannah", "Noah", "Grace", "Ethan", "Amelia", "Lucas", "Zoe", "Kwame", "Ingrid", "Pierre",
            "Yuki", "Carlos", "Niamh", "Rahul", "Olga", "Henrik", "Leila", "Marcus", "Elena", "Samuel", "Brooke",
            "Dmitri", "Ana", "Victor", "Rosa", "Felix", "June", "Ivy"]
EN_LAST = ["Gonzalez", "O'Brien", "Patel", "Nguyen", "Schmidt", "Kowalski", "Johnson", "Okafor", "Rossi",
           "Andersson", "Dubois", "Tanaka", "Murphy", "Fernandes", "Kim", "Hughes", "MacLeod", "van Dijk", "Novak",
           "Haddad", "Brennan", "Moreau", "Sato", "Whitfield", "Castillo", "Ivanova", "Lindqvist", "Abernathy",
           "Mensah", "Fitzgerald", "Carter", "Baker", "Wood", "Young", "Price"]
ZH_SURNAMES = ["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何",
               "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "韩", "冯", "邓", "曹", "彭", "曾", "萧", "田", "董",
               "潘", "袁", "蔡", "蒋", "余", "杜", "叶", "程", "魏", "苏", "吕", "丁", "任", "卢", "姚", "沈",
               "欧阳", "司马", "诸葛", "上官"]
ZH_GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超",
            "秀英", "建国", "桂英", "晓东", "海燕", "志强", "雨涵", "子轩", "梓萱", "浩然", "欣怡", "俊杰", "思远",
            "婉清", "文博", "嘉怡", "一鸣", "佳琪", "宇航", "诗涵", "天佑", "雪梅", "国庆"]
CN_AREA = ["010", "021", "020", "0755", "0571", "028", "027", "025", "0512", "0731"]
CN_REGION = ["110105", "310115", "440305", "330106", "510107", "420106", "320102", "610113", "370202", "500103"]
ZH_NUMERALS = dict(zip("0123456789", "零一二三四五六七八九"))
ZH_NUMERALS_ALT = dict(zip("0123456789", "〇幺二三四五六七八九"))
FULL_WIDTH = {str(d): chr(0xFF10 + d) for d in range(10)}
ARABIC_INDIC = {str(d): chr(0x0660 + d) for d in range(10)}
DEVANAGARI = {str(d): chr(0x0966 + d) for d in range(10)}
UNICODE_SPACES = ["\u00a0", "\u202f", "\u2009", "\u2007", "\u3000", "\u2002"]
INVISIBLES = ["\u200b", "\u00ad", "\u2060", "\u200c"]


def digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def luhn_complete(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return body + str((10 - total % 10) % 10)


def cn_id(rng: random.Random) -> str:
    year, month, day = rng.randint(1950, 2005), rng.randint(1, 12), rng.randint(1, 28)
    body = f"{rng.choice(CN_REGION)}{year}{month:02d}{day:02d}{digits(rng, 3)}"
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, weights)) % 11]


def iban(rng: random.Random, country: str, bban: str) -> str:
    rearranged = bban + country + "00"
    number = int("".join(str(int(c, 36)) for c in rearranged))
    return f"{country}{98 - number % 97:02d}{bban}"


def iban_value(rng: random.Random) -> str:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    country = rng.choice(["GB", "DE", "FR", "NL", "ES", "IT", "IE"])
    bban = {
        "GB": lambda: "".join(rng.choice(letters) for _ in range(4)) + digits(rng, 14),
        "DE": lambda: digits(rng, 18),
        "FR": lambda: digits(rng, 23),
        "NL": lambda: "".join(rng.choice(letters) for _ in range(4)) + digits(rng, 10),
        "ES": lambda: digits(rng, 20),
        "IT": lambda: rng.choice(letters) + digits(rng, 10) + digits(rng, 12),
        "IE": lambda: "".join(rng.choice(letters) for _ in range(4)) + digits(rng, 14),
    }[country]()
    value = iban(rng, country, bban)
    if rng.random() < 0.5:
        return " ".join(value[i:i + 4] for i in range(0, len(value), 4))
    return value


def group(value: str, sizes: list[int], sep: str) -> str:
    out, i = [], 0
    for size in sizes:
        out.append(value[i:i + size])
        i += size
    if i < len(value):
        out.append(value[i:])
    return sep.join(out)


def cn_mobile_digits(rng: random.Random) -> str:
    return rng.choice(["13", "15", "17", "18", "19", "14", "16"]) + digits(rng, 9)


def cn_mobile(rng: random.Random) -> str:
    number = cn_mobile_digits(rng)
    style = rng.randrange(7)
    if style == 0:
        return number
    if style == 1:
        return group(number, [3, 4, 4], " ")
    if style == 2:
        return group(number, [3, 4, 4], "-")
    if style == 3:
        return "+86 " + group(number, [3, 4, 4], " ")
    if style == 4:
        return "+86" + number
    if style == 5:
        return "0086-" + number
    return "(+86)" + number


def cn_landline(rng: random.Random) -> str:
    area = rng.choice(CN_AREA)
    local = digits(rng, 8 if len(area) == 3 else rng.choice([7, 8]))
    local = str(rng.randint(2, 8)) + local[1:]
    style = rng.randrange(5)
    if style == 0:
        return f"{area}-{local}"
    if style == 1:
        return f"({area}){local}"
    if style == 2:
        return f"{area} {local[:4]} {local[4:]}"
    if style == 3:
        return f"{area}-{local}转{rng.randint(100, 8999)}"
    return f"+86 {area[1:]} {local}"


def zh_numeral_mobile(rng: random.Random) -> str:
    table = rng.choice([ZH_NUMERALS, ZH_NUMERALS_ALT])
    return "".join(table[c] for c in cn_mobile_digits(rng))


def us_phone(rng: random.Random) -> str:
    area = rng.choice(["555", "212", "415", "312", "617", "206", "303", "512"])
    line = f"01{digits(rng, 2)}" if area == "555" else str(rng.randint(2000, 9999))
    ex = "555" if area == "555" else str(rng.randint(201, 989))
    style = rng.randrange(8)
    base = [f"({area}) {ex}-{line}", f"{area}.{ex}.{line}", f"{area}-{ex}-{line}", f"+1 {area} {ex} {line}",
            f"1-{area}-{ex}-{line}", f"{area} {ex} {line}", f"+1 ({area}) {ex}-{line}", f"{area}{ex}{line}"][style]
    if rng.random() < 0.2:
        base += rng.choice([f" ext. {rng.randint(10, 999)}", f" x{rng.randint(10, 9999)}",
                            f" extension {rng.randint(10, 999)}"])
    return base


def intl_phone(rng: random.Random) -> str:
    return rng.choice([
        f"+44 20 7946 0{digits(rng, 3)}", f"020 7946 0{digits(rng, 3)}", f"07700 900{digits(rng, 3)}",
        f"+44 7700 900{digits(rng, 3)}", f"+49 30 {rng.randint(200, 999)} {digits(rng, 4)}",
        f"+33 1 {digits(rng, 2)} {digits(rng, 2)} {digits(rng, 2)} {digits(rng, 2)}",
        f"+353 1 {rng.randint(200, 999)} {digits(rng, 4)}", f"+31 20 {rng.randint(200, 999)} {digits(rng, 4)}",
        f"+86 138 {digits(rng, 4)} {digits(rng, 4)}", f"+61 2 {digits(rng, 4)} {digits(rng, 4)}",
    ])


def email(rng: random.Random) -> str:
    first, last = rng.choice(EN_FIRST).lower(), rng.choice(EN_LAST).lower().replace("'", "").replace(" ", "")
    user = rng.choice([f"{first}.{last}", f"{first}{rng.randint(1, 99)}", f"{first[0]}{last}", f"{last}_{first}",
                       f"{first}+orders"])
    domain = rng.choice(["gmail.com", "outlook.com", "yahoo.co.uk", "qq.com", "163.com", "example.org",
                         "web.de", "mail.example.cn"])
    return f"{user}@{domain}"


def bank_card(rng: random.Random) -> str:
    prefix = rng.choice(["4", "51", "55", "62", "6222", "37"])
    length = 15 if prefix == "37" else rng.choice([16, 16, 19]) if prefix.startswith("62") else 16
    number = luhn_complete(prefix + digits(rng, length - len(prefix) - 1))
    if length == 15:
        return rng.choice([number, group(number, [4, 6, 5], " ")])
    return rng.choice([number, group(number, [4, 4, 4, 4, 4], " "), group(number, [4, 4, 4, 4, 4], "-")])


def ipv4(rng: random.Random) -> str:
    return ".".join(str(x) for x in [rng.choice([23, 45, 81, 92, 103, 110, 176, 185, 203, 217]),
                                     rng.randint(0, 255), rng.randint(0, 255), rng.randint(1, 254)])


def ipv6(rng: random.Random) -> str:
    groups = [f"{rng.randint(0, 0xFFFF):x}" for _ in range(8)]
    groups[0] = rng.choice(["2001", "2a02", "2409", "240e", "2600"])
    if rng.random() < 0.5:
        return ":".join(groups[:3]) + "::" + ":".join(groups[6:])
    return ":".join(groups)


def passport(rng: random.Random) -> str:
    return rng.choice([f"E{digits(rng, 8)}", f"G{digits(rng, 8)}", digits(rng, 9), f"{rng.choice('CDEFGHJK')}"
                       f"{rng.choice('CDEFGHJK')}{digits(rng, 7)}", f"X{digits(rng, 7)}"])


def driver_licence(rng: random.Random) -> str:
    letters = "ABCDEFGHIJKLMNOPRSTW"
    surname = rng.choice(["MORGA", "SMITH", "JONES", "PATEL", "GONZA"])
    return rng.choice([
        f"{rng.choice(letters)}{digits(rng, 7)}",  # California style
        f"{rng.choice(letters)}{digits(rng, 3)}-{digits(rng, 4)}-{digits(rng, 4)}",  # Illinois style
        f"{surname}{digits(rng, 6)}{rng.choice(letters)}{rng.choice(letters)}9{rng.choice(letters)}"
        f"{rng.choice(letters)}",  # UK DVLA style
        digits(rng, 9),
    ])


def ssn(rng: random.Random) -> str:
    return f"{rng.randint(100, 665)}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}"


MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]


def birth_date_en(rng: random.Random) -> str:
    y, m, d = rng.randint(1940, 2006), rng.randint(1, 12), rng.randint(1, 28)
    return rng.choice([f"{d:02d}/{m:02d}/{y}", f"{m}/{d}/{y}", f"{y}-{m:02d}-{d:02d}", f"{MONTHS[m - 1]} {d}, {y}",
                       f"{d} {MONTHS[m - 1]} {y}", f"{d}.{m}.{y}"])


def birth_date_zh(rng: random.Random) -> str:
    y, m, d = rng.randint(1940, 2006), rng.randint(1, 12), rng.randint(1, 28)
    return rng.choice([f"{y}年{m}月{d}日", f"{y}-{m:02d}-{d:02d}", f"{y}.{m}.{d}", f"{y}/{m:02d}/{d:02d}"])


def en_name(rng: random.Random) -> str:
    return f"{rng.choice(EN_FIRST)} {rng.choice(EN_LAST)}"


def zh_name(rng: random.Random) -> str:
    return rng.choice(ZH_SURNAMES) + rng.choice(ZH_GIVEN)


US_STREETS = ["Elm Street", "Oak Avenue", "Maple Drive", "Pine Street", "Cedar Lane", "Washington Blvd",
              "Lakeview Road", "Sunset Boulevard", "Park Place", "Hillcrest Court", "Mission St", "Broadway"]
US_CITIES = [("Springfield", "IL", "627"), ("Austin", "TX", "787"), ("Portland", "OR", "972"),
             ("Columbus", "OH", "432"), ("Denver", "CO", "802"), ("Raleigh", "NC", "276")]
UK_STREETS = ["Baker Street", "High Street", "Church Road", "Station Road", "Victoria Road", "Mill Lane",
              "Queen's Road", "Kings Avenue"]
UK_TOWNS = [("London", "NW1 6XE"), ("Oxford", "OX1 4AB"), ("Manchester", "M1 2AB"), ("Leeds", "LS1 5DL"),
            ("Bristol", "BS1 4DJ"), ("Edinburgh", "EH1 1YZ")]
EU_ADDRESSES = ["Hauptstraße {n}, 10115 Berlin", "Bahnhofstr. {n}, 80335 München", "{n} rue de la Paix, 75002 Paris",
                "{n} avenue Jean Jaurès, 69007 Lyon", "Keizersgracht {n}, 1015 CJ Amsterdam",
                "Calle Mayor {n}, 28013 Madrid", "Via Roma {n}, 00184 Roma", "Kungsgatan {n}, 111 43 Stockholm"]
ZH_CITIES = [("北京市", ["朝阳区", "海淀区", "东城区"]), ("上海市", ["浦东新区", "徐汇区", "静安区"]),
             ("广东省深圳市", ["南山区", "福田区", "宝安区"]), ("浙江省杭州市", ["西湖区", "滨江区"]),
             ("四川省成都市", ["武侯区", "锦江区"]), ("湖北省武汉市", ["洪山区", "江汉区"]),
             ("江苏省南京市", ["鼓楼区", "玄武区"]), ("广东省广州市", ["天河区", "越秀区"])]
ZH_ROADS = ["建国路", "中山路", "人民路", "解放大道", "科技园路", "文三路", "世纪大道", "长江路", "和平街", "学院路",
            "滨江大道", "天府大道"]


def us_address(rng: random.Random) -> str:
    city, state, zip3 = rng.choice(US_CITIES)
    street = f"{rng.randint(1, 9899)} {rng.choice(US_STREETS)}"
    if rng.random() < 0.3:
        street += rng.choice([f", Apt {rng.randint(1, 40)}{rng.choice('ABCD')}", f" Unit {rng.randint(1, 300)}",
                              f", Suite {rng.randint(100, 900)}"])
    return rng.choice([f"{street}, {city}, {state} {zip3}{digits(rng, 2)}", f"{street}, {city}", street])


def uk_address(rng: random.Random) -> str:
    town, postcode = rng.choice(UK_TOWNS)
    number = rng.choice([str(rng.randint(1, 250)), f"{rng.randint(1, 250)}B"])
    flat = rng.choice(["", "", f"Flat {rng.randint(1, 12)}, "])
    return rng.choice([f"{flat}{number} {rng.choice(UK_STREETS)}, {town} {postcode}",
                       f"{flat}{number} {rng.choice(UK_STREETS)}, {town}"])


def eu_address(rng: random.Random) -> str:
    return rng.choice(EU_ADDRESSES).format(n=rng.randint(1, 180))


def zh_address(rng: random.Random) -> str:
    city, districts = rng.choice(ZH_CITIES)
    road = f"{rng.choice(ZH_ROADS)}{rng.randint(1, 999)}号"
    tail = rng.choice(["", f"{rng.randint(1, 30)}号楼{rng.randint(1, 30)}{rng.randint(1, 4):02d}室",
                       f"{rng.randint(1, 12)}栋{rng.randint(1, 3)}单元{rng.randint(101, 2804)}室",
                       f"{rng.choice(['阳光', '金色', '翠湖', '锦绣'])}小区{rng.randint(1, 20)}-{rng.randint(1, 6)}-"
                       f"{rng.randint(101, 602)}"])
    return rng.choice([f"{city}{rng.choice(districts)}{road}{tail}", f"{rng.choice(districts)}{road}{tail}"])


# --- the Unicode tricks: applied to a number already made, the whole result is the labelled value ---------------


def with_unicode_spaces(rng: random.Random, value: str) -> str:
    space = rng.choice(UNICODE_SPACES)
    if " " in value or "-" in value:
        return value.replace(" ", space).replace("-", space)
    sizes = {11: [3, 4, 4], 18: [6, 8, 4]}.get(len(value), [4, 4, 4, 4, 4])
    return group(value, sizes, space)


def with_invisibles(rng: random.Random, value: str) -> str:
    mark = rng.choice(INVISIBLES)
    positions = sorted(rng.sample(range(2, len(value) - 1), 2))
    return value[:positions[0]] + mark + value[positions[0]:positions[1]] + mark + value[positions[1]:]


def with_digits(table: dict[str, str]):
    return lambda rng, value: "".join(table.get(c, c) for c in value)


def dotted(rng: random.Random, value: str) -> str:
    return group(value.replace(" ", "").replace("-", ""), [3, 4, 4], ".")


def parenthesised(rng: random.Random, value: str) -> str:
    return f"({value[:3]}){value[3:7]} {value[7:]}"


TRICKS = {"uspace": with_unicode_spaces, "invisible": with_invisibles, "fullwidth": with_digits(FULL_WIDTH),
          "arabic": with_digits(ARABIC_INDIC), "devanagari": with_digits(DEVANAGARI), "dots": dotted,
          "parens": parenthesised}
TRICK_BASES = {"mobile": cn_mobile_digits, "card": lambda rng: luhn_complete("6222" + digits(rng, 11)),
               "id": cn_id, "usphone": lambda rng: f"555{rng.randint(200, 999)}01{digits(rng, 2)}"}


def tricked(trick: str, base: str):
    return lambda rng: TRICKS[trick](rng, TRICK_BASES[base](rng))


# --- clean values (unlabelled) ---------------------------------------------------------------------------------


def order_no(rng: random.Random) -> str:
    return rng.choice([f"#{rng.randint(100000, 9999999)}", f"A{digits(rng, 9)}", f"{rng.randint(2023, 2025)}"
                       f"{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{digits(rng, 6)}", f"SO-{digits(rng, 8)}",
                       f"{rng.randint(100, 999)}-{digits(rng, 7)}-{digits(rng, 7)}", f"#{digits(rng, 10)}"])


def zh_order_no(rng: random.Random) -> str:
    return rng.choice([f"{rng.randint(2023, 2025)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{digits(rng, 8)}",
                       digits(rng, 18), f"E{digits(rng, 15)}", digits(rng, 12)])


def tracking(rng: random.Random) -> str:
    return rng.choice([f"1Z{digits(rng, 3)}AA1{digits(rng, 10)}", f"SF{digits(rng, 13)}", f"YT{digits(rng, 16)}",
                       f"JD{digits(rng, 13)}", f"9400 1{digits(rng, 3)} {digits(rng, 4)} {digits(rng, 4)} "
                       f"{digits(rng, 4)} {digits(rng, 2)}", f"LX{digits(rng, 9)}CN", f"{digits(rng, 12)}",
                       f"7{digits(rng, 11)}"])


def price(rng: random.Random) -> str:
    return rng.choice([f"${rng.randint(5, 2999)}.{rng.randint(0, 99):02d}", f"£{rng.randint(5, 900)}",
                       f"€{rng.randint(5, 900)},{rng.randint(0, 99):02d}", f"${rng.randint(1, 9)},{digits(rng, 3)}.00",
                       f"USD {rng.randint(10, 500)}"])


def zh_price(rng: random.Random) -> str:
    return rng.choice([f"¥{rng.randint(9, 9999)}", f"{rng.randint(9, 9999)}元", f"￥{rng.randint(1, 9)},{digits(rng, 3)}.00",
                       f"{rng.randint(9, 999)}.{rng.randint(0, 99):02d}元", f"人民币{rng.randint(100, 20000)}元"])


def ordinal(day: int) -> str:
    return f"{day}{'th' if 10 <= day % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(day % 10, 'th')}"


def date(rng: random.Random) -> str:
    m, d = rng.randint(1, 12), rng.randint(1, 28)
    return rng.choice([f"{m}/{d}/2024", f"{d:02d}/{m:02d}/2025", f"2024-{m:02d}-{d:02d}", f"{MONTHS[m - 1]} {d}",
                       f"{d} {MONTHS[m - 1]}", f"{MONTHS[m - 1]} {ordinal(d)}"])


def zh_date(rng: random.Random) -> str:
    m, d = rng.randint(1, 12), rng.randint(1, 28)
    return rng.choice([f"{m}月{d}日", f"2024年{m}月{d}日", f"{m}.{d}", f"2025-{m:02d}-{d:02d}", f"{m}月{d}号"])


def time_of_day(rng: random.Random) -> str:
    h, m = rng.randint(0, 23), rng.choice([0, 15, 30, 45, 5, 50])
    return rng.choice([f"{h:02d}:{m:02d}", f"{h % 12 or 12}:{m:02d} {'pm' if h >= 12 else 'am'}", f"{h % 12 or 12}pm"])


def sku(rng: random.Random) -> str:
    return rng.choice([f"SKU {digits(rng, 2)}-{digits(rng, 4)}-{digits(rng, 2)}", f"SKU-{digits(rng, 8)}",
                       f"item {digits(rng, 10)}", f"ASIN B0{digits(rng, 2)}X{digits(rng, 5)}",
                       f"model {rng.choice('ABCDKMX')}{digits(rng, 4)}-{digits(rng, 3)}", f"EAN {digits(rng, 13)}",
                       f"part no. {digits(rng, 3)}.{digits(rng, 3)}.{digits(rng, 2)}"])


def version(rng: random.Random) -> str:
    return rng.choice([f"v{rng.randint(1, 12)}.{rng.randint(0, 30)}.{rng.randint(0, 99)}",
                       f"{rng.randint(1, 20)}.{rng.randint(0, 9)}.{rng.randint(0, 9)}.{rng.randint(100, 9999)}",
                       f"iOS {rng.randint(15, 18)}.{rng.randint(0, 6)}.{rng.randint(1, 3)}",
                       f"build {rng.randint(1000, 99999)}"])


def product(rng: random.Random) -> str:
    return rng.choice(["iPhone 15 Pro Max 256GB", "Galaxy S24 Ultra", "AirPods Pro 2", "Kindle Paperwhite",
                       "MacBook Air M3", "Pixel 8a", "Nike Air Jordan 1", "Dyson V15 Detect", "PlayStation 5",
                       "Instant Pot Duo 7-in-1", "Samsung 65\" QLED Q80C", "Bose QuietComfort 45", "LEGO 42115",
                       "Surface Pro 9", "Xbox Series X", "Canon EOS R50", "Garmin Forerunner 265", "Vitamix E310",
                       "Philips Hue Starter Kit", "Victoria's Secret gift card", "Hunter boots size 8",
                       "Tommy Hilfiger polo", "Calvin Klein jeans 32x30", "Ray-Ban Wayfarer RB2140"])


def zh_product(rng: random.Random) -> str:
    return rng.choice(["小米14 Ultra", "华为Mate 60 Pro", "iPad Air 5", "戴森V12吸尘器", "美的空调KFR-35GW",
                       "格力风扇FD-40X65", "九阳豆浆机DJ13B", "海尔冰箱BCD-470", "李宁跑鞋", "安踏篮球鞋",
                       "王老吉凉茶24罐", "周大福金手镯", "张小泉剪刀套装", "老干妈辣椒酱", "三只松鼠坚果礼盒",
                       "联想ThinkPad X1", "OPPO Find X7", "vivo X100", "大疆Mini 4 Pro", "海信电视65E5K"])


def qty(rng: random.Random) -> str:
    return str(rng.choice([1, 2, 3, 4, 5, 6, 10, 12, 24, 50, 100]))


def percent(rng: random.Random) -> str:
    return f"{rng.choice([5, 10, 15, 20, 25, 30, 40, 50, 70])}%"


def city(rng: random.Random) -> str:
    return rng.choice(["Shanghai", "Paris", "Chicago", "Berlin", "Manchester", "Madrid", "Toronto", "Sydney",
                       "Dallas", "Phoenix", "Florence", "Austin", "Jackson", "Charlotte", "Victoria"])


def weekday(rng: random.Random) -> str:
    return rng.choice(["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"])


def month(rng: random.Random) -> str:
    return rng.choice(MONTHS)


def brand(rng: random.Random) -> str:
    return rng.choice(["Apple", "Amazon", "Nike", "Adidas", "Samsung", "Target", "Walmart", "Costco", "UPS",
                       "FedEx", "DHL", "Royal Mail", "PayPal", "Visa", "Mastercard", "Klarna", "Patagonia",
                       "Ford", "Dell", "Ben & Jerry's", "Marks & Spencer", "Johnson & Johnson", "Wells Fargo"])


def zh_city(rng: random.Random) -> str:
    return rng.choice(["上海", "北京", "深圳", "杭州", "成都", "武汉", "南京", "广州", "西安", "重庆"])


def zh_courier(rng: random.Random) -> str:
    return rng.choice(["顺丰", "京东物流", "中通", "圆通", "韵达", "申通", "EMS", "菜鸟驿站", "德邦"])


MAKERS = {name: fn for name, fn in globals().items() if callable(fn) and not name.startswith("_")}

# --- templates ---------------------------------------------------------------------------------------------------
# (lang, template, copies). {TYPE:maker} is a labelled value, {=:maker} an unlabelled one.

PII_TEMPLATES: list[tuple[str, str, int]] = [
    # English names without a cue, and with one
    ("en", "Please ship it to {PERSON:en_name} at {ADDRESS:us_address}.", 8),
    ("en", "{PERSON:en_name} will pick up the parcel on {=:weekday}, she has the order number {=:order_no}.", 5),
    ("en", "Can you put the refund on the account of {PERSON:en_name}? It was a gift.", 4),
    ("en", "The courier left it with {PERSON:en_name} next door, but I never got it.", 4),
    ("en", "Hi, this is {PERSON:en_name}, I ordered the {=:product} last week.", 4),
    ("en", "I spoke to your colleague yesterday and {PERSON:en_name} promised a callback.", 3),
    ("en", "Gift message: Happy birthday {PERSON:en_name}! Love from all of us.", 3),
    ("en", "The card is in my husband's name, {PERSON:en_name}, is that a problem?", 3),
    ("en", "Deliver to {PERSON:en_name}, {ADDRESS:uk_address}, and call {PHONE:intl_phone} if nobody answers.", 5),
    ("en", "My daughter {PERSON:en_name} placed order {=:order_no} from my account.", 3),
    # Chinese names anywhere in the sentence
    ("zh", "麻烦让{PERSON:zh_name}明天上午来取件，订单号{=:zh_order_no}。", 5),
    ("zh", "收件人写的是{PERSON:zh_name}，不是我，能改一下吗？", 5),
    ("zh", "{PERSON:zh_name}昨天已经帮我签收了，但是少了一件。", 5),
    ("zh", "快递员{PERSON:zh_name}说包裹放在{=:zh_courier}了，我没找到。", 4),
    ("zh", "请把发票抬头改成{PERSON:zh_name}个人。", 4),
    ("zh", "我是{PERSON:zh_name}的家属，帮他问一下退款进度。", 4),
    ("zh", "上次客服{PERSON:zh_name}答应给我补发，到现在还没消息。", 4),
    ("zh", "这单是给{PERSON:zh_name}买的生日礼物，能帮忙加个贺卡吗？", 4),
    ("zh", "收货人{PERSON:zh_name}，电话{PHONE:cn_mobile}，地址{ADDRESS:zh_address}。", 8),
    ("zh", "你好，我叫{PERSON:zh_name}，{=:zh_date}买的{=:zh_product}坏了。", 4),
    # Chinese phones
    ("zh", "我的手机号是{PHONE:cn_mobile}，有问题打这个。", 8),
    ("zh", "联系电话：{PHONE:cn_landline}，工作日白天有人。", 6),
    ("zh", "换个号码吧，{PHONE:cn_mobile}，之前那个停机了。", 5),
    ("zh", "到了打我电话{PHONE:zh_numeral_mobile}就行。", 6),
    ("zh", "我号码是{PHONE:zh_numeral_mobile}，记一下。", 4),
    ("zh", "公司座机{PHONE:cn_landline}，前台会转给我。", 4),
    # English / international phones
    ("en", "You can reach me at {PHONE:us_phone} after 6pm.", 8),
    ("en", "My new number is {PHONE:us_phone}, please update the account.", 6),
    ("en", "Call me on {PHONE:intl_phone} about order {=:order_no}.", 8),
    ("en", "{PHONE:us_phone} is the best number for the delivery driver.", 4),
    ("en", "Text {PHONE:intl_phone} when the {=:product} is back in stock.", 4),
    # emails
    ("en", "Send the invoice to {EMAIL:email} please.", 8),
    ("zh", "发票发到我邮箱{EMAIL:email}，谢谢。", 6),
    # ID numbers
    ("zh", "身份证号{ID_NUMBER:cn_id}，实名认证一直不通过。", 8),
    ("zh", "清关需要身份证，我的是{ID_NUMBER:cn_id}。", 5),
    ("zh", "护照号码{ID_NUMBER:passport}，跨境订单要用。", 5),
    ("zh", "驾驶证号{ID_NUMBER:cn_id}，租车押金怎么退？", 3),
    ("en", "My passport number is {ID_NUMBER:passport} for the customs form.", 6),
    ("en", "Passport no. {ID_NUMBER:passport}, expiry in {=:month}.", 4),
    ("en", "Driver's license number {ID_NUMBER:driver_licence}, for the rental deposit.", 6),
    ("en", "They asked for my driving licence: {ID_NUMBER:driver_licence}.", 4),
    ("en", "SSN {ID_NUMBER:ssn}, for the store card application.", 4),
    # bank cards
    ("en", "Please charge my other card, {BANK_CARD:bank_card}, instead.", 4),
    ("en", "My card {BANK_CARD:bank_card} was charged twice for order {=:order_no}.", 6),
    ("zh", "退款退到这张卡{BANK_CARD:bank_card}，谢谢。", 6),
    # IBANs
    ("en", "Please refund to my IBAN {IBAN:iban_value}.", 12),
    ("en", "Bank transfer from {IBAN:iban_value} on {=:date}, amount {=:price}, but the order still shows unpaid.",
     8),
    ("zh", "退款请打到我的欧洲账户 {IBAN:iban_value}，谢谢。", 6),
    # IP addresses
    ("en", "I got a login alert from {IP_ADDRESS:ipv4}, that wasn't me.", 6),
    ("en", "Your site blocks my IP {IP_ADDRESS:ipv6} at checkout.", 5),
    ("zh", "异地登录提醒，IP是{IP_ADDRESS:ipv4}，不是我本人。", 5),
    ("zh", "我的IPv6地址{IP_ADDRESS:ipv6}被封了，无法下单。", 3),
    # dates of birth
    ("en", "Date of birth {BIRTH_DATE:birth_date_en}, for the age check.", 6),
    ("en", "I was born on {BIRTH_DATE:birth_date_en} so the age verification is wrong.", 5),
    ("en", "DOB: {BIRTH_DATE:birth_date_en}", 3),
    ("zh", "出生日期{BIRTH_DATE:birth_date_zh}，会员生日礼包没收到。", 6),
    ("zh", "我生日是{BIRTH_DATE:birth_date_zh}，年龄验证填错了。", 4),
    # addresses
    ("en", "My address changed to {ADDRESS:us_address}.", 6),
    ("en", "Can you redirect the parcel to {ADDRESS:uk_address}?", 6),
    ("en", "The return label should go to {ADDRESS:eu_address}.", 6),
    ("en", "I live at {ADDRESS:uk_address} and the driver keeps missing it.", 4),
    ("en", "Billing address: {ADDRESS:us_address}", 4),
    ("zh", "收货地址改成{ADDRESS:zh_address}。", 8),
    ("zh", "送到{ADDRESS:zh_address}，放门口就行。", 6),
    ("zh", "我住{ADDRESS:zh_address}，快递一直显示地址不详。", 4),
    ("zh", "寄回地址是不是{ADDRESS:zh_address}？", 3),
    # Unicode tricks
    ("zh", "电话{PHONE:tricked('uspace','mobile')}，麻烦回电。", 6),
    ("zh", "手机{PHONE:tricked('invisible','mobile')}，到了联系。", 5),
    ("zh", "我的电话是{PHONE:tricked('fullwidth','mobile')}。", 5),
    ("zh", "电话{PHONE:tricked('dots','mobile')}，谢谢。", 3),
    ("zh", "号码{PHONE:tricked('parens','mobile')}，白天打。", 3),
    ("en", "Phone: {PHONE:tricked('arabic','usphone')}", 3),
    ("en", "Call {PHONE:tricked('devanagari','mobile')} please.", 2),
    ("en", "my number {PHONE:tricked('invisible','usphone')} thanks", 3),
    ("en", "card {BANK_CARD:tricked('uspace','card')} was declined", 4),
    ("en", "Card number {BANK_CARD:tricked('invisible','card')}, refund it there.", 3),
    ("zh", "银行卡号{BANK_CARD:tricked('fullwidth','card')}，请核对。", 3),
    ("zh", "身份证{ID_NUMBER:tricked('fullwidth','id')}，请核对。", 3),
    ("zh", "身份证号{ID_NUMBER:tricked('invisible','id')}，实名用。", 3),
    ("zh", "身份证号：{ID_NUMBER:tricked('uspace','id')}", 2),
    # several at once
    ("en", "{PERSON:en_name}, {EMAIL:email}, {PHONE:us_phone} - please update my profile.", 4),
    ("zh", "{PERSON:zh_name} {PHONE:cn_mobile} {ADDRESS:zh_address}", 5),
    ("zh", "姓名：{PERSON:zh_name}；身份证：{ID_NUMBER:cn_id}；手机：{PHONE:cn_mobile}", 4),
]

CLEAN_TEMPLATES: list[tuple[str, str, int]] = [
    ("en", "Where is my order {=:order_no}? It said delivery on {=:date}.", 10),
    ("en", "Tracking number {=:tracking} hasn't updated since {=:weekday}.", 10),
    ("en", "I was charged {=:price} for {=:qty} items but the listing said {=:price}.", 8),
    ("en", "The {=:product} arrived damaged, order {=:order_no}.", 8),
    ("en", "Can I swap {=:sku} for the blue one? Same price, {=:price}.", 6),
    ("en", "The app crashes on {=:version} when I open the cart.", 6),
    ("en", "Delivery window was {=:time_of_day} to {=:time_of_day} but nobody came.", 6),
    ("en", "Is the {=:brand} sale still on until {=:month} {=:qty}?", 6),
    ("en", "I returned {=:qty} pairs on {=:date} at the {=:city} drop-off point.", 6),
    ("en", "Your {=:city} warehouse shipped it on {=:weekday}, ETA {=:date}.", 6),
    ("en", "Coupon SAVE{=:qty} only took {=:percent} off a {=:price} basket.", 5),
    ("en", "Order {=:order_no}: {=:qty} x {=:sku}, total {=:price}.", 6),
    ("en", "Will {=:brand} deliver by {=:weekday} {=:time_of_day}?", 5),
    ("en", "My {=:product} stopped charging after the {=:version} update.", 5),
    ("en", "The {=:brand} gift card balance shows {=:price} instead of {=:price}.", 4),
    ("en", "Paid with {=:brand} on {=:date}, reference {=:order_no}.", 4),
    ("en", "Do you ship to {=:city}? Postage was quoted at {=:price}.", 4),
    ("en", "{=:month} order still not here, tracking {=:tracking}.", 4),
    ("en", "Can I add {=:qty} more? The {=:product} bundle was {=:percent} off in {=:month}.", 3),
    ("zh", "订单号{=:zh_order_no}，显示{=:zh_date}送达，但我没收到。", 10),
    ("zh", "{=:zh_courier}单号{=:tracking}一直不更新。", 10),
    ("zh", "{=:zh_product}降价了，我{=:zh_date}买的是{=:zh_price}，能退差价吗？", 8),
    ("zh", "买了{=:qty}件，只到了{=:qty}件，订单{=:zh_order_no}。", 6),
    ("zh", "预计{=:zh_date}{=:time_of_day}前送达，能不能快一点？", 6),
    ("zh", "优惠券满300减50没生效，实付{=:zh_price}。", 5),
    ("zh", "{=:zh_city}仓发货的{=:zh_product}外包装破了。", 6),
    ("zh", "APP版本{=:version}下单一直报错，错误码{=:qty}0{=:qty}。", 5),
    ("zh", "退款{=:zh_price}什么时候到账？申请编号{=:zh_order_no}。", 6),
    ("zh", "{=:zh_product}的型号和页面写的不一样，{=:sku}。", 5),
    ("zh", "{=:zh_date}申请的售后到现在都没人处理，工单{=:zh_order_no}。", 4),
    ("zh", "物流显示在{=:zh_city}转运中心停了{=:qty}天了。", 5),
    ("zh", "第{=:qty}次催单了，订单{=:zh_order_no}，金额{=:zh_price}。", 4),
]


# --- assembly ------------------------------------------------------------------------------------------------------

SLOT = re.compile(r"\{([A-Z_=]+):([^}]+)\}")


def maker(spec: str):
    if spec.startswith("tricked("):
        trick, base = re.findall(r"'([^']+)'", spec)
        return tricked(trick, base)
    return MAKERS[spec]


def fill(rng: random.Random, template: str, make=maker) -> tuple[str, list[dict]]:
    """The template with each slot filled by ``make(spec)(rng)``; a labelled slot's span indexes its value."""
    text, spans, at = "", [], 0
    for match in SLOT.finditer(template):
        text += template[at:match.start()]
        value = make(match.group(2))(rng)
        if match.group(1) != "=":
            spans.append({"type": match.group(1), "start": len(text), "end": len(text) + len(value)})
        text += value
        at = match.end()
    return text + template[at:], spans


CLEAN_COPIES = 1.4
"""The clean templates' copies are scaled up so that at least 250 hard clean sentences are written."""


def build() -> list[dict]:
    rng = random.Random(SEED)
    records, seen = [], set()
    for kind, templates in (("pii", PII_TEMPLATES), ("clean", CLEAN_TEMPLATES)):
        for t_index, (lang, template, copies) in enumerate(templates):
            made, copies = 0, round(copies * (CLEAN_COPIES if kind == "clean" else 1))
            while made < copies:
                text, spans = fill(rng, template)
                if text in seen:
                    continue
                seen.add(text)
                made += 1
                records.append({"text": text, "lang": lang, "spans": spans, "other_spans": [],
                                "template": f"{kind}-{t_index}"})
    return split(records, SEED + 1, "supplement", SOURCE)


def split(records: list[dict], seed: int, name: str, source: str) -> list[dict]:
    """Half the sentences to test and half to dev by a seeded shuffle, each a record of the set's shape."""
    order = list(range(len(records)))
    random.Random(seed).shuffle(order)
    test = set(order[: len(order) // 2])
    return [{"id": f"{name}-{i:04d}", "text": r["text"], "lang": r["lang"], "spans": r["spans"],
             "other_spans": [], "source": source, "source_name": name, "split": "test" if i in test else "dev",
             "partial_labels": False, "template": r["template"]} for i, r in enumerate(records)]


def write(records: list[dict], out: Path, kind) -> None:
    """Write ``records`` as JSON lines and print how many there are by split, language and ``kind(record)``."""
    with out.open("w", encoding="utf-8") as lines:
        for r in records:
            lines.write(json.dumps(r, ensure_ascii=False) + "\n")
    counts = Counter()
    for r in records:
        counts[(r["split"], r["lang"], kind(r))] += 1
        for s in r["spans"]:
            counts[(r["split"], r["lang"], s["type"])] += 1
    print(f"{out}: {len(records)} sentences")
    for key, n in sorted(counts.items()):
        print(" ", key, n)


def main() -> None:
    write(build(), OUT, lambda r: "clean" if not r["spans"] else "with spans")


if __name__ == "__main__":
    main()
