"""Event contracts: every record survives the wire, and malformed payloads are rejected by field."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from streams.events import (
    KNOWN_NAMES, RECORDS, ContractError, Conversation, DeadLetter, ModelEvent, PolicyExample, PolicyUpdate, Record,
    Satisfaction, ScoredDialog, Turn, parse,
)

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def turns() -> list[Turn]:
    return [Turn(role="customer", text="退货期限是多久？我的电话 <PHONE_1>", at=T0),
            Turn(role="bot", text="支持7天无理由退货。", at=T0 + timedelta(seconds=2)),
            Turn(role="agent", text="您好，7天内可以退货。", at=T0 + timedelta(seconds=30))]


EXAMPLES: dict[str, Record] = {
    "conversations": Conversation(conversation_id="c-1", locale="zh", channel="app", turns=turns(),
                                  adapter_version="lora-20261102-1", intent="return_window", policy_id="returns",
                                  policy_version=3, resolved=False, handed_off=True),
    "satisfaction": Satisfaction(conversation_id="c-1", nps=4, comment="slow"),
    "policy_updates": PolicyUpdate(policy_id="returns", version=4, intent="return_window", effective_at=T0,
                                   text={"zh": "15天无理由退货", "en": "15-day returns"}, facts={"days": 15},
                                   examples=[PolicyExample(locale="en", question="Return window?",
                                                           answer="15 days.")],
                                   author="policy-team", key_id="team-2026", signature="0" * 128),
    "scored_dialogs": ScoredDialog(conversation_id="c-1", conversation_event_id="e1", satisfaction_event_id="e2",
                                   locale="zh", channel="app", turns=turns(), adapter_version="lora-1",
                                   intent="return_window", resolved=False, handed_off=True, nps=4),
    "dead_letters": DeadLetter(original_key="c-1", source_topic="cs.conversations", partition=2, offset=17,
                               reason="malformed", detail="field 'locale': Input should be 'zh' or 'en'"),
    "model_events": ModelEvent(subject="lora-20261102-1", action="gate_verdict", gate="ab", passed=True,
                               metrics={"ci_low": 0.04}),
}


def test_every_topic_role_has_an_example():
    assert set(EXAMPLES) == set(RECORDS)


@pytest.mark.parametrize("role", sorted(EXAMPLES))
def test_record_round_trips_through_json_bytes(role):
    record = EXAMPLES[role]
    wire = record.to_bytes()
    assert parse(role, wire) == record
    body = json.loads(wire)
    assert body["event_id"] == record.event_id and body["schema_version"] == 1 and "event_time" in body


@pytest.mark.parametrize("role, key", [("conversations", b"c-1"), ("satisfaction", b"c-1"),
                                       ("policy_updates", b"returns"), ("scored_dialogs", b"c-1"),
                                       ("dead_letters", b"c-1"), ("model_events", b"lora-20261102-1")])
def test_record_is_keyed_as_the_topic_table_says(role, key):
    assert EXAMPLES[role].key() == key


def _mutated(role: str, **changes) -> bytes:
    body = json.loads(EXAMPLES[role].to_bytes())
    for field, value in changes.items():
        if value is ...:
            body.pop(field)
        else:
            body[field] = value
    return json.dumps(body).encode()


MALFORMED = [
    ("conversations", {"locale": "fr"}, "locale"),
    ("conversations", {"conversation_id": ...}, "conversation_id"),
    ("conversations", {"turns": []}, "turns"),
    ("conversations", {"turns": [{"role": "customer", "text": "hi", "at": "2026-11-02T09:00:00"}]}, "turns.0.at"),
    ("conversations", {"turns": [{"role": "robot", "text": "hi", "at": "2026-11-02T09:00:00Z"}]}, "turns.0.role"),
    ("conversations", {"turns": [{"role": "bot", "text": "hi", "at": "2026-11-02T09:00:00Z"}]}, "turns"),
    ("conversations", {"resolved": "yes"}, "resolved"),
    ("conversations", {"event_time": "2026-11-02 09:00"}, "event_time"),
    ("satisfaction", {"nps": 11}, "nps"),
    ("satisfaction", {"nps": "7"}, "nps"),
    ("satisfaction", {"nps": 7.5}, "nps"),
    ("satisfaction", {"schema_version": 2}, "schema_version"),
    ("policy_updates", {"version": 0}, "version"),
    ("policy_updates", {"text": {}}, "text"),
    ("policy_updates", {"signature": "not-hex"}, "signature"),
    ("policy_updates", {"effective_at": ...}, "effective_at"),
    ("scored_dialogs", {"nps": -1}, "nps"),
    ("scored_dialogs", {"surprise": 1}, "<payload>"),
    ("dead_letters", {"reason": "because"}, "reason"),
    ("dead_letters", {"offset": -5}, "offset"),
    ("model_events", {"action": "deleted"}, "action"),
    ("model_events", {"metrics": {"acc": "high"}}, "metrics.*"),
]


@pytest.mark.parametrize("role, changes, field", MALFORMED)
def test_malformed_payload_is_rejected_naming_the_field(role, changes, field):
    with pytest.raises(ContractError) as caught:
        parse(role, _mutated(role, **changes))
    assert caught.value.field == field
    assert f"field '{field}'" in str(caught.value)


def test_handoff_without_an_agent_turn_is_rejected_on_the_handoff_field():
    body = json.loads(EXAMPLES["conversations"].to_bytes())
    body["turns"] = body["turns"][:2]
    with pytest.raises(ContractError) as caught:
        Conversation.from_bytes(json.dumps(body))
    assert caught.value.field == "handed_off"


@pytest.mark.parametrize("payload", [b"", b"{", b"[]", b"null", b"\xff\xfe", b'"text"'])
def test_non_object_payloads_are_rejected(payload):
    for record in RECORDS.values():
        with pytest.raises(ContractError):
            record.from_bytes(payload)


def test_error_messages_never_echo_the_offending_value():
    secret = "13812345678"
    with pytest.raises(ContractError) as caught:
        parse("satisfaction", _mutated("satisfaction", nps=secret))
    assert secret not in str(caught.value)


PERSONAL_KEY = "alice@example.com 13800138000"


@pytest.mark.parametrize("role, body, field", [
    ("satisfaction", {PERSONAL_KEY: 1}, "<payload>"),
    ("conversations", {"turns": [{"role": "customer", "text": "hi", "at": "2026-11-02T09:00:00Z", PERSONAL_KEY: 1}]},
     "turns.0"),
    ("policy_updates", {"facts": {PERSONAL_KEY: 15}}, "facts.*.[key]"),
    ("policy_updates", {"facts": {"alice-13800138000": "3\u0000"}}, "facts.*"),
    ("policy_updates", {"text": {PERSONAL_KEY: "x"}}, "text.*.[key]"),
])
def test_unknown_and_payload_chosen_names_are_never_echoed(role, body, field):
    with pytest.raises(ContractError) as caught:
        parse(role, _mutated(role, **body))
    assert caught.value.field == field
    assert "alice" not in str(caught.value) and "13800138000" not in str(caught.value)


def test_an_unknown_field_is_reported_as_such_with_the_count_of_errors():
    with pytest.raises(ContractError) as caught:
        parse("satisfaction", _mutated("satisfaction", **{PERSONAL_KEY: 1, "phone 13900139000": 2}))
    assert str(caught.value) == "invalid satisfaction event: field '<payload>': unknown field (and 1 more)"


def _with_text(role: str, path: tuple, text: str) -> bytes:
    body = json.loads(EXAMPLES[role].to_bytes())
    *parents, last = path
    target = body
    for part in parents:
        target = target[part]
    target[last] = text
    return json.dumps(body).encode()


TEXT_FIELDS = [  # every free-text field of the contracts (slugs and literals are patterns that exclude them)
    ("conversations", ("turns", 1, "text"), "turns.1.text"),
    ("satisfaction", ("comment",), "comment"),
    ("policy_updates", ("text", "en"), "text.en"),
    ("policy_updates", ("facts", "days"), "facts.*"),
    ("policy_updates", ("examples", 0, "question"), "examples.0.question"),
    ("policy_updates", ("examples", 0, "answer"), "examples.0.answer"),
    ("policy_updates", ("event_id",), "event_id"),
    ("scored_dialogs", ("channel",), "channel"),
    ("scored_dialogs", ("comment",), "comment"),
    ("scored_dialogs", ("turns", 0, "text"), "turns.0.text"),
    ("scored_dialogs", ("conversation_event_id",), "conversation_event_id"),
    ("dead_letters", ("detail",), "detail"),
    ("dead_letters", ("source_topic",), "source_topic"),
    ("model_events", ("detail",), "detail"),
]


@pytest.mark.parametrize("control", ["\x00", "\x1b", "\x7f", "\x85", "\x9f"])
@pytest.mark.parametrize("role, path, field", TEXT_FIELDS)
def test_control_characters_are_refused_in_every_text_field_naming_only_the_field(role, path, field, control):
    with pytest.raises(ContractError) as caught:
        parse(role, _with_text(role, path, f"13800138000{control}x"))
    assert caught.value.field == field and "control character" in str(caught.value)
    assert "13800138000" not in str(caught.value)


def test_a_metric_name_with_a_control_character_is_refused():
    with pytest.raises(ContractError) as caught:
        parse("model_events", _mutated("model_events", metrics={"acc\x00": 1.0}))
    assert caught.value.field == "metrics.*.[key]"


def test_tabs_and_line_breaks_are_text():
    body = _with_text("conversations", ("turns", 0, "text"), "line one\r\n\tline two")
    assert parse("conversations", body).turns[0].text == "line one\r\n\tline two"


def test_a_dead_letter_shows_a_hostile_key_without_its_control_characters():
    letter = DeadLetter(original_key="c-1\x00\x1b", source_topic="cs.conversations", partition=0, offset=1,
                        reason="malformed", detail="field 'locale': Input should be 'zh' or 'en'")
    assert letter.original_key == "c-1\ufffd\ufffd" and parse("dead_letters", letter.to_bytes()) == letter


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
                           max_leaves=10)


@hsettings(max_examples=200, deadline=None)
@given(role=st.sampled_from(sorted(RECORDS)), body=st.dictionaries(st.text(max_size=20), json_values, max_size=8))
def test_arbitrary_json_objects_raise_only_contract_errors(role, body):
    try:
        parse(role, json.dumps(body))
    except ContractError as exc:
        assert exc.field == "<payload>" or all(part in KNOWN_NAMES or part == "*" or part.isdigit()
                                               for part in exc.field.split(".")), exc.field
