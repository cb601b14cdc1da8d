"""``flywheel simulate``: publish a simulation to Kafka and report exactly what the broker acknowledged.

Every record goes to the topic of its role, keyed as the topic table says. The summary is counted in the
delivery reports, not at ``produce``: a message librdkafka accepted but the broker never acknowledged is
not traffic that happened. Any failed delivery makes the run fail (``DeliveryError``), carrying the summary
of what did get through.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from functools import partial

from confluent_kafka import KafkaError, Message, Producer
from tqdm import tqdm

from infra.errors import FlywheelError
from infra.settings import Settings
from infra.stack import producer_config
from simulator.answerer import Answerer
from simulator.options import SimulateOptions
from simulator.sources import open_source
from simulator.summary import SimulationSummary, Tally
from simulator.timeline import SimEvent
from streams.events import RECORDS, Conversation
from streams.signing import signer

ROLES = ("conversations", "satisfaction", "policy_updates")
_ROLE_OF = {RECORDS[role]: role for role in ROLES}
_DELIVERY_TIMEOUT_S = 60.0  # librdkafka gives up on a message after this and reports it failed


class DeliveryError(FlywheelError):
    """Some events were not delivered; ``summary`` counts those that were."""

    def __init__(self, failed: int, first_error: str, summary: SimulationSummary):
        self.failed, self.summary = failed, summary
        super().__init__(f"{failed} events were not delivered (first error: {first_error}); delivered "
                         f"{summary.conversations} conversations, {summary.satisfaction} scores, "
                         f"{summary.policy_updates} policy updates")


class _Deliveries:
    """The producer's delivery reports: delivered events are tallied, failures counted."""

    def __init__(self) -> None:
        self.tally = Tally()
        self.failed = 0
        self.first_error = ""

    def report(self, event: SimEvent, error: KafkaError | None, _message: Message) -> None:
        if error is None:
            self.tally.add(event)
            return
        self.failed += 1
        self.first_error = self.first_error or error.str()


class _Pace:
    """Holds conversations to ``rate_per_s`` on the wall clock, serving delivery reports while it waits."""

    def __init__(self, producer: Producer, rate_per_s: float | None):
        self.producer, self.rate_per_s = producer, rate_per_s
        self.started, self.sent = time.monotonic(), 0

    def wait(self) -> None:
        if self.rate_per_s is not None:
            due = self.started + self.sent / self.rate_per_s
            while (left := due - time.monotonic()) > 0:
                self.producer.poll(left)
        self.sent += 1


def _produce(producer: Producer, topic: str, event: SimEvent, deliveries: _Deliveries) -> None:
    record = event.record
    while True:
        try:
            producer.produce(topic, key=record.key(), value=record.to_bytes(),
                             on_delivery=partial(deliveries.report, event))
            break
        except BufferError:  # the local queue is full: let the broker catch up
            producer.poll(0.1)
    producer.poll(0)


class Publisher:
    """Publishes simulated events to the broker, in one go or in stretches: the closed-loop demo pauses its
    traffic while the weekly refresh runs and resumes the same run afterwards."""

    def __init__(self, settings: Settings, bootstrap: str, rate_per_s: float | None = None):
        self.topics = {role: settings.topics[role] for role in ROLES}
        self.producer = Producer({**producer_config(settings, bootstrap), "linger.ms": 20,
                                  "message.timeout.ms": int(_DELIVERY_TIMEOUT_S * 1000)})
        self.rate_per_s, self.deliveries, self.started = rate_per_s, _Deliveries(), time.monotonic()

    def send(self, events: Iterator[SimEvent], dialogs: int | None = None, progress: int | None = None) -> int:
        """Publish from ``events`` until ``dialogs`` conversations went out (every event when None); return the
        conversations sent. Scores not due yet stay in ``events`` for the next stretch. ``progress`` is the
        number of conversations a progress bar counts to (None: no bar)."""
        pace, sent = _Pace(self.producer, self.rate_per_s), 0
        with tqdm(total=progress, unit="dialog", file=sys.stderr, disable=progress is None) as bar:
            for event in events:
                conversation = isinstance(event.record, Conversation)
                if conversation:
                    pace.wait()
                _produce(self.producer, self.topics[_ROLE_OF[type(event.record)]], event, self.deliveries)
                if conversation:
                    sent += 1
                    bar.update()
                    if sent == dialogs:
                        break
        self.producer.poll(0)
        return sent

    def finish(self) -> SimulationSummary:
        """Wait for every delivery report; the summary of what the broker acknowledged."""
        undelivered = self.producer.flush(_DELIVERY_TIMEOUT_S + 10)
        deliveries = self.deliveries
        summary = deliveries.tally.summary(time.monotonic() - self.started, self.topics)
        if deliveries.failed or undelivered:
            raise DeliveryError(deliveries.failed + undelivered, deliveries.first_error or "flush timed out", summary)
        return summary


def simulate(settings: Settings, bootstrap: str, options: SimulateOptions, progress: bool = True,
             answerer: Answerer | None = None) -> SimulationSummary:
    """Publish the simulation ``options`` describe to the broker at ``bootstrap``; return what was delivered.

    ``answerer`` replaces the policy oracle (the served model, in the demo). Progress goes to stderr.
    """
    source = open_source(options, signer(settings), answerer)
    publisher = Publisher(settings, bootstrap, options.rate_per_s)
    publisher.send(source.events(), progress=source.dialogs if progress else None)
    return publisher.finish()
