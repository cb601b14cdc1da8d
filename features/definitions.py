"""The feature repository, declared once for both configurations: entities, push sources and feature views.

The stream pushes the scored dialogs routed to retraining, policy versions and per-intent quality online; serving
reads the current policy by policy id or by intent. Only the batch source behind each push source depends on the
configuration: the parquet folder (embedded) or the PostgreSQL table (production) that the offline log appends
to. The traffic log (every scored dialog) has no view: drift checks read its windows offline (``traffic.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import pyarrow as pa
from feast import Entity, FeatureView, Field, FileSource, PushSource, ValueType
from feast.data_source import DataSource
from feast.feast_object import FeastObject
from feast.types import Bool, Float64, Int64, String

from features.config import StoreConfig
from features.quality import MEASURES
from features.tables import CREATED, DIALOG_LOG, EVENT_TIMESTAMP, POLICY_LOG, QUALITY_LOG, LogTable

conversation = Entity(
    name="conversation",
    join_keys=["conversation_id"],
    value_type=ValueType.STRING,
    description="A finished chat, keyed as the chat platform keys it.",
)
policy = Entity(
    name="policy",
    join_keys=["policy_id"],
    value_type=ValueType.STRING,
    description="A rule of the policy team (return window, price protection...), versioned.",
)
intent = Entity(
    name="intent",
    join_keys=["intent"],
    value_type=ValueType.STRING,
    description="What the customer asked about; serving finds the policy to apply by it.",
)

DIALOGS_PUSH, POLICIES_PUSH, QUALITY_PUSH = "dialogs_push", "policies_push", "intent_quality_push"
DIALOGS, POLICIES, POLICY_BY_INTENT, INTENT_QUALITY = "dialogs", "policies", "policy_by_intent", "intent_quality"

DIALOG_FEATURES = (
    "nps", "intent", "locale", "turn_count", "resolved", "handed_off", "adapter_version", "policy_id",
    "policy_version", "customer_text", "bot_answer", "agent_answer",
)
POLICY_FEATURES = ("version", "text", "facts", "author")

_FEAST_TYPES = {pa.string(): String, pa.int64(): Int64, pa.float64(): Float64, pa.bool_(): Bool}


def _fields(log: LogTable, names: Sequence[str]) -> list[Field]:
    """Feast fields typed from the log behind the view, so that a view cannot disagree with its source."""
    return [Field(name=name, dtype=_FEAST_TYPES[log.schema.field(name).type]) for name in names]


def _batch_source(config: StoreConfig, log: LogTable) -> DataSource:
    """Where Feast finds a log's rows (materialization, point-in-time joins): what the offline log writes."""
    if config.kind == "embedded":
        return FileSource(name=log.name, path=str(config.offline_dir / log.name), timestamp_field=EVENT_TIMESTAMP,
                          created_timestamp_column=CREATED)
    from feast.infra.offline_stores.contrib.postgres_offline_store.postgres_source import PostgreSQLSource

    return PostgreSQLSource(name=log.name, table=f"{config.postgres_schema}.{log.name}",
                            timestamp_field=EVENT_TIMESTAMP, created_timestamp_column=CREATED)


def repository(config: StoreConfig) -> list[FeastObject]:
    """Every object ``feast apply`` registers for ``config``."""
    dialogs_push = PushSource(name=DIALOGS_PUSH, batch_source=_batch_source(config, DIALOG_LOG))
    policies_push = PushSource(name=POLICIES_PUSH, batch_source=_batch_source(config, POLICY_LOG))
    quality_push = PushSource(name=QUALITY_PUSH, batch_source=_batch_source(config, QUALITY_LOG))
    return [
        conversation,
        policy,
        intent,
        dialogs_push,
        policies_push,
        quality_push,
        FeatureView(
            name=DIALOGS,
            description="A scored, anonymized dialog routed to retraining: its score, how it went, the first exchange.",
            entities=[conversation],
            source=dialogs_push,
            schema=_fields(DIALOG_LOG, ("conversation_id", *DIALOG_FEATURES)),
            ttl=timedelta(days=30),  # a point-in-time join looks back a month for a conversation's score
        ),
        FeatureView(
            name=POLICIES,
            description="The newest version of each policy: rule text by locale and structured facts (JSON).",
            entities=[policy],
            source=policies_push,
            schema=_fields(POLICY_LOG, ("policy_id", "intent", *POLICY_FEATURES)),
            ttl=timedelta(0),  # a rule stays in force until a newer version replaces it
        ),
        FeatureView(
            name=POLICY_BY_INTENT,
            description="The policy most recently put in force for each intent: what serving grounds answers on.",
            entities=[intent],
            source=policies_push,
            schema=_fields(POLICY_LOG, ("intent", "policy_id", *POLICY_FEATURES)),
            ttl=timedelta(0),
        ),
        FeatureView(
            name=INTENT_QUALITY,
            description="How all of each intent's dialogs went over the writer's trailing window (NPS, handoffs).",
            entities=[intent],
            source=quality_push,
            schema=_fields(QUALITY_LOG, ("intent", *MEASURES)),
            ttl=timedelta(days=7),  # an older snapshot describes dialogs that have left the window
        ),
    ]
