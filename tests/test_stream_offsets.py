"""A worker commits a partition's offset only past records its agents were handed.

Faust's own drain loop, read offsets, acknowledgements and commit arithmetic run here for real; only the consumer
thread (aiokafka's fetches from the broker) is scripted, so each test can make records arrive as they did when
the kill loop lost dialogs: after a seek, in a batch that drops a partition paused while it was fetched, and on
a partition never committed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiokafka.structs import ConsumerRecord
from faust.types import TP

from infra.settings import Settings
from streams.app import create_app

TOPIC = "cs.conversations"
PARTITION = TP(TOPIC, 0)


class ScriptedThread:
    """A consumer thread over one partition of ``size`` records, committed up to ``committed``, fetching three
    records at a time. Fetch number n awaits ``during_fetch[n]`` (if any): what happens while that fetch is on
    the wire. Its records come from where the partition stood when it was sent, as a fetch's do."""

    def __init__(self, size: int, committed: int | None, during_fetch: dict[int, Callable[[], Awaitable[None]]]):
        self.size, self.committed, self.position = size, committed, committed or 0
        self.during_fetch, self.fetches = during_fetch, 0

    async def getmany(self, active_partitions: object, timeout: float) -> dict:
        self.fetches += 1
        start = self.position
        self.position = end = min(start + 3, self.size)
        if self.fetches in self.during_fetch:
            await self.during_fetch[self.fetches]()
        return {PARTITION: [ConsumerRecord(TOPIC, 0, offset, 0, 0, b"k", b"v", None, 1, 1, ())
                            for offset in range(start, end)]}

    def seek(self, tp: TP, offset: int) -> None:
        self.position = offset

    async def seek_to_committed(self) -> dict:
        if self.committed:  # aiokafka leaves a partition with no commit, or a commit at 0, where it is
            self.position = self.committed
        return {PARTITION: self.committed}

    async def earliest_offsets(self, *partitions: TP) -> dict:
        return {tp: 0 for tp in partitions}

    def assignment(self) -> set:
        return {PARTITION}

    def highwater(self, tp: TP) -> int:
        return self.size


async def pause_briefly(consumer) -> None:
    """Pause the partition (as a fetch is on the wire) and resume it 50 ms later."""
    consumer.pause_partitions({PARTITION})
    asyncio.get_running_loop().call_later(0.05, consumer.resume_partitions, {PARTITION})


def drain(tmp_path, size: int, script: Callable[[object], dict[int, Callable[[], Awaitable[None]]]],
          handled: Callable[[int], bool] = lambda offset: True, committed: int | None = None,
          ) -> tuple[list[int], int | None]:
    """Run Faust's drain loop over the scripted partition until every record was delivered or the script ran
    out; return the offsets delivered and the offset Faust would commit. A delivered record is acknowledged when
    its agent is done with it: when ``handled`` says so."""
    delivered: list[int] = []

    class Fetcher:
        _stopped = asyncio.Event()

    async def run() -> int | None:
        app = create_app(Settings(data_dir=tmp_path), "127.0.0.1:1")  # in the loop its consumer will run on
        consumer = app.consumer
        app.topics._acking_topics.add(TOPIC)  # noqa: SLF001 - a subscribed agent's topic, without starting agents
        thread = ScriptedThread(size, committed, during_fetch=script(consumer))
        consumer._thread = thread  # noqa: SLF001 - the broker boundary
        consumer._set_active_tps({PARTITION})  # noqa: SLF001

        async def handed(message) -> None:
            delivered.append(message.offset)
            if handled(message.offset):
                consumer.ack(message)

        consumer.callback = handed
        task = asyncio.ensure_future(consumer._drain_messages(Fetcher))  # noqa: SLF001
        while set(range(committed or 0, size)) - set(delivered) and thread.fetches < 30:
            await asyncio.sleep(0.01)
        Fetcher._stopped.set()
        await asyncio.wait_for(task, 5)
        return consumer._new_offset(PARTITION)  # noqa: SLF001

    commit = asyncio.run(run())
    return delivered, commit


def test_records_dropped_from_a_batch_while_their_partition_was_paused_are_read_again_not_committed(tmp_path):
    """Fetch 2 comes back after the partition was paused (Faust drops its records from the batch), and the
    partition resumes soon after: the records of fetch 2 are delivered before anything past them is committed."""
    def script(consumer) -> dict:
        return {2: lambda: pause_briefly(consumer)}

    delivered, commit = drain(tmp_path, 9, script)
    assert {3, 4, 5} <= set(delivered)
    assert set(range(commit)) <= set(delivered)


def test_records_fetched_before_recovery_seeks_to_the_committed_offset_do_not_acknowledge_the_ones_before(tmp_path):
    """Recovery seeks to the committed offset (3) while fetch 2 (from 5 on) is on the wire; the agent is not done
    with 4 (still queued, or never handed over). The records of fetch 2 must not count 4 as acknowledged: the
    commit stays at 4."""
    def script(consumer) -> dict:
        return {2: consumer.perform_seek}

    delivered, commit = drain(tmp_path, 9, script, handled=lambda offset: offset != 4, committed=3)
    assert set(range(3, 9)) <= set(delivered)
    assert commit == 4


def test_a_partition_never_committed_is_read_from_its_first_record_after_records_were_dropped_while_paused(tmp_path):
    """Nothing committed yet, and the first fetch comes back while the partition is paused (Faust drops its
    records 0-2, the fetcher has moved past them); recovery's seek to the committed offset finds none to seek to.
    Records 0-2 are still delivered, and nothing is committed past them before they are acknowledged."""
    def script(consumer) -> dict:
        return {1: lambda: pause_briefly(consumer), 3: consumer.perform_seek}

    delivered, commit = drain(tmp_path, 9, script, handled=lambda offset: offset != 0)
    assert {0, 1, 2} <= set(delivered)
    assert commit is None
