"""IBANs: a country code, two check digits and a national account number, ISO 13616's mod-97 check over all.

The length is fixed per country (the SWIFT IBAN registry), so each candidate is read for exactly its country's
length, skipping the spaces or dashes of the printed form (``GB29 NWBK 6016 1331 9268 19``): a regex alone
would run on into a word that follows it. The check digits keep product codes and tracking numbers of the same
shape out: a random string passes mod 97 about one time in a hundred.
"""

from __future__ import annotations

from collections.abc import Iterator

import regex

from streams.anonymizer.entities import EntityType
from streams.anonymizer.recognizers.common import FinderRecognizer

TRIGGER = regex.compile(r"[A-Za-z]{2}[0-9]{2}")

# Registry lengths (SWIFT IBAN registry, release 2024), by country code.
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BI": 27, "BR": 29,
    "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27, "DK": 18, "DO": 28, "EE": 20, "EG": 29,
    "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28,
    "HN": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20,
    "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
    "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24, "PL": 28, "PS": 29,
    "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24,
    "SM": 27, "SO": 23, "ST": 25, "SV": 28, "TL": 23, "TN": 24, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}
_START = regex.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}[0-9]{2}")
_SEPARATORS = " -"


def iban_valid(iban: str) -> bool:
    """Whether ``iban`` (no spaces, any case) has its country's length and passes the mod-97 check."""
    iban = iban.upper()
    if IBAN_LENGTHS.get(iban[:2]) != len(iban) or not iban.isascii() or not iban.isalnum():
        return False
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def find_ibans(text: str) -> Iterator[tuple[int, int]]:
    """The spans of valid IBANs in ``text``, compact or grouped with single spaces or dashes."""
    for start_match in _START.finditer(text):
        start = start_match.start()
        length = IBAN_LENGTHS.get(text[start:start + 2].upper())
        if length is None:
            continue
        chars: list[str] = []
        position = start
        while position < len(text) and len(chars) < length:
            char = text[position]
            if char.isascii() and char.isalnum():
                chars.append(char)
            elif not (char in _SEPARATORS and chars and position + 1 < len(text) and text[position + 1].isalnum()):
                break
            position += 1
        glued = position < len(text) and text[position].isascii() and text[position].isalnum()
        if len(chars) == length and not glued and iban_valid("".join(chars)):
            yield start, position


def iban_recognizer(supported_language: str) -> FinderRecognizer:
    return FinderRecognizer(EntityType.IBAN, supported_language, "IbanFinder", find_ibans, 0.9)
