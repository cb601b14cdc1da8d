"""The conversation/score join: either order, once per conversation, duplicates ignored, state expires."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from streams.events import Conversation, Satisfaction, Turn
from streams.join import JoinState, expired, join, state_age

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
WEEK = timedelta(days=7)


def conversation(cid="c-1", at=T0) -> Conversation:
    return Conversation(conversation_id=cid, locale="en", adapter_version="base", resolved=True,
                        handed_off=False, event_time=at, turns=[Turn(role="customer", text="hi", at=at)])


def score(cid="c-1", nps=9, at=T0 + timedelta(minutes=5)) -> Satisfaction:
    return Satisfaction(conversation_id=cid, nps=nps, event_time=at)


def feed(*events):
    state, outcomes, dialogs = None, [], []
    for event in events:
        state, outcome, dialog = join(state, event, T0, WEEK)
        outcomes.append(outcome)
        dialogs += [dialog] if dialog else []
    return state, outcomes, dialogs


@pytest.mark.parametrize("order", ["conversation_first", "score_first"])
def test_conversation_and_score_meet_in_either_order(order):
    c, s = conversation(), score(nps=3)
    events = (c, s) if order == "conversation_first" else (s, c)
    state, outcomes, dialogs = feed(*events)
    assert outcomes == ["waiting", "scored"]
    (dialog,) = dialogs
    assert (dialog.conversation_id, dialog.nps, dialog.conversation_event_id, dialog.satisfaction_event_id) == \
        ("c-1", 3, c.event_id, s.event_id)
    assert state.scored and state.conversation is None and state.score is None


def test_replayed_events_are_duplicates_and_score_once():
    c, s = conversation(), score()
    _, outcomes, dialogs = feed(c, c, s, s, c)
    assert outcomes == ["waiting", "duplicate", "scored", "duplicate", "duplicate"]
    assert len(dialogs) == 1


def test_a_second_score_for_the_same_conversation_is_ignored():
    _, outcomes, dialogs = feed(score(nps=2), score(nps=10), conversation())
    assert outcomes == ["waiting", "duplicate", "scored"]
    assert dialogs[0].nps == 2


def test_replay_after_a_crash_emits_the_same_event_id():
    c, s = conversation(), score()
    assert feed(c, s)[2][0].event_id == feed(s, c)[2][0].event_id


def test_scores_outside_the_window_are_not_joined():
    _, outcomes, dialogs = feed(conversation(), score(at=T0 + WEEK + timedelta(seconds=1)))
    assert outcomes == ["waiting", "late"] and dialogs == []


def test_waiting_state_expires_before_the_markers_of_scored_ids():
    waiting = state_age(JoinState(conversation=conversation(), first_seen=T0).model_dump_json().encode())
    scored = state_age(JoinState(scored=True, first_seen=T0).model_dump_json().encode())
    assert (waiting.first_seen, waiting.scored, scored.scored) == (T0, False, True)
    day = timedelta(days=1)
    assert not expired(waiting, T0 + day, WEEK, day)
    assert expired(waiting, T0 + day + timedelta(seconds=1), WEEK, day)  # a waiting conversation goes first
    assert not expired(scored, T0 + WEEK, WEEK, day)
    assert expired(scored, T0 + WEEK + timedelta(seconds=1), WEEK, day)
