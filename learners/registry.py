"""The adapter registry: every build under a new, never reused name, with its lineage and its state.

An adapter moves through ``candidate → canary → champion → retired``; a candidate or canary the gates refuse
becomes ``rejected``. Promotion and rollback are registry operations, done in one transaction so that at
every moment there is at most one champion and one canary, and every change is kept in a history table with
its reason. The registry is a SQL database (SQLAlchemy Core): a SQLite file in the data directory by
default, PostgreSQL in production (``FLYWHEEL_REGISTRY_URL``), so the refresh job and every serving replica
read the same truth. The adapter files themselves are immutable directories under ``data_dir/adapters``.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict

from infra.errors import FlywheelError

State = Literal["candidate", "canary", "champion", "retired", "rejected"]
# Which state may follow which: a rejected adapter never serves again; a retired champion may come back
# through a rollback only.
_ALLOWED: dict[str, set[str]] = {
    "candidate": {"canary", "champion", "rejected"},
    "canary": {"champion", "rejected", "candidate"},
    "champion": {"retired", "rejected"},
    "retired": {"champion"},
    "rejected": set(),
}

_META = sa.MetaData()
ADAPTERS = sa.Table(
    "adapters", _META,
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("created", sa.DateTime(timezone=True), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("lineage", sa.Text, nullable=False),  # JSON: base model and hash, snapshot, hyper-parameters
    sa.Column("metrics", sa.Text, nullable=False),  # JSON: training and evaluation numbers
)
HISTORY = sa.Table(
    "adapter_history", _META,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(128), nullable=False, index=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("from_state", sa.String(16)),
    sa.Column("to_state", sa.String(16), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
)
ROUTING = sa.Table(
    "routing", _META,  # how serving splits traffic: one row per setting (today only the canary's share)
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Float, nullable=False),
)
CANARY_SHARE = "canary_share"


class AdapterRecord(BaseModel):
    """One adapter as the registry knows it."""

    model_config = ConfigDict(frozen=True)

    name: str
    created: datetime
    state: State
    path: Path
    lineage: dict[str, Any]
    metrics: dict[str, Any]


class Routing(BaseModel):
    """What serving should answer with: the champion (None: the base model), the canary and its share."""

    model_config = ConfigDict(frozen=True)

    champion: AdapterRecord | None
    canary: AdapterRecord | None
    canary_share: float


def new_adapter_name(now: datetime | None = None) -> str:
    """A fresh name: sortable by build time, with random bits so two builds in one second never collide."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    return f"lora-{stamp}-{secrets.token_hex(5)}"


def _record(row: sa.Row) -> AdapterRecord:
    created = row.created if row.created.tzinfo else row.created.replace(tzinfo=UTC)
    return AdapterRecord(name=row.name, created=created, state=row.state, path=Path(row.path),
                         lineage=json.loads(row.lineage), metrics=json.loads(row.metrics))


class Registry:
    """The adapters of one deployment, in the database at ``url``."""

    def __init__(self, url: str):
        self.engine = sa.create_engine(url, future=True)
        _META.create_all(self.engine)

    @classmethod
    def open(cls, settings: Any) -> Registry:
        """The registry the settings name: ``registry_url`` or a SQLite file in the data directory."""
        if settings.registry_url:
            return cls(settings.registry_url.get_secret_value())
        root = Path(settings.data_dir) / "adapters"
        root.mkdir(parents=True, exist_ok=True)
        return cls(f"sqlite:///{root / 'registry.sqlite'}")

    @contextmanager
    def _tx(self) -> Iterator[sa.Connection]:
        with self.engine.begin() as conn:
            yield conn

    def register(self, name: str, path: Path, lineage: Mapping[str, Any], metrics: Mapping[str, Any]) -> AdapterRecord:
        """Record a new build as a candidate; a name used before, even by a deleted build, is refused."""
        now = datetime.now(UTC)
        with self._tx() as conn:
            taken = conn.execute(sa.select(HISTORY.c.id).where(HISTORY.c.name == name).limit(1)).first()
            if taken is not None:
                raise FlywheelError(f"adapter name {name} was used before; every build needs a new name")
            conn.execute(ADAPTERS.insert().values(name=name, created=now, state="candidate", path=str(path),
                                                  lineage=json.dumps(dict(lineage), default=str),
                                                  metrics=json.dumps(dict(metrics), default=str)))
            conn.execute(HISTORY.insert().values(name=name, at=now, from_state=None, to_state="candidate",
                                                 reason="built"))
        return self.get(name)

    def get(self, name: str) -> AdapterRecord:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(ADAPTERS).where(ADAPTERS.c.name == name)).first()
        if row is None:
            raise FlywheelError(f"no adapter named {name} (see `flywheel adapters list`)")
        return _record(row)

    def list(self, state: State | None = None) -> list[AdapterRecord]:
        """Adapters, newest first."""
        query = sa.select(ADAPTERS).order_by(ADAPTERS.c.created.desc(), ADAPTERS.c.name.desc())
        if state is not None:
            query = query.where(ADAPTERS.c.state == state)
        with self.engine.connect() as conn:
            return [_record(row) for row in conn.execute(query)]

    def champion(self) -> AdapterRecord | None:
        found = self.list("champion")
        return found[0] if found else None

    def routing(self, default_share: float) -> Routing:
        """The champion, the canary and the canary's share (``default_share`` until one is set), read at once."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(ADAPTERS).where(ADAPTERS.c.state.in_(("champion", "canary")))).all()
            share = conn.execute(sa.select(ROUTING.c.value).where(ROUTING.c.key == CANARY_SHARE)).scalar()
        held = {row.state: _record(row) for row in rows}
        return Routing(champion=held.get("champion"), canary=held.get("canary"),
                       canary_share=default_share if share is None else share)

    def set_canary_share(self, share: float) -> None:
        """Send ``share`` of conversations to the canary (0 stops it answering without demoting it)."""
        if not 0.0 <= share <= 1.0:
            raise FlywheelError(f"a canary share is between 0 and 1, not {share}")
        with self._tx() as conn:
            updated = conn.execute(ROUTING.update().where(ROUTING.c.key == CANARY_SHARE).values(value=share))
            if updated.rowcount == 0:
                conn.execute(ROUTING.insert().values(key=CANARY_SHARE, value=share))

    def history(self, name: str | None = None) -> list[dict[str, Any]]:
        """State changes, oldest first: who became what, when and why."""
        query = sa.select(HISTORY).order_by(HISTORY.c.id)
        if name is not None:
            query = query.where(HISTORY.c.name == name)
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def update_metrics(self, name: str, metrics: Mapping[str, Any]) -> AdapterRecord:
        """Add numbers (an evaluation, a gate's verdict) to an adapter's record; lineage never changes."""
        with self._tx() as conn:
            row = conn.execute(sa.select(ADAPTERS.c.metrics).where(ADAPTERS.c.name == name)).first()
            if row is None:
                raise FlywheelError(f"no adapter named {name}")
            merged = {**json.loads(row.metrics), **metrics}
            conn.execute(ADAPTERS.update().where(ADAPTERS.c.name == name)
                         .values(metrics=json.dumps(merged, default=str)))
        return self.get(name)

    def transition(self, name: str, to: State, reason: str) -> AdapterRecord:
        """Move one adapter to ``to``; a promotion to champion or canary demotes the holder of that state."""
        with self._tx() as conn:
            self._move(conn, name, to, reason)
        return self.get(name)

    def promote(self, name: str, reason: str = "promoted") -> AdapterRecord:
        """Make ``name`` the champion; the previous champion retires (and is what a rollback returns to)."""
        return self.transition(name, "champion", reason)

    def rollback(self, reason: str = "rolled back") -> AdapterRecord:
        """Reject the champion and bring back the champion before it; the restored record is returned."""
        with self._tx() as conn:
            current = conn.execute(sa.select(ADAPTERS.c.name).where(ADAPTERS.c.state == "champion")).first()
            if current is None:
                raise FlywheelError("there is no champion to roll back")
            previous = self._previous_champion(conn, current.name)
            if previous is None:
                raise FlywheelError(f"{current.name} is the first champion; there is nothing to roll back to")
            self._move(conn, current.name, "rejected", reason)
            self._move(conn, previous, "champion", f"restored by rollback of {current.name}")
        return self.get(previous)

    def _previous_champion(self, conn: sa.Connection, current: str) -> str | None:
        """The most recent champion before ``current`` that is retired now (not rejected since)."""
        rows = conn.execute(sa.select(HISTORY.c.name).where(HISTORY.c.to_state == "champion",
                                                            HISTORY.c.name != current)
                            .order_by(HISTORY.c.id.desc())).all()
        for row in rows:
            state = conn.execute(sa.select(ADAPTERS.c.state).where(ADAPTERS.c.name == row.name)).scalar()
            if state == "retired":
                return row.name
        return None

    def _move(self, conn: sa.Connection, name: str, to: State, reason: str) -> None:
        state = conn.execute(sa.select(ADAPTERS.c.state).where(ADAPTERS.c.name == name)).scalar()
        if state is None:
            raise FlywheelError(f"no adapter named {name} (see `flywheel adapters list`)")
        if to not in _ALLOWED[state]:
            raise FlywheelError(f"{name} is {state}; it cannot become {to}")
        if to in ("champion", "canary"):
            holder = conn.execute(sa.select(ADAPTERS.c.name).where(ADAPTERS.c.state == to)).first()
            if holder is not None:
                self._set(conn, holder.name, to, "retired" if to == "champion" else "candidate",
                          f"replaced by {name}")
        self._set(conn, name, state, to, reason)

    @staticmethod
    def _set(conn: sa.Connection, name: str, old: str, new: str, reason: str) -> None:
        conn.execute(ADAPTERS.update().where(ADAPTERS.c.name == name).values(state=new))
        conn.execute(HISTORY.insert().values(name=name, at=datetime.now(UTC), from_state=old, to_state=new,
                                             reason=reason))
