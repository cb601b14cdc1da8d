"""Is an answer right? One judge for any shop: by the facts the policy declares, else by the reference answer.

* **Facts.** Where the policy in force declares facts, an answer is right when it is about the asked intent and
  states every fact value. Numbers count however people and models write them: Arabic digits (full-width too,
  with thousands separators), Chinese numerals before a unit ("七天", "十五个工作日"), English number words
  ("fifteen days"; "one" only before a unit, as it is often a pronoun), amounts with or without a currency sign ("$50", "50 dollars", "9.9元"). A number inside a
  longer one does not count: "7" is not stated by "17" or "7.5". A text fact ("original payment method") must
  appear in the answer, compared case- and width-insensitively.
* **Reference.** Where the policy declares no facts (or the intent has no policy), the answer is compared with the
  reference answer by chrF; at ``REFERENCE_THRESHOLD`` or above it is right.
* **About the intent.** An intent's ``keywords`` (when the shop gives them) must appear; otherwise the answer's
  closest reference answer among the rules in force, by chrF, must be the asked intent's.

``REFERENCE_THRESHOLD`` was set on both shipped shops, where every other intent's reference answer scores well
below it against an intent's own (README, "Your own shop", has the figures).

In production an LLM can judge instead (``learners.llm_judge``); every verdict names the judge that gave it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from learners.shop import normalize
from learners.text_metrics import chrf
from streams.events import Locale

if TYPE_CHECKING:
    from learners.rules import Rule, Rules

REFERENCE_THRESHOLD = 0.6

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
# "one" is as often a pronoun ("can't get one") as a number: it counts only before a unit.
_EN_WORDS = [word for word in _EN_SMALL if word != "one"] + [r"one(?=\s+(?:day|week|month|year|hour|minute|second|"
                                                           r"business|working|dollar|percent|item|time)s?\b)"]
_EN_NUMBER = re.compile(
    rf"\b(?:({'|'.join(_EN_TENS)})(?:[-\s]({'|'.join(_EN_SMALL[1:10])}))?|({'|'.join(_EN_WORDS)}))\b", re.IGNORECASE
)


class Verdict(NamedTuple):
    """Whether an answer is right, and which judge said so (``facts``, ``reference``, ``llm:<model>``...)."""

    correct: bool
    judge: str


class Judge(Protocol):
    """Anything that judges an answer to ``question`` by the rule in force for its intent."""

    def __call__(self, question: str, locale: Locale, rule: Rule, answer: str) -> Verdict: ...


class StatedPolicy(Protocol):
    """What the fact test needs of a rule (``learners.rules.Rule`` is one)."""

    @property
    def facts(self) -> Mapping[str, Any]: ...

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


def states_facts(facts: Mapping[str, Any], answer: str) -> bool:
    """True when ``answer`` states every fact value (numbers in any usual form, text facts verbatim)."""
    numbers, folded = numbers_in(answer), normalize(answer)
    for value in facts.values():
        if isinstance(value, bool):
            continue  # a yes/no fact has no one way to be said; the shop file refuses them
        if isinstance(value, (int, float)):
            if float(value) not in numbers:
                return False
        elif normalize(str(value)) not in folded:
            return False
    return True


def names_topic(policy: StatedPolicy, answer: str) -> bool:
    """True when ``answer`` names one of the policy's keywords (any language)."""
    lowered = unicodedata.normalize("NFKC", answer).lower()
    return any(word.lower() in lowered for words in policy.keywords.values() for word in words)


def states_policy(policy: StatedPolicy, answer: str) -> bool:
    """The keyword and fact test alone: names the topic and states every fact value."""
    return names_topic(policy, answer) and states_facts(policy.facts, answer)


class RuleJudge:
    """The judge that needs no model: facts where the policy declares them, the reference answer elsewhere."""

    name = "rules"

    def __init__(self, rules: Rules, threshold: float = REFERENCE_THRESHOLD):
        self.rules, self.threshold = rules, threshold

    def __call__(self, question: str, locale: Locale, rule: Rule, answer: str) -> Verdict:
        if rule.facts:
            return Verdict(self.about(rule, locale, answer) and states_facts(rule.facts, answer), "facts")
        return Verdict(chrf(answer, rule.answer(locale)) >= self.threshold, "reference")

    def about(self, rule: Rule, locale: Locale, answer: str) -> bool:
        """Is ``answer`` about ``rule``'s intent: its keywords when it has any, else its closest reference."""
        if rule.keywords:
            return names_topic(rule, answer)
        return self.closest_intent(answer, locale) == rule.intent

    def closest_intent(self, answer: str, locale: Locale) -> str | None:
        """The intent whose reference answer in ``locale`` is closest to ``answer`` (chrF)."""
        scored = [(chrf(answer, r.answer(locale)), r.intent) for r in self.rules.rules.values()
                  if locale in r.locales]
        return max(scored)[1] if scored else None
