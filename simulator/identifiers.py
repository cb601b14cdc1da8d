"""Structured identifiers customers type: valid by construction, written in the formats people use.

Faker gives names, emails and streets; the identifiers an anonymizer must catch with near-perfect recall
are generated here so that their validity (resident-ID checksum, Luhn) and their written forms
(``+86 138 1234 5678``, ``010-12345678``, ``(212) 555-0123``, card digits in groups) are under our control.
Order numbers are not personal data: they have a fixed, documented shape so they can be told apart.
"""

from __future__ import annotations

import random
import re
from datetime import date, timedelta

ORDER_ID = re.compile(r"\bDD\d{14}\b")
"""How the shop writes order numbers: ``DD`` then 14 digits (date and sequence). Kept, never scrubbed."""

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
# Real county codes (Beijing Dongcheng, Shanghai Huangpu, Guangzhou Tianhe, Shenzhen Nanshan, Hangzhou
# Xihu, Chengdu Wuhou, Wuhan Jiang'an, Nanjing Xuanwu): a recognizer may check the region prefix.
_ID_REGIONS = ("110101", "310101", "440106", "440305", "330106", "510107", "420102", "320102")
_CN_MOBILE_PREFIXES = ("130", "131", "132", "135", "136", "137", "138", "139", "150", "151", "152", "157",
                       "158", "159", "176", "177", "180", "182", "185", "186", "187", "188", "189", "199")
_CN_AREA_CODES = ("010", "021", "022", "020", "023", "024", "025", "027", "028", "029", "0755", "0571", "0512")
_US_AREA_CODES = ("212", "213", "206", "303", "305", "312", "404", "415", "512", "617", "646", "702", "718", "919")
_CARD_PREFIXES = {"zh": ("622848", "621700", "622202", "623058", "622588", "621483"),
                  "en": ("4", "51", "52", "53", "54", "55")}


def _digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(count))


def resident_id_check(first17: str) -> str:
    """The GB 11643 check character of an 18-character mainland resident ID."""
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS)) % 11]


def resident_id_valid(number: str) -> bool:
    return bool(re.fullmatch(r"\d{17}[\dX]", number)) and resident_id_check(number[:17]) == number[17]


def resident_id(rng: random.Random) -> str:
    """An 18-character resident ID: region, birth date (adults), sequence, checksum."""
    born = date(1950, 1, 1) + timedelta(days=rng.randrange(365 * 55))
    first17 = f"{rng.choice(_ID_REGIONS)}{born:%Y%m%d}{_digits(rng, 3)}"
    return first17 + resident_id_check(first17)


def luhn_check(partial: str) -> str:
    """The Luhn digit that makes ``partial`` + digit a valid card number."""
    total = 0
    for i, d in enumerate(reversed(partial)):
        n = int(d) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    return str(-total % 10)


def luhn_valid(number: str) -> bool:
    digits = re.sub(r"[\s-]", "", number)
    return digits.isdigit() and len(digits) >= 12 and luhn_check(digits[:-1]) == digits[-1]


def bank_card(rng: random.Random, locale: str) -> str:
    """A Luhn-valid card number (UnionPay debit, 16 or 19 digits, for zh; Visa/Mastercard for en), written
    plain or in groups of four as it appears on the card."""
    prefix = rng.choice(_CARD_PREFIXES[locale])
    length = rng.choice((16, 19)) if locale == "zh" else 16
    partial = prefix + _digits(rng, length - len(prefix) - 1)
    number = partial + luhn_check(partial)
    separator = rng.choice(("", " ", " ", "-"))
    return separator.join(number[i:i + 4] for i in range(0, len(number), 4))


def cn_mobile(rng: random.Random) -> str:
    n = rng.choice(_CN_MOBILE_PREFIXES) + _digits(rng, 8)
    return rng.choice((n, n, f"+86 {n[:3]} {n[3:7]} {n[7:]}", f"{n[:3]}-{n[3:7]}-{n[7:]}",
                       f"{n[:3]} {n[3:7]} {n[7:]}", f"+86{n}"))


def cn_landline(rng: random.Random) -> str:
    area, local = rng.choice(_CN_AREA_CODES), str(rng.randint(2, 8)) + _digits(rng, 7)
    return rng.choice((f"{area}-{local}", f"({area}){local}", f"{area} {local[:4]} {local[4:]}", f"{area}{local}"))


def us_phone(rng: random.Random) -> str:
    area = rng.choice(_US_AREA_CODES)
    exchange, line = f"{rng.randint(2, 9)}{_digits(rng, 2)}", _digits(rng, 4)
    return rng.choice((f"({area}) {exchange}-{line}", f"{area}-{exchange}-{line}", f"+1 {area} {exchange} {line}",
                       f"{area}.{exchange}.{line}", f"{area}{exchange}{line}"))


def order_id(rng: random.Random) -> str:
    placed = date(2024, 1, 1) + timedelta(days=rng.randrange(730))
    return f"DD{placed:%Y%m%d}{_digits(rng, 6)}"
