"""Managing a feature store as a whole: apply the definitions, describe what it holds, destroy a throwaway one."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from itertools import islice
from typing import TYPE_CHECKING, Any

from features.config import StoreConfig, feature_store
from features.log import open_log
from infra.errors import FlywheelError

if TYPE_CHECKING:
    from feast import FeatureView
    from redis import Redis


def apply(config: StoreConfig) -> dict[str, Any]:
    """Create the offline log and register the definitions (``feast apply``); safe to repeat."""
    from features.definitions import repository

    with closing(open_log(config)) as log:
        log.create()
    objects = repository(config)
    feature_store(config).apply(objects)
    if config.kind == "embedded":
        with closing(sqlite3.connect(config.root / "online.db")) as db:
            db.execute("PRAGMA journal_mode = WAL")  # serving's reads do not wait for the writer's pushes
    return {"store": config.kind, "project": config.project, "applied": sorted(o.name for o in objects)}


def describe(config: StoreConfig) -> dict[str, Any]:
    """The views with their online row counts, and the offline logs with their row counts and last write."""
    if config.kind == "embedded" and not (config.root / "registry.db").exists():
        raise FlywheelError(f"no feature store at {config.root} yet: run `flywheel features apply`")
    views = feature_store(config).list_feature_views()
    online = _online_rows(config, [view.name for view in views])
    with closing(open_log(config)) as log:
        logs = log.summary()
    writes = [summary.last_write for summary in logs.values() if summary.last_write]
    return {
        "store": config.kind,
        "project": config.project,
        "feature_views": [_describe_view(view, online[view.name]) for view in views],
        "offline_logs": {
            name: {"rows": s.rows, "last_write": s.last_write.isoformat() if s.last_write else None}
            for name, s in logs.items()
        },
        "last_write": max(writes).isoformat() if writes else None,
    }


def _describe_view(view: FeatureView, online_rows: int) -> dict[str, Any]:
    return {
        "name": view.name,
        "entities": view.entities,
        "features": [feature.name for feature in view.features],
        "source": view.batch_source.name,
        "online_rows": online_rows,
    }


def _online_rows(config: StoreConfig, views: list[str]) -> dict[str, int]:
    """Entities each view holds online, counted in the store's own layout (Feast has no call for it)."""
    if config.kind == "embedded":
        with closing(sqlite3.connect(config.root / "online.db")) as db:
            query = 'SELECT count(DISTINCT entity_key) FROM "{}_{}"'
            return {view: db.execute(query.format(config.project, view)).fetchone()[0] for view in views}
    return _redis_rows(config, views)


def _redis(config: StoreConfig) -> Redis:
    """A client for the store's Redis, its connection string read as Feast reads it."""
    from feast.infra.online_stores.redis import RedisOnlineStore
    from redis import Redis

    nodes, params = RedisOnlineStore._parse_connection_string(config.redis_url)
    return Redis(host=nodes[0]["host"], port=int(nodes[0]["port"]), **params)


def _project_keys(client: Redis, project: str) -> Iterator[list[bytes]]:
    """Batches of the project's keys: Feast keeps one hash per entity, its key ending with the project name."""
    keys = client.scan_iter(match=b"*" + project.encode(), count=1000)
    while batch := list(islice(keys, 1000)):
        yield batch


def _redis_rows(config: StoreConfig, views: list[str]) -> dict[str, int]:
    """Each hash has a ``_ts:<view>`` field per view that wrote the entity. Seconds per million entities."""
    counts = dict.fromkeys(views, 0)
    with _redis(config) as client:
        for batch in _project_keys(client, config.project):
            pipe = client.pipeline(transaction=False)
            for key in batch:
                pipe.hkeys(key)
            for fields in pipe.execute():
                for field in fields:
                    view = field[4:].decode() if field.startswith(b"_ts:") else None
                    if view in counts:
                        counts[view] += 1
    return counts


def destroy(config: StoreConfig) -> None:
    """Delete the store and everything in it, for throwaway stores (tests, benches): its folder, or its Redis
    keys and PostgreSQL schema. Not Feast's teardown, which drops every project of the registry but the
    online data of its own only. A project whose name ends with this one would lose its keys too: throwaway
    stores take random names."""
    if config.kind == "embedded":
        shutil.rmtree(config.root, ignore_errors=True)
        return
    import psycopg
    from psycopg import sql

    with _redis(config) as client:
        for batch in _project_keys(client, config.project):
            client.delete(*batch)
    with psycopg.connect(config.postgres_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(config.postgres_schema)))
