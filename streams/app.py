"""The Faust application: broker connection, topics and tables, built from ``Settings``.

Raw topics are read as bytes and parsed with the contracts in ``streams.events`` so a malformed message
becomes a dead letter with its reason instead of a codec error Faust would only log. Every topic uses the
configured partition count, which Faust tables need their changelogs to match.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass

import faust

from infra.settings import Settings
from infra.stack import kafka_config
from streams.transport import App

APP_ID = "cs-flywheel-streams"
PRODUCER_LINGER_S = 0.005
"""Faust's default (0) makes a produce request of nearly every message: a worker that reads and forwards
messages spent 10-17 % less CPU per message with 5 ms (measured on the embedded broker), for at most 5 ms a hop."""


@dataclass(frozen=True)
class Topics:
    conversations: faust.TopicT
    satisfaction: faust.TopicT
    policy_updates: faust.TopicT
    scored_dialogs: faust.TopicT
    dead_letters: faust.TopicT
    model_events: faust.TopicT


def _credentials(settings: Settings) -> faust.types.auth.CredentialsT | None:
    """Faust's form of the SASL/TLS settings every other client takes from ``Settings.kafka_security``."""
    uses_tls = settings.security_protocol in ("SSL", "SASL_SSL")
    context = ssl.create_default_context(cafile=settings.ssl_ca_location) if uses_tls else None
    if context is not None and settings.ssl_certificate_location:
        context.load_cert_chain(settings.ssl_certificate_location, settings.ssl_key_location)
    if settings.sasl_mechanism:
        password = settings.sasl_password.get_secret_value() if settings.sasl_password else None
        return faust.SASLCredentials(username=settings.sasl_username, password=password,
                                     mechanism=settings.sasl_mechanism, ssl_context=context)
    return faust.SSLCredentials(context) if context is not None else None


def table_store(settings: Settings) -> str:
    """RocksDB with Kafka; memory on the embedded broker, whose high watermark undercounts: a worker restoring a
    RocksDB table from it stopped with Faust's ConsistencyError (persisted offset above the high watermark)."""
    return settings.table_store or ("memory://" if settings.embedded else "rocksdb://")


def create_app(settings: Settings, bootstrap: str, web_port: int | None = None) -> App:
    """A Faust app on ``bootstrap``; ``web_port`` serves ``/metrics`` (None: no web server)."""
    session_s, store = settings.session_timeout_ms / 1000, table_store(settings)
    (settings.data_dir / "streams").mkdir(parents=True, exist_ok=True)  # Faust makes only the last level
    app = App(
        APP_ID,
        fetch_max_wait_ms=settings.fetch_max_wait_ms,
        client_config=kafka_config(settings, bootstrap),
        broker=";".join(f"kafka://{host}" for host in bootstrap.split(",")),
        broker_credentials=_credentials(settings),
        # On disk (RocksDB): the join holds days of conversations, more than a worker's memory at production
        # volume, and a restarted worker reads only the changelog written since its last run.
        store=store,
        # The check stops a worker whose on-disk store is ahead of its changelog (a topic recreated under it). A
        # memory store holds nothing from before the process; on Tansu, whose high watermark undercounts, a worker
        # promoted from standby (its table read to the true end) failed the check for no reason.
        recovery_consistency_check=not store.startswith("memory:"),
        datadir=str(settings.data_dir / "streams" / f"worker-{web_port or 'default'}"),
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        broker_session_timeout=session_s,
        broker_heartbeat_interval=min(1.0, session_s / 6),
        broker_rebalance_timeout=max(10.0, session_s * 2),
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        producer_linger=PRODUCER_LINGER_S,
        web_enabled=web_port is not None,
        web_port=web_port or 6066,
        web_bind="127.0.0.1",
        # /metrics only: Faust's /table pages would serve table records (join state: conversations) and
        # /router the cluster's layout; nothing here uses @table_route, which needs /router.
        web_router_enabled=False,
        web_tables_enabled=False,
    )
    return app


def declare_topics(app: faust.App, settings: Settings) -> Topics:
    names = settings.topics
    return Topics(**{role: app.topic(names[role], key_serializer="raw", value_serializer="raw",
                                     partitions=settings.partitions)
                     for role in names})
