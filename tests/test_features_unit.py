"""features/ without servers: configuration, row conversion, query criteria, quality snapshots."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from bench.features import DETRACTOR_SHARE, synthetic_dialogs
from features.config import EXAMPLES, StoreConfig, postgres_params, render, repo_config, store_config
from features.log import Condition
from features.quality import DETRACTOR_MAX_NPS, MEASURES, hourly_counts, snapshot
from features.tables import LOGS, QUALITY_LOG, TRAFFIC_LOG, dialog_rows, first_per_key, traffic_rows
from features.traffic import TrafficQuery
from features.training import DialogQuery
from infra.errors import FlywheelError
from infra.settings import Settings
from streams.events import ScoredDialog, Turn

AT = datetime(2025, 3, 1, 12, tzinfo=UTC)


def test_checked_in_examples_are_what_the_config_renders():
    for name, config in EXAMPLES.items():
        checked_in = (Path(__file__).parents[1] / "features" / name).read_text()
        assert checked_in == render(config), f"{name} is stale: run `python -m features.config`"


def test_settings_select_the_embedded_store_under_the_data_dir(tmp_path):
    config = store_config(Settings(data_dir=tmp_path))
    assert config.kind == "embedded"
    assert config.root == (tmp_path / "features").resolve()
    assert repo_config(config)["online_store"] == {"type": "sqlite", "path": str(config.root / "online.db")}


def test_production_config_keeps_registry_and_log_in_the_store_schema():
    config = StoreConfig(kind="production", postgres_dsn="postgresql://u:pw@db.internal:6543/features",
                         postgres_schema="fs_a")
    feast = repo_config(config)
    assert feast["registry"]["path"] == "postgresql+psycopg://u:pw@db.internal:6543/features"
    assert feast["registry"]["sqlalchemy_config_kwargs"]["connect_args"] == {"options": "-csearch_path=fs_a"}
    assert feast["offline_store"].items() >= {"host": "db.internal", "port": 6543, "database": "features",
                                              "db_schema": "fs_a", "user": "u", "password": "pw"}.items()


def test_config_rejects_names_that_would_break_keys_or_sql():
    with pytest.raises(FlywheelError):
        StoreConfig(project="Robert'); DROP")
    with pytest.raises(FlywheelError, match="dbname"):
        postgres_params("postgresql://u@db.internal")


def _dialog(event_id: str, turns: list[Turn]) -> ScoredDialog:
    return ScoredDialog(event_id=event_id, event_time=AT, conversation_id="c1", conversation_event_id="ce",
                        satisfaction_event_id="se", locale="zh", channel="app", turns=turns, adapter_version="a1",
                        intent="returns", resolved=False, handed_off=False, nps=3)


def test_dialog_rows_take_the_first_turn_of_each_role_and_keep_the_transcript():
    turns = [Turn(role=role, text=text, at=AT) for role, text in
             (("customer", "能退货吗"), ("bot", "7天"), ("customer", "确定?"), ("bot", "是的"))]
    row = dialog_rows([_dialog("e1", turns)], created=AT).to_pylist()[0]
    assert (row["customer_text"], row["bot_answer"], row["agent_answer"]) == ("能退货吗", "7天", None)
    assert row["turn_count"] == 4 and '"确定?"' in row["transcript"]
    assert row["event_timestamp"] == AT


def test_traffic_rows_are_the_dialog_rows_without_the_transcript():
    turns = [Turn(role="customer", text="can I return it?", at=AT), Turn(role="bot", text="7 days", at=AT)]
    dialogs = dialog_rows([_dialog("e1", turns)], created=AT)
    traffic = traffic_rows(dialogs)
    assert traffic.schema == TRAFFIC_LOG.schema
    assert traffic.to_pylist() == dialogs.drop_columns(["transcript"]).to_pylist()


def test_first_per_key_keeps_the_first_of_repeated_keys():
    rows = pa.table({"k": ["a", "b", "a", "c", "b"], "v": [1, 2, 3, 4, 5]})
    assert first_per_key(rows, ("k",)).to_pydict() == {"k": ["a", "b", "c"], "v": [1, 2, 4]}


def test_query_criteria_become_conditions():
    query = DialogQuery(AT, AT + timedelta(days=7), max_nps=6, intents=("returns",), with_agent_answer=True)
    assert query.conditions() == [Condition("intent", "in", ("returns",)), Condition("nps", "<=", 6),
                                  Condition("agent_answer", "not_null")]


def test_traffic_query_criteria_become_conditions():
    query = TrafficQuery(AT, AT + timedelta(days=7), locales=("zh",), adapter_version="a2")
    assert query.conditions() == [Condition("locale", "in", ("zh",)), Condition("adapter_version", "==", "a2")]
    assert TrafficQuery(AT, AT + timedelta(days=7)).conditions() == []


@pytest.mark.parametrize("query", [DialogQuery, TrafficQuery])
@pytest.mark.parametrize("start, end", [(datetime(2025, 3, 1), datetime(2025, 3, 2)), (AT, AT)],
                         ids=["naive", "empty"])
def test_query_rejects_naive_or_empty_windows(query, start, end):
    with pytest.raises(ValueError):
        query(start, end)


def test_hourly_counts_bucket_dialogs_by_intent_and_hour():
    def row(minute: int, nps: int, intent: str | None = "returns", handed_off: bool = False) -> dict:
        return {"intent": intent, "event_timestamp": AT.replace(minute=minute), "nps": nps,
                "handed_off": handed_off, "resolved": not handed_off}

    rows = pa.Table.from_pylist([row(5, 2, handed_off=True), row(59, 10), row(30, 9, intent="coupon"),
                                 row(1, 0, intent=None)])
    assert hourly_counts(rows) == [("coupon", AT, 1, 9, 0, 1, 0, 1), ("returns", AT, 2, 12, 1, 1, 1, 1)]


def test_quality_snapshot_derives_measures_and_empties_intents_without_dialogs():
    totals = [("returns", 4, 22, 2, 1, 2, 3)]
    rows = {row["intent"]: row for row in snapshot(totals, ["shipping", "returns"], AT).to_pylist()}
    assert [rows["returns"][m] for m in MEASURES] == [4, 5.5, 0.5, 0.25, 0.5, 0.75]
    assert rows["shipping"]["dialog_count"] == 0 and rows["shipping"]["mean_nps"] is None
    assert list(MEASURES) == QUALITY_LOG.schema.names[3:]


@pytest.mark.parametrize("log", LOGS, ids=lambda log: log.name)
def test_log_keys_are_required_columns(log):
    assert all(not log.schema.field(column).nullable for column in log.key)


def test_bench_dialogs_are_deterministic_for_a_seed_and_an_end():
    first, again, other = (synthetic_dialogs(200, seed, AT) for seed in (7, 7, 8))
    assert first == again and first != other
    assert first[0].event_time == AT - timedelta(days=30) and first[-1].event_time < AT


def test_bench_dialogs_are_detractors_in_the_share_the_bench_states():
    dialogs = synthetic_dialogs(4_000, 7, AT)
    share = sum(d.nps <= DETRACTOR_MAX_NPS for d in dialogs) / len(dialogs)
    assert share == pytest.approx(DETRACTOR_SHARE, abs=0.03)
    assert {d.nps for d in dialogs} == set(range(11))
