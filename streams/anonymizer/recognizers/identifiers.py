"""National ID and payment card numbers, accepted only when their check digits hold, or when they are called
a card or ID number.

The check is what keeps order numbers, tracking numbers and timestamps of the same length out: a random digit
string passes Luhn one time in ten and the resident-ID check (plus a real birth date) far more rarely. A number
the customer *calls* a card or ID number is one even when a typo breaks its check digit: it still identifies the
card or the person, so after such a cue any plausible length is taken unchecked.
"""

from __future__ import annotations

import regex
from presidio_analyzer import Pattern, PatternRecognizer
from presidio_analyzer.predefined_recognizers import UsSsnRecognizer

from streams.anonymizer.entities import EntityType
from streams.anonymizer.recognizers.checksums import luhn_valid, resident_id_valid
from streams.anonymizer.recognizers.common import CUE_GLUE, DIGIT, NOT_BEFORE_ALNUM, digits_of, standalone

TRIGGER = DIGIT

# region (6) + birth date (8) + sequence (3) + check character; spaced or dashed between the groups
_BIRTH_DATE = r"(?:18|19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
RESIDENT_ID_PATTERN = Pattern("resident id", standalone(rf"[1-8][0-9]{{5}}[ -]?{_BIRTH_DATE}[ -]?[0-9]{{3}}[0-9Xx]"),
                              0.5)

# Maestro numbers may be as short as 12 digits; other cards have 13-19. Issuer ranges start 1-6 (JCB 1800,
# Amex 3, Visa 4, Mastercard 2/5, UnionPay 62), except Maestro's 0604: 7-9 starts are not cards.
_MAESTRO_PREFIX = r"(?:50(?:18|20|38)|5[6-8][0-9]{2}|6304|6390|6759|676[1-3]|0604)"
_MAESTRO = regex.compile(_MAESTRO_PREFIX)
CARD_PATTERNS = (
    Pattern("card, unbroken", standalone(rf"[1-6][0-9]{{12,18}}|{_MAESTRO_PREFIX}[0-9]{{8,15}}"), 0.3),
    Pattern("card, 4-digit groups", standalone(r"[1-6][0-9]{3}(?P<s>[ -])[0-9]{4}(?P=s)[0-9]{4}(?P=s)[0-9]{1,4}"
                                               r"(?:(?P=s)[0-9]{1,3})?"), 0.3),
    Pattern("card, 4-6-4/5 groups (Amex, Diners)", standalone(r"3[0-9]{3}(?P<t>[ -])[0-9]{6}(?P=t)[0-9]{4,5}"), 0.3),
)

SSN_PATTERN = Pattern("ssn, dashed", standalone(r"[0-9]{3}-[0-9]{2}-[0-9]{4}"), 0.5)

_CARD_CUE = (r"(?:银行卡|信用卡|储蓄卡|借记卡|卡)号?(?:码)?"
             r"|(?<![A-Za-z])(?i:card (?:number|no\.?|#)|credit card|debit card|account (?:number|no\.?))")
_ID_CUE = (r"身份证(?:号码|号)?|证件号(?:码)?"
           r"|(?<![A-Za-z])(?i:id (?:number|no\.?)|ssn|social security(?: number)?)")
_CUED_NUMBERS = {
    EntityType.BANK_CARD: Pattern("card number after its cue",
                                  rf"(?:{_CARD_CUE}){CUE_GLUE}\K[0-9](?:[ -]?[0-9]){{11,18}}{NOT_BEFORE_ALNUM}", 0.6),
    EntityType.ID_NUMBER: Pattern("id number after its cue",
                                  rf"(?:{_ID_CUE}){CUE_GLUE}\K(?:[0-9](?:[ -]?[0-9]){{14,16}}[0-9Xx]"
                                  rf"|[0-9]{{3}}[ -]?[0-9]{{2}}[ -]?[0-9]{{4}}){NOT_BEFORE_ALNUM}", 0.6),
}

# Passport and driving licence numbers have no common shape (E12345678, F162823540116, 2270-66-1551, 6940579):
# only their cue tells them from any other code, so they are taken after it, letters and digits, at least 5
# characters of which at least 4 digits.
_DOCUMENT_CUE = (r"护照(?:号码|号)?|驾照(?:号码|号)?|驾驶证(?:号码|号)?|驾驶执照(?:号码|号)?"
                 r"|(?<![A-Za-z])(?i:passport|driver'?s? licen[cs]e|driving licen[cs]e|licen[cs]e|dl)"
                 r"(?i:[ ]?(?:number|num|no\.?|#|id))?(?![A-Za-z])")
DOCUMENT_PATTERN = Pattern(
    "passport or driving licence number after its cue",
    rf"(?:{_DOCUMENT_CUE}){CUE_GLUE}\K(?=(?:[A-Za-z-]*[0-9]){{4}})[A-Za-z0-9](?:-?[A-Za-z0-9]){{4,19}}"
    rf"{NOT_BEFORE_ALNUM}",
    0.6)


class ResidentIdRecognizer(PatternRecognizer):
    """Mainland resident identity card numbers (18 characters, GB 11643 check character)."""

    def __init__(self, supported_language: str):
        super().__init__(supported_entity=EntityType.ID_NUMBER, patterns=[RESIDENT_ID_PATTERN],
                         supported_language=supported_language, global_regex_flags=0)

    def validate_result(self, pattern_text: str) -> bool:
        return resident_id_valid(pattern_text.replace(" ", "").replace("-", ""))


class BankCardRecognizer(PatternRecognizer):
    """Bank and credit card numbers, unbroken or grouped the way cards print them."""

    def __init__(self, supported_language: str):
        super().__init__(supported_entity=EntityType.BANK_CARD, patterns=list(CARD_PATTERNS),
                         supported_language=supported_language, global_regex_flags=0)

    def validate_result(self, pattern_text: str) -> bool:
        digits = digits_of(pattern_text)
        shortest = 12 if _MAESTRO.match(digits) else 13
        return shortest <= len(digits) <= 19 and luhn_valid(digits)

    def invalidate_result(self, pattern_text: str) -> bool:
        """A run of one repeated digit passes Luhn but is a placeholder, not a card."""
        return len(set(digits_of(pattern_text))) == 1


def us_ssn_recognizer(supported_language: str) -> UsSsnRecognizer:
    """Presidio's SSN recognizer (its invalid-area and zero-group rules) on the dashed form, as an ID number.

    Only the dashed form: nine bare digits are as likely an order or account number.
    """
    return UsSsnRecognizer(patterns=[SSN_PATTERN], supported_entity=EntityType.ID_NUMBER,
                           supported_language=supported_language)


def cued_number_recognizer(entity_type: EntityType, supported_language: str) -> PatternRecognizer:
    """Card (``BANK_CARD``) or ID (``ID_NUMBER``) numbers introduced as such, without a check-digit test."""
    return PatternRecognizer(supported_entity=entity_type, patterns=[_CUED_NUMBERS[entity_type]],
                             supported_language=supported_language, global_regex_flags=0,
                             name=f"{entity_type.value} after its cue")


def document_number_recognizer(supported_language: str) -> PatternRecognizer:
    """Passport and driving licence numbers introduced as such (``ID_NUMBER``)."""
    return PatternRecognizer(supported_entity=EntityType.ID_NUMBER, patterns=[DOCUMENT_PATTERN],
                             supported_language=supported_language, global_regex_flags=0,
                             name="passport or licence number after its cue")
