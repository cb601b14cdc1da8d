"""Poison input: messages no worker can handle as they are (control characters in a turn, a dialog larger than the
broker takes, a policy update under another policy's key) each end as a dead letter with its reason, and the
good messages after them on the same partitions are still stored."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from aiokafka.partitioner import DefaultPartitioner
from confluent_kafka import Producer

from features.config import store_config
from features.online import OnlineFeatures
from infra.settings import Settings
from infra.stack import producer_config
from simulator.options import SimulateOptions
from simulator.run import simulate
from streams.app import create_app
from streams.events import Conversation, PolicyUpdate, Satisfaction, Turn
from streams.quality import MAX_TEXT_CHARS, contract_bound
from tests.fault_harness import expected_dialogs, lost_and_doubled, signed
from tests.pipeline_harness import Pipeline, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.faults]

START = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
PLAIN_WORDS = "the parcel has not arrived yet and i would like to know when it will come "  # nothing to anonymize
MAX_TURNS = contract_bound(Conversation, "turns", "max_length")


@dataclass(frozen=True)
class Message:
    role: str  # of the topic it goes to (Settings.topics)
    key: bytes
    value: bytes


@dataclass(frozen=True)
class Poison:
    """A message no worker can take as it is, and the dead-letter reason it must end with."""

    name: str
    message: Message
    reason: str

    @property
    def key(self) -> str:
        return self.message.key.decode()


@pytest.fixture
def pipeline(tmp_path):
    with Pipeline.start(tmp_path) as running:
        running.start_worker()
        yield running


@pytest.mark.timeout(240)
def test_poison_messages_are_dead_lettered_with_their_reason_and_their_partitions_keep_moving(pipeline):
    """Each poison ends as one dead letter with its reason, nothing of it is stored, and the good messages
    published after it on its partition are stored: a poison message never stops its partition."""
    settings = pipeline.settings
    poisons = [
        conversation_with_text("poison-nul", "where is my parcel\u0000", "malformed"),
        conversation_with_text("poison-control", "where \u0007is my \u001b[31mparcel", "malformed"),
        oversized_conversation("poison-oversized", max_message_bytes(settings, pipeline.broker.bootstrap)),
        policy_under_another_key(settings, policy_id="poison-policy", key=b"fault-policy"),
    ]
    # Each poisoned conversation gets its score: let through, it would be scored and stored.
    produce(settings, pipeline.broker.bootstrap, [p.message for p in poisons] +
            [score(p.key) for p in poisons if p.message.role == "conversations"])

    # After the poison, on the same partitions: simulated traffic, and the policy its key names, correctly keyed.
    options = SimulateOptions(dialogs=120, seed=3, start=START)
    simulate(settings, pipeline.broker.bootstrap, options, progress=False)
    wanted = expected_dialogs(settings, options)
    good_policy = signed(settings, policy("fault-policy", facts={"days": 15}))
    produce(settings, pipeline.broker.bootstrap, [Message("policy_updates", good_policy.key(), good_policy.to_bytes())])
    partitions = {partition(p.message.key, settings.partitions) for p in poisons}
    assert partitions <= {partition(cid.encode(), settings.partitions) for cid in wanted}, \
        "the good traffic must cover every poisoned partition"

    # The good messages come after the poison on its partitions: once they are in, the poison was handled.
    wait_for(pipeline.while_up(lambda: wanted <= set(pipeline.stored_ids())), 90, "the good dialogs after the poison",
             progress=lambda: lost_and_doubled(pipeline.stored_ids(), wanted))
    expected = {p.name: {p.reason} for p in poisons}
    wait_for(pipeline.while_up(lambda: dead_letter_reasons(pipeline, poisons) == expected), 15,
             "each poison's dead letter",
             progress=lambda: f"reasons {dead_letter_reasons(pipeline, poisons)}, expected {expected}")
    online = OnlineFeatures(store_config(settings))
    wait_for(lambda: online.policy("fault-policy") is not None, 30, "the correctly keyed policy online")
    assert online.policy("poison-policy") is None
    assert sorted(pipeline.stored_ids()) == sorted(wanted), "a poisoned conversation was stored"
    pipeline.assert_up()


def dead_letter_reasons(pipeline: Pipeline, poisons: list[Poison]) -> dict[str, set[str]]:
    """The reasons of the dead letters rejecting each poison (by its message key), by the poison's name."""
    by_key: dict[str, set[str]] = {p.key: set() for p in poisons}
    for letter in pipeline.dead_letters():
        by_key.get(letter["original_key"], set()).add(letter["reason"])
    return {p.name: by_key[p.key] for p in poisons}


def conversation(conversation_id: str, texts: list[str]) -> Conversation:
    """A resolved English conversation, the customer and the bot taking turns with ``texts``."""
    turns = [Turn(role="customer" if n % 2 == 0 else "bot", text=text, at=START + timedelta(seconds=n))
             for n, text in enumerate(texts)]
    return Conversation(conversation_id=conversation_id, locale="en", turns=turns, adapter_version="base",
                        resolved=True, handed_off=False)


def conversation_with_text(conversation_id: str, text: str, reason: str) -> Poison:
    """A conversation whose first turn says ``text``, put on the wire as the chat platform would (JSON escapes
    control characters, so the bytes are valid JSON: only the contract can refuse them)."""
    body = conversation(conversation_id, ["placeholder", "we will check"]).model_dump(mode="json")
    body["turns"][0]["text"] = text
    return Poison(f"text {text!r}", Message("conversations", conversation_id.encode(), json.dumps(body).encode()),
                  reason)


def oversized_conversation(conversation_id: str, limit: int) -> Poison:
    """A valid conversation (nothing to anonymize away) whose scored dialog is a quarter over ``limit`` bytes."""
    turn = (PLAIN_WORDS * (MAX_TEXT_CHARS // len(PLAIN_WORDS) + 1))[:MAX_TEXT_CHARS]
    turns = math.ceil(limit * 1.25 / MAX_TEXT_CHARS)
    if turns > MAX_TURNS:
        pytest.fail(f"no valid conversation reaches the worker producer's limit of {limit} bytes")
    record = conversation(conversation_id, [turn] * turns)
    return Poison(f"{len(record.to_bytes())}-byte conversation", Message("conversations", record.key(),
                                                                         record.to_bytes()), "undeliverable")


def policy(policy_id: str, facts: dict) -> PolicyUpdate:
    return PolicyUpdate(policy_id=policy_id, version=1, intent="return_window", author="policy-team",
                        effective_at=datetime.now(UTC) - timedelta(seconds=1), text={"en": "returns"}, facts=facts)


def policy_under_another_key(settings: Settings, policy_id: str, key: bytes) -> Poison:
    """A correctly signed update published under another policy's key: admitted, it would escape the version
    check of its own policy."""
    update = signed(settings, policy(policy_id, facts={"days": 365}))
    return Poison("policy under another key", Message("policy_updates", key, update.to_bytes()), "key_mismatch")


def max_message_bytes(settings: Settings, bootstrap: str) -> int:
    """The largest message the worker's producer sends (Tansu itself took a 50 MB message: it sets no limit)."""
    return int(create_app(settings, bootstrap).conf.producer_max_request_size)


def score(conversation_id: str) -> Message:
    """A detractor's score for the conversation."""
    record = Satisfaction(conversation_id=conversation_id, nps=3)
    return Message("satisfaction", record.key(), record.to_bytes())


def produce(settings: Settings, bootstrap: str, messages: Sequence[Message]) -> None:
    """Publish ``messages`` in order, however large (the broker takes them; the worker's producer may not)."""
    largest = max(len(m.value) for m in messages)
    producer = Producer(producer_config(settings, bootstrap) | {"message.max.bytes": max(1_000_000, 2 * largest)})
    for message in messages:
        producer.produce(settings.topics[message.role], key=message.key, value=message.value)
    assert producer.flush(30) == 0, "the test's producer could not deliver"


def partition(key: bytes, partitions: int) -> int:
    """The partition murmur2 gives ``key``, as every producer of the project partitions."""
    return DefaultPartitioner()(key, list(range(partitions)), list(range(partitions)))
