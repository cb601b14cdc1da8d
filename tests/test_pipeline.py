"""The stream pipeline with real `flywheel worker` processes on a real broker and feature store."""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from confluent_kafka import Producer
from prometheus_client.parser import text_string_to_metric_families
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from features.config import store_config
from features.online import OnlineFeatures
from features.traffic import EVER, TrafficQuery, read_traffic
from features.training import DialogQuery, read_dialogs
from infra.stack import producer_config
from simulator.customers import PERSONAL
from simulator.options import SimulateOptions
from simulator.run import simulate
from simulator.sources import events
from simulator.world import World
from streams.app import APP_ID
from streams.events import Conversation, PolicyUpdate, Satisfaction, ScoredDialog, Turn
from streams.signing import KeyPair, Signer, signer
from tests.conftest import read_topic
from tests.pipeline_harness import Pipeline, wait_for

pytestmark = pytest.mark.integration

START = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)


def expected_scored(options: SimulateOptions, key: Signer) -> set[str]:
    """Conversation ids the run both talks and scores: each must be stored exactly once."""
    records = [e.record for e in events(options, key)]
    talked = {r.conversation_id for r in records if isinstance(r, Conversation)}
    return talked & {r.conversation_id for r in records if isinstance(r, Satisfaction)}


def injected_pii(options: SimulateOptions, key: Signer) -> set[str]:
    return {entity.value for e in events(options, key) for turn in e.entities.values() for entity in turn
            if entity.type in PERSONAL}


def traffic(pipeline: Pipeline):
    return read_traffic(store_config(pipeline.settings), TrafficQuery(*EVER))


def topic_texts(pipeline: Pipeline, names: list[str]) -> str:
    return "\n".join(value.decode(errors="replace") for name in names
                     for _, value in read_topic(pipeline.broker.bootstrap, name, pipeline.settings.partitions))


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    world = World.create(0)
    intents = tuple(sorted((*world.intents, *world.services)))
    running = Pipeline.start(tmp_path_factory.mktemp("pipeline"), known_intents=intents)
    try:
        running.start_worker()
        yield running
    finally:
        running.stop()


def test_simulated_traffic_lands_scored_once_with_no_personal_data_at_any_sink(pipeline):
    key = signer(pipeline.settings)
    options = SimulateOptions(dialogs=400, seed=21, start=START, pii_share=0.8)
    simulate(pipeline.settings, pipeline.broker.bootstrap, options, progress=False)
    wanted = expected_scored(options, key)
    wait_for(lambda: wanted <= set(traffic(pipeline)["conversation_id"]), 90, "every scored dialog in the store")

    stored = traffic(pipeline)
    ours = stored[stored["conversation_id"].isin(wanted)]
    assert len(ours) == len(wanted) == ours["event_id"].nunique()
    detractors = read_dialogs(store_config(pipeline.settings), DialogQuery(*EVER, max_nps=6))
    assert set(detractors["conversation_id"]) & wanted == set(ours[ours["nps"] <= 6]["conversation_id"])

    names = pipeline.settings.topics
    sinks = {
        "scored topic and dead letters": topic_texts(pipeline, [names["scored_dialogs"], names["dead_letters"]]),
        "table changelogs": topic_texts(pipeline, [f"{APP_ID}-joins-changelog"]),
        "feature store": stored.to_json() + detractors.to_json(),
        "worker logs": pipeline.log_text(),
    }
    pii = injected_pii(options, key)
    assert len(pii) > 300
    for sink, text in sinks.items():
        leaked = sorted(value for value in pii if value in text)
        assert not leaked, f"{len(leaked)} personal values in {sink}, e.g. {leaked[:3]}"
    assert "<PHONE_1>" in sinks["feature store"] and "<PERSON_1>" in sinks["feature store"]


def test_forged_and_unknown_key_policy_updates_are_rejected_and_a_signed_one_reaches_the_policy_view(pipeline):
    settings = pipeline.settings
    update = PolicyUpdate(policy_id="returns-test", version=3, intent="return_window",
                          effective_at=datetime.now(UTC) - timedelta(seconds=1), text={"en": "30-day returns"},
                          facts={"days": 30}, author="policy-team")
    impostor = KeyPair.generate(settings.policy_key_id).signer()  # the team's key id, another private key
    forged = impostor.sign(update.model_copy(update={"facts": {"days": 365}, "event_id": "forged"}))
    outsider = KeyPair.generate("outsider").signer().sign(update.model_copy(update={"event_id": "outsider"}))
    signed = signer(settings).sign(update.model_copy(update={"event_id": "signed"}))
    producer = Producer(producer_config(settings, pipeline.broker.bootstrap))
    for record in (forged, outsider, update, signed):
        producer.produce(settings.topic_policy_updates, key=record.key(), value=record.to_bytes())
    producer.flush(10)

    online = OnlineFeatures(store_config(settings))
    wait_for(lambda: online.policy("returns-test") is not None, 30, "the signed policy online")
    assert online.policy("returns-test").facts == {"days": 30}
    letters = [json.loads(v) for _, v in read_topic(pipeline.broker.bootstrap, settings.topic_dead_letters,
                                                     settings.partitions)]
    reasons = {letter["original_event_id"]: letter["reason"] for letter in letters}
    assert reasons[forged.event_id] == "forged_policy" and reasons[outsider.event_id] == "unknown_key"
    assert reasons[update.event_id] == "unsigned_policy"
    announced = [json.loads(v) for _, v in read_topic(pipeline.broker.bootstrap, settings.topic_model_events,
                                                       settings.partitions)]
    assert any(e["subject"] == "policy/returns-test" and e["action"] == "policy_applied" for e in announced)


json_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=30)
malformed = st.one_of(
    st.binary(max_size=200),
    st.dictionaries(st.text(max_size=12), json_scalars, max_size=6).map(lambda d: json.dumps(d).encode()),
    st.builds(lambda nps: json.dumps({"conversation_id": "c-x", "nps": nps}).encode(),
              st.one_of(st.integers(11, 10**6), st.integers(-10**6, -1), st.text(max_size=5))),
)


@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payloads=st.lists(st.tuples(st.sampled_from(["conversations", "satisfaction", "policy_updates"]), malformed),
                         min_size=1, max_size=5))
def test_malformed_events_all_reach_dead_letters_and_the_worker_stays_up(pipeline, payloads):
    settings = pipeline.settings
    producer = Producer(producer_config(settings, pipeline.broker.bootstrap))
    marker = f"bad-{datetime.now(UTC).timestamp()}"
    for n, (role, payload) in enumerate(payloads):
        producer.produce(settings.topics[role], key=f"{marker}-{n}".encode(), value=payload)
    producer.flush(10)

    def dead_letter_keys() -> set[str]:
        letters = read_topic(pipeline.broker.bootstrap, settings.topic_dead_letters, settings.partitions)
        return {json.loads(v)["original_key"] for _, v in letters}

    wait_for(lambda: {f"{marker}-{n}" for n in range(len(payloads))} <= dead_letter_keys(), 30,
             "every malformed event in dead letters")
    assert all(worker.poll() is None for worker in pipeline.workers)


def test_a_scored_dialog_that_fails_the_expectations_is_dead_lettered_by_id_and_not_stored(pipeline):
    settings = pipeline.settings
    phone = "13912345678"
    leaked = ScoredDialog(conversation_id="c-leak", conversation_event_id="e-c", satisfaction_event_id="e-s",
                          locale="zh", channel="app", adapter_version="base", intent="return_window",
                          resolved=True, handed_off=False, nps=3,
                          turns=[Turn(role="customer", text=f"退货找谁？电话{phone}", at=START)])
    producer = Producer(producer_config(settings, pipeline.broker.bootstrap))
    producer.produce(settings.topic_scored_dialogs, key=leaked.key(), value=leaked.to_bytes())
    producer.flush(10)

    def letter() -> dict | None:
        letters = read_topic(pipeline.broker.bootstrap, settings.topic_dead_letters, settings.partitions)
        return next((json.loads(v) for _, v in letters if json.loads(v)["original_event_id"] == leaked.event_id), None)

    wait_for(lambda: letter() is not None, 30, "the dead letter")
    assert letter()["reason"] == "expectation_failed" and "no_phone" in letter()["detail"]
    assert phone not in json.dumps(letter())
    assert "c-leak" not in set(traffic(pipeline)["conversation_id"])


def test_the_worker_serves_prometheus_metrics(pipeline):
    simulate(pipeline.settings, pipeline.broker.bootstrap, SimulateOptions(dialogs=20, seed=2, start=START),
             progress=False)

    def families() -> dict:
        url = f"http://127.0.0.1:{pipeline.web_ports[0]}/metrics"
        body = urllib.request.urlopen(url, timeout=10).read().decode()
        return {family.name: family for family in text_string_to_metric_families(body)}

    def consumed(topic: str) -> float:
        return sum(s.value for s in families()["flywheel_stream_events_in"].samples
                   if s.name.endswith("_total") and s.labels["topic"] == topic)

    wait_for(lambda: consumed(pipeline.settings.topic_scored_dialogs) > 0, 30, "scored dialogs counted")
    assert consumed(pipeline.settings.topic_conversations) >= 20
    latency = families()["flywheel_stream_end_to_end_latency_seconds"]
    assert next(s.value for s in latency.samples if s.name.endswith("_count")) > 0
    assert "flywheel_stream_dead_letters" in families()
