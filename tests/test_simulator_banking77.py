"""Replaying a labelled dataset (banking77, or the user's own in its format) as conversations."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from infra.errors import FlywheelError
from simulator.banking77 import DEFAULT_DIR, intent_of, load
from simulator.options import SimulateOptions
from simulator.sources import open_source, records
from streams.events import Conversation, Satisfaction
from streams.signing import KeyPair

START = datetime(2025, 3, 3, tzinfo=UTC)
BANKING77_ROWS = {"train": 10_003, "test": 3_080}  # as the dataset's README states
SIGNER = KeyPair.generate("team").signer()  # a replay publishes no policy updates; its source takes a signer


def replay(**changes) -> SimulateOptions:
    return SimulateOptions(**{"source": "banking77", "start": START, "dialogs": 100_000, **changes})


def test_default_location_is_the_shared_data_folder():
    assert DEFAULT_DIR == DEFAULT_DIR.parents[2] / "shared" / "data" / "banking77"
    assert (DEFAULT_DIR / "train.csv").exists()


def test_replays_every_row_of_both_splits():
    assert len(load(DEFAULT_DIR)) == sum(BANKING77_ROWS.values())
    source = open_source(replay(banking77_splits=("test",)), SIGNER)
    assert source.dialogs == BANKING77_ROWS["test"]
    conversations = [e.record for e in source.events() if isinstance(e.record, Conversation)]
    assert len(conversations) == BANKING77_ROWS["test"]
    assert len({c.intent for c in conversations}) == 77


def test_replayed_conversations_carry_the_text_and_label():
    rows = {(row.text, row.intent) for row in load(DEFAULT_DIR, ("test",))}
    stream = list(records(replay(dialogs=300, banking77_splits=("test",), seed=3), SIGNER))
    conversations = [r for r in stream if isinstance(r, Conversation)]
    assert len(conversations) == 300
    for c in conversations:
        assert (c.turns[0].text, c.intent) in rows
        assert c.locale == "en" and c.adapter_version == "replay" and not c.resolved and not c.handed_off
        assert [t.role for t in c.turns] == ["customer", "bot"]
    scores = [r for r in stream if isinstance(r, Satisfaction)]
    assert 0.55 < len(scores) / 300 < 0.85
    assert {s.conversation_id for s in scores} <= {c.conversation_id for c in conversations}
    again = list(records(replay(dialogs=300, banking77_splits=("test",), seed=3), SIGNER))
    assert [r.to_bytes() for r in again] == [r.to_bytes() for r in stream]


def test_categories_become_valid_intent_ids():
    assert intent_of("reverted_card_payment?") == "reverted_card_payment"
    assert intent_of("card_arrival") == "card_arrival"


def test_a_users_own_file_in_the_same_format(tmp_path):
    (tmp_path / "train.csv").write_text('text,category\n"Where is my parcel, it has been 2 weeks?",where_is_order\n'
                                        "Can I pay by card?,payment\n")
    stream = list(records(replay(banking77_dir=tmp_path, banking77_splits=("train",)), SIGNER))
    assert sorted(r.intent for r in stream if isinstance(r, Conversation)) == ["payment", "where_is_order"]


@pytest.mark.parametrize("content, message", [(None, "no dataset file"), ("sentence,label\nhi,x\n", "text,category"),
                                              ("text,category\n,empty\n", "non-empty")])
def test_unusable_files_fail_with_a_clear_message(tmp_path, content, message):
    if content is not None:
        (tmp_path / "train.csv").write_text(content)
    with pytest.raises(FlywheelError, match=message):
        load(tmp_path, ("train",))
