"""What the offline logs hold: one Arrow schema per log, and how events become rows of it.

These schemas are the one place column names and types are declared: the Feast views type their fields from
them (``definitions.py``), the PostgreSQL tables take their DDL from them (``postgres_log.py``) and the parquet
segments their file schema (``parquet_log.py``), so the stores cannot drift apart. A column added to a log after
it went into production must be nullable: PostgreSQL adds it to the existing table, and parquet segments written
before it read it as null.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import pyarrow as pa

from streams.events import PolicyUpdate, ScoredDialog

TIMESTAMP = pa.timestamp("us", tz="UTC")
EVENT_TIMESTAMP = "event_timestamp"  # when the fact happened: the time windows and Feast's joins use it
CREATED = "created"  # when the writer stored the row: Feast breaks ties between equal event times with it


def _required(name: str, dtype: pa.DataType) -> pa.Field:
    return pa.field(name, dtype, nullable=False)


@dataclass(frozen=True)
class LogTable:
    """One append-only log. A row whose ``key`` is already stored is not stored again, which makes every
    write idempotent."""

    name: str
    schema: pa.Schema
    key: tuple[str, ...]


# What is known of every scored dialog: its score, how it went and the first exchange. The traffic log keeps
# these for all traffic; the dialog log keeps them, with the transcript, for the dialogs routed to retraining.
_SCORED_FIELDS = [
    _required("event_id", pa.string()),
    _required(EVENT_TIMESTAMP, TIMESTAMP),
    _required(CREATED, TIMESTAMP),
    _required("conversation_id", pa.string()),
    _required("nps", pa.int64()),
    pa.field("intent", pa.string()),
    _required("locale", pa.string()),
    _required("channel", pa.string()),
    _required("turn_count", pa.int64()),
    _required("resolved", pa.bool_()),
    _required("handed_off", pa.bool_()),
    _required("adapter_version", pa.string()),
    pa.field("policy_id", pa.string()),
    pa.field("policy_version", pa.int64()),
    pa.field("customer_text", pa.string()),
    pa.field("bot_answer", pa.string()),
    pa.field("agent_answer", pa.string()),
]

TRAFFIC_LOG = LogTable(name="traffic_log", schema=pa.schema(_SCORED_FIELDS), key=("event_id",))
"""Every scored dialog, routed or not: what drift checks and reports compare windows of."""

DIALOG_LOG = LogTable(
    name="dialog_log",
    schema=pa.schema([
        *_SCORED_FIELDS,
        # The whole anonymized transcript, offline only: training may want more than the first exchange, and
        # the scored-dialog topic keeps it for days, not for the life of the model.
        _required("transcript", pa.string()),
    ]),
    key=("event_id",),
)
"""The dialogs routed to retraining (the detractors), behind the ``dialogs`` view."""

POLICY_LOG = LogTable(
    name="policy_log",
    schema=pa.schema([
        _required("event_id", pa.string()),
        _required(EVENT_TIMESTAMP, TIMESTAMP),  # the rule's effective time, so joins see the rule then in force
        _required(CREATED, TIMESTAMP),
        _required("policy_id", pa.string()),
        _required("version", pa.int64()),
        _required("intent", pa.string()),
        _required("text", pa.string()),  # JSON object: locale -> rule text
        _required("facts", pa.string()),  # JSON object: fact name -> value
        _required("author", pa.string()),
        # JSON list of {locale, question, answer}: the Q/A the policy team published with the version, which the
        # weekly refresh learns the new rule from. Nullable because it came later: rows written before it have none.
        pa.field("examples", pa.string()),
        # JSON list of {locale, question}: evaluation questions published with the version (a new service's),
        # which the A/B gate asks and no training snapshot may hold.
        pa.field("held_out", pa.string()),
    ]),
    key=("policy_id", "version"),
)

QUALITY_LOG = LogTable(
    name="intent_quality_log",
    schema=pa.schema([
        _required("intent", pa.string()),
        _required(EVENT_TIMESTAMP, TIMESTAMP),  # when the snapshot was computed
        _required(CREATED, TIMESTAMP),
        _required("dialog_count", pa.int64()),
        pa.field("mean_nps", pa.float64()),  # null when the window holds no dialog of the intent
        pa.field("detractor_share", pa.float64()),
        pa.field("promoter_share", pa.float64()),
        pa.field("handoff_share", pa.float64()),
        pa.field("resolved_share", pa.float64()),
    ]),
    key=("intent", EVENT_TIMESTAMP),
)

LOGS = (TRAFFIC_LOG, DIALOG_LOG, POLICY_LOG, QUALITY_LOG)


def _compact_json(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def dialog_rows(dialogs: Sequence[ScoredDialog], created: datetime) -> pa.Table:
    """The dialog-log rows of ``dialogs``: the first customer, bot and agent turns as the training pair."""
    return pa.Table.from_pylist(
        [
            {
                "event_id": d.event_id,
                EVENT_TIMESTAMP: d.event_time,
                CREATED: created,
                "conversation_id": d.conversation_id,
                "nps": d.nps,
                "intent": d.intent,
                "locale": d.locale,
                "channel": d.channel,
                "turn_count": len(d.turns),
                "resolved": d.resolved,
                "handed_off": d.handed_off,
                "adapter_version": d.adapter_version,
                "policy_id": d.policy_id,
                "policy_version": d.policy_version,
                "customer_text": d.first_text("customer"),
                "bot_answer": d.first_text("bot"),
                "agent_answer": d.first_text("agent"),
                "transcript": _compact_json([{"role": t.role, "text": t.text} for t in d.turns]),
            }
            for d in dialogs
        ],
        schema=DIALOG_LOG.schema,
    )


def traffic_rows(dialogs: pa.Table) -> pa.Table:
    """The traffic-log rows of ``dialog_rows``: all their columns but the transcript."""
    return dialogs.select(TRAFFIC_LOG.schema.names)


def policy_rows(update: PolicyUpdate, created: datetime) -> pa.Table:
    """The policy-log row of one update, its example Q/A included (the refresh dataset reads them back)."""
    return pa.Table.from_pylist(
        [
            {
                "event_id": update.event_id,
                EVENT_TIMESTAMP: update.effective_at,
                CREATED: created,
                "policy_id": update.policy_id,
                "version": update.version,
                "intent": update.intent,
                "text": _compact_json(update.text),
                "facts": _compact_json(update.facts),
                "author": update.author,
                "examples": _compact_json([example.model_dump(mode="json") for example in update.examples]),
                "held_out": _compact_json([question.model_dump(mode="json") for question in update.held_out]),
            }
        ],
        schema=POLICY_LOG.schema,
    )


def key_tuples(rows: pa.Table, key: Sequence[str]) -> list[tuple]:
    """Each row's key as a tuple, in row order."""
    return list(zip(*(rows.column(name).to_pylist() for name in key)))


def first_per_key(rows: pa.Table, key: Sequence[str]) -> pa.Table:
    """``rows`` without later repeats of a key: a batch may carry the same event twice (redelivery)."""
    seen: set[tuple] = set()
    keep = []
    for k in key_tuples(rows, key):
        keep.append(k not in seen)
        seen.add(k)
    return rows if all(keep) else rows.filter(pa.array(keep))
