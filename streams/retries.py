"""Which failures of a write are worth retrying: the store or broker being away, not the record itself.

A partition whose writes wait for the store loses nothing while the store is down, so connection failures are
retried for as long as they last. A record the store refuses (a NUL in a text column, a value out of range)
fails the same way on every retry: retried forever it would stall its partition for good, so it is set aside
as a dead letter with its reason instead.
"""

from __future__ import annotations

from collections.abc import Iterator

# Connection-level errors of the stores' clients (psycopg, SQLAlchemy, redis-py, sqlite3, aiokafka), by name so
# that this module imports none of them.
_TRANSIENT_NAMES = frozenset({
    "OperationalError", "InterfaceError", "DisconnectionError", "PoolTimeout", "TimeoutError", "ConnectionError",
    "BusyLoadingError", "KafkaConnectionError", "KafkaTimeoutError", "NotLeaderForPartitionError",
    "RequestTimedOutError", "NodeNotReadyError",
})
UNKNOWN_ATTEMPTS = 3
"""Tries an error of neither kind gets before it is taken for the record's fault."""
FIRST_DELAY_S, MAX_DELAY_S = 0.5, 5.0
"""Waits between tries double from the first up to the most: a store or broker back from an outage is written to
again within ``MAX_DELAY_S``."""


def backoff() -> Iterator[float]:
    """The waits before each retry: 0.5, 1, 2, 4, 5, 5, ... seconds."""
    delay = FIRST_DELAY_S
    while True:
        yield delay
        delay = min(delay * 2, MAX_DELAY_S)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def is_transient(exc: BaseException) -> bool:
    """True when ``exc`` (or what caused it) says the other side was unreachable, busy or timed out."""
    return any(isinstance(e, (ConnectionError, TimeoutError)) or type(e).__name__ in _TRANSIENT_NAMES
               for e in _chain(exc))


def is_refusal(exc: BaseException) -> bool:
    """True when ``exc`` says the record itself was refused (bad data, a broken constraint, too large)."""
    names = {type(e).__name__ for e in _chain(exc)}
    return bool(names & {"DataError", "IntegrityError", "ValueError", "UnicodeEncodeError",
                         "MessageSizeTooLargeError", "RecordTooLargeError", "InvalidTextRepresentation"})


def worth_retrying(exc: BaseException, attempt: int) -> bool:
    """Retry connection failures always, refusals never, anything else ``UNKNOWN_ATTEMPTS`` times."""
    if is_transient(exc):
        return True
    return not is_refusal(exc) and attempt < UNKNOWN_ATTEMPTS
