"""One conversation's memory: which placeholder stands for which value, and what it has learned.

Dialogs stay learnable only if a value keeps its placeholder across turns ("我的电话是<PHONE_1>" ... "<PHONE_1>
打不通"), so placeholders are numbered per conversation and per type, keyed by a normal form of the value
(``138 0013 8000`` and ``+86 13800138000`` are one phone). The session also remembers the names it has seen, so
a name given once ("我叫王伟") is caught later without its cue, and whether the last turn asked for a name.
The mapping to real values never leaves the session object: it is memory of one worker, never persisted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import phonenumbers
from presidio_anonymizer.entities import InvalidParamError
from presidio_anonymizer.operators import Operator, OperatorType

from streams.anonymizer.entities import EntityType
from streams.anonymizer.recognizers.common import digits_of
from streams.anonymizer.recognizers.names import without_title
from streams.anonymizer.text import normalize

MIN_LEARNED_NAME_CHARS = 2
"""A surname alone ("王" from "王先生") is too common to be searched for without its cue."""


def _phone_key(value: str) -> str:
    """The national number: the same phone dialled with or without its country code gets the same key."""
    dialled = value.lstrip("(")
    if dialled.startswith(("+", "00")):
        try:
            return str(phonenumbers.parse("+" + digits_of(dialled).removeprefix("00"), None).national_number)
        except phonenumbers.NumberParseException:
            pass
    return digits_of(value).removeprefix("0")


def value_key(entity_type: str, value: str) -> str:
    """The normal form two spellings of one value share."""
    value = normalize(value)[0]
    if entity_type == EntityType.PHONE:
        return _phone_key(value)
    if entity_type in (EntityType.ID_NUMBER, EntityType.BANK_CARD):
        return "".join(char for char in value if char.isalnum()).upper()
    if entity_type == EntityType.PERSON:
        value = without_title(value)
    return " ".join(value.split()).casefold()


def _glued(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` touches a Latin letter on either side: part of a longer word."""
    return any(0 <= i < len(text) and text[i].isascii() and text[i].isalpha() for i in (start - 1, end))


class Session:
    """Placeholders and learned names for one conversation; make one per conversation (``Anonymizer.session``)."""

    def __init__(self) -> None:
        self._tokens: dict[tuple[str, str], str] = {}
        self._counts: Counter[str] = Counter()
        self._names: set[str] = set()
        self.expects_name = False
        """True when the last scrubbed turn asked for a name: the next one may be a bare name."""

    def token(self, entity_type: str, value: str) -> str:
        """The placeholder for ``value`` (``<PHONE_1>``), the same every time the conversation mentions it."""
        key = (entity_type, value_key(entity_type, value))
        if entity_type == EntityType.PERSON:
            key = self._whole_name(key)
        if key not in self._tokens:
            self._counts[entity_type] += 1
            self._tokens[key] = f"<{entity_type}_{self._counts[entity_type]}>"
        return self._tokens[key]

    def _whole_name(self, key: tuple[str, str]) -> tuple[str, str]:
        """The first name already seen that ``key`` is part of: "John" after "John Smith", the "王" of "王先生"
        after "王伟", are the same person, and should read so in the scrubbed dialog."""
        part = key[1]
        for known in self._tokens:
            if known[0] == EntityType.PERSON and part != known[1] and (
                    part in known[1].split() if part.isascii() else known[1].startswith(part)):
                return known
        return key

    def learn_names(self, names: Iterable[str]) -> None:
        """Remember full names found by their cues, to find them again where they stand without one."""
        self._names.update(name for name in map(without_title, names) if len(name) >= MIN_LEARNED_NAME_CHARS)

    def known_name_spans(self, text: str) -> list[tuple[int, int]]:
        """Where the names this session has learned occur in ``text``.

        Plain case-sensitive search (a customer called "Will" must not turn every later "will" into a
        placeholder), skipping Latin names glued to other letters ("Ann" in "Annual"). Compiling a regex of the
        names instead cost a fifth of the scrub time of name-rich traffic (measured).
        """
        spans = []
        for name in self._names:
            start = text.find(name)
            while start >= 0:
                end = start + len(name)
                if not (name.isascii() and _glued(text, start, end)):
                    spans.append((start, end))
                start = text.find(name, start + 1)
        return spans


class SessionTokenOperator(Operator):
    """Presidio anonymizer operator that replaces a value with its session placeholder."""

    NAME = "session_token"
    SESSION = "session"

    def operate(self, text: str, params: dict | None = None) -> str:
        params = params or {}
        return self._session(params).token(params["entity_type"], text)

    def validate(self, params: dict | None = None) -> None:
        self._session(params or {})

    @classmethod
    def _session(cls, params: dict) -> Session:
        session = params.get(cls.SESSION)
        if not isinstance(session, Session):
            raise InvalidParamError(f"{cls.NAME} needs a '{cls.SESSION}' parameter holding a Session")
        return session

    def operator_name(self) -> str:
        return self.NAME

    def operator_type(self) -> OperatorType:
        return OperatorType.Anonymize
