"""Customers and the personal data they type into their messages, with the ground truth of every item.

A message is built from fragments whose entity spans are tracked as they are joined, so the ground truth
(type, start, end, value) is exact by construction rather than found again by searching the text. The
anonymizer is measured against it: recall on the structured identifiers (``STRUCTURED``), and how many
clean sentences it alters. Clean sentences still carry order numbers and harmless numbers (prices,
quantities, dates), the things an over-eager scrubber breaks.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, NamedTuple

from faker import Faker

from simulator import identifiers
from simulator.world import LocaleMode, World, pick_locale
from streams.events import Locale

EntityType = Literal["PERSON", "PHONE", "EMAIL", "ID_NUMBER", "BANK_CARD", "ADDRESS", "ORDER_ID"]
STRUCTURED: frozenset[EntityType] = frozenset({"PHONE", "EMAIL", "ID_NUMBER", "BANK_CARD"})
PERSONAL: frozenset[EntityType] = STRUCTURED | {"PERSON", "ADDRESS"}
"""Entity types that are personal data; ``ORDER_ID`` is not and must be kept."""

_FAKER_LOCALES: dict[Locale, str] = {"zh": "zh_CN", "en": "en_US"}

# Clauses customers add to a question. ``{UPPER}`` slots are customer data (ground truth), ``{lower}``
# slots are harmless numbers.
_PII_CLAUSES: dict[Locale, tuple[str, ...]] = {
    "zh": ("我的手机是{MOBILE}", "手机号{MOBILE}", "电话：{MOBILE}", "有事打我电话 {MOBILE}", "座机{LANDLINE}",
           "联系电话{LANDLINE}，白天有人", "我叫{NAME}", "我是{NAME}", "收件人{NAME}，电话{MOBILE}",
           "地址是{ADDRESS}", "寄到{ADDRESS}", "收货地址：{ADDRESS}", "邮箱{EMAIL}", "发票发我邮箱 {EMAIL} 就行",
           "身份证号{ID}", "我身份证是{ID}，实名认证过的", "银行卡{CARD}被扣了两次钱", "用的卡号是{CARD}",
           "我的名字是{NAME}，身份证{ID}"),
    "en": ("my number is {MOBILE}", "call me at {MOBILE}", "phone: {MOBILE}", "name's {NAME}", "this is {NAME}",
           "name's {NAME}, email {EMAIL}", "you can reach me at {EMAIL}", "my email is {EMAIL}",
           "my card {CARD} was charged twice", "I paid with card {CARD}", "ship to {ADDRESS}",
           "my address is {ADDRESS}", "I'm {NAME} at {ADDRESS}"),
}
_ORDER_CLAUSES: dict[Locale, tuple[str, ...]] = {
    "zh": ("订单号{ORDER}", "单号：{ORDER}", "订单{ORDER}"),
    "en": ("order {ORDER}", "order number {ORDER}", "order #{ORDER}"),
}
_HARMLESS_CLAUSES: dict[Locale, tuple[str, ...]] = {
    "zh": ("买了{qty}件", "花了{price}元", "{month}月{day}号下的单", "等了{days}天了", "昨天{hour}点多下的单"),
    "en": ("bought {qty} of them", "it cost {price} yuan", "ordered on {month}/{day}", "waited {days} days already",
           "ordered around {hour} pm yesterday"),
}
_CONTACT_REPLIES: dict[Locale, tuple[str, ...]] = {
    "zh": ("{NAME}，{MOBILE}", "我叫{NAME}，电话{MOBILE}", "{NAME} {MOBILE}", "{NAME}，邮箱{EMAIL}"),
    "en": ("{NAME}, {MOBILE}", "it's {NAME}, {MOBILE}", "{NAME} - {EMAIL}"),
}
_SLOT_TYPES: dict[str, EntityType] = {"NAME": "PERSON", "MOBILE": "PHONE", "LANDLINE": "PHONE", "EMAIL": "EMAIL",
                                      "ID": "ID_NUMBER", "CARD": "BANK_CARD", "ADDRESS": "ADDRESS",
                                      "ORDER": "ORDER_ID"}
_SLOT = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Entity:
    """One injected item: its type and where it is (``text[start:end] == value``)."""

    type: EntityType
    start: int
    end: int
    value: str


@dataclass(frozen=True)
class Fragment:
    """Text with the entities inside it; joining fragments keeps every span right."""

    text: str = ""
    entities: tuple[Entity, ...] = ()

    def __add__(self, other: Fragment | str) -> Fragment:
        other = Fragment(other) if isinstance(other, str) else other
        shift = len(self.text)
        moved = tuple(Entity(e.type, e.start + shift, e.end + shift, e.value) for e in other.entities)
        return Fragment(self.text + other.text, self.entities + moved)

    @classmethod
    def join(cls, separator: str, parts: list[Fragment]) -> Fragment:
        joined = cls()
        for i, part in enumerate(parts):
            joined = joined + (part if i == 0 else Fragment(separator) + part)
        return joined


def render(template: str, values: Mapping[str, str]) -> Fragment:
    """Fill ``template``'s slots; upper-case slots become entities of their type."""
    fragment = Fragment()
    for i, piece in enumerate(_SLOT.split(template)):
        if i % 2 == 0:
            fragment = fragment + piece
        elif piece in _SLOT_TYPES:
            value = values[piece]
            fragment = fragment + Fragment(value, (Entity(_SLOT_TYPES[piece], 0, len(value), value),))
        else:
            fragment = fragment + values[piece]
    return fragment


@dataclass(frozen=True)
class Customer:
    locale: Locale
    name: str
    mobile: str
    email: str
    card: str
    address: str
    landline: str | None = None  # zh customers only: US numbers do not tell a landline from a mobile
    id_number: str | None = None  # zh customers only: the mainland resident ID

    def slots(self) -> dict[str, str]:
        values = {"NAME": self.name, "MOBILE": self.mobile, "EMAIL": self.email, "CARD": self.card,
                  "ADDRESS": self.address, "LANDLINE": self.landline, "ID": self.id_number}
        return {slot: value for slot, value in values.items() if value is not None}


class Customers:
    """A seeded stream of customers, Faker for names and streets, ``identifiers`` for the numbers."""

    def __init__(self, seed: str):
        self.rng = random.Random(seed)
        self._fakers = {locale: Faker(name) for locale, name in _FAKER_LOCALES.items()}
        for faker in self._fakers.values():
            faker.seed_instance(self.rng.getrandbits(64))

    def draw(self, locale: Locale) -> Customer:
        return self._chinese() if locale == "zh" else self._american()

    def _chinese(self) -> Customer:
        fake, rng = self._fakers["zh"], self.rng
        street = f"{fake.street_name()}{rng.randint(1, 999)}号"
        flat = rng.choice(("", f"{rng.randint(1, 30)}栋{rng.randint(1, 30)}{rng.randint(1, 4):02d}室"))
        email_user = rng.choice((f"{fake.last_romanized_name()}.{fake.first_romanized_name()}".lower(),
                                 str(rng.randint(10**7, 10**10))))
        return Customer(
            locale="zh", name=fake.name(), mobile=identifiers.cn_mobile(rng),
            email=f"{email_user}@{rng.choice(('qq.com', '163.com', '126.com', 'sina.com', 'gmail.com'))}",
            card=identifiers.bank_card(rng, "zh"), landline=identifiers.cn_landline(rng),
            address=f"{fake.province()}{fake.city_name()}市{fake.district()}区{street}{flat}",
            id_number=identifiers.resident_id(rng),
        )

    def _american(self) -> Customer:
        fake, rng = self._fakers["en"], self.rng
        first, last = fake.first_name(), fake.last_name()
        first_, last_ = (re.sub(r"[^a-z]", "", part.lower()) for part in (first, last))  # O'Brien -> obrien
        email_user = rng.choice((f"{first_[0]}.{last_}", f"{first_}{last_}{rng.randint(1, 99)}", f"{first_}_{last_}"))
        street = rng.choice((fake.street_address(), f"{fake.street_address()}, {fake.city()}, "
                                                     f"{fake.state_abbr()} {fake.zipcode()}"))
        return Customer(
            locale="en", name=f"{first} {last}", mobile=identifiers.us_phone(rng),
            email=f"{email_user}@{fake.free_email_domain()}", card=identifiers.bank_card(rng, "en"),
            address=street,
        )


def _harmless_values(rng: random.Random) -> dict[str, str]:
    return {"qty": str(rng.randint(1, 5)), "price": str(rng.choice((39, 59, 99, 129, 199, 299, 399, 1299, 2499))),
            "month": str(rng.randint(1, 12)), "day": str(rng.randint(1, 28)), "days": str(rng.randint(2, 14)),
            "hour": str(rng.randint(1, 11))}


_FILLERS: dict[Locale, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "zh": (("亲，", "你好，", "请问", "在吗？", "客服，"), ("呀", "啊", "，谢谢", "？？", "急")),
    "en": (("hi, ", "hello ", "quick question: ", "hey "), (" thanks", " pls", "??", " asap")),
}
_END = "?？.。!！"


def typed(question: str, locale: Locale, rng: random.Random) -> str:
    """``question`` as a customer types it: sometimes a greeting or filler before or after it, its final mark
    dropped, English in lower case, or two letters of a word swapped (a typo)."""
    before, after = _FILLERS[locale]
    if rng.random() < 0.3:
        question = question.rstrip(_END)
    if locale == "en" and rng.random() < 0.3:
        question = question.lower()
    if locale == "en" and rng.random() < 0.15:
        question = _swap_letters(question, rng)
    if rng.random() < 0.25:
        question = rng.choice(before) + question
    if rng.random() < 0.15:
        question += rng.choice(after)
    return question


def _swap_letters(text: str, rng: random.Random) -> str:
    words = [m for m in re.finditer(r"[A-Za-z]{4,}", text)]
    if not words:
        return text
    word = rng.choice(words)
    at = rng.randrange(word.start() + 1, word.end() - 2)
    return text[:at] + text[at + 1] + text[at] + text[at + 2:]


def message(question: str, locale: Locale, rng: random.Random, customer: Customer | None = None,
            order: bool = False) -> Fragment:
    """A customer's message: the question, with the customer's personal data (when given), an order number
    and harmless numbers around it, in the order and punctuation people use."""
    values = {**_harmless_values(rng), "ORDER": identifiers.order_id(rng), **(customer.slots() if customer else {})}
    templates = rng.sample(_PII_CLAUSES[locale], rng.choice((1, 1, 2, 3))) if customer else []
    templates += [rng.choice(_ORDER_CLAUSES[locale])] if order else []
    templates += [rng.choice(_HARMLESS_CLAUSES[locale])] if rng.random() < 0.3 else []
    if not templates:
        return Fragment(question)
    rng.shuffle(templates)
    clauses = Fragment.join("，" if locale == "zh" else ", ", [render(t, values) for t in templates])
    if rng.random() < 0.5:
        return clauses + ("，" if locale == "zh" else ". ") + question
    return Fragment(question) + _glue(question, locale) + clauses


def _glue(question: str, locale: Locale) -> str:
    """What goes between a question and the clauses after it."""
    closed = question[-1] in "？?。.!！"
    if locale == "zh":
        return "" if closed else "，"
    return " " if closed else ", "


def contact_reply(customer: Customer, rng: random.Random) -> Fragment:
    """What a customer answers when a human agent asks for a name and a way to call back."""
    return render(rng.choice(_CONTACT_REPLIES[customer.locale]), customer.slots())


class Sample(NamedTuple):
    """A benchmark text and the ground truth of what is in it."""

    text: str
    entities: tuple[Entity, ...]
    locale: Locale


def _samples(n: int, seed: int, locale: LocaleMode, personal: bool) -> list[Sample]:
    world, rng = World.create(seed), random.Random(f"samples:{seed}:{personal}")
    customers = Customers(f"samples:{seed}:customers")
    samples = []
    for _ in range(n):
        loc = pick_locale(rng, locale, world.locales)
        question = rng.choice(world.questions(rng.choice(world.intents), loc))
        customer = customers.draw(loc) if personal else None
        text = message(question, loc, rng, customer, order=rng.random() < 0.3)
        samples.append(Sample(text.text, text.entities, loc))
    return samples


def pii_samples(n: int, seed: int = 0, locale: LocaleMode = "mixed") -> list[Sample]:
    """Customer messages that each carry personal data (and sometimes an order number), with ground truth."""
    return _samples(n, seed, locale, personal=True)


def clean_samples(n: int, seed: int = 0, locale: LocaleMode = "mixed") -> list[Sample]:
    """Customer messages with no personal data; their only entities are order numbers, which must be kept."""
    return _samples(n, seed, locale, personal=False)
