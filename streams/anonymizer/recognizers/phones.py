"""Phone numbers: mainland mobiles and landlines, North American numbers, and anything dialled with ``+``/``00``.

Presidio's own phone recognizer runs libphonenumber's matcher over every text: measured here, 60 % of the stock
analyzer's time, and it found 65 % of the phones of presidio-research's set (ARCHITECTURE.md). These patterns
are cheap and anchored on the formats people type; libphonenumber only checks the internationally dialled ones,
whose country codes and lengths a regex cannot know.
"""

from __future__ import annotations

from collections.abc import Iterator

import phonenumbers
import regex
from presidio_analyzer import Pattern, PatternRecognizer

from streams.anonymizer.entities import EntityType
from streams.anonymizer.recognizers.common import DIGIT, FinderRecognizer, digits_of, standalone

TRIGGER = DIGIT

# "x123", "ext. 123", "extension 123", "转123", "分机 123" (and "-123" after a landline): an extension belongs to
# its number.
_EXTENSION_MARKS = r"转|分机|(?i:ext(?:ension)?)\.?|[Xx]"
_EXTENSION = rf"(?:[ ]?(?:{_EXTENSION_MARKS})[ ]?[0-9]{{1,5}})?"
_LANDLINE_EXTENSION = rf"(?:[ ]?(?:{_EXTENSION_MARKS}|-)[ ]?[0-9]{{1,5}})?"

PATTERNS = (
    # 13800138000, 138 0013 8000, 138-0013-8000, +86 138..., (+86)138..., 0086 138...
    Pattern("mainland mobile", standalone(r"(?:\(?(?:\+|00)?86\)?[ -]?)?1[3-9][0-9](?:[ -]?[0-9]){8}"), 0.85),
    # 010-12345678, 0755-1234567, (021) 8888 6666, 02012345678, with an extension (转123, -123)
    Pattern(
        "mainland landline",
        standalone(r"\(?0(?:10|2[0-9]|[3-9][0-9]{2})\)?[ -]?[1-9][0-9]{2,3}[ -]?[0-9]{4}" + _LANDLINE_EXTENSION),
        0.8,
    ),
    # 415-555-0100, (415) 555-0100, 415.555.0100, 4155550100, +1-415-555-0100x12, 001-415-555-0100
    Pattern(
        "north american",
        standalone(r"(?:(?:\+?1|001)[ .-]?)?"
                   r"(?:\([2-9][0-9]{2}\)[ ]?[2-9][0-9]{2}[ .-]?|[2-9][0-9]{2}(?P<sep>[ .-]?)[2-9][0-9]{2}(?P=sep))"
                   r"[0-9]{4}" + _EXTENSION),
        0.7,
    ),
    # +44 20 7946 0958, +81 3-1234-5678, 0044 7700 900123: validated by libphonenumber below
    Pattern("international", standalone(r"\(?(?:\+|00)[1-9][0-9]{0,2}\)?(?:[ .-]?\(?[0-9]{1,4}\)?){2,6}" + _EXTENSION),
            0.6),
    # 020 7946 0958, 01 23 45 67 89, 030 1234567, 0680 298 70 63: a trunk 0, 9-11 digits in groups; checked
    # against the numbering plans of the countries whose customers write them so (``_valid_national``)
    Pattern("national, trunk prefix", standalone(r"\(?0[1-9][0-9]{0,4}\)?(?:[ ./-]?[0-9]{2,8}){1,4}" + _EXTENSION),
            0.55),
)

# Countries whose national format starts with a trunk 0 (not China's: its formats are patterns of their own).
NATIONAL_REGIONS = ("GB", "FR", "DE", "IT", "ES", "NL", "BE", "AT", "CH", "IE", "AU", "SE", "PT", "PL", "NZ")
_NATIONAL_DIGITS = range(9, 12)


# 400-xxx-xxxx and 800-xxx-xxxx are China's business service numbers (and 800 is US toll-free): the shop's
# own hotline, repeated in every bot answer, is not anyone's personal number.
_SERVICE_NUMBER = regex.compile(r"(?:400|800)[0-9]{7}")
# Mainland landlines (0 + area code + 7-8 digits) and 0-prefixed mobiles, accepted by their own patterns.
_MAINLAND = regex.compile(r"0(?:10|2[0-9]|[3-9][0-9]{2})[1-9][0-9]{6,7}[0-9]{0,5}|01[3-9][0-9]{9}")


_EXTENSION_START = regex.compile(rf"[ ]?(?:{_EXTENSION_MARKS})")


def _without_extension(text: str) -> str:
    return _EXTENSION_START.split(text, maxsplit=1)[0]


def _valid_national(text: str) -> bool:
    """Whether a trunk-0 number is a valid number of one of ``NATIONAL_REGIONS``."""
    digits = digits_of(_without_extension(text))
    if len(digits) not in _NATIONAL_DIGITS:
        return False
    for region in NATIONAL_REGIONS:
        try:
            if phonenumbers.is_valid_number(phonenumbers.parse(digits, region)):
                return True
        except phonenumbers.NumberParseException:
            continue
    return False


def _possible_international(text: str) -> bool | None:
    """For ``+``/``00``-dialled numbers, whether libphonenumber finds a possible number; ``None`` otherwise."""
    dialled = _without_extension(text.lstrip("("))
    if dialled.startswith("00"):
        dialled = "+" + dialled[2:]
    if not dialled.startswith("+"):
        return None
    try:
        return phonenumbers.is_possible_number(phonenumbers.parse(dialled, None))
    except phonenumbers.NumberParseException:
        return False


class CustomerPhoneRecognizer(PatternRecognizer):
    """Phone numbers in the formats Chinese and English customers write them.

    Not named ``PhoneRecognizer``: Presidio finds its predefined recognizers by class name among every
    ``EntityRecognizer`` subclass in the process, so that name would replace its own in a default analyzer.
    """

    def __init__(self, supported_language: str):
        super().__init__(supported_entity=EntityType.PHONE, patterns=list(PATTERNS),
                         supported_language=supported_language, global_regex_flags=0)

    def validate_result(self, pattern_text: str) -> bool | None:
        international = _possible_international(pattern_text)
        if international is None and pattern_text.lstrip("(").startswith("0") and not _MAINLAND.fullmatch(
                digits_of(pattern_text)):
            return _valid_national(pattern_text)
        return international

    def invalidate_result(self, pattern_text: str) -> bool:
        return _SERVICE_NUMBER.fullmatch(digits_of(pattern_text)) is not None


# --- numbers introduced as phones --------------------------------------------------------------------------
#
# After "电话是", "phone number is", "call me on", "answering at", any digit groups that make 7-15 digits are a
# phone: public text has every national format there is ("78 651 450", "(64) 3591-3246", "1 40 62 05 00",
# Beijing's eight-digit "67010327"), and no pattern could know them all. A cue may introduce a list
# ("电话是67080561、67080562", "010-87739799 64615726"): every number of it is taken.

_OBJECT = r"(?: (?:me|us|them|him|her|it))?"
_EN_PHONE_CUE = (
    r"(?<![A-Za-z])(?i:(?:tele)?phone(?: (?:number|no\.?|num|#))?|tel\.?|mobile(?: (?:number|no\.?|phone))?"
    r"|cell(?: ?phone)?(?: number)?|fax(?: number)?|whats ?app|contact (?:number|no\.?|details)|number"
    rf"|call(?:ed|ing)?{_OBJECT}(?: (?:on|at))?|reach(?:ed)?{_OBJECT} (?:on|at)|contact(?:ed|ing)?{_OBJECT} (?:on|at)"
    rf"|text(?:ed)?{_OBJECT} (?:on|at)|ring{_OBJECT} on|answering at|registered|dial(?:l?ed)?)(?![A-Za-z])")
_ZH_PHONE_CUE = r"(?:电话|手机|座机|固话|联系方式|传真)(?:号码|号)?|号码|拨打|致电|打|记一下|联系"
_GLUE = r"[ ]*(?:(?i:is|was|:)(?![A-Za-z])|是|为|:|：|#)?[ ]*(?:[,，:：][ ]*)?"
_CUE = regex.compile(rf"(?:{_EN_PHONE_CUE}|{_ZH_PHONE_CUE}){_GLUE}")
_CUED_VALUE = regex.compile(
    r"(?:\+|00)?\(?[0-9]{1,5}\)?(?:(?:[ .-]|[ ]?/[ ]?)?\(?[0-9]{1,8}\)?){0,7}"
    rf"(?:[ ]?(?:{_EXTENSION_MARKS})[ ]?[0-9]{{1,5}}(?![0-9]))?")
_GROUP_END = regex.compile(r"[ .\-/()]*[0-9]+\)?$")
_LIST_SEPARATOR = regex.compile(r"[ ]*(?:[、,，/;；]|和|及|或|(?i:or|and)(?![A-Za-z]))[ ]*|[ ]+")
# What may not follow a phone: more digits, a decimal or time part, a unit, a currency, a date character.
_NOT_AFTER = regex.compile(r"[0-9A-Za-z]|[.:][0-9]|[ ]?(?:元|块|%|点|年|月|日|号|分|个|件|天|次)")
MIN_CUED_DIGITS, MAX_CUED_DIGITS = 7, 15


def _cued_value(text: str, start: int) -> int | None:
    """The end of the phone starting at ``start``, or ``None``: 7-15 digits, trailing groups given back while
    there are more (a number written right after the phone)."""
    match = _CUED_VALUE.match(text, start)
    if not match:
        return None
    value = match[0].rstrip(" .-/(")
    while value and (len(digits_of(value)) > MAX_CUED_DIGITS or _NOT_AFTER.match(text, start + len(value))):
        shorter = _GROUP_END.sub("", value)
        if shorter == value:
            return None
        value = shorter
    if value.count("(") != value.count(")"):
        value = value.rstrip(")") if value.count(")") > value.count("(") else value
    digits = digits_of(value)
    if not MIN_CUED_DIGITS <= len(digits) <= MAX_CUED_DIGITS or _SERVICE_NUMBER.fullmatch(digits):
        return None
    if len(set(digits)) == 1:
        return None
    return start + len(value)


def find_cued_phones(text: str) -> Iterator[tuple[int, int]]:
    """Phones after a phone cue, and the further phones of a list the cue introduces."""
    for cue in _CUE.finditer(text):
        start = cue.end()
        if start >= len(text) or not (text[start].isdigit() or text[start] in "+(") or (
                start and text[start - 1].isdigit()):
            continue
        while (end := _cued_value(text, start)) is not None:
            yield start, end
            separator = _LIST_SEPARATOR.match(text, end)
            if not separator:
                break
            start = separator.end()


def cued_phone_recognizer(supported_language: str) -> FinderRecognizer:
    return FinderRecognizer(EntityType.PHONE, supported_language, "CuedPhoneFinder", find_cued_phones, 0.75)
