"""Check digits of the identifiers we scrub: they tell a card or ID number from any other long number."""

from __future__ import annotations

from datetime import date

# GB 11643-1999: weights of the first 17 digits, and the check character for each sum modulo 11.
_RESIDENT_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_RESIDENT_ID_CHECK = "10X98765432"


def resident_id_check_char(first17: str) -> str:
    """The check character (``0``-``9`` or ``X``) that completes 17 digits into a resident ID number."""
    return _RESIDENT_ID_CHECK[sum(int(d) * w for d, w in zip(first17, _RESIDENT_ID_WEIGHTS, strict=True)) % 11]


def resident_id_valid(number: str) -> bool:
    """Whether ``number`` is an 18-character mainland resident ID: a real birth date and the right check char."""
    if len(number) != 18 or not number[:17].isdigit():
        return False
    try:
        date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    return resident_id_check_char(number[:17]) == number[17].upper()


def luhn_valid(digits: str) -> bool:
    """Whether a digit string passes the Luhn check every payment card number carries."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0
