"""Sends that must not be lost: each is watched until the broker has it, sent again while it fails, and set
aside as a dead letter only when the broker will never take it. Offsets wait for them.

Faust flushes its producer before it commits offsets, but a send that failed is simply done: its offset would
commit and the message be gone. So every watched send stays pending until it is delivered or dead-lettered,
and the worker's consumer commits only once nothing is pending (``streams.transport``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from streams.retries import backoff, worth_retrying

log = logging.getLogger(__name__)

Send = Callable[[], Awaitable[Any]]
"""Starts one send and returns the future of its delivery (what Faust's ``topic.send`` returns)."""
GiveUp = Callable[[BaseException], Awaitable[None]]
"""What to do with a message the broker will never take: dead-letter it, with the error's type."""


class Deliveries:
    """The watched sends of one worker, and what the consumer's commit waits for."""

    def __init__(self) -> None:
        self._pending: set[asyncio.Future] = set()
        self.on_resend: Callable[[], None] = lambda: None  # the worker counts resends in its metrics

    async def send(self, send: Send, give_up: GiveUp) -> None:
        """Start ``send`` and watch it until the broker has the message or will never take it."""
        try:
            future = await send()
        except Exception as exc:  # noqa: BLE001 - the producer's own refusal, e.g. larger than it allows
            self._track(asyncio.ensure_future(self._retry(exc, send, give_up)))
            return
        self._track(future, lambda exc: self._retry(exc, send, give_up))

    def _track(self, future: asyncio.Future,
               on_failure: Callable[[BaseException], Awaitable[None]] | None = None) -> None:
        self._pending.add(future)

        def settle(done: asyncio.Future) -> None:
            # Runs before anything awaiting ``done`` wakes up: a failed send is replaced by its retry while it
            # is still pending, so ``settled`` never sees a gap between the two.
            if on_failure is not None and not done.cancelled() and done.exception() is not None:
                self._track(asyncio.ensure_future(on_failure(done.exception())))
            self._pending.discard(done)

        future.add_done_callback(settle)

    async def _retry(self, failure: BaseException, send: Send, give_up: GiveUp) -> None:
        """Send again after ``failure`` while it is worth it, with backoff; else give up."""
        for attempt, delay in enumerate(backoff(), start=1):
            if not worth_retrying(failure, attempt):
                break
            log.warning("send failed (%s); sending again in %.1f s", type(failure).__name__, delay)
            self.on_resend()
            await asyncio.sleep(delay)
            try:
                await (await send())
                return
            except Exception as exc:  # noqa: BLE001 - retried or given up, never dropped
                failure = exc
        await give_up(failure)

    async def settled(self) -> None:
        """Return once every watched send is delivered or given up."""
        while self._pending:
            await asyncio.wait(set(self._pending))

    @property
    def pending(self) -> int:
        return len(self._pending)
