"""The chat API on real Ray Serve, beside a real broker, stream worker and feature store.

One serving stack for the module (starting Ray and the replicas costs about a minute); the tests run in file
order, and the one that kills the model process comes last.
"""

from __future__ import annotations

import json
import os
import re
import signal
import threading
import time
from collections import Counter
from datetime import UTC, datetime

import pytest

from learners.judge import states_policy
from serving.promotion import promote
from simulator.world import World, policy_update_event
from streams.events import new_event_id
from streams.policy_file import read_policy_file
from streams.publish import publish
from tests.conftest import REPO, flywheel
from tests.pipeline_harness import wait_for
from bench.adapters import make_adapter, register_adapter
from tests.serving_harness import ADMIN_TOKEN, start_served

pytestmark = pytest.mark.integration

WORLD = World.create(7)
RETURNS = WORLD["return_window"]
QUESTIONS = [q for r in WORLD.rules.rules.values() for q in r.questions("en")[:2]]


@pytest.fixture(scope="module")
def stack(tmp_path_factory, base_model_dir):
    served = start_served(tmp_path_factory.mktemp("served"), base_model_dir, generate_timeout_s=3.0,
                          policy_hmac_key="the-policy-team-s-test-key")
    try:
        yield served
    finally:
        served.stop()


def text_of(reply) -> str:
    return reply.choices[0].message.content


def test_the_openai_client_gets_grounded_answers_that_name_the_adapter(stack):
    champion = stack.registry().champion().name
    reply = stack.ask("how long is the return window")
    served = reply.model_extra["flywheel"]
    assert reply.model == champion == served["adapter"]
    assert served["tier"] == "model" and served["intent"] == "return_window" and served["policy_version"] == 1
    assert states_policy(RETURNS, text_of(reply))

    chunks = list(stack.client().chat.completions.create(
        model="flywheel", messages=[{"role": "user", "content": "How many days do I have to return an item?"}],
        stream=True))
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert len(chunks) > 2 and states_policy(RETURNS, streamed)
    assert chunks[-1].model_extra["flywheel"]["adapter"] == champion

    listed = {m.id for m in stack.client().models.list().data}
    assert {"flywheel", "base", champion} <= listed


def test_a_repeated_question_is_answered_from_the_cache(stack):
    first = stack.ask("When will I get my refund?", conversation_id="cache-1")
    again = stack.ask("When will I get my refund?", conversation_id="cache-2")
    assert text_of(again) == text_of(first)
    assert again.model_extra["flywheel"]["tier"] == "cache"
    hits = re.search(r"^flywheel_serve_cache_hits_total (\S+)$", stack.text("/metrics"), re.MULTILINE)
    assert hits is not None and float(hits.group(1)) >= 1


def test_customer_personal_data_never_comes_back_in_an_answer(stack):
    reply = stack.ask("My phone is 13812345678 and my email wang.wei@example.com, how long is the return window")
    assert "13812345678" not in text_of(reply) and "wang.wei@example.com" not in text_of(reply)
    assert states_policy(RETURNS, text_of(reply))


@pytest.mark.parametrize(("body", "status", "words"), [
    (b"{not json", 400, "json"),
    (json.dumps({"model": "flywheel", "messages": []}).encode(), 400, "messages"),
    (json.dumps({"messages": [{"role": "assistant", "content": "hi"}]}).encode(), 400, "customer"),
    (json.dumps({"messages": [{"role": "user", "content": "x" * 5000}]}).encode(), 413, "characters"),
    (json.dumps({"model": "lora-nope", "messages": [{"role": "user", "content": "hi"}]}).encode(), 404, "not in service"),
])
def test_malformed_or_oversize_requests_get_a_clear_4xx(stack, body, status, words):
    got, answer = stack.post("/v1/chat/completions", body)
    assert got == status
    assert words in answer["error"]["message"].lower()


def test_a_third_unresolved_turn_or_a_request_for_a_person_goes_to_a_human(stack):
    history = [{"role": "user", "content": "where is my refund"}, {"role": "assistant", "content": "..."},
               {"role": "user", "content": "that's not what I asked"}, {"role": "assistant", "content": "..."}]
    third = stack.ask("still no refund!", history=history)
    assert third.model_extra["flywheel"]["handoff"] is True and third.model == "handoff"
    assert stack.ask("转人工").model_extra["flywheel"]["handoff"] is True
    assert stack.ask("how long does a refund take").model_extra["flywheel"]["handoff"] is False


def test_admin_endpoints_need_the_token(stack):
    body = json.dumps({"share": 0.25}).encode()
    assert stack.post("/admin/canary", body)[0] == 401
    assert stack.post("/admin/canary", body, {"Authorization": "Bearer wrong"})[0] == 401
    status, answer = stack.post("/admin/canary", body, {"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert status == 200 and answer == {"canary_share": 0.25}
    assert stack.registry().routing(0.0).canary_share == 0.25
    assert stack.post("/admin/canary", json.dumps({"share": 2}).encode(),
                      {"Authorization": f"Bearer {ADMIN_TOKEN}"})[0] == 400


def test_a_published_rule_change_is_in_the_answers_within_five_seconds(stack):
    changed = WORLD.with_rule_change("return_window")["return_window"]
    update = policy_update_event(changed, key=stack.settings.policy_hmac_key.get_secret_value(),
                                 event_id=new_event_id(), effective_at=datetime.now(UTC))
    assert not states_policy(changed, text_of(stack.ask("how long is the return window", "before-change")))
    publish(stack.settings, "policy_updates", [update])
    published = time.monotonic()

    def follows() -> bool:
        reply = stack.ask("how long is the return window", f"after-{time.monotonic()}")
        return states_policy(changed, text_of(reply)) and reply.model_extra["flywheel"]["policy_version"] == 2

    wait_for(follows, 5, "the answers to state the new rule", every_s=0.2)
    assert time.monotonic() - published < 5


def test_a_service_the_shop_did_not_have_is_routed_grounded_and_evaluated_once_published(stack):
    """The policy team launches a new intent with `flywheel policy publish`: no restart, no code change."""
    from dataclasses import replace

    from learners.evaluate import evaluate, rule_cases
    from learners.refresh import load_with_adapter
    from learners.rules import rules_in_force

    service = REPO / "shops" / "demo" / "services" / "trade-in.yaml"
    assert "trade_in" not in rules_in_force(stack.settings).intents
    published = flywheel("policy", "publish", str(service), env=stack.settings.as_env())
    assert published.returncode == 0, published.stderr

    def routed() -> bool:
        served = stack.ask("以旧换新最多能抵多少", f"trade-in-{time.monotonic()}").model_extra["flywheel"]
        return served["intent"] == "trade_in" and served["policy_id"] == "trade-in" and served["policy_version"] == 1
    wait_for(routed, 30, "the new service to be routed and grounded", every_s=0.5)

    rules = rules_in_force(stack.settings)
    cases = [c for c in rule_cases(rules) if c.rule.intent == "trade_in"]
    assert {c.held_out for c in cases} == {True, False}
    assert {c.question for c in cases if c.held_out} == {q.question for q in read_policy_file(service).held_out}
    only = replace(rules, rules={"trade_in": rules["trade_in"]})
    champion = stack.registry().champion()
    model, tokenizer = load_with_adapter(stack.settings.base_model, champion.path)
    report = evaluate(model, tokenizer, only, name=champion.name, pii_questions=0)
    assert report.judges == {"facts": len(cases)}


class Load:
    """Customers asking without pause from a few threads; every outcome is kept."""

    def __init__(self, stack, threads: int = 3):
        self.stack, self.outcomes, self.stop = stack, [], threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(n,)) for n in range(threads)]

    def _run(self, n: int) -> None:
        asked = 0
        while not self.stop.is_set():
            question = QUESTIONS[(n + asked) % len(QUESTIONS)]
            try:
                reply = self.stack.ask(question, conversation_id=f"load-{n}-{asked}")
                self.outcomes.append((time.monotonic(), reply.model, reply.model_extra["flywheel"]["tier"]))
            except Exception as exc:  # noqa: BLE001 - a failure is what the test counts
                self.outcomes.append((time.monotonic(), type(exc).__name__, "failed"))
            asked += 1

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(30)

    def answered_by(self, adapter: str, since: float) -> bool:
        return any(at >= since and model == adapter for at, model, _ in list(self.outcomes))


def test_a_swap_under_load_fails_no_request_and_a_rollback_restores_the_champion(stack, tmp_path):
    before = stack.registry().champion().name
    candidate = register_adapter(stack.settings, make_adapter(stack.settings.base_model, tmp_path, noise=0.0))
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with Load(stack) as load:
        wait_for(lambda: len(load.outcomes) > 10, 60, "the load to be answered")
        status, answer = stack.post("/admin/promote", json.dumps({"adapter": candidate}).encode(), admin)
        assert status == 409 and "gate" in answer["error"]["message"]  # no gate verdicts: refused
        swapped = time.monotonic()
        assert stack.post("/admin/promote", json.dumps({"adapter": candidate, "force": True}).encode(), admin)[0] == 200
        wait_for(lambda: load.answered_by(candidate, swapped), 30, "the new champion to answer")
        rolled = time.monotonic()
        assert stack.post("/admin/rollback", b"{}", admin)[0] == 200
        wait_for(lambda: load.answered_by(before, rolled), 30, "the previous champion to answer again")
        time.sleep(1)
    tiers = Counter(tier for _, _, tier in load.outcomes)
    assert tiers["failed"] == 0 and tiers["fallback"] == 0, tiers
    assert stack.registry().champion().name == before
    assert stack.registry().get(candidate).state == "rejected"


def test_a_degraded_adapter_is_rejected_by_the_gates_and_the_champion_keeps_serving(stack, tmp_path):
    champion = stack.registry().champion().name
    degraded = register_adapter(stack.settings, make_adapter(stack.settings.base_model, tmp_path, noise=0.5, seed=1))
    result = promote(stack.settings, degraded, canary=False)
    assert result.state == "rejected"
    assert result.gates[0]["gate"] == "ab" and result.gates[0]["verdict"] == "fail"
    assert result.gates[0]["metrics"]["ci_high"] < 0
    record = stack.registry().get(degraded)
    assert record.state == "rejected" and record.metrics["gates"]["ab"]["verdict"] == "fail"
    assert stack.ask("how long does a refund take", "after-degraded").model == champion


def test_a_corrupt_adapter_is_refused_by_the_gates_and_by_the_replicas(stack, tmp_path):
    champion = stack.registry().champion().name
    corrupt_dir = make_adapter(stack.settings.base_model, tmp_path, noise=0.0)
    (corrupt_dir / "adapter_model.safetensors").write_bytes(b"\0garbage" * 64)
    corrupt = register_adapter(stack.settings, corrupt_dir)
    result = promote(stack.settings, corrupt, canary=False)
    assert result.state == "rejected" and "does not load" in result.gates[0]["detail"]

    forced_dir = make_adapter(stack.settings.base_model, tmp_path, noise=0.0)  # an operator bypassing the gates
    (forced_dir / "adapter_model.safetensors").write_bytes(b"\0garbage" * 64)
    forced = register_adapter(stack.settings, forced_dir)
    stack.registry().promote(forced, reason="test: forced past the gates")
    time.sleep(2)  # several registry polls
    assert stack.get("/health")["champion"] == champion
    assert stack.ask("how long does a refund take", "after-corrupt").model == champion
    stack.registry().rollback("test: the forced adapter never loaded")
    assert stack.registry().champion().name == champion


def test_customers_get_faq_answers_when_the_model_process_is_killed(stack):
    pid = stack.get("/health")["model_replica_pid"]
    os.kill(pid, signal.SIGKILL)
    replies = [stack.ask(q, f"after-kill-{n}") for n, q in enumerate(["how long does a refund take",
                                                                      "退款多久能到账？"])]
    assert all(r.model_extra["flywheel"]["tier"] == "fallback" for r in replies)
    refunds = WORLD["refund_time"]
    assert all(states_policy(refunds, text_of(r)) for r in replies)
