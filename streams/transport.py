"""Faust's Kafka transport with a short fetch wait, so a caught-up consumer on Tansu is not held back, and
commits that wait for the worker's watched sends.

Faust's aiokafka driver hard-codes ``fetch_max_wait_ms=1500``. Kafka answers a fetch as soon as data
arrives (``fetch_min_bytes=1``), so the long wait costs nothing there; Tansu answers a caught-up fetch only
when the wait runs out (measured: partition EOF after exactly ``fetch.wait.max.ms`` with confluent-kafka),
so each hop of the pipeline (raw topic -> join -> scored topic -> store) waited up to 1.5 s: 2.3 s median
produce-to-store latency at 150 dialogs/s. The wait is a setting (``FLYWHEEL_FETCH_MAX_WAIT_MS``).

Table recovery reads each changelog partition up to its end as the data says, not as the high watermark says
(``highwaters``): see ``infra.topics.end_offset``.

Every record of a partition reaches the stream in offset order, none left out (``getmany``). Faust 0.15.3 takes
a record that arrives past the one it read last for a gap in the topic (compaction, transaction markers) and
counts the offsets in between as acknowledged, so its next commit passes them. Such records are not always
missing from the topic: records fetched before a seek still arrive after it (recovery seeks every stream
partition to its committed offset while the fetcher runs), and a batch drops the records of a partition paused
while they were fetched; a partition never committed is not sought at all, and Faust then commits the first run
of acknowledged offsets wherever it starts. A worker killed after such a commit lost those records for good.
Here a partition whose records stop following on is read again from the first one missing, a partition never
committed is read from its first record, and no commit passes a partition's first unacknowledged record.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping, Set
from contextlib import aclosing
from typing import Any

import faust
from faust.transport.drivers import aiokafka as driver
from faust.types import TP, Message

from infra.topics import end_offsets
from streams.delivery import Deliveries

log = logging.getLogger(__name__)


class _ConsumerThread(driver.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = self.app.conf.flywheel_fetch_max_wait_ms  # read by its fetcher at start
        return consumer


class _Consumer(driver.Consumer):
    def _new_consumer_thread(self) -> _ConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    def _reset_state(self) -> None:
        super()._reset_state()
        self._next_offset: dict[TP, int] = {}  # per acked partition: the offset its next record must have
        self._reread_from: dict[TP, int] = {}  # partitions sought back once: a second miss there is a real gap
        self._first_due: dict[TP, int] = {}  # partitions never committed: the first record, where reading began

    async def getmany(self, timeout: float) -> AsyncIterator[tuple[TP, Message]]:
        """Faust's next batch, each partition's records delivered only while they follow on from the last one
        delivered. A record past that offset means records in between were fetched and never delivered: the
        partition is sought back to the first missing one and the rest of its batch dropped, since Faust would
        count the skipped offsets as acknowledged. If the records are not there when read again, the topic
        really has a gap there (compaction, transaction markers) and the record is delivered."""
        behind: set[TP] = set()
        async with aclosing(super().getmany(timeout)) as batch:
            async for tp, message in batch:
                if tp in behind:
                    continue
                expected = self._next_offset.get(tp)
                if expected is not None and message.offset > expected and self._reread_from.get(tp) != expected:
                    log.info("%s[%d]: record %d arrived where %d was due; reading again from %d",
                             tp.topic, tp.partition, message.offset, expected, expected)
                    behind.add(tp)
                    self._reread_from[tp] = expected
                    await self.seek(tp, expected)
                    continue
                if (expected is None or message.offset >= expected) and self._acked_topic(tp):
                    self._reread_from.pop(tp, None)
                    self._next_offset[tp] = message.offset + 1
                yield tp, message

    def _acked_topic(self, tp: TP) -> bool:
        """Records whose offsets Faust commits; changelogs are compacted (gaps are real) and never committed."""
        return self.app.topics.acks_enabled_for(tp.topic)

    async def seek(self, partition: TP, offset: int) -> None:
        await super().seek(partition, offset)
        if self._acked_topic(partition):
            self._next_offset[partition] = offset

    async def seek_to_committed(self) -> Mapping[TP, int]:
        """Recovery's seek of every stream partition: records fetched before it no longer follow on. aiokafka
        leaves a partition with no commit (None, -1 or 0) where the fetcher got to, past records that were
        fetched and dropped while it was paused: such a partition is read again from its first record."""
        sought = await super().seek_to_committed()
        committed = {TP(tp.topic, tp.partition): offset for tp, offset in sought.items()}
        uncommitted = [tp for tp, offset in committed.items() if (offset or 0) <= 0 and self._acked_topic(tp)]
        firsts = await self.earliest_offsets(*uncommitted) if uncommitted else {}
        for tp, offset in committed.items():
            if tp in uncommitted:
                self._first_due[tp] = firsts[tp]
                await self.seek(tp, firsts[tp])
            elif self._acked_topic(tp):
                self._next_offset[tp] = offset
        return committed

    def _new_offset(self, tp: TP) -> int | None:
        """Faust's next offset to commit, never while the partition's first due record is unacknowledged. Faust
        checks the head of the acknowledged offsets one off, and not at all on a partition never committed, so
        records acknowledged after an unhandled one carried the commit past it."""
        acked, due = self._acked[tp], self._committed_offset[tp] or self._first_due.get(tp)
        if acked and due is not None and not self._gap[tp] and min(acked) > due:
            return None
        return super()._new_offset(tp)

    async def on_partitions_revoked(self, revoked: Set[TP]) -> None:
        for tp in revoked:
            for offsets in (self._next_offset, self._reread_from, self._first_due):
                offsets.pop(tp, None)
        await super().on_partitions_revoked(revoked)

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
