"""Per-intent quality: how the dialogs of each intent went over a trailing window, to the hour.

The offline log keeps an hourly rollup beside the dialogs: counts per intent and hour, added in the transaction
that appends scored dialogs to the traffic log, from exactly the rows it stored: all traffic, not only the
dialogs routed to retraining. Duplicates are never counted (the append skips them)
and a quality snapshot sums a week of hours instead of scanning a week of dialogs, whatever the traffic. The same
two statements run on the embedded ledger (SQLite) and on PostgreSQL; only the placeholder differs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import pyarrow as pa

from features.tables import CREATED, EVENT_TIMESTAMP, QUALITY_LOG, TIMESTAMP

# The NPS convention: 0-6 are detractors, 9-10 promoters (not the routing threshold, which is a setting).
DETRACTOR_MAX_NPS = 6
PROMOTER_MIN_NPS = 9

HOURS_TABLE = "intent_hours"
HOURS_KEY = ("intent", "hour")
COUNTS = ("dialogs", "nps_sum", "detractors", "promoters", "handoffs", "resolved")
HOURS_SCHEMA = pa.schema(
    [pa.field("intent", pa.string(), nullable=False), pa.field("hour", TIMESTAMP, nullable=False)]
    + [pa.field(name, pa.int64(), nullable=False) for name in COUNTS]
)

MEASURES = ("dialog_count", "mean_nps", "detractor_share", "promoter_share", "handoff_share", "resolved_share")
"""The features of a snapshot (``QUALITY_LOG``), each derived from the summed ``COUNTS``."""


def hourly_counts(dialogs: pa.Table) -> list[tuple]:
    """``(intent, hour, *COUNTS)`` for traffic-log rows, sorted so that concurrent writers lock the rollup's
    rows in the same order (no deadlock). Dialogs without an intent are not counted."""
    buckets: dict[tuple[str, datetime], list[int]] = {}
    for row in dialogs.select(["intent", EVENT_TIMESTAMP, "nps", "handed_off", "resolved"]).to_pylist():
        if row["intent"] is None:
            continue
        hour = row[EVENT_TIMESTAMP].replace(minute=0, second=0, microsecond=0)
        counts = buckets.setdefault((row["intent"], hour), [0] * len(COUNTS))
        increments = (1, row["nps"], row["nps"] <= DETRACTOR_MAX_NPS, row["nps"] >= PROMOTER_MIN_NPS,
                      row["handed_off"], row["resolved"])
        for i, increment in enumerate(increments):
            counts[i] += increment
    return [(*key, *counts) for key, counts in sorted(buckets.items())]


def add_counts_sql(placeholder: str) -> str:
    """Add one ``hourly_counts`` tuple to the rollup."""
    columns = (*HOURS_KEY, *COUNTS)
    added = ", ".join(f"{c} = {HOURS_TABLE}.{c} + excluded.{c}" for c in COUNTS)
    return (f"INSERT INTO {HOURS_TABLE} ({', '.join(columns)}) VALUES ({', '.join([placeholder] * len(columns))}) "
            f"ON CONFLICT ({', '.join(HOURS_KEY)}) DO UPDATE SET {added}")


def totals_sql(intents: int, placeholder: str) -> str:
    """``(intent, *COUNTS)`` summed over the hours from a given one on, for ``intents`` intents."""
    sums = ", ".join(f"CAST(sum({c}) AS BIGINT)" for c in COUNTS)  # PostgreSQL sums bigints to numeric
    return (f"SELECT intent, {sums} FROM {HOURS_TABLE} WHERE intent IN ({', '.join([placeholder] * intents)}) "
            f"AND hour >= {placeholder} GROUP BY intent")


def _measures(dialogs: int, nps_sum: int, detractors: int, promoters: int, handoffs: int, resolved: int) -> tuple:
    if not dialogs:
        return (0,) + (None,) * (len(MEASURES) - 1)
    return (dialogs, *(count / dialogs for count in (nps_sum, detractors, promoters, handoffs, resolved)))


def snapshot(totals: Iterable[Sequence], intents: Iterable[str], at: datetime) -> pa.Table:
    """``QUALITY_LOG`` rows at ``at`` for ``intents`` from ``totals_sql`` rows. An intent without totals gets
    an empty window (count 0, no means), so that its stale numbers do not stay online."""
    by_intent = {intent: counts for intent, *counts in totals}
    return pa.Table.from_pylist(
        [
            {"intent": intent, EVENT_TIMESTAMP: at, CREATED: at,
             **dict(zip(MEASURES, _measures(*by_intent.get(intent, [0] * len(COUNTS)))))}
            for intent in sorted(set(intents))
        ],
        schema=QUALITY_LOG.schema,
    )
