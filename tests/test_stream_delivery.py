"""What the stream worker does with a write or a send that fails: retry what the other side will take later,
set aside what it never will, and never let an offset pass a message that is still on its way."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
import redis
import sqlalchemy.exc
from aiokafka.errors import KafkaTimeoutError, MessageSizeTooLargeError

from infra.settings import Settings
from streams.agents import Sinks
from streams.delivery import Deliveries
from streams.join import score_dialog
from streams.retries import UNKNOWN_ATTEMPTS, is_refusal, is_transient, worth_retrying
from tests.test_join import conversation, score


def _wrapped(error: Exception) -> Exception:
    """``error`` as SQLAlchemy hands it on: the driver's exception is the cause."""
    return sqlalchemy.exc.DBAPIError.instance("INSERT", {}, error, psycopg.Error)


@pytest.mark.parametrize("error", [
    psycopg.OperationalError("connection refused"), _wrapped(psycopg.OperationalError("server closed")),
    redis.exceptions.ConnectionError("Connection refused"), ConnectionResetError(), KafkaTimeoutError(),
])
def test_an_unreachable_store_or_broker_is_retried_for_as_long_as_it_lasts(error):
    assert is_transient(error) and worth_retrying(error, attempt=1000)


@pytest.mark.parametrize("error", [
    psycopg.errors.DataError("invalid byte sequence"), _wrapped(psycopg.errors.DataError("NUL")),
    ValueError("A string literal cannot contain NUL (0x00) characters."), MessageSizeTooLargeError(),
])
def test_a_record_the_store_refuses_is_not_retried(error):
    assert is_refusal(error) and not worth_retrying(error, attempt=1)


def test_an_unknown_failure_gets_a_few_tries_before_it_is_taken_for_the_records_fault():
    error = RuntimeError("something else")
    assert worth_retrying(error, UNKNOWN_ATTEMPTS - 1) and not worth_retrying(error, UNKNOWN_ATTEMPTS)


class _Broker:
    """Answers sends as a broker would: fails the first ``failures`` of them, then delivers."""

    def __init__(self, failures: int, error: Exception):
        self.failures, self.error, self.delivered = failures, error, 0

    async def send(self) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        if self.failures:
            self.failures -= 1
            asyncio.get_running_loop().call_later(0.01, future.set_exception, self.error)
        else:
            self.delivered += 1
            asyncio.get_running_loop().call_later(0.01, future.set_result, "metadata")
        return future


def _deliver(broker: _Broker) -> tuple[int, list[str], int]:
    """Send one message through ``Deliveries`` to ``broker``; what was delivered, what was given up and how many
    resends were counted, once ``settled`` (what the commit awaits) returns."""
    async def run() -> tuple[int, list[str], int]:
        deliveries, given_up, resends = Deliveries(), [], []
        deliveries.on_resend = lambda: resends.append(1)

        async def give_up(exc: BaseException) -> None:
            given_up.append(type(exc).__name__)

        await deliveries.send(broker.send, give_up)
        await asyncio.wait_for(deliveries.settled(), 10)
        return broker.delivered, given_up, len(resends)

    return asyncio.run(run())


def test_a_failed_send_is_sent_again_and_the_commit_waits_for_its_delivery():
    assert _deliver(_Broker(2, KafkaTimeoutError())) == (1, [], 2)


def test_a_send_the_broker_never_takes_is_given_up_at_once():
    assert _deliver(_Broker(1, MessageSizeTooLargeError())) == (0, ["MessageSizeTooLargeError"], 0)


class _RefusingWriter:
    """A store that refuses every batch holding one of ``refused`` (as PostgreSQL refuses a bad row)."""

    def __init__(self, refused: set[str]):
        self.refused, self.stored = refused, []

    def write_scored(self, dialogs, detractor_max_nps):
        if any(d.event_id in self.refused for d in dialogs):
            raise _wrapped(psycopg.errors.DataError("refused"))
        self.stored += [d.event_id for d in dialogs]


def test_a_refused_dialog_is_set_aside_and_every_other_dialog_of_its_batch_is_stored(tmp_path):
    dialogs = [score_dialog(conversation(f"c{i}"), score(f"c{i}")) for i in range(9)]
    bad = {dialogs[3].event_id, dialogs[7].event_id}
    sinks = Sinks(Settings(data_dir=tmp_path))
    sinks._writer = writer = _RefusingWriter(bad)
    try:
        refused = asyncio.run(sinks.write_scored(dialogs))
    finally:
        sinks._writer_thread.shutdown()
    assert {d.event_id for d, _ in refused} == bad and {why for _, why in refused} == {"DataError"}
    assert sorted(writer.stored) == sorted(d.event_id for d in dialogs if d.event_id not in bad)
