"""Publishing a simulation to the real embedded broker: the topics hold exactly what the summary reports."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from confluent_kafka import KafkaError

from infra.broker import EmbeddedBroker
from infra.settings import Settings
from simulator.options import SimulateOptions
from simulator.run import ROLES, _Deliveries, simulate
from simulator.sources import events
from simulator.summary import summarize
from streams.events import RECORDS
from streams.signing import KeyPair, signer
from tests.conftest import read_topic

pytestmark = pytest.mark.integration

START = datetime(2025, 3, 3, 8, tzinfo=UTC)


def test_topics_hold_exactly_what_the_summary_reports(topic_settings: Settings, broker: EmbeddedBroker):
    settings, bootstrap = topic_settings, broker.bootstrap
    options = SimulateOptions(dialogs=300, seed=7, start=START, policy_change_at=150)
    summary = simulate(settings, bootstrap, options, progress=False)

    published = {role: read_topic(bootstrap, settings.topics[role], settings.partitions) for role in ROLES}
    assert (len(published["conversations"]), len(published["satisfaction"]), len(published["policy_updates"])) == \
           (summary.conversations, summary.satisfaction, summary.policy_updates)
    assert summary.conversations == 300 and summary.policy_updates == 1
    assert summary.topics == {role: settings.topics[role] for role in ROLES}

    expected = list(events(options, signer(settings)))
    assert summary.model_dump(exclude={"wall_s", "topics"}) == \
           summarize(expected).model_dump(exclude={"wall_s", "topics"})
    role_of = {cls: role for role, cls in RECORDS.items()}
    for role in ROLES:
        wanted = [(e.record.key(), e.record.to_bytes()) for e in expected if role_of[type(e.record)] == role]
        assert sorted(published[role]) == sorted(wanted), f"{role} differs from the generated events"


def test_rate_and_progress(topic_settings: Settings, broker: EmbeddedBroker, capsys: pytest.CaptureFixture[str]):
    settings, bootstrap = topic_settings, broker.bootstrap
    options = SimulateOptions(dialogs=30, seed=1, start=START, rate_per_s=100)
    summary = simulate(settings, bootstrap, options, progress=True)
    assert summary.conversations == 30 and summary.wall_s >= 0.29
    assert "30/30" in capsys.readouterr().err


def test_failed_deliveries_are_counted_not_tallied():
    event = next(events(SimulateOptions(dialogs=1, start=START), KeyPair.generate("team").signer()))
    deliveries = _Deliveries()
    deliveries.report(event, KafkaError(KafkaError._MSG_TIMED_OUT), None)
    deliveries.report(event, None, None)
    assert deliveries.failed == 1 and "timed out" in deliveries.first_error.lower()
    assert deliveries.tally.summary().conversations == 1
