"""Where simulated traffic comes from, without any broker: the seeded world or a dataset replay.

``events`` is the pure generator the Kafka publisher, the tests and later stages (stream-processor tests,
the anonymizer benchmark, evaluation) all read, so they see exactly the traffic ``flywheel simulate``
publishes for the same options.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from simulator.answerer import Answerer
from simulator.banking77 import Banking77Replay
from simulator.options import SimulateOptions
from simulator.timeline import SimEvent
from simulator.traffic import WorldTraffic
from streams.events import Record
from streams.signing import Signer


class Source(Protocol):
    dialogs: int  # conversations the source will produce

    def events(self) -> Iterator[SimEvent]: ...


def open_source(options: SimulateOptions, signer: Signer, answerer: Answerer | None = None) -> Source:
    """The source ``options.source`` names. ``signer`` signs policy updates (``streams.signing.signer``);
    ``answerer`` replaces the policy oracle (the world's traffic only: a replay has its own answers)."""
    if options.source == "banking77":
        return Banking77Replay(options)
    return WorldTraffic(options, signer, answerer)


def events(options: SimulateOptions, signer: Signer, answerer: Answerer | None = None) -> Iterator[SimEvent]:
    """The run's events in publishing order, each with the ground truth of the personal data it carries."""
    return open_source(options, signer, answerer).events()


def records(options: SimulateOptions, signer: Signer, answerer: Answerer | None = None) -> Iterator[Record]:
    """The run's records in publishing order, as they go on the wire."""
    return (event.record for event in events(options, signer, answerer))
