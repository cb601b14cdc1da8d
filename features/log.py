"""The offline log: append-only traffic, routed dialogs, policy versions and quality snapshots, written one
transaction at a time.

Feast's file offline store rewrites the whole parquet file on every push and loses rows under concurrent
writers, and its PostgreSQL store has no push at all, so features/ keeps its own log behind this interface:
``ParquetLog`` (embedded: immutable parquet segments listed by a SQLite ledger) and ``PostgresLog`` (production:
tables keyed for idempotent inserts), each with the hourly rollup that per-intent quality is summed from
(``quality.py``). Feast reads the same files and tables as the views' batch sources.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

import pyarrow as pa

from features.config import StoreConfig
from features.tables import LogTable

Op = Literal[">=", "<", "<=", "==", "in", "not_null"]


@dataclass(frozen=True)
class Condition:
    """One term of a conjunctive row filter; each log compiles it to its own query language."""

    column: str
    op: Op
    value: Any = None


@dataclass(frozen=True)
class LogSummary:
    rows: int
    last_write: datetime | None


class LogTransaction(Protocol):
    def append(self, log: LogTable, rows: pa.Table) -> pa.Table:
        """Store the rows whose key the log does not hold yet and return exactly those."""

    def latest_version(self, policy_id: str) -> int | None:
        """The newest version of ``policy_id`` in the policy log."""

    def count_hours(self, counts: Sequence[tuple]) -> None:
        """Add ``quality.hourly_counts`` of stored dialogs to the log's hourly rollup."""

    def totals(self, intents: Sequence[str], since_hour: datetime) -> list[tuple]:
        """``(intent, *quality.COUNTS)`` summed over the rollup's hours from ``since_hour`` on."""


class OfflineLog(Protocol):
    def create(self) -> None:
        """Create what the log needs (idempotent)."""

    def transaction(self, lock: str | None = None) -> AbstractContextManager[LogTransaction]:
        """A transaction that commits when the block ends and rolls back on an exception. Transactions naming
        the same ``lock`` run one at a time, across processes."""

    def recover(self) -> None:
        """Clean up after a writer that died in the middle of a transaction."""

    def read(self, log: LogTable, start: datetime, end: datetime, conditions: Sequence[Condition]) -> pa.Table:
        """Rows of ``log`` with ``start <= event_timestamp < end`` matching every condition, in no order."""

    def summary(self) -> dict[str, LogSummary]:
        """Row count and last write time of every log, by log name."""

    def close(self) -> None: ...


def open_log(config: StoreConfig) -> OfflineLog:
    """The offline log of ``config``; the backend's client library is imported only when it is used."""
    if config.kind == "embedded":
        from features.parquet_log import ParquetLog

        return ParquetLog(config.offline_dir)
    from features.postgres_log import PostgresLog

    return PostgresLog(config.postgres_dsn, config.postgres_schema)
