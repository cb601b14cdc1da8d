"""The Presidio recognizers of the anonymizer, one module per kind of data."""

from __future__ import annotations

from collections.abc import Callable, Collection
from functools import cache

from presidio_analyzer import EntityRecognizer

from streams.anonymizer.entities import EntityType
from streams.anonymizer.recognizers import (
    addresses,
    banking,
    dates,
    emails,
    identifiers,
    names,
    network,
    phones,
    references,
)
from streams.anonymizer.recognizers.addresses import ChineseAddressRecognizer, EnglishAddressRecognizer
from streams.anonymizer.recognizers.banking import iban_recognizer
from streams.anonymizer.recognizers.dates import birth_date_recognizer
from streams.anonymizer.recognizers.emails import email_recognizer
from streams.anonymizer.recognizers.identifiers import (
    BankCardRecognizer,
    ResidentIdRecognizer,
    cued_number_recognizer,
    document_number_recognizer,
    us_ssn_recognizer,
)
from streams.anonymizer.recognizers.names import NameReplyRecognizer, PersonRecognizer
from streams.anonymizer.recognizers.network import ip_recognizer
from streams.anonymizer.recognizers.phones import CustomerPhoneRecognizer, cued_phone_recognizer
from streams.anonymizer.recognizers.references import OrderReferenceRecognizer

__all__ = ["NameReplyRecognizer", "entities_in_reach", "recognizers"]


def recognizers(language: str) -> list[EntityRecognizer]:
    """Every recognizer, for one Presidio language; each covers Chinese and English text alike."""
    return [
        CustomerPhoneRecognizer(language),
        cued_phone_recognizer(language),
        email_recognizer(language),
        ResidentIdRecognizer(language),
        us_ssn_recognizer(language),
        BankCardRecognizer(language),
        cued_number_recognizer(EntityType.BANK_CARD, language),
        cued_number_recognizer(EntityType.ID_NUMBER, language),
        document_number_recognizer(language),
        iban_recognizer(language),
        ip_recognizer(language),
        birth_date_recognizer(language),
        ChineseAddressRecognizer(language),
        EnglishAddressRecognizer(language),
        PersonRecognizer(language),
        OrderReferenceRecognizer(language),
    ]


@cache
def _triggers() -> dict[EntityType, Callable[[str], object]]:
    """Each type's trigger, built on first use (the name trigger is made from the gazetteers)."""
    return {
        EntityType.PHONE: phones.TRIGGER.search,
        EntityType.EMAIL: emails.TRIGGER.search,
        EntityType.ID_NUMBER: identifiers.TRIGGER.search,
        EntityType.BANK_CARD: identifiers.TRIGGER.search,
        EntityType.IBAN: banking.TRIGGER.search,
        EntityType.IP_ADDRESS: network.TRIGGER.search,
        EntityType.BIRTH_DATE: dates.TRIGGER.search,
        EntityType.ADDRESS: addresses.TRIGGER.search,
        EntityType.PERSON: names.trigger(),
        EntityType.ORDER_ID: references.TRIGGER.search,
    }


def entities_in_reach(text: str, always: Collection[EntityType] = ()) -> list[str]:
    """The entity types (plus ``always``) whose recognizers could match ``text`` at all.

    Each recognizer module has a trigger, a cheap necessary condition of its patterns (a digit, an ``@``, a
    street suffix, a name cue). Presidio then runs only the recognizers of these types, and none at all for
    most bot answers and many customer messages: its per-call overhead is most of the cost of a scrub.
    """
    return [t.value for t, trigger in _triggers().items() if t in always or trigger(text)]
