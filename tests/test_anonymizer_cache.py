"""Remembering clean texts (``Anonymizer(clean_texts_cached=...)``) changes no output, byte for byte: on simulated
traffic scrubbed as the pipeline scrubs it, and where a text's scrub depends on its conversation (names learned
in an earlier turn, a reply to a name request)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from simulator.options import SimulateOptions
from simulator.sources import records
from streams.agents import anonymized
from streams.anonymizer import Anonymizer
from streams.events import Conversation, Satisfaction
from streams.signing import KeyPair


@pytest.fixture(scope="module")
def traffic() -> list[Conversation | Satisfaction]:
    """Conversations and scores with personal data in most of them, and many handed to an agent who asks for
    the customer's name (the turn after that is analyzed with the name-reply recognizer)."""
    options = SimulateOptions(dialogs=1500, seed=31, start=datetime(2026, 11, 2, tzinfo=UTC), pii_share=0.8,
                              error_rate=0.4, handoff_rate=0.9)
    return [r for r in records(options, KeyPair.generate("test").signer()) if isinstance(r, Conversation | Satisfaction)]


def counting_analyses(anonymizer: Anonymizer, monkeypatch: pytest.MonkeyPatch) -> Callable[[], int]:
    """Count the calls of the anonymizer's Presidio analyzer (passing each through), to see the cache used."""
    calls = []
    analyze = anonymizer._analyzer.analyze

    def counted(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return analyze(*args, **kwargs)

    monkeypatch.setattr(anonymizer._analyzer, "analyze", counted)
    return lambda: len(calls)


def test_remembering_clean_texts_changes_no_byte_of_scrubbed_traffic(traffic, monkeypatch):
    cached, plain = Anonymizer(), Anonymizer(clean_texts_cached=0)
    analyses = counting_analyses(cached, monkeypatch)

    assert [anonymized(cached, r).to_bytes() for r in traffic] == [anonymized(plain, r).to_bytes() for r in traffic]
    texts = sum(len(r.turns) if isinstance(r, Conversation) else r.comment is not None for r in traffic)
    assert analyses() < texts / 2, "most texts should have been recognized as clean ones seen before"


def test_a_text_remembered_clean_still_gets_the_names_its_conversation_learned():
    anonymizer = Anonymizer()
    assert anonymizer.scrub("帮王伟看看订单").text == "帮王伟看看订单"
    session = anonymizer.session()
    assert [anonymizer.scrub(turn, session).text for turn in ("我叫王伟想问一下退款", "帮王伟看看订单")] == [
        "我叫<PERSON_1>想问一下退款", "帮<PERSON_1>看看订单"]


def test_a_text_remembered_clean_is_analyzed_again_as_the_reply_to_a_name_request():
    anonymizer = Anonymizer()
    question = "请问怎么称呼您？"
    assert [anonymizer.scrub(text).text for text in ("王伟", question)] == ["王伟", question]
    session = anonymizer.session()
    assert [anonymizer.scrub(turn, session).text for turn in (question, "王伟")] == [question, "<PERSON_1>"]
