"""What the anonymizer finds and returns: entity types, spans, and the result of one scrub."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class EntityType(StrEnum):
    """The kinds of personal data the anonymizer replaces; the value names the placeholder (``<PHONE_1>``)."""

    PHONE = "PHONE"
    EMAIL = "EMAIL"
    ID_NUMBER = "ID_NUMBER"
    BANK_CARD = "BANK_CARD"
    IBAN = "IBAN"
    IP_ADDRESS = "IP_ADDRESS"
    BIRTH_DATE = "BIRTH_DATE"
    """A date introduced as a birth date ("DOB", "出生日期"); other dates (deliveries) are kept."""
    ADDRESS = "ADDRESS"
    PERSON = "PERSON"
    # Not personal data: recognized so that order and tracking numbers are never mistaken for phones or cards,
    # and kept in the text unless the options say to scrub them too.
    ORDER_ID = "ORDER_ID"


@dataclass(frozen=True, slots=True)
class Entity:
    """One replaced span; ``start``/``end`` index the *input* text, so callers can audit what was removed."""

    type: EntityType
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class ScrubResult:
    """The scrubbed text and the spans of the input it replaced, in reading order."""

    text: str
    entities: tuple[Entity, ...] = ()
