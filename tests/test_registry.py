"""The adapter registry: immutable names, lineage, one champion at a time, promotion and rollback."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from infra.errors import FlywheelError
from infra.settings import Settings
from learners.registry import Registry, new_adapter_name

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@pytest.fixture(params=["sqlite", "postgresql"])
def registry(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Registry]:
    """The embedded registry (SQLite in the data dir) and the production one (a private PostgreSQL schema)."""
    if request.param == "sqlite":
        yield Registry.open(Settings(data_dir=tmp_path))
        return
    schema = f"registry_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(POSTGRES)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    try:
        yield Registry(f"{POSTGRES}?options=-csearch_path%3D{schema}")
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def _build(registry: Registry, tmp_path: Path, name: str | None = None) -> str:
    name = name or new_adapter_name()
    registry.register(name, tmp_path / name, lineage={"base_model": "base", "snapshot": "ds-1"},
                      metrics={"loss": 0.5})
    return name


def test_a_new_build_is_a_candidate_with_its_lineage(registry: Registry, tmp_path: Path) -> None:
    name = _build(registry, tmp_path)
    record = registry.get(name)
    assert record.state == "candidate"
    assert record.lineage == {"base_model": "base", "snapshot": "ds-1"}
    assert record.metrics == {"loss": 0.5}


def test_an_adapter_name_is_never_reused(registry: Registry, tmp_path: Path) -> None:
    name = _build(registry, tmp_path)
    with pytest.raises(FlywheelError, match="used before"):
        _build(registry, tmp_path, name)


def test_adapter_names_are_unique_within_one_second() -> None:
    assert len({new_adapter_name() for _ in range(1000)}) == 1000


def test_promotion_retires_the_previous_champion(registry: Registry, tmp_path: Path) -> None:
    first, second = _build(registry, tmp_path), _build(registry, tmp_path)
    registry.promote(first)
    registry.promote(second)
    assert registry.get(first).state == "retired"
    assert registry.champion().name == second
    assert len(registry.list("champion")) == 1


def test_rollback_restores_the_previous_champion_and_rejects_the_current(registry: Registry,
                                                                         tmp_path: Path) -> None:
    first, second = _build(registry, tmp_path), _build(registry, tmp_path)
    registry.promote(first)
    registry.promote(second)
    restored = registry.rollback()
    assert restored.name == first and restored.state == "champion"
    assert registry.get(second).state == "rejected"
    assert [h["to_state"] for h in registry.history(second)] == ["candidate", "champion", "rejected"]


def test_rollback_without_an_earlier_champion_is_refused(registry: Registry, tmp_path: Path) -> None:
    with pytest.raises(FlywheelError, match="no champion"):
        registry.rollback()
    registry.promote(_build(registry, tmp_path))
    with pytest.raises(FlywheelError, match="nothing to roll back to"):
        registry.rollback()


def test_a_rejected_adapter_never_serves_again(registry: Registry, tmp_path: Path) -> None:
    name = _build(registry, tmp_path)
    registry.transition(name, "rejected", "gate failed")
    with pytest.raises(FlywheelError, match="cannot become champion"):
        registry.promote(name)


def test_a_new_canary_sends_the_previous_one_back_to_candidate(registry: Registry, tmp_path: Path) -> None:
    first, second = _build(registry, tmp_path), _build(registry, tmp_path)
    registry.transition(first, "canary", "canary started")
    registry.transition(second, "canary", "canary started")
    assert registry.get(first).state == "candidate"
    assert [r.name for r in registry.list("canary")] == [second]


def test_metrics_are_added_and_lineage_kept(registry: Registry, tmp_path: Path) -> None:
    name = _build(registry, tmp_path)
    record = registry.update_metrics(name, {"gate_ab": {"passed": True}})
    assert record.metrics == {"loss": 0.5, "gate_ab": {"passed": True}}
    assert record.lineage["snapshot"] == "ds-1"


def test_unknown_adapters_are_named_in_the_error(registry: Registry) -> None:
    with pytest.raises(FlywheelError, match="no adapter named lora-missing"):
        registry.get("lora-missing")


def test_routing_reads_the_champion_the_canary_and_its_share(registry: Registry, tmp_path: Path) -> None:
    assert registry.routing(0.1).champion is None and registry.routing(0.1).canary_share == 0.1
    first, second = _build(registry, tmp_path), _build(registry, tmp_path)
    registry.promote(first)
    registry.transition(second, "canary", "offline gates passed")
    registry.set_canary_share(0.3)
    routing = registry.routing(0.1)
    assert (routing.champion.name, routing.canary.name, routing.canary_share) == (first, second, 0.3)
    registry.set_canary_share(0.0)
    assert registry.routing(0.1).canary_share == 0.0
    with pytest.raises(FlywheelError, match="between 0 and 1"):
        registry.set_canary_share(1.5)
