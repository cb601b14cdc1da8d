"""Policy-fact accuracy: does an answer state the rule in force?

An answer states a policy when it names the policy's topic (one of its keywords) and every fact value of
the version in force appears in it as a number. Numbers are read the ways people and models write them:
Arabic digits (full-width too, with thousands separators), Chinese numerals before a unit ("七天",
"十五个工作日") and English number words ("fifteen days"). A number inside a longer one does not count:
"7" is not stated by "17" or "7.5".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Protocol

from streams.events import Locale

_ARABIC = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?")
_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000}
# Chinese numerals count only before a measure word: "一" alone is as often part of a word ("一下") as a number.
_CN_NUMBER = re.compile(
    "([零〇一二两三四五六七八九十百千万]+)(?=个?(?:工作日|天|日|周|星期|月|年|小时|钟头|分钟|秒|元|块|倍|期|次|件|%|％))"
)
_EN_SMALL = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
             "sixteen seventeen eighteen nineteen").split()
_EN_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
            "ninety": 90}
_EN_NUMBER = re.compile(
    rf"\b(?:({'|'.join(_EN_TENS)})(?:[-\s]({'|'.join(_EN_SMALL[1:10])}))?|({'|'.join(_EN_SMALL)}))\b", re.IGNORECASE
)


class StatedPolicy(Protocol):
    """What the check needs of a policy (``simulator.world.Policy`` is one)."""

    @property
    def facts(self) -> Mapping[str, int]: ...

    @property
    def keywords(self) -> Mapping[Locale, tuple[str, ...]]: ...


def chinese_numeral(text: str) -> int:
    """The value of a Chinese numeral such as "十五", "二十", "一百二十" or "两千"."""
    total, section, digit = 0, 0, 0
    for char in text:
        if char in _CN_DIGITS:
            digit = _CN_DIGITS[char]
        elif char == "万":
            total += (section + digit) * 10000
            section, digit = 0, 0
        else:
            section += (digit or 1) * _CN_UNITS[char]
            digit = 0
    return total + section + digit


def numbers_in(text: str) -> set[float]:
    """Every number the text states, however it is written."""
    text = unicodedata.normalize("NFKC", text)
    found = {float(m.group().replace(",", "")) for m in _ARABIC.finditer(text)}
    found |= {float(chinese_numeral(m.group(1))) for m in _CN_NUMBER.finditer(text)}
    found |= {float(_english_number(m)) for m in _EN_NUMBER.finditer(text)}
    return found


def _english_number(match: re.Match[str]) -> int:
    tens, unit, small = match.groups()
    if small:
        return _EN_SMALL.index(small.lower())
    return _EN_TENS[tens.lower()] + (_EN_SMALL.index(unit.lower()) if unit else 0)


def states_policy(policy: StatedPolicy, answer: str) -> bool:
    """True when ``answer`` names the policy's topic and states every one of its fact values."""
    lowered = unicodedata.normalize("NFKC", answer).lower()
    on_topic = any(word.lower() in lowered for words in policy.keywords.values() for word in words)
    return on_topic and set(map(float, policy.facts.values())) <= numbers_in(answer)
