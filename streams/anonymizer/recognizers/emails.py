"""Email addresses: Presidio's recognizer with an ASCII pattern.

Presidio's pattern builds the address from ``\\w``, which in Chinese text also matches the characters glued to
it: in ``邮箱zhangwei@163.com谢谢`` it takes ``邮箱zhangwei@163.com谢谢``, whose "top-level domain" ``com谢谢``
then fails its public-suffix check, and the address is missed. Its domain validation (``tldextract``, offline;
see ``streams.anonymizer.engine``) is kept.
"""

from __future__ import annotations

import regex
from presidio_analyzer import Pattern
from presidio_analyzer.predefined_recognizers import EmailRecognizer

from streams.anonymizer.entities import EntityType

TRIGGER = regex.compile("@")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
EMAIL_PATTERN = Pattern(
    "email, ascii",
    rf"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@{_LABEL}(?:\.{_LABEL})+(?![A-Za-z0-9-])",
    0.5,
)


def email_recognizer(supported_language: str) -> EmailRecognizer:
    return EmailRecognizer(patterns=[EMAIL_PATTERN], supported_entity=EntityType.EMAIL,
                           supported_language=supported_language)
