"""The production offline log: one PostgreSQL table per log, keyed so that inserts are idempotent.

``INSERT ... ON CONFLICT DO NOTHING RETURNING`` stores each key once and tells the writer which rows were new,
inside the transaction that also covers the online push and the hourly rollup, so a writer that dies before its
commit leaves nothing behind and redelivery writes the rows again. Writers run concurrently; transactions that
name a lock (one policy, the quality snapshot) take a transaction-level advisory lock, released by the commit or
by the death of the connection. The connection's search_path is the store's schema.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

import psycopg
import pyarrow as pa
from psycopg import sql

from features.log import Condition, LogSummary
from features.quality import HOURS_KEY, HOURS_SCHEMA, HOURS_TABLE, add_counts_sql, totals_sql
from features.tables import CREATED, EVENT_TIMESTAMP, LOGS, POLICY_LOG, TIMESTAMP, LogTable, first_per_key, key_tuples

_PG_TYPES = {
    pa.string(): "text",
    pa.int64(): "bigint",
    pa.float64(): "double precision",
    pa.bool_(): "boolean",
    TIMESTAMP: "timestamptz",
}
_SQL_OPS = {">=": ">=", "<": "<", "<=": "<=", "==": "="}


def _names(names: Sequence[str]) -> sql.Composed:
    return sql.SQL(", ").join(map(sql.Identifier, names))


def _table_ddl(name: str, schema: pa.Schema, key: Sequence[str]) -> sql.Composed:
    columns = sql.SQL(", ").join(
        sql.SQL("{} {}{}").format(sql.Identifier(f.name), sql.SQL(_PG_TYPES[f.type]),
                                  sql.SQL("" if f.nullable else " NOT NULL"))
        for f in schema
    )
    return sql.SQL("CREATE TABLE IF NOT EXISTS {} ({}, PRIMARY KEY ({}))").format(
        sql.Identifier(name), columns, _names(key))


def _added_columns_ddl(name: str, schema: pa.Schema) -> list[sql.Composed]:
    """``ADD COLUMN IF NOT EXISTS`` for every nullable column: a table created before a column joined its schema
    gets it (null in the rows it holds), which ``CREATE TABLE IF NOT EXISTS`` alone would not do."""
    return [sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} {}").format(
                sql.Identifier(name), sql.Identifier(f.name), sql.SQL(_PG_TYPES[f.type]))
            for f in schema if f.nullable]


def _sql_term(condition: Condition) -> tuple[sql.Composable, list]:
    column = sql.Identifier(condition.column)
    if condition.op == "in":
        return sql.SQL("{} = ANY({})").format(column, sql.Placeholder()), [list(condition.value)]
    if condition.op == "not_null":
        return sql.SQL("{} IS NOT NULL").format(column), []
    return sql.SQL("{} {} {}").format(column, sql.SQL(_SQL_OPS[condition.op]), sql.Placeholder()), [condition.value]


class _Transaction:
    def __init__(self, conn: psycopg.Connection):
        self._conn = conn

    def append(self, log: LogTable, rows: pa.Table) -> pa.Table:
        rows = first_per_key(rows, log.key)
        arrays = sql.SQL(", ").join(
            sql.SQL("{}::{}[]").format(sql.Placeholder(), sql.SQL(_PG_TYPES[field.type])) for field in log.schema
        )
        insert = sql.SQL(
            "INSERT INTO {table} ({columns}) SELECT * FROM unnest({arrays}) ON CONFLICT ({key}) DO NOTHING "
            "RETURNING {key}"
        ).format(table=sql.Identifier(log.name), columns=_names(log.schema.names), arrays=arrays,
                 key=_names(log.key))
        stored = set(self._conn.execute(insert, [column.to_pylist() for column in rows.columns]).fetchall())
        return rows.filter(pa.array([key in stored for key in key_tuples(rows, log.key)], pa.bool_()))

    def latest_version(self, policy_id: str) -> int | None:
        query = sql.SQL("SELECT max(version) FROM {} WHERE policy_id = %s").format(sql.Identifier(POLICY_LOG.name))
        return self._conn.execute(query, [policy_id]).fetchone()[0]

    def count_hours(self, counts: Sequence[tuple]) -> None:
        with self._conn.cursor() as cursor:
            cursor.executemany(add_counts_sql("%s"), counts)

    def totals(self, intents: Sequence[str], since_hour: datetime) -> list[tuple]:
        return self._conn.execute(totals_sql(len(intents), "%s"), [*intents, since_hour]).fetchall()


class PostgresLog:
    """The offline log in ``schema`` of the database at ``dsn``."""

    def __init__(self, dsn: str, schema: str):
        self._dsn, self._schema = dsn, schema
        self._conn = self._connect()

    def _connect(self) -> psycopg.Connection:
        return psycopg.connect(self._dsn, autocommit=True, options=f"-csearch_path={self._schema}")

    def create(self) -> None:
        with self._conn.transaction():
            self._conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self._schema)))
            for log in LOGS:
                self._conn.execute(_table_ddl(log.name, log.schema, log.key))
                for statement in _added_columns_ddl(log.name, log.schema):
                    self._conn.execute(statement)
                self._conn.execute(sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} ({})").format(  # time windows
                    sql.Identifier(f"{log.name}_by_time"), sql.Identifier(log.name), sql.Identifier(EVENT_TIMESTAMP)))
            self._conn.execute(_table_ddl(HOURS_TABLE, HOURS_SCHEMA, HOURS_KEY))

    @contextmanager
    def transaction(self, lock: str | None = None) -> Iterator[_Transaction]:
        """A transaction on the log's connection, opened again first if the server dropped it (a restart):
        the caller's retry of a failed write then finds a live connection."""
        if self._conn.closed or self._conn.broken:
            self._conn = self._connect()
        with self._conn.transaction():
            if lock is not None:
                self._conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"{self._schema}.{lock}"])
            yield _Transaction(self._conn)

    def recover(self) -> None:
        """Nothing to do: PostgreSQL rolls back the transaction of a writer that died."""

    def read(self, log: LogTable, start: datetime, end: datetime, conditions: Sequence[Condition]) -> pa.Table:
        terms: list[sql.Composable] = [sql.SQL("event_timestamp >= %s AND event_timestamp < %s")]
        params: list[object] = [start, end]
        for term, values in map(_sql_term, conditions):
            terms.append(term)
            params.extend(values)
        query = sql.SQL("SELECT {} FROM {} WHERE {}").format(
            _names(log.schema.names), sql.Identifier(log.name), sql.SQL(" AND ").join(terms))
        columns = list(zip(*self._conn.execute(query, params).fetchall())) or [()] * len(log.schema)
        return pa.table([pa.array(values, field.type) for values, field in zip(columns, log.schema)],
                        schema=log.schema)

    def summary(self) -> dict[str, LogSummary]:
        result = {}
        for log in LOGS:
            query = sql.SQL("SELECT count(*), max({}) FROM {}").format(sql.Identifier(CREATED),
                                                                      sql.Identifier(log.name))
            rows, last_write = self._conn.execute(query).fetchone()
            result[log.name] = LogSummary(rows, last_write)
        return result

    def close(self) -> None:
        self._conn.close()
