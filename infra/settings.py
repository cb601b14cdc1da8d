"""Every setting of the system, in one typed object read from ``FLYWHEEL_*`` environment variables.

Nothing else in the project reads the environment: modules take a ``Settings`` (or the values they need)
so a test or a production deployment changes behaviour by setting variables, never by editing code.
"""

from __future__ import annotations

import json
import re
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from infra.errors import FlywheelError

if TYPE_CHECKING:
    from streams.anonymizer import AnonymizerOptions

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"]

# A policy signing key pair that only exists so the embedded stack works out of the box: it is used, and
# accepted, only while no FLYWHEEL_BOOTSTRAP_SERVERS is set (streams/signing.py). Production sets its own.
DEV_POLICY_KEY_ID = "dev"
DEV_POLICY_SIGNING_KEY = "Ny8g02yp2AKqpEb0tvQvZQnnxeZTINbtvKdHhdgcYdE="
DEV_POLICY_PUBLIC_KEY = "12HPnEw/e8IxHiWPP8SLrZ28WAbo2tU6tddqZbUcWZs="
# A policy key id goes into every update it signs, where the contract takes a slug (streams.events.Slug).
KeyId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:\-/]*$")]
DEMO_SHOP = Path(__file__).resolve().parents[1] / "shops" / "demo" / "shop.yaml"


class Settings(BaseSettings):
    """The system's configuration; ``FLYWHEEL_<FIELD>`` sets a field (``FLYWHEEL_PARTITIONS=8``)."""

    model_config = SettingsConfigDict(env_prefix="FLYWHEEL_", extra="ignore", frozen=True)

    # --- broker -------------------------------------------------------------------------------------------
    bootstrap_servers: str | None = Field(
        None, description="Kafka bootstrap servers; unset means the embedded Tansu broker started by `flywheel up`"
    )
    security_protocol: SecurityProtocol = "PLAINTEXT"
    sasl_mechanism: SaslMechanism | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_ca_location: Path | None = None
    ssl_certificate_location: Path | None = None
    ssl_key_location: Path | None = None
    # A group join on Tansu waits about half a session timeout (measured: 3 s at 6 s, 23 s at librdkafka's
    # 45 s default); Kafka refuses less than its group.min.session.timeout.ms, 6 s by default.
    session_timeout_ms: int = Field(6000, ge=1000)
    # Tansu answers a caught-up fetch only when this wait runs out (Kafka answers as soon as data arrives):
    # every hop of the stream pipeline can add this much latency on the embedded broker.
    fetch_max_wait_ms: int = Field(20, ge=1, le=30000)

    # --- topics -------------------------------------------------------------------------------------------
    topic_conversations: str = "cs.conversations"
    topic_satisfaction: str = "cs.satisfaction"
    topic_policy_updates: str = "cs.policy-updates"
    topic_scored_dialogs: str = "cs.dialogs.scored"
    topic_dead_letters: str = "cs.dead-letters"
    topic_model_events: str = "cs.model-events"
    # One count for every topic: conversations and scores are joined by key, so they must be co-partitioned,
    # and Faust tables need their changelog to match the source topic.
    partitions: int = Field(4, ge=1, le=1024)
    replication_factor: int = Field(1, ge=1)

    # --- local state --------------------------------------------------------------------------------------
    data_dir: Path = Path(".flywheel")

    # --- anonymizer ---------------------------------------------------------------------------------------
    anonymize_order_ids: bool = Field(False, description="scrub order/tracking numbers too (kept by default)")
    anonymize_allow_list: tuple[str, ...] = Field((), description="exact values never replaced (own hotline)")

    # --- feature store ------------------------------------------------------------------------------------
    feature_store: Literal["embedded", "production"] = Field(
        "embedded", description="embedded: SQLite online + parquet log; production: Redis online + PostgreSQL"
    )
    feature_project: str = "flywheel"
    redis_url: str = Field("127.0.0.1:6379", description="Feast's form: host:port[,db=N][,password=...]")
    postgres_dsn: SecretStr = Field(
        SecretStr("postgresql://postgres@127.0.0.1:5432/postgres"),
        description="the production offline log and registry; must name host, user and database",
    )
    feature_schema: str = Field("flywheel_features", description="PostgreSQL schema of the registry and logs")

    # --- models -------------------------------------------------------------------------------------------
    base_model: str | None = Field(
        None, description="Hugging Face id or local path; unset means the embedded model built by bootstrap"
    )
    shop: Path = Field(DEMO_SHOP, description="the shop definition file (YAML); default: the simulated demo shop")
    # Small models on a shared CPU run several times faster on one thread than on contended ones (measured:
    # 64 greedy answers took 48 s on two threads and 5 s on one while other processes were busy).
    torch_threads: int = Field(1, ge=1, description="CPU threads of model inference in one process")

    # --- the weekly refresh ---------------------------------------------------------------------------------
    renew_share: float = Field(0.1, gt=0, le=1, description="share of the training snapshot renewed per refresh")
    snapshot_min_examples: int = Field(200, ge=1, description="a refresh with fewer examples in total is refused")
    lora_rank: int = Field(8, ge=1, le=256)
    lora_alpha: int = Field(16, ge=1)
    lora_dropout: float = Field(0.05, ge=0, lt=1)
    lora_target_modules: tuple[str, ...] = Field(
        ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"),
        description="JSON list of module names the adapter wraps",
    )
    train_steps: int = Field(120, ge=1, description="optimizer steps of one refresh")
    train_batch_size: int = Field(16, ge=1)
    learning_rate: float = Field(2e-3, gt=0)
    renewed_batch_share: float = Field(
        0.25, ge=0, le=1, description="share of every training batch drawn from the examples a refresh renewed"
    )
    train_workers: int = Field(1, ge=1, description="Ray Train workers (one GPU each when the cluster has GPUs)")
    train_cpus_per_worker: int = Field(1, ge=1, description="CPUs (and torch threads) of each Ray Train worker")
    ray_address: str | None = Field(None, description="an existing Ray cluster; unset starts a local one")
    retrain_cron: str = Field("0 3 * * 1", description="when the weekly refresh runs (cron, UTC)")
    retrain_debounce_s: float = Field(300, ge=0, description="quiet time after a policy change before a refresh")
    registry_url: SecretStr | None = Field(
        None, description="SQLAlchemy URL of the adapter registry (production: PostgreSQL); unset: SQLite in data_dir"
    )

    # --- serving ------------------------------------------------------------------------------------------
    serve_host: str = Field("127.0.0.1", description="address the Ray Serve HTTP proxy binds")
    serve_port: int = Field(8000, ge=1, le=65535, description="port of the chat API")
    serve_replicas: int = Field(1, ge=1, description="model replicas (each loads the base and its adapters)")
    admin_token: SecretStr | None = Field(
        None, description="bearer token of the admin endpoints (promote, rollback, canary); unset disables them"
    )
    canary_share: float = Field(0.2, ge=0, le=1, description="share of conversations a new canary answers")
    generate_timeout_s: float = Field(5.0, gt=0, description="a model answer slower than this gets the FAQ fallback")
    max_new_tokens: int = Field(64, ge=1, le=4096, description="the most tokens one answer may have")
    max_answer_chars: int = Field(400, ge=20, description="answers are cut at a sentence end within this length")
    max_request_chars: int = Field(4000, ge=100, description="longest customer message accepted (413 beyond)")
    max_messages: int = Field(64, ge=1, description="most messages one chat request may carry")
    handoff_after_turns: int = Field(3, ge=1, description="customer turns without resolution before a human takes over")
    cache_size: int = Field(10_000, ge=0, description="answers kept in the response cache (0: no cache)")
    cache_ttl_s: float = Field(3600, gt=0, description="how long a cached answer may be served")
    sensitive_words: tuple[str, ...] = Field((), description="JSON list of words masked in every answer")
    faq_intents: tuple[str, ...] = Field(
        (), description="JSON list of simple intents the intent tier answers from the knowledge base, without the model"
    )
    faq_min_confidence: float = Field(0.8, ge=0, le=1, description="intent confidence the FAQ tier needs")
    route_min_confidence: float = Field(0.3, ge=0, le=1, description="intent confidence needed to ground an answer")
    canonical_questions: bool = Field(
        True, description="ask the model the closest published example question instead of the customer's words"
    )
    registry_poll_s: float = Field(0.5, gt=0, description="how often replicas read the registry and policy log")
    gate_tolerance: float = Field(0.05, ge=0, le=1, description="largest per-intent accuracy drop the A/B gate allows")
    drift_threshold: float = Field(0.6, gt=0.5, le=1, description="domain-classifier AUC above which text drifted")
    drift_window_s: float = Field(7 * 24 * 3600, gt=0, description="how far back the drift gate reads live traffic")
    canary_min_scores: int = Field(100, ge=2, description="scored conversations each side needs before the canary passes")
    canary_margin: float = Field(0.5, ge=0, description="NPS points the canary may trail the champion by")
    canary_timeout_s: float = Field(3600, gt=0, description="how long the canary gate waits for a verdict")
    auto_promote: bool = Field(False, description="the scheduled refresh runs the gates and promotes on its own")
    watch_rollback: bool = Field(True, description="roll a promoted adapter back when its NPS drops against the last")
    watch_min_scores: int = Field(100, ge=2, description="scores the new champion needs before it is trusted")
    watch_timeout_s: float = Field(7 * 24 * 3600, gt=0, description="how long a new champion is watched")
    max_queued_requests: int = Field(64, ge=1, description="requests waiting per replica before the API answers 503")
    max_body_bytes: int = Field(1 << 20, ge=1024, description="largest request body read (413 beyond, before parsing)")
    judge_url: str | None = Field(
        None, description="an OpenAI-compatible endpoint (base URL, .../v1) whose model judges answers; unset: rules"
    )
    judge_model: str | None = Field(None, description="the model the judge endpoint serves")
    judge_api_key: SecretStr | None = Field(None, description="bearer key of the judge endpoint, if it needs one")

    # --- thresholds and policy ----------------------------------------------------------------------------
    nps_threshold: int = Field(6, ge=0, le=10, description="dialogs scored at most this are routed to retraining")
    known_intents: tuple[str, ...] | None = Field(
        None, description="JSON list; scored dialogs with another intent fail validation (unset: any intent)"
    )
    join_window_s: float = Field(
        7 * 24 * 3600, gt=0, description="most time between a conversation and its score; scored ids are kept this long"
    )
    join_unscored_s: float = Field(
        2 * 24 * 3600, gt=0, description="how long a conversation (or score) waits in the join for its partner"
    )
    join_sweep_s: float = Field(60, gt=0, description="how often a worker sweeps expired states out of the join")
    table_store: str | None = Field(
        None, description="where stream workers keep join and policy state: rocksdb:// (on disk) or memory://; "
        "unset: rocksdb:// with Kafka, memory:// on the embedded broker"
    )

    # --- policy signing (Ed25519; unset on the embedded broker: the development key pair) -------------------
    policy_signing_key: SecretStr | None = Field(
        None, description="the policy team's private key, base64 of its 32 raw bytes; only publishers hold it"
    )
    policy_key_id: KeyId | None = Field(None, description="the id of that key, written into every update it signs")
    policy_public_keys: dict[KeyId, str] = Field(
        default_factory=dict, description="JSON object {key id: base64 raw public key}; workers trust only these"
    )

    @model_validator(mode="after")
    def _sasl_needs_credentials(self) -> Settings:
        if self.security_protocol.startswith("SASL") and self.sasl_mechanism is None:
            raise ValueError("FLYWHEEL_SECURITY_PROTOCOL=SASL_* needs FLYWHEEL_SASL_MECHANISM")
        return self

    @property
    def embedded(self) -> bool:
        """True when no external Kafka is configured and the project runs its own broker."""
        return not self.bootstrap_servers

    @cached_property
    def topics(self) -> dict[str, str]:
        """Topic names by role, the roles every module uses to look names up."""
        return {
            "conversations": self.topic_conversations,
            "satisfaction": self.topic_satisfaction,
            "policy_updates": self.topic_policy_updates,
            "scored_dialogs": self.topic_scored_dialogs,
            "dead_letters": self.topic_dead_letters,
            "model_events": self.topic_model_events,
        }

    @property
    def state_dir(self) -> Path:
        """Where the local stack keeps its process records and logs."""
        return self.data_dir / "stack"

    def anonymizer_options(self) -> AnonymizerOptions:
        from streams.anonymizer import AnonymizerOptions

        return AnonymizerOptions(scrub_order_ids=self.anonymize_order_ids, allow_list=self.anonymize_allow_list)

    def as_env(self) -> dict[str, str]:
        """``FLYWHEEL_*`` variables that give a child process (a stream worker) these settings: every field set
        explicitly, in the form ``Settings`` reads back (JSON for collections, the secret for secrets)."""
        env = {}
        for name in self.model_fields_set:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            if value is not None:
                env[f"FLYWHEEL_{name.upper()}"] = json.dumps(value) if isinstance(value, (tuple, list, dict)) \
                    else str(value)
        return env

    def kafka_security(self) -> dict[str, str]:
        """The librdkafka security options (empty for PLAINTEXT), shared by every client the project makes."""
        conf: dict[str, str] = {"security.protocol": self.security_protocol.lower()}
        if self.sasl_mechanism:
            conf["sasl.mechanism"] = self.sasl_mechanism
        if self.sasl_username:
            conf["sasl.username"] = self.sasl_username
        if self.sasl_password:
            conf["sasl.password"] = self.sasl_password.get_secret_value()
        for key, path in (
            ("ssl.ca.location", self.ssl_ca_location),
            ("ssl.certificate.location", self.ssl_certificate_location),
            ("ssl.key.location", self.ssl_key_location),
        ):
            if path:
                conf[key] = str(path)
        return conf


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with explicit overrides taking precedence; a bad value is one
    ``FlywheelError`` naming the variable, not a validation dump."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        name = "FLYWHEEL_" + "_".join(str(p) for p in first["loc"]).upper() if first["loc"] else "FLYWHEEL_*"
        raise FlywheelError(f"setting {name}: {first['msg']}") from None
    except SettingsError as exc:  # a collection whose variable is not JSON: pydantic-settings names the field
        field = re.search(r'field "(\w+)"', str(exc))
        name = f"FLYWHEEL_{field.group(1).upper()}" if field else "FLYWHEEL_*"
        raise FlywheelError(f"setting {name}: not valid JSON") from None
