"""Faust's Kafka transport with a short fetch wait, so a caught-up consumer on Tansu is not held back, and
commits that wait for the worker's watched sends.

Faust's aiokafka driver hard-codes ``fetch_max_wait_ms=1500``. Kafka answers a fetch as soon as data
arrives (``fetch_min_bytes=1``), so the long wait costs nothing there; Tansu answers a caught-up fetch only
when the wait runs out (measured: partition EOF after exactly ``fetch.wait.max.ms`` with confluent-kafka),
so each hop of the pipeline (raw topic -> join -> scored topic -> store) waited up to 1.5 s: 2.3 s median
produce-to-store latency at 150 dialogs/s. The wait is a setting (``FLYWHEEL_FETCH_MAX_WAIT_MS``).

Table recovery reads each changelog partition up to its end as the data says, not as the high watermark says
(``highwaters``): see ``infra.topics.end_offset``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import faust
from faust.transport.drivers import aiokafka as driver
from faust.types import TP

from infra.topics import end_offsets
from streams.delivery import Deliveries


class _ConsumerThread(driver.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = self.app.conf.flywheel_fetch_max_wait_ms  # read by its fetcher at start
        return consumer


class _Consumer(driver.Consumer):
    def _new_consumer_thread(self) -> _ConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def _commit_offsets(self, offsets: Any, start_new_transaction: bool = True) -> bool:
        """Commit only once every watched send is delivered or dead-lettered (``streams.delivery``): an offset
        committed past a message whose send failed would lose it."""
        await self.app.producer.flush()
        await self.app.deliveries.settled()
        return await super()._commit_offsets(offsets, start_new_transaction)

    async def highwaters(self, *partitions: TP) -> Mapping[TP, int]:
        """The offset after each partition's last record. Faust's recovery reads a changelog up to here and
        stops; Tansu's high watermark is the last batch's base offset plus one, so a worker taking over a
        partition skipped the rest of that batch (the latest join states: a waiting conversation lost). One
        extra fetch per changelog partition at each rebalance on Kafka, where the two agree."""
        reported = await super().highwaters(*partitions)
        ends = await asyncio.to_thread(end_offsets, self.app.conf.flywheel_client_config,
                                       [(tp.topic, tp.partition) for tp in partitions])
        return {tp: max(reported.get(tp) or 0, ends[tp.topic, tp.partition]) for tp in partitions}


class _Transport(driver.Transport):
    Consumer = _Consumer


class App(faust.App):
    """A Faust app whose consumers use ``fetch_max_wait_ms`` from its settings and commit offsets only past
    delivered sends (``deliveries``)."""

    def __init__(self, *args: Any, fetch_max_wait_ms: int, client_config: dict[str, Any], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.conf.flywheel_fetch_max_wait_ms = fetch_max_wait_ms
        self.conf.flywheel_client_config = client_config  # librdkafka's form, for reading true end offsets
        self.deliveries = Deliveries()

    def _new_transport(self) -> _Transport:
        return _Transport(self.conf.broker_consumer, self)
