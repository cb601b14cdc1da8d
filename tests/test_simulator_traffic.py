"""Simulated traffic without a broker: determinism, contracts, policy changes, scores, hand-offs."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from statistics import mean

import pytest
from pydantic import ValidationError

from infra.settings import Settings
from learners.judge import states_policy
from simulator.answerer import Answer, Question
from simulator.customers import PERSONAL
from simulator.options import PolicyChange, SimulateOptions
from simulator.sources import events, records
from simulator.summary import summarize
from simulator.traffic import Scenario
from streams.events import RECORDS, Conversation, PolicyUpdate, Satisfaction
from streams.signing import KeyPair, trusted_keys, verify

REPO = Path(__file__).resolve().parents[1]
TEAM = KeyPair.generate("team")
SIGNER = TEAM.signer()
START = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
ROLE_OF = {cls: role for role, cls in RECORDS.items()}


def options(**changes) -> SimulateOptions:
    return SimulateOptions(**{"start": START, "dialogs": 600, "seed": 11, **changes})


def wire(opts: SimulateOptions) -> list[tuple[str, bytes, bytes]]:
    return [(ROLE_OF[type(r)], r.key(), r.to_bytes()) for r in records(opts, SIGNER)]


def by_kind(opts: SimulateOptions):
    rs = list(records(opts, SIGNER))
    return ([r for r in rs if isinstance(r, Conversation)], [r for r in rs if isinstance(r, Satisfaction)],
            [r for r in rs if isinstance(r, PolicyUpdate)])


def asked(opts: SimulateOptions) -> dict[str, str]:
    """conversation id -> the intent the customer really asked about (the simulator's ground truth)."""
    return {e.record.conversation_id: e.asked for e in events(opts, SIGNER) if isinstance(e.record, Conversation)}


def test_same_seed_same_bytes_other_seed_other_bytes():
    opts = options(policy_change_at=300)
    assert wire(opts) == wire(opts)
    assert wire(opts) != wire(options(policy_change_at=300, seed=12))
    assert wire(opts) != wire(options(policy_change_at=300, start=datetime(2025, 3, 4, tzinfo=UTC)))


_DIGEST = """
import hashlib, sys
from datetime import datetime
from simulator.options import PolicyChange, SimulateOptions
from simulator.sources import records
from infra.settings import DEV_POLICY_KEY_ID, DEV_POLICY_PUBLIC_KEY, DEV_POLICY_SIGNING_KEY
from streams.signing import KeyPair
opts = SimulateOptions(dialogs=300, seed=7, start=datetime.fromisoformat(sys.argv[1]), policy_change_at=100)
signer = KeyPair(DEV_POLICY_KEY_ID, DEV_POLICY_SIGNING_KEY, DEV_POLICY_PUBLIC_KEY).signer()
print(hashlib.sha256(b"".join(r.to_bytes() for r in records(opts, signer))).hexdigest())
"""


def test_same_seed_same_events_in_another_process():
    """Nothing depends on the process: hash randomisation, the wall clock, the global random."""
    digests = {subprocess.run([sys.executable, "-c", _DIGEST, START.isoformat()], capture_output=True, text=True,
                              check=True, env={**os.environ, "PYTHONHASHSEED": seed}, cwd=REPO).stdout
               for seed in ("1", "2")}
    assert len(digests) == 1 and len(digests.pop().strip()) == 64


def test_every_record_round_trips_with_its_key():
    for role, key, payload in wire(options(policy_change_at=100, change="new_service")):
        record = RECORDS[role].from_bytes(payload)
        assert record.to_bytes() == payload and record.key() == key


def test_events_come_in_time_order_from_the_given_start():
    times = [r.event_time for r in records(options(), SIGNER)]
    assert times == sorted(times) and times[0] > START


def test_counts_follow_the_options():
    conversations, scores, updates = by_kind(options(dialogs=1000, locale="zh"))
    assert len(conversations) == 1000 and not updates
    assert 0.6 < len(scores) / 1000 < 0.8, "response rate below 100 %"
    assert {c.locale for c in conversations} == {"zh"}
    assert len({c.conversation_id for c in conversations}) == 1000
    assert len({r.event_id for r in conversations + scores}) == len(conversations) + len(scores)


def test_some_scores_arrive_before_their_conversation_and_some_after():
    order = {}
    for record in records(options(dialogs=1000), SIGNER):
        order.setdefault(record.conversation_id, []).append(type(record))
    pairs = [kinds for kinds in order.values() if len(kinds) == 2]
    early = sum(kinds[0] is Satisfaction for kinds in pairs)
    assert 0.04 < early / len(pairs) < 0.2


def test_satisfaction_follows_whether_the_answer_was_right():
    opts = options(dialogs=1500, error_rate=0.4)
    world, truth = Scenario.of(opts).final, asked(opts)
    conversations, scores, _ = by_kind(opts)
    nps = {s.conversation_id: s.nps for s in scores}
    right, wrong = [], []
    for c in conversations:
        if c.conversation_id in nps:
            ok = states_policy(world[truth[c.conversation_id]], next(t.text for t in c.turns if t.role == "bot"))
            (right if ok else wrong).append(nps[c.conversation_id])
    assert 0.3 < len(wrong) / (len(right) + len(wrong)) < 0.5
    assert sum(n >= 9 for n in right) / len(right) > 0.7
    assert sum(n <= 6 for n in wrong) / len(wrong) > 0.7
    assert mean(right) - mean(wrong) > 4


def test_handoffs_end_with_the_agent_stating_the_rule():
    opts = options(dialogs=800, error_rate=0.5, handoff_rate=0.6)
    world, truth = Scenario.of(opts).final, asked(opts)
    conversations, _, _ = by_kind(opts)
    handed = [c for c in conversations if c.handed_off]
    assert handed and all(c.resolved for c in handed)
    for c in handed:
        assert states_policy(world[truth[c.conversation_id]], next(t.text for t in c.turns if t.role == "agent"))
    unresolved = [c for c in conversations if not c.resolved]
    assert unresolved and not any(c.handed_off for c in unresolved)


def test_rule_change_is_published_once_signed_and_followed():
    opts = options(policy_change_at=300, error_rate=0.0)
    conversations, _, updates = by_kind(opts)
    [update] = updates
    assert verify(update, trusted_keys(Settings(**TEAM.settings()))["team"]) and update.version == 2 and update.intent == "return_window"
    returns = [c for c in conversations if c.intent == "return_window"]
    before = [c for c in returns if c.turns[0].at < update.effective_at]
    after = [c for c in returns if c.turns[0].at >= update.effective_at]
    assert before and after
    assert {c.policy_version for c in before} == {1} and {c.policy_version for c in after} == {2}
    new_rule = Scenario.of(opts).final["return_window"]
    assert all(states_policy(new_rule, c.turns[1].text) for c in after)


def test_stale_oracle_keeps_answering_the_old_rule():
    opts = options(policy_change_at=200, error_rate=0.0, stale=True)
    scenario = Scenario.of(opts)
    conversations, scores, [update] = by_kind(opts)
    after = [c for c in conversations if c.intent == "return_window" and c.turns[0].at >= update.effective_at]
    assert after and {c.policy_version for c in after} == {1} and {c.adapter_version for c in after} == {"oracle-stale"}
    assert all(states_policy(scenario.initial["return_window"], c.turns[1].text) for c in after)
    assert not any(states_policy(scenario.final["return_window"], c.turns[1].text) for c in after)
    nps = {s.conversation_id: s.nps for s in scores}
    stale_scores = [nps[c.conversation_id] for c in after if c.conversation_id in nps]
    assert mean(stale_scores) < 6


def test_new_service_is_asked_about_only_after_its_launch():
    opts = options(dialogs=800, policy_change_at=400, change="new_service", new_service_share=0.3)
    conversations, _, [update] = by_kind(opts)
    assert update.intent == "trade_in" and update.version == 1
    asking = [c for c in conversations if c.intent == "trade_in"]
    assert all(c.turns[0].at >= update.effective_at for c in asking)
    assert 0.2 < len(asking) / 400 < 0.4
    assert all(c.policy_id == "trade-in" for c in asking if not c.handed_off and c.resolved)


def test_a_run_can_change_a_rule_and_launch_a_service_at_the_same_moment():
    opts = options(dialogs=600, policy_change_at=200, more_changes=(PolicyChange(at=200, kind="new_service"),),
                   error_rate=0.0)
    conversations, _, updates = by_kind(opts)
    assert sorted((u.intent, u.version) for u in updates) == [("return_window", 2), ("trade_in", 1)]
    final = Scenario.of(opts).final
    assert final["return_window"].version == 2 and "trade_in" in final.intents
    launched_at = min(u.effective_at for u in updates)
    returns_after = [c for c in conversations if c.intent == "return_window" and c.turns[0].at >= launched_at]
    assert returns_after and all(states_policy(final["return_window"], c.turns[1].text)
                                 for c in returns_after)
    assert all(c.turns[0].at >= launched_at for c in conversations if c.intent == "trade_in")


def test_the_bot_is_told_the_conversation_it_answers():
    asked: list[Question] = []

    class Recording:
        def answer(self, question: Question) -> Answer:
            asked.append(question)
            return Answer("ok", "recording")

    conversations = [r for r in records(options(dialogs=50), SIGNER, Recording()) if isinstance(r, Conversation)]
    assert [q.conversation_id for q in asked] == [c.conversation_id for c in sorted(
        conversations, key=lambda c: c.turns[0].at)]


def test_stale_oracle_does_not_know_a_new_service():
    opts = options(dialogs=400, policy_change_at=100, change="new_service", error_rate=0.0, stale=True)
    truth = asked(opts)
    asking = [c for c in by_kind(opts)[0] if truth[c.conversation_id] == "trade_in"]
    assert asking and all(c.intent is None and c.policy_id is None and c.policy_version is None for c in asking)
    assert all(not c.resolved or c.handed_off for c in asking)


def test_ground_truth_of_personal_data_in_turns():
    stream = list(events(options(dialogs=1000, pii_share=0.4), SIGNER))
    conversations = [e for e in stream if isinstance(e.record, Conversation)]
    with_pii = [e for e in conversations if any(x.type in PERSONAL for t in e.entities.values() for x in t)]
    assert 0.33 < len(with_pii) / len(conversations) < 0.47
    for event in conversations:
        for turn, entities in event.entities.items():
            assert event.record.turns[turn].role == "customer"
            text = event.record.turns[turn].text
            assert all(text[e.start:e.end] == e.value for e in entities)
    assert summarize(stream).with_pii == len(with_pii)


def test_summary_counts_the_stream():
    stream = list(events(options(dialogs=500, policy_change_at=10), SIGNER))
    summary = summarize(stream)
    conversations = [e.record for e in stream if isinstance(e.record, Conversation)]
    assert summary.conversations == 500 == sum(summary.by_intent.values()) == sum(summary.by_locale.values())
    assert summary.policy_updates == 1
    assert summary.satisfaction == sum(isinstance(e.record, Satisfaction) for e in stream)
    assert summary.handoffs == sum(c.handed_off for c in conversations)
    assert 0 <= summary.mean_nps <= 10
    assert summary.describe().startswith("500 conversations")


@pytest.mark.parametrize("bad", [
    {"policy_change_at": 600},
    {"policy_change_at": 5, "source": "banking77"},
    {"policy_change_at": 5, "change_intent": "teleportation"},
    {"policy_change_at": 5, "change": "new_service", "change_intent": "return_window"},
    {"more_changes": ({"at": 700},)},
    {"more_changes": ({"at": 5, "kind": "new_service"}, {"at": 9, "kind": "new_service"})},
    {"error_rate": 1.5},
    {"rate_per_s": 0},
])
def test_bad_options_are_rejected(bad):
    with pytest.raises(ValidationError):
        options(**bad)


def test_start_must_be_timezone_aware():
    with pytest.raises(ValidationError):
        SimulateOptions(start=datetime(2025, 1, 1))


class _Shrug:
    """A bot that never knows: any answerer plugs in, and is judged by the rule in force, not by itself."""

    def answer(self, question: Question) -> Answer:
        return Answer("no idea", adapter_version="shrug-v1")


def test_a_plugged_in_answerer_is_judged_by_the_rule_in_force():
    conversations = [r for r in records(options(dialogs=200), SIGNER, answerer=_Shrug())
                     if isinstance(r, Conversation)]
    assert {c.adapter_version for c in conversations} == {"shrug-v1"}
    assert not any(c.resolved and not c.handed_off for c in conversations)
