"""Phone numbers: mainland mobiles and landlines, North American numbers, and anything dialled with ``+``/``00``.

Presidio's own phone recognizer runs libphonenumber's matcher over every text: measured here, 60 % of the stock
analyzer's time, and it found 65 % of the phones of presidio-research's set (ARCHITECTURE.md). These patterns
are cheap and anchored on the formats people type; libphonenumber only checks the internationally dialled ones,
whose country codes and lengths a regex cannot know.
"""

from __future__ import annotations

import phonenumbers
import regex
from presidio_analyzer import Pattern, PatternRecognizer

from streams.anonymizer.entities import EntityType
from streams.anonymizer.recognizers.common import DIGIT, digits_of, standalone

TRIGGER = DIGIT

# "x123", "ext. 123", "转123", "分机 123" (and "-123" after a landline): an extension belongs to its number.
_EXTENSION_MARKS = r"转|分机|(?i:ext)\.?|[Xx]"
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
)


# 400-xxx-xxxx and 800-xxx-xxxx are China's business service numbers (and 800 is US toll-free): the shop's
# own hotline, repeated in every bot answer, is not anyone's personal number.
_SERVICE_NUMBER = regex.compile(r"(?:400|800)[0-9]{7}")


def _possible_international(text: str) -> bool | None:
    """For ``+``/``00``-dialled numbers, whether libphonenumber finds a possible number; ``None`` otherwise."""
    dialled = text.lstrip("(")
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
        return _possible_international(pattern_text)

    def invalidate_result(self, pattern_text: str) -> bool:
        return _SERVICE_NUMBER.fullmatch(digits_of(pattern_text)) is not None
