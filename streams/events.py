"""Event contracts: the versioned records every topic carries, JSON on the wire, one object per event.

Each record is the only way in from raw bytes (``Record.from_bytes``): a malformed payload raises one
``ContractError`` that names the offending field and never echoes the field's value, because raw input may
hold personal data and error messages end up in dead letters and logs.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Annotated, ClassVar, Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

SCHEMA_VERSION = 1

Locale = Literal["zh", "en"]
Role = Literal["customer", "bot", "agent"]
Slug = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:\-/]*$")]
Text = Annotated[str, Field(min_length=1, max_length=8000)]
FactValue = str | int | float | bool


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

    event_id: Annotated[str, Field(min_length=1, max_length=64)] = Field(default_factory=new_event_id)
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
            field = ".".join(str(part) for part in first["loc"]) or "<payload>"
            raise ContractError(cls.record_name, field, first["msg"], exc.error_count()) from None


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
    comment: Annotated[str, Field(max_length=2000)] | None = None


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
    """A versioned rule from the policy team; ``signature`` is an HMAC over every other field. A rule for an intent
    the shop does not have yet (a new service) brings its customer questions and answers in ``examples`` and its
    evaluation questions in ``held_out``."""

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
    signature: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")] | None = None

    def signing_payload(self) -> bytes:
        """Canonical bytes the signature covers: every field but the signature, sorted, compact (an empty
        ``held_out`` is left out, so updates signed before the field existed still verify)."""
        body = self.model_dump(mode="json", exclude={"signature"} | (set() if self.held_out else {"held_out"}))
        return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


class ScoredDialog(Record):
    """An anonymized conversation joined with its satisfaction score."""

    record_name = "scored dialog"
    key_field = "conversation_id"

    conversation_id: Slug
    conversation_event_id: Annotated[str, Field(min_length=1, max_length=64)]
    satisfaction_event_id: Annotated[str, Field(min_length=1, max_length=64)]
    locale: Locale
    channel: str
    turns: Annotated[list[Turn], Field(min_length=1)]
    adapter_version: Slug
    intent: Slug | None = None
    policy_id: Slug | None = None
    policy_version: Annotated[int, Field(ge=1)] | None = None
    resolved: bool
    handed_off: bool
    nps: Annotated[int, Field(ge=0, le=10)]
    comment: str | None = None

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
]


class DeadLetter(Record):
    """Anything rejected, where it came from and why; never the rejected payload, which may hold PII."""

    record_name = "dead letter"
    key_field = "original_key"

    original_key: str = ""
    original_event_id: str | None = None
    source_topic: str
    partition: Annotated[int, Field(ge=0)]
    offset: Annotated[int, Field(ge=0)]
    reason: DeadLetterReason
    detail: Annotated[str, Field(max_length=1000)]


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
    metrics: dict[str, float] = Field(default_factory=dict)
    detail: Annotated[str, Field(max_length=4000)] = ""


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


