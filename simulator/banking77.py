"""Replay of a labelled dataset (banking77, or the user's own in its format) as conversations.

Each row (``text,category``) becomes a conversation: the customer's message, labelled with its category as
the intent, and a generic acknowledgment from the bot. The dataset holds no answers, so the bot cannot
answer: the acknowledgment says only that the message was received, the adapter is ``replay``, the
conversation is not resolved, and its satisfaction score (drawn for a share of conversations, as for the
world's traffic) reflects a customer who was merely acknowledged. What the replay is for is streaming
real, labelled customer text through the pipeline.
"""

from __future__ import annotations

import csv
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from infra.errors import FlywheelError
from simulator.options import SimulateOptions
from simulator.scoring import Surveys
from simulator.timeline import SimEvent, Timeline
from streams.events import Conversation, Turn

DEFAULT_DIR = Path(__file__).resolve().parents[1].parent / "shared/data/banking77"
"""``../shared/data/banking77`` seen from the repository root."""

_ACKNOWLEDGMENTS = (
    "Thanks for your message. We've received it and a specialist will get back to you shortly.",
    "Thank you for contacting us. Your request has been logged and our team will reply soon.",
    "Got it, thanks. We'll look into this and get back to you as soon as possible.",
)
_NOT_IN_SLUG = re.compile(r"[^A-Za-z0-9_.:\-/]")


class Row(NamedTuple):
    text: str
    intent: str


def intent_of(category: str) -> str:
    """The category as an intent id: characters an id may not hold are dropped
    (banking77 has ``reverted_card_payment?``)."""
    return _NOT_IN_SLUG.sub("", category)


def load(directory: Path, splits: tuple[str, ...] = ("train", "test")) -> list[Row]:
    """The rows of ``<directory>/<split>.csv`` (columns ``text,category``), splits in the order given."""
    rows: list[Row] = []
    for split in splits:
        path = directory / f"{split}.csv"
        try:
            with path.open(newline="", encoding="utf-8") as file:
                reader = csv.DictReader(file)
                if not {"text", "category"} <= set(reader.fieldnames or ()):
                    raise FlywheelError(f"{path} needs the columns text,category; it has {reader.fieldnames}")
                rows += [Row(r["text"].strip(), intent_of(r["category"])) for r in reader]
        except FileNotFoundError:
            raise FlywheelError(f"no dataset file {path}: pass the banking77 directory") from None
    if any(not row.text or not row.intent for row in rows):
        raise FlywheelError(f"{directory}: every row needs a non-empty text and category")
    return rows


class Banking77Replay:
    """The dataset's rows, shuffled by the seed, as a stream of conversations and scores."""

    def __init__(self, options: SimulateOptions):
        rows = load(options.banking77_dir or DEFAULT_DIR, options.banking77_splits)
        random.Random(f"{options.seed}:banking77").shuffle(rows)
        self.options, self.rows = options, rows[:options.dialogs]
        self.dialogs = len(self.rows)

    def events(self) -> Iterator[SimEvent]:
        options, seed = self.options, self.options.seed
        rng = random.Random(f"{seed}:replay")
        timeline = Timeline(options.start, f"{seed}:timeline", options.mean_gap_s)
        surveys = Surveys(f"{seed}:surveys", options.response_rate, options.early_score_share)

        def dialog(index: int) -> None:
            asked_s = timeline.now_s
            turns = [Turn(role="customer", text=self.rows[index].text, at=timeline.at(asked_s)),
                     Turn(role="bot", text=rng.choice(_ACKNOWLEDGMENTS), at=timeline.at(asked_s + rng.uniform(1, 3)))]
            conversation = Conversation(
                event_id=timeline.event_id(), event_time=turns[-1].at, conversation_id=timeline.conversation_id(),
                locale="en", turns=turns, adapter_version="replay", intent=self.rows[index].intent,
                resolved=False, handed_off=False,
            )
            surveys.report(timeline, conversation, "acknowledged", {})

        return timeline.play(self.dialogs, dialog)
