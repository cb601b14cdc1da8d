"""The join of conversations with their satisfaction scores, as pure functions over one key's state.

Scores may arrive before or long after their conversation, and at-least-once delivery replays both, so
the state of one conversation id remembers what has arrived and whether a scored dialog was emitted. The
Faust agent keeps this state in a changelog-backed table; keeping the rules here makes them testable
without a broker. A scored dialog's ``event_id`` is derived from the two events it joins, so a replay
after a crash emits the same id and the idempotent sinks store it once.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict

from streams.events import Conversation, Satisfaction, ScoredDialog

_NAMESPACE = uuid.UUID("6f1d3c1e-8d8e-4a53-9a3e-6b1f7f8f0c11")

Outcome = Literal["waiting", "scored", "duplicate", "late"]


class JoinState(BaseModel):
    """What one conversation id has seen; kept until ``expires`` (the scored marker dedupes late replays)."""

    model_config = ConfigDict(frozen=True)

    conversation: Conversation | None = None
    score: Satisfaction | None = None
    scored: bool = False
    first_seen: datetime


def scored_event_id(conversation: Conversation, score: Satisfaction) -> str:
    return uuid.uuid5(_NAMESPACE, f"{conversation.event_id}/{score.event_id}").hex


def score_dialog(conversation: Conversation, score: Satisfaction) -> ScoredDialog:
    """The scored dialog for an (already anonymized) conversation and its score."""
    fields = conversation.model_dump(exclude={"event_id", "schema_version", "event_time"})
    return ScoredDialog(**fields, event_id=scored_event_id(conversation, score),
                        event_time=max(conversation.event_time, score.event_time),
                        conversation_event_id=conversation.event_id, satisfaction_event_id=score.event_id,
                        nps=score.nps, comment=score.comment)


def join(state: JoinState | None, event: Conversation | Satisfaction, now: datetime,
         window: timedelta) -> tuple[JoinState, Outcome, ScoredDialog | None]:
    """Apply one arriving event; return the new state, what happened, and the scored dialog if one is due.

    The first conversation and the first score of an id win: a conversation is scored once. A pair whose
    event times lie further apart than ``window`` is not joined (``late``).
    """
    state = state or JoinState(first_seen=now)
    if state.scored:
        return state, "duplicate", None
    slot = "conversation" if isinstance(event, Conversation) else "score"
    if getattr(state, slot) is not None:
        return state, "duplicate", None
    state = state.model_copy(update={slot: event})
    if state.conversation is None or state.score is None:
        return state, "waiting", None
    if abs(state.score.event_time - state.conversation.event_time) > window:
        return state.model_copy(update={slot: None}), "late", None
    dialog = score_dialog(state.conversation, state.score)
    return JoinState(scored=True, first_seen=state.first_seen), "scored", dialog


def expired(age: StateAge, now: datetime, window: timedelta, unscored_window: timedelta) -> bool:
    """A conversation or score still waiting for its partner is dropped once ``unscored_window`` has passed
    since it was first seen (it is the bulk of the table: whole conversations); the small marker of a scored
    id, which turns replays into duplicates, once ``window`` has."""
    return now - age.first_seen > (window if age.scored else unscored_window)


class StateAge(BaseModel):
    """The part of a stored state its expiry needs."""

    model_config = ConfigDict(extra="ignore")

    first_seen: AwareDatetime
    scored: bool = False


def state_age(state: bytes) -> StateAge:
    """How old a stored state (a ``JoinState`` as JSON) is and whether it was scored, read without validating
    the conversation it holds: a fifth of the cost of parsing it all (measured), for sweeps over a whole table."""
    return StateAge.model_validate_json(state)
