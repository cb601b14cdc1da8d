"""Personal names, Chinese and English, found from dialog cues and gazetteers.

No NER model can be downloaded here, so a name is recognized by what introduces it and by name lists:

* a strong cue ("我叫", "收件人：", "my name is") is trusted with any name-shaped words after it: a known
  surname plus one or two characters, or capitalized words (lower-case ones only if the gazetteers know them);
* a weak cue ("我是", "this is", "Hi") only with names from the gazetteers, since "我是新用户" and "this is
  Visa" follow the same cue;
* an honorific or title ("王先生", "Ms. Johnson") marks the surname before or the name after it;
* a capitalized first-name + last-name pair from the gazetteers needs no cue at all;
* a reply to "请问怎么称呼您?" / "what's your name?" is a name if it is name-shaped as a whole
  (``NameReplyRecognizer``, added for that one turn by the anonymizer).

Cues work across scripts: "my name is 王伟" and "我叫John" both occur.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache

import regex
from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from streams.anonymizer.entities import EntityType
from streams.anonymizer.gazetteers import Gazetteer, load
from streams.anonymizer.recognizers.common import CJK, alternation

# Surnames that are far more often a function word ("这位先生", "我和先生"): not trusted before an honorific.
_FUNCTION_WORD_SURNAMES = frozenset("位那和都向于时单常")
# Characters and words never inside a Chinese name: particles, pronouns, and what usually follows a name.
_NOT_IN_NAMES = (*"的了是在我你您他她它们吗呢吧啊呀哦哈嗯",
                 "先生", "女士", "小姐", "电话", "手机", "地址", "邮箱", "订单", "收货", "联系", "身份证", "银行", "卡号", "号码")
# Verbs and conjunctions that often follow a name ("我叫王伟想问一下") and rarely end one: they end a two-character
# given name, but may still be its only character (Faker's zh_CN list has "想").
_AFTER_NAMES = tuple("想要说问请和与跟给把被从到对就也都还又很太再已")
# First names that open questions ("Hi, May I...", "Hello, Will my card..."): not a name after a weak cue.
_AUXILIARY_FIRST_NAMES = frozenset({"May", "Will", "Can", "Must"})
_HONORIFICS = ("先生", "女士", "小姐", "太太", "老师", "经理", "师傅", "同学")
_TITLE = regex.compile(r"(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof)\.?[ ]+")
_EN_NAME_SUFFIX = regex.compile(r",? (?:Jr|Sr|II|III|IV|V|MD|DDS|PhD|DVM)\.?(?![A-Za-z])")
_EN_TOKEN = r"[A-Z](?:'[A-Z])?[a-z]+(?:[A-Z][a-z]+)?(?:-[A-Z][a-z]+)?"
_EN_LOOSE_TOKEN = r"[A-Za-z](?:'?[A-Za-z]+)(?:-[A-Za-z]+)?"


@dataclass(frozen=True)
class NameRule:
    """A regex whose group ``name`` holds a candidate, and how much of the candidate is a name (0: none)."""

    pattern: regex.Pattern[str]
    accept: Callable[[str], int]
    score: float


@cache
def _fragments() -> dict[str, str]:
    """Regex fragments for cues and name shapes; the name lists come from the gazetteers."""
    surnames = load(Gazetteer.ZH_SURNAMES)
    single = "".join(sorted(s for s in surnames if len(s) == 1))
    compound = alternation(s for s in surnames if len(s) > 1)
    surname = f"(?:{compound}|[{single}])"
    plain_surname = f"(?:{compound}|[{''.join(sorted(set(single) - _FUNCTION_WORD_SURNAMES))}])"
    given = f"[{''.join(sorted(set(''.join(load(Gazetteer.ZH_GIVEN_NAMES)))))}]"
    honorific = alternation(_HONORIFICS)
    return {
        "surname": surname,
        "plain_surname": plain_surname,
        "given": given,
        "honorific": honorific,
        "strong_cue": (r"(?:(?:我叫|我的名字(?:是|叫)|名字(?:是|叫)|姓名(?:是|为)?"
                       r"|(?:收件人|收货人|联系人|寄件人|持卡人)(?:姓名)?(?:是|为)?)"
                       r"|(?<![A-Za-z])(?i:name is|name's|full name|name:|i am called|call me|recipient(?: name)?"
                       r"|addressed to|cardholder(?: name)?))[:：,]?[ ]*"),
        "surname_cue": "我姓|免贵姓",
        "nickname_cue": "叫我|喊我|称呼我",
        "weak_cue": (r"(?:(?:我是|这里是|这边是)|(?<![A-Za-z])(?i:i am|i'm|this is|it's|it is|hi|hello|hey|dear"
                     r"|thanks|thank you|regards|cheers|best|sincerely)[,!]?[ ]+)[ ]*"),
        "zh_name": (rf"{surname}(?!{alternation(_NOT_IN_NAMES)}){CJK}"
                    rf"(?:(?!{alternation(_NOT_IN_NAMES + _AFTER_NAMES)}){CJK})?"),
        "zh_known_name": rf"{surname}{given}{{1,2}}(?=[\s，,。.！!？?、~～]|$|{honorific})",
        "en_words": rf"(?:{_TITLE.pattern})?{_EN_LOOSE_TOKEN}(?:[ ]{_EN_LOOSE_TOKEN}){{0,2}}",
        "en_capitalized": rf"{_EN_TOKEN}(?:[ ]{_EN_TOKEN}){{0,2}}",
        "en_titled": rf"{_TITLE.pattern}{_EN_TOKEN}(?:[ ]{_EN_TOKEN})?",
    }


def _accept_all(candidate: str) -> int:
    return len(candidate)


def _accept_after_strong_cue(candidate: str) -> int:
    """Capitalized words, or lower-case ones the gazetteers know, up to the first word that is neither."""
    first, last = load(Gazetteer.EN_FIRST_NAMES), load(Gazetteer.EN_LAST_NAMES)
    end = 0
    for word in candidate.split():
        if not (word[0].isupper() or word.capitalize() in first or word.capitalize() in last):
            break
        end = candidate.index(word, end) + len(word)
    return end


def _accept_after_weak_cue(candidate: str) -> int:
    """A known first name, extended by the known last names that follow it."""
    words = candidate.split()
    if words[0] not in load(Gazetteer.EN_FIRST_NAMES) or words[0] in _AUXILIARY_FIRST_NAMES:
        return 0
    end = len(words[0])
    for word in words[1:]:
        if word not in load(Gazetteer.EN_LAST_NAMES):
            break
        end = candidate.index(word, end) + len(word)
    return end


def _accept_whole_reply(candidate: str) -> int:
    """All of it, if every word passes the strong-cue test and one is a known name ("Sure" and "Not now" are
    name-shaped replies too)."""
    known = load(Gazetteer.EN_FIRST_NAMES) | load(Gazetteer.EN_LAST_NAMES)
    whole = _accept_after_strong_cue(candidate) == len(candidate)
    return len(candidate) if whole and any(word.capitalize() in known for word in candidate.split()) else 0


def _accept_known_pair(candidate: str) -> int:
    first, last = candidate.split()
    return len(candidate) if first in load(Gazetteer.EN_FIRST_NAMES) and last in load(Gazetteer.EN_LAST_NAMES) else 0


@cache
def cue_rules() -> tuple[NameRule, ...]:
    """The rules ``PersonRecognizer`` applies: cue and name shape, honorifics, titles, known pairs."""
    f = _fragments()
    rules = (
        (rf"{f['strong_cue']}(?P<name>{f['zh_name']})", _accept_all, 0.85),
        (rf"{f['strong_cue']}(?P<name>{f['en_words']})", _accept_after_strong_cue, 0.85),
        (rf"{f['weak_cue']}(?P<name>{f['zh_known_name']})", _accept_all, 0.6),
        (rf"{f['weak_cue']}(?P<name>{f['en_capitalized']})", _accept_after_weak_cue, 0.6),
        (rf"(?:{f['surname_cue']})(?P<name>{f['surname']})", _accept_all, 0.6),
        (rf"(?:{f['nickname_cue']})(?P<name>[小老阿]{f['surname']}|{f['zh_name']})", _accept_all, 0.85),
        # "王先生", "李秀英女士"; not "这位先生" or "谢谢先生"
        (rf"(?<![这那哪每各该此谢])(?P<name>{f['plain_surname']}{f['given']}{{0,2}})(?={f['honorific']})",
         _accept_all, 0.6),
        (rf"(?<![A-Za-z])(?P<name>{f['en_titled']})", _accept_all, 0.85),
        (rf"(?<![A-Za-z])(?P<name>{_EN_TOKEN}[ ]{_EN_TOKEN})(?![A-Za-z])", _accept_known_pair, 0.6),
    )
    return tuple(NameRule(regex.compile(pattern), accept, score) for pattern, accept, score in rules)


@cache
def trigger() -> Callable[[str], bool]:
    """A cheap necessary condition for any cue rule to match: a cue, an honorific, a title or a name pair.

    The parts are searched one by one: it runs on every text, and one alternation of them all took 35 µs a
    text against 11 µs for the parts in turn (measured on simulated traffic), because the regex engine scans
    for each part's literal start on its own but not for an alternation's. Either way it says the same.
    """
    f = _fragments()
    parts = tuple(regex.compile(part) for part in (
        f["strong_cue"], rf"{f['weak_cue']}(?:[A-Z]|{CJK})", f["surname_cue"], f["nickname_cue"], f["honorific"],
        f["en_titled"], rf"{_EN_TOKEN}[ ]{_EN_TOKEN}",
    ))
    return lambda text: any(part.search(text) for part in parts)


@cache
def reply_rules() -> tuple[NameRule, ...]:
    """A reply that opens with a name, after the other side asked for one ("王伟，138...", "John Smith - j@x.com")."""
    f = _fragments()
    polite = r"[\s，,。.！!~～]*"
    lead = (r"(?:(?:我叫|我是|叫|是|姓名|名字)[:：]?|(?i:my name is|my name's|name's|it's|it is|i'm|i am|this is"
            r"|sure|yes|yeah|ok|okay)[,!.]?)?[ ]*")
    end = r"(?=[ ]*(?:[\s，,。.！!、~～:：;；/-]|$))"
    rules = (
        (rf"^{polite}{lead}(?P<name>{f['zh_name']}){end}", _accept_all),
        (rf"^{polite}{lead}(?P<name>{f['en_words']}){end}", _accept_whole_reply),
    )
    return tuple(NameRule(regex.compile(pattern), accept, 0.85) for pattern, accept in rules)


def _suffixed(text: str, end: int) -> int:
    """Where a name ending at ``end`` really ends: "Lonnie Williams Jr.", "Valerie Thompson MD"."""
    suffix = _EN_NAME_SUFFIX.match(text, end)
    return suffix.end() if suffix else end


class _RuleRecognizer(EntityRecognizer):
    """Runs ``NameRule``s; Presidio's pattern recognizer cannot, since a rule's match is checked in code."""

    def __init__(self, rules: Sequence[NameRule], supported_language: str):
        self._rules = rules
        super().__init__(supported_entities=[EntityType.PERSON], supported_language=supported_language)

    def load(self) -> None:
        """Nothing to load: the gazetteers are read once per process (``gazetteers.load``)."""

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
                ) -> list[RecognizerResult]:
        results = []
        for rule in self._rules:
            for match in rule.pattern.finditer(text):
                length = rule.accept(match.group("name"))
                if length:
                    start = match.start("name")
                    results.append(RecognizerResult(EntityType.PERSON, start, _suffixed(text, start + length),
                                                    rule.score))
        return results


class PersonRecognizer(_RuleRecognizer):
    """Names introduced by a cue, addressed with an honorific, or known first + last name pairs."""

    def __init__(self, supported_language: str):
        super().__init__(cue_rules(), supported_language)


class NameReplyRecognizer(_RuleRecognizer):
    """A turn that opens with a name: the anonymizer adds it for the turn after someone asked for a name."""

    def __init__(self, supported_language: str):
        super().__init__(reply_rules(), supported_language)


def without_title(name: str) -> str:
    """``name`` without a leading title: "Mr. Smith" and "Smith" name the same person."""
    title = _TITLE.match(name)
    return name[title.end():] if title else name


_NAME_REQUEST = regex.compile(
    r"怎么称呼|贵姓|(?:您|你)的(?:全名|姓名|名字)|(?:收件人|收货人|联系人|持卡人)(?:的)?(?:姓名|名字)"
    r"|(?i:what(?:'s| is) your (?:full |first |last )?name|your (?:full )?name,? please"
    r"|(?:may|can|could) i (?:have|get|know|ask) your (?:full )?name"
    r"|who am i (?:speaking|talking|chatting) (?:with|to))"
)


def asks_for_name(text: str) -> bool:
    """Whether ``text`` asks the other side for their name, so that the next turn may be a bare name."""
    return _NAME_REQUEST.search(text) is not None
