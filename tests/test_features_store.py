"""features/ against real stores: the embedded default (SQLite + parquet) and production (Redis + PostgreSQL).

Every test gets a store of its own: a fresh Feast project (Redis keys end with it) and PostgreSQL schema, or a
fresh folder, applied before and destroyed after, with a check that nothing was left behind.
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from multiprocessing.synchronize import Barrier

import psycopg
import pytest
from redis import Redis

from features import repository
from tests.conftest import flywheel
from features.config import StoreConfig, feature_store, store_config
from features.online import OnlineFeatures
from features.tables import DIALOG_LOG, TRAFFIC_LOG
from features.traffic import TrafficQuery, read_traffic
from features.training import DialogQuery, read_dialogs
from features.writer import FeatureWriter, WriteResult
from infra.settings import Settings
from streams.events import PolicyUpdate, ScoredDialog, Turn

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(microsecond=0)
THRESHOLD = Settings().nps_threshold  # what the stream routes with
ROUTE_ALL = 10  # for tests about what happens to routed dialogs, whatever their score


def _dialog(n: int, at: datetime, *, nps: int = 3, agent: bool = True, intent: str = "returns", locale: str = "en",
            adapter: str = "a1") -> ScoredDialog:
    turns = [Turn(role="customer", text=f"question {n}", at=at), Turn(role="bot", text="seven days", at=at)]
    if agent:
        turns.append(Turn(role="agent", text="fifteen days", at=at))
    return ScoredDialog(
        event_id=f"e{n}", event_time=at, conversation_id=f"c{n}", conversation_event_id=f"ce{n}",
        satisfaction_event_id=f"se{n}", locale=locale, channel="web", turns=turns, adapter_version=adapter,
        intent=intent, resolved=not agent, handed_off=agent, nps=nps,
    )


def _policy(version: int, days: int = 15) -> PolicyUpdate:
    return PolicyUpdate(policy_id="return-window", version=version, intent="returns", effective_at=NOW,
                        text={"en": f"{days} days", "zh": f"{days}天"}, facts={"days": days}, author="policy-team")


def _redis(config: StoreConfig) -> Redis:
    host, port = config.redis_url.split(",")[0].rsplit(":", 1)
    return Redis(host=host, port=int(port))


def _leftovers(config: StoreConfig) -> list[str]:
    """What a destroyed store left behind on the servers or on disk."""
    if config.kind == "embedded":
        return [str(config.root)] if config.root.exists() else []
    with _redis(config) as client:
        keys = [repr(key) for key in client.scan_iter(match=b"*" + config.project.encode())]
    with psycopg.connect(config.postgres_dsn) as conn:
        schemas = conn.execute("SELECT nspname FROM pg_namespace WHERE nspname = %s", [config.postgres_schema])
        return keys + [row[0] for row in schemas]


@pytest.fixture(params=["embedded", "production"])
def store(request, tmp_path) -> Iterator[StoreConfig]:
    tag = f"t{uuid.uuid4().hex[:12]}"
    config = dataclasses.replace(store_config(Settings(data_dir=tmp_path)), kind=request.param, project=tag,
                                 postgres_schema=tag)
    repository.apply(config)
    yield config
    repository.destroy(config)
    assert _leftovers(config) == []


@pytest.fixture
def writer(store) -> Iterator[FeatureWriter]:
    with FeatureWriter(store) as writer:
        yield writer


def _log_rows(config: StoreConfig) -> dict[str, int]:
    return {name: log["rows"] for name, log in repository.describe(config)["offline_logs"].items()}


def _online_rows(config: StoreConfig, view: str = "dialogs") -> int:
    return {v["name"]: v["online_rows"] for v in repository.describe(config)["feature_views"]}[view]


def _detractors(numbers: range | list[int]) -> set[str]:
    """Event ids of ``_dialog(n, ..., nps=n % 11)`` that the stream routes."""
    return {f"e{n}" for n in numbers if n % 11 <= THRESHOLD}


def _day(start: datetime = NOW - timedelta(days=1)) -> tuple[datetime, datetime]:
    return start, NOW + timedelta(seconds=1)


def test_a_pushed_dialog_is_readable_online_within_a_second(store, writer):
    online = OnlineFeatures(store)
    writer.write_scored([_dialog(0, NOW)], THRESHOLD)  # a worker's first write and a server's first read load Feast's
    assert online.dialog("c0") is not None  # registry and stores once; what follows is the steady state

    started = time.monotonic()
    writer.write_scored([_dialog(1, NOW, nps=2)], THRESHOLD)
    while (found := online.dialog("c1")) is None and time.monotonic() - started < 1.0:
        time.sleep(0.01)
    assert found is not None and time.monotonic() - started < 1.0
    assert (found["nps"], found["agent_answer"], found["policy_version"]) == (2, "fifteen days", None)
    assert found["event_timestamp"] == NOW


def test_a_mixed_batch_routes_exactly_the_detractors_and_logs_all_traffic(store, writer):
    dialogs = [_dialog(n, NOW - timedelta(minutes=n), nps=n) for n in range(11)]  # one of every score

    result = writer.write_scored(dialogs, THRESHOLD)

    detractors = {f"e{n}" for n in range(THRESHOLD + 1)}
    assert result == WriteResult(received=11, stored=11, routed=len(detractors))
    assert set(read_dialogs(store, DialogQuery(*_day()))["event_id"]) == detractors
    assert set(read_traffic(store, TrafficQuery(*_day()))["event_id"]) == {d.event_id for d in dialogs}
    online = OnlineFeatures(store)
    assert online.dialog(f"c{THRESHOLD}") is not None and online.dialog(f"c{THRESHOLD + 1}") is None
    traffic_log = repository.describe(store)["offline_logs"][TRAFFIC_LOG.name]
    assert traffic_log["rows"] == 11 and traffic_log["last_write"] is not None
    assert _log_rows(store)[DIALOG_LOG.name] == _online_rows(store) == len(detractors)


def test_the_training_window_returns_exactly_the_rows_inside_it(store, writer):
    start, end = NOW - timedelta(days=3), NOW - timedelta(days=1)
    tick = timedelta(microseconds=1)
    dialogs = [
        _dialog(1, start - tick),  # just before: out
        _dialog(2, start),  # the start is inside
        _dialog(3, start + timedelta(hours=30)),  # another day's partition
        _dialog(4, end - tick),
        _dialog(5, end),  # the end is outside
        _dialog(6, start + timedelta(hours=1), nps=9),  # too satisfied
        _dialog(7, start + timedelta(hours=2), agent=False),  # no human answer to learn from
        _dialog(8, start + timedelta(hours=3), nps=6, intent="shipping"),
    ]
    writer.write_scored(dialogs[:4], ROUTE_ALL)  # several batches: several segments
    writer.write_scored(dialogs[4:], ROUTE_ALL)

    window = read_dialogs(store, DialogQuery(start, end, max_nps=6, with_agent_answer=True))

    assert list(window["event_id"]) == ["e2", "e8", "e3", "e4"]  # oldest first
    by_id = {d.event_id: d for d in dialogs}
    assert [by_id[e].event_time for e in window["event_id"]] == list(window["event_timestamp"])
    everything = read_dialogs(store, DialogQuery(start, end))
    assert set(everything["event_id"]) == {"e2", "e3", "e4", "e6", "e7", "e8"}
    assert list(read_dialogs(store, DialogQuery(start, end, intents=("shipping",)))["event_id"]) == ["e8"]


def test_the_traffic_window_returns_exactly_the_rows_inside_it(store, writer):
    start, end = NOW - timedelta(days=3), NOW - timedelta(days=1)
    tick = timedelta(microseconds=1)
    dialogs = [
        _dialog(1, start - tick),  # just before: out
        _dialog(2, start, nps=10),  # the start is inside; promoters are traffic too
        _dialog(3, start + timedelta(hours=30), agent=False),  # another day's partition
        _dialog(4, end - tick, locale="zh"),
        _dialog(5, end),  # the end is outside
        _dialog(6, start + timedelta(hours=1), nps=8, adapter="a2"),  # the candidate answered
        _dialog(7, start + timedelta(hours=2), intent="shipping"),
    ]
    writer.write_scored(dialogs[:4], THRESHOLD)
    writer.write_scored(dialogs[4:], THRESHOLD)

    window = read_traffic(store, TrafficQuery(start, end))

    assert list(window["event_id"]) == ["e2", "e6", "e7", "e3", "e4"]  # oldest first
    by_id = {d.event_id: d for d in dialogs}
    assert [by_id[e].event_time for e in window["event_id"]] == list(window["event_timestamp"])
    assert list(window["nps"]) == [10, 8, 3, 3, 3]  # unrouted promoters and passives included
    assert list(window["customer_text"]) == [f"question {e[1:]}" for e in window["event_id"]]
    assert list(window.loc[window["agent_answer"].isna(), "event_id"]) == ["e3"]
    assert list(read_traffic(store, TrafficQuery(start, end, adapter_version="a2"))["event_id"]) == ["e6"]
    assert list(read_traffic(store, TrafficQuery(start, end, locales=("zh",)))["event_id"]) == ["e4"]
    champion_returns = TrafficQuery(start, end, intents=("returns",), adapter_version="a1")
    assert list(read_traffic(store, champion_returns)["event_id"]) == ["e2", "e3", "e4"]


def test_writing_the_same_events_twice_stores_them_once(store, writer):
    dialogs = [_dialog(n, NOW - timedelta(hours=n), nps=n % 11) for n in range(20)]
    assert writer.write_scored(dialogs, THRESHOLD) == WriteResult(20, 20, len(_detractors(range(20))))
    before = repository.describe(store)

    again = writer.write_scored(dialogs[5:] + dialogs[:5] + dialogs[:3], THRESHOLD)  # redelivered, shuffled

    assert again == WriteResult(received=23, stored=0, routed=0)
    after = repository.describe(store)
    for log in (TRAFFIC_LOG.name, DIALOG_LOG.name):
        assert after["offline_logs"][log] == before["offline_logs"][log]
    assert after["feature_views"] == before["feature_views"]
    assert sorted(read_traffic(store, TrafficQuery(*_day()))["event_id"]) == sorted(d.event_id for d in dialogs)
    assert set(read_dialogs(store, DialogQuery(*_day()))["event_id"]) == _detractors(range(20))
    assert OnlineFeatures(store).intent_quality("returns")["dialog_count"] == 20


def test_a_failed_push_stores_nothing_and_redelivery_stores_once(store, writer, monkeypatch):
    dialogs = [_dialog(n, NOW - timedelta(days=n), nps=3 if n else 9) for n in range(3)]  # three date partitions

    def broken_push(source, rows):
        raise ConnectionError("online store unreachable")

    with monkeypatch.context() as patch:
        patch.setattr(writer, "_push", broken_push)
        with pytest.raises(ConnectionError):
            writer.write_scored(dialogs, THRESHOLD)
    assert _log_rows(store) == dict.fromkeys(_log_rows(store), 0)

    with FeatureWriter(store) as restarted:  # a restarted worker also sweeps what the failed write left
        assert restarted.write_scored(dialogs, THRESHOLD) == WriteResult(received=3, stored=3, routed=2)
    rows = _log_rows(store)
    assert (rows[TRAFFIC_LOG.name], rows[DIALOG_LOG.name]) == (3, 2)
    assert OnlineFeatures(store).dialog("c2") is not None
    if store.kind == "embedded":
        for log, committed in ((TRAFFIC_LOG, 3), (DIALOG_LOG, 2)):
            segments = list((store.offline_dir / log.name).glob("date=*/*.parquet"))
            assert len(segments) == committed, f"the failed write's {log.name} segments were not swept"


def test_intent_quality_counts_all_traffic_in_its_window(store, writer):
    writer.write_scored([_dialog(1, NOW, nps=2), _dialog(2, NOW, nps=10, agent=False),
                         _dialog(3, NOW - timedelta(days=8), nps=0)], THRESHOLD)  # out of the 7-day window
    writer.write_scored([_dialog(4, NOW, nps=6, intent="shipping")], THRESHOLD)

    online = OnlineFeatures(store)
    assert online.dialog("c2") is None  # the promoter is not a retraining candidate, but it counts
    quality = online.intent_quality("returns")
    assert quality is not None
    assert quality["dialog_count"] == 2 and quality["mean_nps"] == 6.0
    assert (quality["detractor_share"], quality["promoter_share"], quality["handoff_share"]) == (0.5, 0.5, 0.5)


def test_policy_versions_only_move_forward(store, writer):
    online = OnlineFeatures(store)
    assert writer.write_policy(_policy(2, days=15)) == "applied"
    assert writer.write_policy(_policy(1, days=7)) == "stale"
    assert writer.write_policy(_policy(2, days=99)) == "in_force"  # the same version again changes nothing
    assert online.policy("return-window").facts == {"days": 15}

    assert writer.write_policy(_policy(3, days=30)) == "applied"
    for current in (online.policy("return-window"), online.policy_for_intent("returns")):
        assert (current.version, current.text["zh"], current.facts) == (3, "30天", {"days": 30})
        assert current.effective_at == NOW
    assert repository.describe(store)["offline_logs"]["policy_log"]["rows"] == 2


def _wipe_online(config: StoreConfig) -> None:
    """Lose every online value of the store, as a flushed Redis or a deleted online.db would."""
    if config.kind == "embedded":
        with closing(sqlite3.connect(config.root / "online.db")) as db:
            for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
                db.execute(f'DELETE FROM "{table}"')
            db.commit()
        return
    with _redis(config) as client:
        for key in client.scan_iter(match=b"*" + config.project.encode()):
            client.delete(key)


def test_feast_rebuilds_the_online_store_from_the_offline_log(store, writer):
    """The views' batch sources are the very files and tables the writer appends to."""
    writer.write_scored([_dialog(n, NOW - timedelta(hours=n), nps=n) for n in range(5)], THRESHOLD)
    writer.write_policy(_policy(4, days=30))
    _wipe_online(store)
    online = OnlineFeatures(store)
    assert online.dialog("c2") is None

    feature_store(store).materialize(start_date=NOW - timedelta(days=1), end_date=datetime.now(UTC))

    assert online.dialog("c2")["nps"] == 2
    assert online.policy_for_intent("returns").facts == {"days": 30}
    assert online.intent_quality("returns")["dialog_count"] == 5


def _write_concurrently(config: StoreConfig, start: Barrier, now: datetime, numbers: list[int],
                        versions: list[int]) -> None:
    """One worker process: dialogs of every score in batches of 25, policy versions in the given order,
    interleaved.
    (``now`` comes from the parent: the child's own import of this module has another NOW.)"""
    with FeatureWriter(config) as writer:
        start.wait(timeout=60)  # both writers open: their writes overlap rather than follow each other
        for i in range(0, len(numbers), 25):
            writer.write_scored([_dialog(n, now - timedelta(minutes=n), nps=n % 11, intent=f"i{n % 3}")
                                 for n in numbers[i:i + 25]], THRESHOLD)
            if versions:
                writer.write_policy(_policy(version := versions.pop(0), days=version))


def test_two_concurrent_writers_lose_nothing(store):
    first, second = list(range(0, 600)), list(range(300, 900))  # a third of the events written by both
    spawn = multiprocessing.get_context("spawn")
    start = spawn.Barrier(2)
    workers = [spawn.Process(target=_write_concurrently, args=(store, start, NOW, first, list(range(1, 13)))),
               spawn.Process(target=_write_concurrently, args=(store, start, NOW, second, list(range(12, 0, -1))))]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=90)
        assert worker.exitcode == 0

    traffic = read_traffic(store, TrafficQuery(*_day()))
    assert len(traffic) == 900 and set(traffic["event_id"]) == {f"e{n}" for n in range(900)}
    detractors = _detractors(range(900))
    window = read_dialogs(store, DialogQuery(*_day()))
    assert len(window) == len(detractors) and set(window["event_id"]) == detractors
    assert _log_rows(store)[DIALOG_LOG.name] == _online_rows(store) == len(detractors)
    online = OnlineFeatures(store)
    assert sum(online.intent_quality(f"i{k}")["dialog_count"] for k in range(3)) == 900
    current = online.policy("return-window")
    assert (current.version, current.facts) == (12, {"days": 12})


def test_flywheel_features_apply_and_show_the_settings_store(tmp_path):
    env = {"FLYWHEEL_DATA_DIR": str(tmp_path)}
    applied = flywheel("features", "apply", "--json", env=env)
    try:
        assert applied.returncode == 0, applied.stderr
        applied_names = set(json.loads(applied.stdout)["applied"])
        assert {"dialogs", "policies", "policy_by_intent", "intent_quality"} <= applied_names
        shown = json.loads(flywheel("features", "show", "--json", env=env).stdout)
        assert shown["store"] == "embedded" and shown["last_write"] is None
        assert shown["offline_logs"][TRAFFIC_LOG.name] == {"rows": 0, "last_write": None}
        assert {v["name"]: v["online_rows"] for v in shown["feature_views"]}["intent_quality"] == 0
    finally:
        repository.destroy(store_config(Settings(data_dir=tmp_path)))


def test_an_empty_window_has_the_log_columns(store):
    for window, log in ((read_dialogs(store, DialogQuery(*_day())), DIALOG_LOG),
                        (read_traffic(store, TrafficQuery(*_day())), TRAFFIC_LOG)):
        assert window.empty and list(window.columns) == log.schema.names
