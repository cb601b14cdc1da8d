"""Where the feature store lives: one ``StoreConfig`` from which Feast's configuration, the offline log and the
checked-in ``feature_store.*.yaml`` examples are all derived, for the embedded default or the production stores.

Run ``python -m features.config`` to regenerate the examples after changing this module; a test fails while
they differ from what this module renders.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from infra.errors import FlywheelError

if TYPE_CHECKING:
    from feast import FeatureStore

    from infra.settings import Settings

StoreKind = Literal["embedded", "production"]

# Writers and servers notice an `apply` within this time without restarting.
REGISTRY_CACHE_TTL_S = 60
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


@dataclass(frozen=True)
class StoreConfig:
    """One feature store. ``project`` names it inside shared servers: Feast suffixes every Redis key with it;
    ``postgres_schema`` holds its registry and offline log. Tests and benches isolate themselves by choosing
    fresh values for both."""

    kind: StoreKind = "embedded"
    root: Path = Path(".flywheel/features")  # embedded: registry, online store and offline log
    project: str = "flywheel"
    redis_url: str = "127.0.0.1:6379"  # Feast's form: host:port[,db=N][,password=...][,ssl=true]
    postgres_dsn: str = "postgresql://postgres@127.0.0.1:5432/postgres"
    postgres_schema: str = "flywheel_features"

    def __post_init__(self) -> None:
        for field in ("project", "postgres_schema"):
            if not _NAME.match(getattr(self, field)):
                raise FlywheelError(f"feature store {field} must be lower-case letters, digits and '_'")

    @property
    def offline_dir(self) -> Path:
        """The embedded offline log: a ledger and one folder of parquet segments per log."""
        return self.root / "offline"


def store_config(settings: Settings) -> StoreConfig:
    """The feature store the settings select (``FLYWHEEL_FEATURE_STORE`` and its neighbours)."""
    return StoreConfig(
        kind=settings.feature_store,
        root=(settings.data_dir / "features").resolve(),
        project=settings.feature_project,
        redis_url=settings.redis_url,
        postgres_dsn=settings.postgres_dsn.get_secret_value(),
        postgres_schema=settings.feature_schema,
    )


def postgres_params(dsn: str) -> dict[str, str]:
    """libpq keywords of ``dsn``; host, user and database must be explicit, since Feast needs them spelled out."""
    from psycopg.conninfo import conninfo_to_dict

    params = {k: str(v) for k, v in conninfo_to_dict(dsn).items()}
    missing = {"host", "user", "dbname"} - params.keys()
    if missing:
        raise FlywheelError(f"the PostgreSQL DSN must name {', '.join(sorted(missing))}")
    return params


def _sqlalchemy_url(pg: dict[str, str]) -> str:
    from sqlalchemy.engine import URL

    url = URL.create("postgresql+psycopg", pg["user"], pg.get("password"), pg["host"], int(pg.get("port", 5432)),
                     pg["dbname"])
    return url.render_as_string(hide_password=False)


def repo_config(config: StoreConfig) -> dict[str, Any]:
    """Feast's ``feature_store.yaml`` for ``config`` as a dict."""
    base: dict[str, Any] = {"project": config.project, "provider": "local", "entity_key_serialization_version": 3}
    if config.kind == "embedded":
        return base | {
            "registry": {"registry_type": "file", "path": str(config.root / "registry.db"),
                         "cache_ttl_seconds": REGISTRY_CACHE_TTL_S},
            "online_store": {"type": "sqlite", "path": str(config.root / "online.db")},
            "offline_store": {"type": "file"},
        }
    pg = postgres_params(config.postgres_dsn)
    return base | {
        "registry": {
            "registry_type": "sql",
            "path": _sqlalchemy_url(pg),
            "cache_ttl_seconds": REGISTRY_CACHE_TTL_S,
            # The registry's tables go into the store's schema, beside its offline log.
            "sqlalchemy_config_kwargs": {"connect_args": {"options": f"-csearch_path={config.postgres_schema}"},
                                         "pool_pre_ping": True},
        },
        # Feast's Redis store drops a write older than the stored one, SQLite's does not; the writer orders its
        # writes itself, so last-writer-wins on both keeps the two configurations alike (and saves a round trip).
        "online_store": {"type": "redis", "connection_string": config.redis_url, "skip_dedup": True},
        "offline_store": {
            "type": "postgres",
            "host": pg["host"],
            "port": int(pg.get("port", 5432)),
            "database": pg["dbname"],
            "db_schema": config.postgres_schema,
            "user": pg["user"],
            "password": pg.get("password", ""),
            "sslmode": pg.get("sslmode", "prefer"),
        },
    }


def feature_store(config: StoreConfig) -> FeatureStore:
    """A Feast ``FeatureStore`` for ``config`` (imports Feast: about 5 s the first time in a process)."""
    from feast import FeatureStore, RepoConfig

    return FeatureStore(config=RepoConfig(**repo_config(config)))


EXAMPLES: dict[str, StoreConfig] = {
    "feature_store.embedded.yaml": StoreConfig(kind="embedded"),
    "feature_store.production.yaml": StoreConfig(kind="production"),
}


def render(config: StoreConfig) -> str:
    """``repo_config`` as YAML, headed by where it comes from."""
    import yaml

    header = "# Generated by `python -m features.config` from features/config.py (default settings); do not edit.\n"
    return header + yaml.safe_dump(repo_config(config), sort_keys=False)


if __name__ == "__main__":
    for name, example in EXAMPLES.items():
        (Path(__file__).parent / name).write_text(render(example))
