"""The chat API on real Ray Serve, beside a real broker, stream worker and feature store.

One serving stack for the module (starting Ray and the replicas costs about a minute); the tests run in file
order, the fuzzing of the whole API next to last, and the one that kills the model process last.
"""

from __future__ import annotations

import json
import os
import re
import signal
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from learners.judge import states_policy
from serving.promotion import promote
from simulator.world import World, policy_update_event
from streams.events import new_event_id
from streams.policy_file import read_policy_file
from streams.publish import publish
from streams.signing import signer
from tests.conftest import REPO, flywheel
from tests.pipeline_harness import wait_for
from bench.adapters import make_adapter, register_adapter
from tests.serving_harness import ADMIN_HEADER, start_served

pytestmark = pytest.mark.integration

WORLD = World.create(7)
RETURNS = WORLD["return_window"]
QUESTIONS = [q for r in WORLD.rules.rules.values() for q in r.questions("en")[:2]]


@pytest.fixture(scope="module")
def stack(tmp_path_factory, base_model_dir):
    served = start_served(tmp_path_factory.mktemp("served"), base_model_dir, generate_timeout_s=3.0)
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

    question = [{"role": "user", "content": "How many days do I have to return an item?"}]
    chunks = list(stack.client().chat.completions.create(model="flywheel", messages=question, stream=True))
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks)
    whole = text_of(stack.client().chat.completions.create(model="flywheel", messages=question))
    assert streamed == whole and states_policy(RETURNS, streamed)  # one filter, whether piece by piece or not
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
    (json.dumps({"model": "lora-nope", "messages": [{"role": "user", "content": "hi"}]}).encode(), 404,
     "not available"),
    (b"{" + b" " * (1 << 20), 413, "too large"),  # over FLYWHEEL_MAX_BODY_BYTES: refused before it is parsed
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
    status, answer = stack.post("/admin/canary", body, ADMIN_HEADER)
    assert status == 200 and answer == {"canary_share": 0.25}
    assert stack.registry().routing(0.0).canary_share == 0.25
    assert stack.post("/admin/canary", json.dumps({"share": 2}).encode(), ADMIN_HEADER)[0] == 400


def test_public_callers_name_the_routed_model_the_champion_or_the_canary_and_only_admins_an_adapter(stack):
    champion = stack.registry().champion().name
    assert stack.chat("champion")[1]["model"] == champion
    assert stack.chat("canary")[0] == 404  # there is none
    status, answer = stack.chat(champion)
    assert status == 404 and "admin token" in answer["error"]["message"]
    assert stack.chat(champion, admin=True)[1]["model"] == champion
    assert stack.chat("base", admin=True)[1]["model"] == "base"


def test_a_published_rule_change_is_in_the_answers_within_five_seconds(stack):
    changed = WORLD.with_rule_change("return_window")["return_window"]
    update = policy_update_event(changed, signer=signer(stack.settings),
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
    admin = ADMIN_HEADER
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


def test_a_rolled_back_adapter_is_unloaded_and_nobody_can_name_it(stack, tmp_path):
    before = stack.registry().champion().name
    candidate = register_adapter(stack.settings, make_adapter(stack.settings.base_model, tmp_path, noise=0.0))
    stack.registry().promote(candidate, reason="test: promoted")
    wait_for(lambda: stack.get("/health")["champion"] == candidate, 30, "the new champion to serve")
    assert stack.chat(candidate, admin=True)[1]["model"] == candidate
    assert before in stack.get("/health")["loaded"]  # retired: kept for a fast rollback...
    assert stack.chat(before, admin=True)[0] == 404  # ... but it answers nobody
    stack.registry().rollback("test: rolled back")
    wait_for(lambda: candidate not in stack.get("/health")["loaded"], 30, "the rejected adapter to be unloaded")
    assert stack.get("/health")["champion"] == before
    assert stack.chat(candidate)[0] == stack.chat(candidate, admin=True)[0] == 404


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


# --- fuzzing -------------------------------------------------------------------------------------------------

# Planted in every message of the fuzzed requests; no response may carry any of them back.
SECRETS = {"13912345678": "my phone is 13912345678", "li.lei@example.com": "mail li.lei@example.com",
           "6222021234567890128": "card 6222021234567890128", "110101199003074514": "身份证110101199003074514",
           "Li Wei": "my name is Li Wei", "王伟": "我叫王伟"}
FUZZ_CHATS = {"positive": 300, "negative": 220}  # generated chat requests by mode; the other operations once each


def closed(node: Any) -> Any:
    """A JSON schema whose objects allow no properties beyond those named. The API ignores unknown ones (OpenAI
    clients send sampling options it does not use): generating them costs time (3x here) and tests nothing,
    while the negative mode still sends them as violations."""
    if isinstance(node, dict):
        node = {k: closed(v) for k, v in node.items()}
        return {**node, "additionalProperties": False} if node.get("type") == "object" and "properties" in node \
            else node
    return [closed(v) for v in node] if isinstance(node, list) else node


def planted(case: Any, secret: str, question: str | None, stream: bool) -> Any:
    """``case`` with ``secret`` said in each of its messages that has text; with a ``question`` (the secret
    first), that as its last message from the customer, so that a valid request reaches the tiers and the model
    instead of stopping at the guards, and ``stream`` or not."""
    messages = case.body.get("messages") if isinstance(case.body, dict) else None
    if not isinstance(messages, list):
        return case
    for message in messages:
        if isinstance(message, dict) and isinstance(message.get("content"), str):
            message["content"] = f"{secret} {message['content']}"
    if question is not None:
        messages.append({"role": "user", "content": f"{secret} {question}"})
        case.body["stream"] = stream
    return case


def fuzzed_cases(schema: Any) -> list[Any]:
    """Requests Schemathesis generates from the API's own OpenAPI schema (deterministically, so a failure
    reproduces): chat completions valid (each carrying a customer question, a shop's or any text) and invalid,
    and every other operation."""
    questions = st.one_of(st.sampled_from(QUESTIONS + ["退货期限是几天啊", "转人工"]), st.text(max_size=300))
    chat, cases = schema["/v1/chat/completions"]["POST"], []
    plans = [(chat.as_strategy(generation_mode=schemathesis.GenerationMode(mode)), count,
              questions if mode == "positive" else st.none()) for mode, count in FUZZ_CHATS.items()]
    plans += [(operation.ok().as_strategy(), 1, st.none()) for operation in schema.get_all_operations()
              if operation.ok().path != "/v1/chat/completions"]
    for strategy, count, question in plans:
        @settings(max_examples=count, phases=[Phase.generate], deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(case=strategy, secret=st.sampled_from(sorted(SECRETS.values())), question=question,
               stream=st.booleans())
        def collect(case: Any, secret: str, question: str | None, stream: bool) -> None:
            cases.append(planted(case, secret, question, stream))

        collect()
    return cases


def answer_of(response: Any) -> tuple[str, bool]:
    """The answer text of a chat completion, and whether it was streamed."""
    if "text/event-stream" in " ".join(response.headers.get("content-type", [])):
        events = [json.loads(line.removeprefix("data: ")) for line in response.text.splitlines()
                  if line.startswith("data: ") and line != "data: [DONE]"]
        return "".join(e["choices"][0]["delta"].get("content") or "" for e in events), True
    return response.json()["choices"][0]["message"]["content"], False


@pytest.mark.timeout(240)
def test_fuzzed_requests_get_no_5xx_no_hang_and_no_personal_data_back(stack):
    """At least 500 requests generated from the served OpenAPI schema, eight at a time; personal data planted in
    every message."""
    from streams.anonymizer import Anonymizer

    schema = schemathesis.openapi.from_dict(closed(stack.get("/openapi.json")))
    cases = fuzzed_cases(schema)
    anonymizer = Anonymizer()

    def outcome(case: Any) -> tuple[str, str | None]:
        """What became of ``case`` (answered, streamed, refused), and what was wrong with it, if anything."""
        try:
            response = case.call(base_url=stack.url, timeout=30)
        except Exception as exc:  # noqa: BLE001 - no answer (a hang ends here after 30 s) is what is counted
            return "failed", f"no answer ({type(exc).__name__})"
        leaked = [value for value in SECRETS if value in response.text]
        if response.status_code >= 500 or leaked:
            return "failed", f"{response.status_code}, leaked {leaked}"
        if response.status_code != 200 or case.path != "/v1/chat/completions":
            return "refused" if response.status_code >= 400 else "other", None
        answer, streamed = answer_of(response)
        found = [e.type for e in anonymizer.scrub(answer).entities]
        return "streamed" if streamed else "answered", f"personal data in the answer: {found}" if found else None

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(outcome, cases))
    failures = [f"{problem}: {case.as_curl_command()}" for case, (_, problem) in zip(cases, outcomes, strict=True)
                if problem]
    kinds = Counter(kind for kind, _ in outcomes)
    assert len(cases) >= 500 and not failures, failures[:5]
    assert kinds["answered"] >= 100 and kinds["streamed"] >= 15 and kinds["refused"] >= 200, kinds  # all paths


def test_customers_get_faq_answers_when_the_model_process_is_killed(stack):
    pid = stack.get("/health")["model_replica_pid"]
    os.kill(pid, signal.SIGKILL)
    replies = [stack.ask(q, f"after-kill-{n}") for n, q in enumerate(["how long does a refund take",
                                                                      "退款多久能到账？"])]
    assert all(r.model_extra["flywheel"]["tier"] == "fallback" for r in replies)
    refunds = WORLD["refund_time"]
    assert all(states_policy(refunds, text_of(r)) for r in replies)
