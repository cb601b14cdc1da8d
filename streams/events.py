"""Event contracts: the versioned records every topic carries, JSON on the wire, one object per event.

Each record is the only way in from raw bytes (``Record.from_bytes``): a malformed payload raises one
``ContractError`` that names the offending field and never echoes the field's value, nor the name of a field
the contract does not know, because raw input may hold personal data in either and error messages end up in
dead letters and logs. No text field holds control characters (other than tab and line breaks): PostgreSQL
refuses NUL on every retry, and the others have no place in a customer-service dialog.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from typing import Annotated, ClassVar, Literal, Self

from pydantic import (
    AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, ValidationInfo,
    field_validator, model_validator,
)
from pydantic_core import ErrorDetails

SCHEMA_VERSION = 1

# Unicode's control characters (C0, DEL, C1) except tab, line feed and carriage return.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _without_control_characters(value: object) -> object:
    if isinstance(value, str) and CONTROL_CHARACTERS.search(value):
        raise ValueError("contains a control character")
    return value


def _control_characters_replaced(value: object) -> object:
    """For the raw message key a dead letter quotes, which nothing has checked: shown with U+FFFD in place of
    control characters rather than refused, so a hostile key can never stop its own dead letter."""
    return CONTROL_CHARACTERS.sub("\ufffd", value) if isinstance(value, str) else value


Locale = Literal["zh", "en"]
Role = Literal["customer", "bot", "agent"]
Plain = Annotated[str, AfterValidator(_without_control_characters)]
"""Any text a contract carries: no control characters (the Slug pattern already excludes them)."""
Slug = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:\-/]*$")]
Text = Annotated[Plain, Field(min_length=1, max_length=8000)]
EventId = Annotated[Plain, Field(min_length=1, max_length=64)]
FactValue = Annotated[str | int | float | bool, AfterValidator(_without_control_characters)]


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_event_id() -> str:
    return uuid.uuid4().hex


class ContractError(ValueError):
    """A payload that does not satisfy its contract; ``field`` names where, ``message`` says what is wrong."""

    def __init__(self, record: str, field: str, message: str, error_count: int = 1):
        self.record, self.field, self.message, self.error_count = record, field, message, error_count
        more = f" (and {error_count - 1} more)" if error_count > 1 else ""
        super().__init__(f"invalid {record} event: field '{field}': {message}{more}")


class Record(BaseModel):
    """Fields every event carries: an id for idempotent sinks, the schema version, and when it happened."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    record_name: ClassVar[str]
    key_field: ClassVar[str]

    event_id: EventId = Field(default_factory=new_event_id)
    schema_version: Literal[1] = SCHEMA_VERSION
    event_time: AwareDatetime = Field(default_factory=utcnow)

    def key(self) -> bytes:
        """The Kafka message key: the field the topic table in ARCHITECTURE.md names for this record."""
        return str(getattr(self, self.key_field)).encode()

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, payload: bytes | str) -> Self:
        """Parse one JSON event, or raise ``ContractError`` naming the first field at fault."""
        try:
            return cls.model_validate_json(payload)
        except ValidationError as exc:
            first = exc.errors(include_url=False, include_input=False, include_context=False)[0]
            field, message = _where_and_what(first)
            raise ContractError(cls.record_name, field, message, exc.error_count()) from None


class Turn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    role: Role
    text: Text
    at: AwareDatetime


class Conversation(Record):
    """A finished conversation, as the chat platform reports it."""

    record_name = "conversation"
    key_field = "conversation_id"

    conversation_id: Slug
    locale: Locale
    channel: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")] = "web"
    turns: Annotated[list[Turn], Field(min_length=1, max_length=200)]
    adapter_version: Slug
    intent: Slug | None = None
    policy_id: Slug | None = None
    policy_version: Annotated[int, Field(ge=1)] | None = None
    resolved: bool
    handed_off: bool

    @field_validator("turns")
    @classmethod
    def _customer_speaks_in_order(cls, turns: list[Turn]) -> list[Turn]:
        if not any(t.role == "customer" for t in turns):
            raise ValueError("a conversation needs at least one customer turn")
        if any(later.at < earlier.at for earlier, later in zip(turns, turns[1:])):
            raise ValueError("turns must be in time order")
        return turns

    @field_validator("handed_off")
    @classmethod
    def _handoff_has_agent(cls, handed_off: bool, info: ValidationInfo) -> bool:
        turns = info.data.get("turns") or []
        if handed_off and not any(t.role == "agent" for t in turns):
            raise ValueError("a handed-off conversation needs a human-agent turn")
        return handed_off


class Satisfaction(Record):
    """A customer's NPS answer (0-10) for one conversation; it may arrive before or long after it."""

    record_name = "satisfaction"
    key_field = "conversation_id"

    conversation_id: Slug
    nps: Annotated[int, Field(ge=0, le=10)]
    comment: Annotated[Plain, Field(max_length=2000)] | None = None


class PolicyExample(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    locale: Locale
    question: Text
    answer: Text


class PolicyQuestion(BaseModel):
    """An evaluation question published with a rule: the A/B gate asks it, no training snapshot may hold it."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    locale: Locale
    question: Text


class PolicyUpdate(Record):
    """A versioned rule from the policy team; ``signature`` is an Ed25519 signature (hex) over every other field,
    made with the key ``key_id`` names. A rule for an intent the shop does not have yet (a new service) brings its
    customer questions and answers in ``examples`` and its evaluation questions in ``held_out``."""

    record_name = "policy update"
    key_field = "policy_id"

    policy_id: Slug
    version: Annotated[int, Field(ge=1)]
    intent: Slug
    effective_at: AwareDatetime
    text: Annotated[dict[Locale, Text], Field(min_length=1)]
    facts: dict[Slug, FactValue] = Field(default_factory=dict)
    examples: list[PolicyExample] = Field(default_factory=list)
    held_out: list[PolicyQuestion] = Field(default_factory=list)
    author: Slug
    key_id: Slug | None = None
    signature: Annotated[str, Field(pattern=r"^[0-9a-f]{128}$")] | None = None

    @model_validator(mode="after")
    def _signature_names_its_key(self) -> Self:
        if self.signature is not None and self.key_id is None:
            raise ValueError("a signature needs the key_id of the key that made it")
        return self

    def signing_payload(self) -> bytes:
        """Canonical bytes the signature covers: every field but the signature (``key_id`` included, so an
        update cannot be passed off as signed by another key), sorted, compact."""
        body = self.model_dump(mode="json", exclude={"signature"})
        return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


class ScoredDialog(Record):
    """An anonymized conversation joined with its satisfaction score."""

    record_name = "scored dialog"
    key_field = "conversation_id"

    conversation_id: Slug
    conversation_event_id: EventId
    satisfaction_event_id: EventId
    locale: Locale
    channel: Plain
    turns: Annotated[list[Turn], Field(min_length=1)]
    adapter_version: Slug
    intent: Slug | None = None
    policy_id: Slug | None = None
    policy_version: Annotated[int, Field(ge=1)] | None = None
    resolved: bool
    handed_off: bool
    nps: Annotated[int, Field(ge=0, le=10)]
    comment: Plain | None = None

    def first_text(self, role: Role) -> str | None:
        """The first turn of ``role`` (the customer's question, the bot's or the agent's answer)."""
        return next((t.text for t in self.turns if t.role == role), None)


DeadLetterReason = Literal[
    "malformed",  # not JSON, or does not satisfy its contract
    "unsigned_policy",
    "forged_policy",
    "stale_policy",  # a version older than the one in force
    "expectation_failed",  # a Great Expectations check on the scored-dialog stream
    "pii_detected",
    "processing_failed",  # an unforeseen error handling this message; the detail names the error type only
    "store_refused",  # the feature store refuses the record on every retry
    "undeliverable",  # a scored dialog the broker will not take (e.g. over its size limit)
    "late",  # a conversation and its score further apart than the join window
    "key_mismatch",  # the message key differs from the record's own key (policy_id or conversation_id)
    "unknown_key",  # a policy update signed with a key id no worker trusts
]


class DeadLetter(Record):
    """Anything rejected, where it came from and why; never the rejected payload, which may hold PII."""

    record_name = "dead letter"
    key_field = "original_key"

    original_key: Annotated[str, BeforeValidator(_control_characters_replaced)] = ""
    original_event_id: EventId | None = None
    source_topic: Plain
    partition: Annotated[int, Field(ge=0)]
    offset: Annotated[int, Field(ge=0)]
    reason: DeadLetterReason
    detail: Annotated[Plain, Field(max_length=1000)]


ModelAction = Literal[
    "candidate_built", "gate_verdict", "promoted", "rolled_back", "rejected", "canary_started", "policy_applied"
]


class ModelEvent(Record):
    """A change in the model's life: builds, gate verdicts, promotions, rollbacks, policies in force."""

    record_name = "model event"
    key_field = "subject"

    subject: Slug  # the adapter name, or "policy/<policy_id>" for a policy now in force
    action: ModelAction
    gate: Slug | None = None
    passed: bool | None = None
    metrics: dict[Plain, float] = Field(default_factory=dict)
    detail: Annotated[Plain, Field(max_length=4000)] = ""


RECORDS: dict[str, type[Record]] = {
    "conversations": Conversation,
    "satisfaction": Satisfaction,
    "policy_updates": PolicyUpdate,
    "scored_dialogs": ScoredDialog,
    "dead_letters": DeadLetter,
    "model_events": ModelEvent,
}
"""The record each topic role carries (roles as in ``Settings.topics``)."""


def parse(role: str, payload: bytes | str) -> Record:
    """Parse a payload read from the topic of ``role``."""
    return RECORDS[role].from_bytes(payload)


KNOWN_NAMES = frozenset(
    name for model in (*RECORDS.values(), Turn, PolicyExample, PolicyQuestion) for name in model.model_fields
) | {"zh", "en", "[key]"}
"""What an error location may name: the contracts' own fields, the locales that key ``text``, pydantic's marker
of a dictionary key. Any other name came from the payload (an unknown field, a fact's key) and is not repeated."""


def _where_and_what(error: ErrorDetails) -> tuple[str, str]:
    """The location and message of a validation error, naming only known fields and list positions."""
    loc = error["loc"]
    if error["type"] == "extra_forbidden":
        loc, message = loc[:-1], "unknown field"
    else:
        message = error["msg"]
    parts = [str(p) if isinstance(p, int) or p in KNOWN_NAMES else "*" for p in loc]
    return ".".join(parts) or "<payload>", message


