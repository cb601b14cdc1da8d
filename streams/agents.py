"""The stream pipeline's agents: raw traffic in; clean, scored, PII-free dialogs and current policies out.

    conversations ─┐  parse ─ anonymize ─ join by id ──► scored dialogs ─ expectations ─► feature store
    satisfaction ──┘      └──────────────────────────────► dead letters (reason, never the text)
    policy updates ─ authenticate ─ version ─ effective time ─► policy table, policy view, model events

Processing is at-least-once: offsets commit after a message is handled, so a worker killed mid-stream
replays from the last commit. The join's state is a changelog-backed table and the feature store is
idempotent by ``event_id``, so a replay stores nothing twice.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import faust

from infra.errors import first_line
from infra.settings import Settings
from infra.workers import READY_LINE
from streams.app import APP_ID, create_app, declare_topics
from streams.deadletters import dead_letter
from streams.events import (
    ContractError, Conversation, DeadLetterReason, ModelEvent, PolicyUpdate, Record, Satisfaction, ScoredDialog,
    Turn,
)
from streams.join import JoinState, expired, join, state_age
from streams.metrics import CONTENT_TYPE, StreamMetrics
from streams.quality import BatchVerdict, CheckError
from streams.policy import is_due, rejection
from streams.retries import backoff, worth_retrying
from streams.signing import trusted_keys

if TYPE_CHECKING:
    from features.writer import PolicyWrite
    from streams.anonymizer import Anonymizer  # imports Presidio (~4.5 s): only the worker needs it

log = logging.getLogger(__name__)

SCORED_BATCH = 1000  # the expectation suite costs ~60 ms a batch whatever its size: batches of ~1000 amortise it
SCORED_WITHIN_S = 0.1
LAG_EVERY_S = 5.0
SWEEP_YIELD_EVERY = 250
POLICY_TICK_S = 0.5


class StoreRefused(Exception):
    """The feature store refuses a record on every try; the message is the error's type, never the record."""


class Sinks:
    """The blocking sinks (anonymizer, expectation suite, feature store), made at worker start. The anonymizer
    runs on the event loop; the suite and the store share one thread, so that their fixed cost per batch (the
    suite's ~65 ms, a store transaction) never stalls the other agents on the loop."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.metrics = StreamMetrics()
        self._writer_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="feature-writer")
        self._writer: Any = None
        self.anonymizer: Any = None
        self.checks: Any = None

    def start(self) -> None:
        from streams.anonymizer import Anonymizer

        self.anonymizer = Anonymizer(self.settings.anonymizer_options())
        self._writer_thread.submit(self._open_writer).result()

    def _open_writer(self) -> None:
        from features.config import store_config
        from features.writer import FeatureWriter
        from streams.quality import DialogChecks, anonymizer_detector

        known = set(self.settings.known_intents) if self.settings.known_intents else None
        self.checks = DialogChecks(known, anonymizer_detector(self.anonymizer))
        self._writer = FeatureWriter(store_config(self.settings))

    async def check(self, dialogs: list[ScoredDialog]) -> BatchVerdict:
        """The expectation suite's verdict on a batch, computed on the writer's thread."""
        return await asyncio.get_running_loop().run_in_executor(self._writer_thread, self.checks.check, dialogs)

    async def write_scored(self, dialogs: list[ScoredDialog]) -> list[tuple[ScoredDialog, str]]:
        """Store ``dialogs``; return those the store refuses, each with why. A refused batch is halved until
        the refused dialogs are alone, so one bad record costs its neighbours nothing."""
        try:
            await self._until_done(self._writer.write_scored, dialogs, self.settings.nps_threshold)
            return []
        except StoreRefused as refusal:
            if len(dialogs) == 1:
                return [(dialogs[0], str(refusal))]
            middle = len(dialogs) // 2
            return await self.write_scored(dialogs[:middle]) + await self.write_scored(dialogs[middle:])

    async def write_policy(self, update: PolicyUpdate) -> PolicyWrite:
        return await self._until_done(self._writer.write_policy, update)

    async def _until_done(self, write: Callable[..., Any], *args: Any) -> Any:
        """Run a write on the writer's thread. While the store is unreachable the write is retried with
        backoff and the partition waits (its offsets stay uncommitted) rather than skipping data; a write the
        store refuses raises ``StoreRefused`` instead of stalling the partition for good."""
        attempt, delays = 0, backoff()
        with self.metrics.store_write():
            while True:
                attempt += 1
                try:
                    result = await asyncio.get_running_loop().run_in_executor(self._writer_thread, write, *args)
                except Exception as exc:  # noqa: BLE001 - every store failure is either retried or refused
                    if not worth_retrying(exc, attempt):
                        log.warning("feature store %s refused a write (%s)", write.__name__, type(exc).__name__)
                        raise StoreRefused(type(exc).__name__) from exc
                    self.metrics.store_failing(True)
                    delay = next(delays)
                    log.warning("feature store %s failed (%s: %s); retrying in %.1f s",
                                write.__name__, type(exc).__name__, first_line(exc), delay)
                    await asyncio.sleep(delay)
                else:
                    self.metrics.store_failing(False)
                    return result

    def close(self) -> None:
        if self._writer is not None:
            self._writer_thread.submit(self._writer.close).result()
        self._writer_thread.shutdown()


def anonymized(anonymizer: Anonymizer, record: Conversation | Satisfaction) -> Conversation | Satisfaction:
    """The record with personal data replaced; one session per conversation keeps placeholders stable."""
    session = anonymizer.session()
    if isinstance(record, Satisfaction):
        if record.comment is None:
            return record
        return record.model_copy(update={"comment": anonymizer.scrub(record.comment, session).text})
    turns = [Turn(role=t.role, text=anonymizer.scrub(t.text, session).text, at=t.at) for t in record.turns]
    return record.model_copy(update={"turns": turns})


def _now() -> datetime:
    return datetime.now(UTC)


def scheduled_key(update: PolicyUpdate) -> bytes:
    """Scheduled updates are kept per policy and version: a later-published older version never replaces a
    newer one waiting for its time."""
    return update.key() + b"@" + str(update.version).encode()


def build(settings: Settings, bootstrap: str, sinks: Sinks, web_port: int | None = None) -> faust.App:
    """The Faust app with every agent, table and timer registered, writing through started ``sinks``."""
    trusted = trusted_keys(settings)  # an unusable key stops the worker here, before it reads anything
    app = create_app(settings, bootstrap, web_port)
    topics = declare_topics(app, settings)
    # The join state and the scored dialog carry a conversation with more around it: one past half of what the
    # producer sends would make a changelog write or a dialog the producer refuses, and crash the worker.
    largest_record = app.conf.producer_max_request_size // 2
    metrics = sinks.metrics
    app.deliveries.on_resend = lambda: metrics.resent(topics.scored_dialogs.get_topic_name())
    window, unscored_window = timedelta(seconds=settings.join_window_s), timedelta(seconds=settings.join_unscored_s)
    in_flight: dict[bytes, bytes] = {}  # "scored" markers of dialogs not yet delivered, by conversation key
    # Tables hold records as their JSON bytes: the contracts parse them back strictly.
    joins, policies, pending = (app.Table(name, default=None, key_type=bytes, value_type=bytes,
                                          partitions=settings.partitions)
                                for name in ("joins", "policies", "pending-policies"))
    expiry = app.topic(f"{APP_ID}-join-expiry", key_serializer="raw", value_serializer="raw",
                       partitions=settings.partitions, internal=True)
    policy_due = app.topic(f"{APP_ID}-policy-due", key_serializer="raw", value_serializer="raw",
                           partitions=settings.partitions, internal=True)

    @app.on_partitions_assigned.connect
    async def say_assignment(app_: faust.App, assigned: set, **_: Any) -> None:
        """One greppable line per rebalance: which partitions of the raw topics this worker now owns."""
        owned = {topic: sorted(tp.partition for tp in assigned if tp.topic == topic)
                 for topic in (settings.topic_conversations, settings.topic_satisfaction)}
        log.info("%s %s", READY_LINE, json.dumps(owned))

    async def reject(event: faust.EventT, reason: DeadLetterReason, detail: str, event_id: str | None = None) -> None:
        msg = event.message
        letter = dead_letter(msg.topic, msg.partition, msg.offset, msg.key, reason, detail, event_id)
        await send(topics.dead_letters, letter)
        metrics.dead_lettered(reason)

    async def send(topic: faust.TopicT, record: Record, timestamp: float | None = None,
                   delivered: Callable[[Any], None] | None = None) -> Any:
        """Start a send; returns the future of its delivery."""
        sent = await topic.send(key=record.key(), value=record.to_bytes(), timestamp=timestamp, callback=delivered)
        metrics.produced(topic.get_topic_name())
        return sent

    async def parsed(event: faust.EventT, record_type: type[Record]) -> Record | None:
        try:
            return record_type.from_bytes(event.value)
        except ContractError as exc:
            await reject(event, "malformed", str(exc))
            return None

    async def guarded(event: faust.EventT, handle: Callable[[faust.EventT], Awaitable[None]]) -> None:
        """Handle one event; an unforeseen error dead-letters it instead of crashing the agent, because Faust
        acknowledges the message a crashed agent was on, which would lose it without a trace."""
        try:
            await handle(event)
        except Exception as exc:  # noqa: BLE001 - anything, so the worker stays up (invariant 3)
            log.warning("dead-lettering %s[%d]@%d: %s", event.message.topic, event.message.partition,
                        event.message.offset, type(exc).__name__)  # the message text may hold PII: never log it
            await reject(event, "processing_failed", type(exc).__name__)

    async def expire_join(event: faust.EventT) -> None:
        state = joins.get(event.message.key)
        if state is not None and expired(state_age(state), _now(), window, unscored_window):
            del joins[event.message.key]

    async def join_one(event: faust.EventT) -> None:
        key = event.message.key
        record_type = Conversation if event.message.topic == settings.topic_conversations else Satisfaction
        record = await parsed(event, record_type)
        if record is None:
            return
        if record.key() != key:
            await reject(event, "key_mismatch", "message key differs from the record's conversation_id",
                         record.event_id)
            return
        if len(event.value) > largest_record:
            await reject(event, "undeliverable", f"larger than the {largest_record} bytes a worker forwards",
                         record.event_id)
            return
        previous = in_flight.get(key) or joins.get(key)
        state, outcome, dialog = join(JoinState.model_validate_json(previous) if previous else None,
                                      anonymized(sinks.anonymizer, record), _now(), window)
        if outcome == "late":
            await reject(event, "late", "its conversation and score lie further apart than the join window",
                         record.event_id)
        if dialog is None:
            if outcome not in ("duplicate", "late"):
                joins[key] = state.model_dump_json().encode()
            return
        await deliver_scored(event, dialog, state.model_dump_json().encode())

    async def deliver_scored(event: faust.EventT, dialog: ScoredDialog, marker: bytes) -> None:
        """Send a scored dialog; the join's "scored" marker reaches the table only once the broker has it.

        Were the marker stored while the dialog was not delivered, a worker killed then would restore "scored",
        take the replayed pair for a duplicate and lose the dialog. So until delivery the marker lives in
        ``in_flight`` (this worker's replays are duplicates at once); killed before it, the worker restores the
        waiting state and the replay scores the pair again, under the same event_id, which the store keeps once.
        A send the broker fails is sent again; one it never takes is a dead letter (``streams.delivery``)."""
        key, partition = event.message.key, event.message.partition
        in_flight[key] = marker

        def settle(_: Any = None) -> None:
            joins.send_changelog(partition, key, marker)
            in_flight.pop(key, None)

        async def give_up(exc: BaseException) -> None:
            await reject(event, "undeliverable", f"the broker refuses the scored dialog ({type(exc).__name__})",
                         dialog.event_id)
            settle()

        await app.deliveries.send(lambda: send(topics.scored_dialogs, dialog, timestamp=event.message.timestamp,
                                               delivered=settle), give_up)  # latency counts from the event

    @app.agent(app.topic(settings.topic_conversations, settings.topic_satisfaction, expiry.get_topic_name(),
                         key_serializer="raw", value_serializer="raw"))
    async def join_scores(stream: faust.StreamT) -> None:
        """Anonymize each conversation and score, and emit a scored dialog when both have arrived."""
        async for event in stream.events():
            metrics.consumed(event.message.topic)
            await guarded(event, expire_join if event.message.topic == expiry.get_topic_name() else join_one)

    async def store_batch(events: list[faust.EventT]) -> None:
        """Check a batch with the expectation suite, dead-letter failing rows by id, store the rest."""
        received: dict[str, tuple[ScoredDialog, faust.EventT]] = {}
        for event in events:
            dialog = await parsed(event, ScoredDialog)
            if dialog is not None:
                received.setdefault(dialog.event_id, (dialog, event))
        if not received:
            return
        verdict = await sinks.check([dialog for dialog, _ in received.values()])
        metrics.expectations_failed(verdict.failures_by_check())
        kept = {dialog.event_id for dialog in verdict.passed}
        for event_id, checks in verdict.failed.items():
            if event_id not in kept:
                await reject(received[event_id][1], "expectation_failed", ",".join(checks), event_id)
        if verdict.passed:
            refused = await sinks.write_scored(verdict.passed)
            for dialog, why in refused:
                await reject(received[dialog.event_id][1], "store_refused", why, dialog.event_id)
            stored_at, refused_ids = time.time(), {dialog.event_id for dialog, _ in refused}
            for dialog in verdict.passed:
                if dialog.event_id not in refused_ids:
                    metrics.observe_latency(stored_at - received[dialog.event_id][1].message.timestamp)

    @app.agent(topics.scored_dialogs)
    async def store_scored(stream: faust.StreamT) -> None:
        """Route scored dialogs to the feature store in batches (one transaction each)."""
        async for events in stream.take_events(SCORED_BATCH, within=SCORED_WITHIN_S):
            metrics.consumed(topics.scored_dialogs.get_topic_name(), len(events))
            metrics.observe_batch(topics.scored_dialogs.get_topic_name(), len(events))
            try:
                await store_batch(list(events))
            except CheckError as exc:  # the suite could not evaluate a check: never store unchecked rows
                for event in events:
                    await reject(event, "processing_failed", f"expectation suite: {exc.check}")

    @app.timer(LAG_EVERY_S)
    async def measure_lag() -> None:
        """Consumer lag per assigned partition (on Tansu the high watermark undercounts batches: a floor)."""
        consumer = app.consumer
        for tp in consumer.assignment():
            high, read = consumer.highwater(tp), consumer._read_offset.get(tp)
            if high is not None and high >= 0:
                metrics.set_lag(tp.topic, tp.partition, max(0, high - (read + 1 if read is not None else 0)))

    @app.on_partitions_revoked.connect
    async def forget_lag(app_: faust.App, revoked: set, **_: Any) -> None:
        for tp in revoked:
            metrics.forget_partition(tp.topic, tp.partition)

    @app.page("/metrics")
    async def serve_metrics(web: Any, request: Any) -> Any:
        return web.bytes(metrics.render(), headers={"Content-Type": CONTENT_TYPE})  # aiohttp refuses charset= here

    @app.timer(settings.join_sweep_s)
    async def sweep_joins() -> None:
        """Ask the owner of each expired join state to drop it (tables change only inside their stream). The
        table holds a join window of whole conversations, on disk with RocksDB: the sweep holds only the keys and
        reads one state at a time (only its first-seen time: ~15 µs against ~70 µs for the whole state,
        measured), yielding to the other agents every few hundred states so it never stalls them."""
        now, keys = _now(), list(joins.keys())
        metrics.set_table_keys("joins", len(keys))
        for n, key in enumerate(keys, start=1):
            state = joins.get(key)  # gone or replaced since the keys were listed: read it as it is now
            if state is not None and expired(state_age(state), now, window, unscored_window):
                await expiry.send(key=key, value=b"expire")
            if n % SWEEP_YIELD_EVERY == 0:
                await asyncio.sleep(0)

    async def apply_policy(event: faust.EventT, update: PolicyUpdate) -> None:
        """Store first, then the table: killed in between, the worker replays the update, the store (idempotent
        by policy and version) says it is in force, and the table catches up. Announced once the store has it."""
        try:
            written = await sinks.write_policy(update)
        except StoreRefused as refusal:
            await reject(event, "store_refused", str(refusal), update.event_id)
            return
        if written == "stale":
            await reject(event, "stale_policy", "the feature store holds a newer version", update.event_id)
            return
        policies[update.key()] = update.to_bytes()
        await send(topics.model_events, ModelEvent(subject=f"policy/{update.policy_id}", action="policy_applied",
                                                   metrics={"version": float(update.version)},
                                                   detail=f"{update.intent} version {update.version} in force"))

    async def admit_policy(event: faust.EventT) -> None:
        update = await parsed(event, PolicyUpdate)
        if update is None:
            return
        if update.key() != event.message.key:  # under another key it would skip the version check of its own
            await reject(event, "key_mismatch", "message key differs from the update's policy_id", update.event_id)
            return
        in_force = policies.get(event.message.key)
        current = PolicyUpdate.from_bytes(in_force) if in_force else None
        if current is not None and current.event_id == update.event_id:
            return  # a replay, or the due tick of an update already applied
        problem = rejection(update, trusted, current.version if current else None)
        if problem is not None:
            await reject(event, *problem, update.event_id)
        elif is_due(update, _now()):
            pending.pop(scheduled_key(update), None)
            await apply_policy(event, update)
        else:
            pending[scheduled_key(update)] = update.to_bytes()

    @app.agent(app.topic(settings.topic_policy_updates, policy_due.get_topic_name(),
                         key_serializer="raw", value_serializer="raw"))
    async def apply_policies(stream: faust.StreamT) -> None:
        """Authenticate, version and schedule policy updates; put each in force at its effective time."""
        async for event in stream.events():
            metrics.consumed(event.message.topic)
            await guarded(event, admit_policy)

    @app.timer(POLICY_TICK_S)
    async def release_due_policies() -> None:
        """Send each due scheduled update back through the policy stream, older versions first."""
        now = _now()
        scheduled = [(PolicyUpdate.from_bytes(value), value) for value in list(pending.values()) if value is not None]
        for update, value in sorted(scheduled, key=lambda pair: pair[0].version):
            if is_due(update, now):
                await policy_due.send(key=update.key(), value=value)

    return app
