"""The embedded offline log: immutable parquet segments in date partitions, listed by a SQLite ledger.

The ledger does three jobs in one transaction per write. It is the single-writer lock (``BEGIN IMMEDIATE`` takes
SQLite's write lock, across processes); it is the key index that makes appends idempotent (beside the hourly
quality rollup); and it lists the committed segments, the only files readers open. A segment is written and
fsynced before the transaction that lists it commits, so a writer that dies in between leaves a file nobody
lists: readers never see it, the next writer deletes it (``recover``) and redelivery writes the rows again.
No row is lost, none is read twice.
"""

from __future__ import annotations

import functools
import operator
import os
import sqlite3
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from features.log import Condition, LogSummary
from infra.files import fsync_dir
from features.quality import HOURS_KEY, HOURS_SCHEMA, HOURS_TABLE, add_counts_sql, totals_sql
from features.tables import EVENT_TIMESTAMP, LOGS, POLICY_LOG, TIMESTAMP, LogTable, first_per_key

_SQLITE_TYPES = {pa.string(): "TEXT", pa.int64(): "INTEGER", pa.bool_(): "INTEGER", TIMESTAMP: "INTEGER"}
_COMPARE = {">=": operator.ge, "<": operator.lt, "<=": operator.le, "==": operator.eq}

_SEGMENTS_DDL = """
CREATE TABLE IF NOT EXISTS segments (
    path TEXT PRIMARY KEY,      -- relative to the log's root
    log TEXT NOT NULL,
    rows INTEGER NOT NULL,
    min_ts INTEGER NOT NULL,    -- event_timestamp bounds in microseconds, to skip segments outside a window
    max_ts INTEGER NOT NULL,
    written_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS segments_by_time ON segments (log, max_ts);
"""


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _micros(at: datetime) -> int:
    """Exact microseconds since the epoch (``timestamp()`` goes through a float and can be off by one)."""
    return (at - _EPOCH) // timedelta(microseconds=1)


def _table_ddl(name: str, schema: pa.Schema, key: Sequence[str]) -> str:
    columns = ", ".join(f"{f.name} {_SQLITE_TYPES[f.type]} NOT NULL" for f in schema)
    return f"CREATE TABLE IF NOT EXISTS {name} ({columns}, PRIMARY KEY ({', '.join(key)})) WITHOUT ROWID;"


def _key_index_ddl(log: LogTable) -> str:
    """The ledger's index of a log: its keys only, the rows themselves live in the segments."""
    return _table_ddl(log.name, pa.schema([log.schema.field(c) for c in log.key]), log.key)


def _ledger_keys(rows: pa.Table, key: Sequence[str]) -> list[tuple]:
    """Row keys as the ledger stores them: timestamps as integer microseconds."""
    def values(name: str) -> list:
        column = rows.column(name)
        return pc.cast(column, pa.int64()).to_pylist() if column.type == TIMESTAMP else column.to_pylist()

    return list(zip(*(values(c) for c in key)))


def _arrow_term(condition: Condition) -> pc.Expression:
    field = pc.field(condition.column)
    if condition.op == "in":
        return field.isin(list(condition.value))
    if condition.op == "not_null":
        return field.is_valid()
    return _COMPARE[condition.op](field, condition.value)


class _Transaction:
    def __init__(self, db: sqlite3.Connection, root: Path):
        self._db, self._root = db, root

    def append(self, log: LogTable, rows: pa.Table) -> pa.Table:
        rows = first_per_key(rows, log.key)
        insert = (f"INSERT INTO {log.name} ({', '.join(log.key)}) VALUES ({', '.join('?' * len(log.key))}) "
                  "ON CONFLICT DO NOTHING RETURNING 1")
        new = [bool(self._db.execute(insert, key).fetchall()) for key in _ledger_keys(rows, log.key)]
        fresh = rows.filter(pa.array(new, pa.bool_()))
        days = pc.strftime(fresh.column(EVENT_TIMESTAMP), format="%Y-%m-%d")
        for day in pc.unique(days).to_pylist():
            self._write_segment(log, day, fresh.filter(pc.equal(days, day)))
        return fresh

    def _write_segment(self, log: LogTable, day: str, rows: pa.Table) -> None:
        """One new file, durable before the ledger lists it."""
        written_at = time.time_ns() // 1000
        relative = f"{log.name}/date={day}/{written_at}-{uuid.uuid4().hex[:12]}.parquet"
        path = self._root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as out:
            pq.write_table(rows, out, compression="zstd")
            out.flush()
            os.fsync(out.fileno())
        fsync_dir(path.parent)
        fsync_dir(path.parent.parent)
        times = pc.cast(rows.column(EVENT_TIMESTAMP), pa.int64())
        self._db.execute(
            "INSERT INTO segments VALUES (?, ?, ?, ?, ?, ?)",
            (relative, log.name, rows.num_rows, pc.min(times).as_py(), pc.max(times).as_py(), written_at),
        )

    def latest_version(self, policy_id: str) -> int | None:
        return self._db.execute(f"SELECT max(version) FROM {POLICY_LOG.name} WHERE policy_id = ?",
                                (policy_id,)).fetchone()[0]

    def count_hours(self, counts: Sequence[tuple]) -> None:
        self._db.executemany(add_counts_sql("?"), [(intent, _micros(hour), *n) for intent, hour, *n in counts])

    def totals(self, intents: Sequence[str], since_hour: datetime) -> list[tuple]:
        return self._db.execute(totals_sql(len(intents), "?"), (*intents, _micros(since_hour))).fetchall()


class ParquetLog:
    """The offline log under ``root``: ``ledger.db`` and one folder of date partitions per log."""

    def __init__(self, root: Path, busy_timeout_s: float = 60.0):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        # Autocommit mode: transactions are explicit, so BEGIN IMMEDIATE is the lock and nothing else is.
        self._db = sqlite3.connect(root / "ledger.db", timeout=busy_timeout_s, isolation_level=None,
                                   check_same_thread=False)
        # The stream commits its Kafka offsets once a write returns: the commit must survive a power cut.
        self._db.execute("PRAGMA synchronous = FULL")

    def create(self) -> None:
        self._db.execute("PRAGMA journal_mode = WAL")  # readers do not wait for the writer (persists in the file)
        self._db.executescript(_SEGMENTS_DDL + "".join(_key_index_ddl(log) for log in LOGS)
                               + _table_ddl(HOURS_TABLE, HOURS_SCHEMA, HOURS_KEY))

    @contextmanager
    def transaction(self, lock: str | None = None) -> Iterator[_Transaction]:
        """Every transaction takes the ledger's one write lock, whatever ``lock`` it names."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield _Transaction(self._db, self.root)
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def recover(self) -> None:
        """Delete segments that no committed transaction lists (their writer died before committing)."""
        with self.transaction():
            listed = {path for (path,) in self._db.execute("SELECT path FROM segments")}
            for log in LOGS:
                for path in (self.root / log.name).glob("date=*/*.parquet"):
                    if path.relative_to(self.root).as_posix() not in listed:
                        path.unlink()

    def read(self, log: LogTable, start: datetime, end: datetime, conditions: Sequence[Condition]) -> pa.Table:
        paths = [self.root / path for (path,) in self._db.execute(
            "SELECT path FROM segments WHERE log = ? AND max_ts >= ? AND min_ts < ?",
            (log.name, _micros(start), _micros(end)),
        )]
        if not paths:
            return log.schema.empty_table()
        window = (pc.field(EVENT_TIMESTAMP) >= start) & (pc.field(EVENT_TIMESTAMP) < end)
        row_filter = functools.reduce(operator.and_, map(_arrow_term, conditions), window)
        return ds.dataset([str(p) for p in paths], schema=log.schema, format="parquet").to_table(filter=row_filter)

    def summary(self) -> dict[str, LogSummary]:
        found = {log: LogSummary(rows, datetime.fromtimestamp(written_at / 1e6, UTC))
                 for log, rows, written_at in self._db.execute(
                     "SELECT log, sum(rows), max(written_at) FROM segments GROUP BY log")}
        return {log.name: found.get(log.name, LogSummary(0, None)) for log in LOGS}

    def close(self) -> None:
        self._db.close()
