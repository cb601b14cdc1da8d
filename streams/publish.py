"""Publishing a few records and knowing they arrived: model events from the learners and serving, policy
updates from the policy team. (Bulk traffic goes through the simulator's own pacing producer.)"""

from __future__ import annotations

from collections.abc import Sequence

from infra.errors import FlywheelError
from infra.settings import Settings
from streams.events import RECORDS, Record

_TIMEOUT_S = 15.0


def publish(settings: Settings, role: str, records: Sequence[Record], bootstrap: str | None = None) -> None:
    """Send ``records`` to the topic of ``role`` keyed as its contract says; raise unless every one was
    acknowledged by the broker."""
    from confluent_kafka import Producer

    from infra.stack import producer_config

    expected = RECORDS[role]
    if wrong := [type(r).__name__ for r in records if not isinstance(r, expected)]:
        raise TypeError(f"{settings.topics[role]} carries {expected.__name__}, not {wrong[0]}")
    failures: list[str] = []
    producer = Producer({**producer_config(settings, bootstrap), "message.timeout.ms": int(_TIMEOUT_S * 1000)})
    for record in records:
        producer.produce(settings.topics[role], key=record.key(), value=record.to_bytes(),
                         on_delivery=lambda err, _msg: err and failures.append(str(err)))
    left = producer.flush(_TIMEOUT_S + 5)
    if failures or left:
        raise FlywheelError(f"{len(failures) + left} of {len(records)} events to {settings.topics[role]} were not "
                            f"delivered: {failures[0] if failures else 'flush timed out'}")


def announce(settings: Settings, events: Sequence[Record]) -> bool:
    """Publish model events as notifications: False (and a warning) when no broker takes them, which undoes
    nothing, since the registry, not the topic, is the truth about adapters."""
    import logging

    try:
        publish(settings, "model_events", events)
    except FlywheelError as exc:
        logging.getLogger(__name__).warning("%d model event(s) not announced: %s", len(events), exc)
        return False
    return True
