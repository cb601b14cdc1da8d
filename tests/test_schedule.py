"""The refresh schedule: the weekly cron, a refresh soon after the policy team changes a rule, and the watch over
a promoted champion."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from infra.errors import FlywheelError
from infra.settings import Settings
from learners.schedule import WATCH_EVERY_S, Scheduler, next_fire
from streams.events import ModelEvent
from streams.publish import publish
from tests.pipeline_harness import wait_for


def test_the_weekly_cron_fires_on_monday_at_three_utc() -> None:
    assert next_fire("0 3 * * 1", datetime(2026, 11, 23, 4, 0, tzinfo=UTC)) == datetime(2026, 11, 30, 3, 0,
                                                                                         tzinfo=UTC)


def test_a_bad_cron_expression_names_the_setting() -> None:
    with pytest.raises(FlywheelError, match="FLYWHEEL_RETRAIN_CRON"):
        next_fire("every monday", datetime.now(UTC))


def _running(settings: Settings, bootstrap: str, **kwargs) -> tuple[Scheduler, list[str], threading.Thread]:
    reasons: list[str] = []
    scheduler = Scheduler(settings, reasons.append, bootstrap=bootstrap, **kwargs)
    thread = threading.Thread(target=scheduler.run, daemon=True)
    thread.start()
    return scheduler, reasons, thread


@pytest.mark.integration
def test_a_policy_change_triggers_one_refresh_after_the_quiet_time(topic_settings: Settings, broker) -> None:
    settings = topic_settings.model_copy(update={"retrain_cron": "0 3 1 1 *", "retrain_debounce_s": 1.0})
    scheduler, reasons, thread = _running(settings, broker.bootstrap)
    try:
        assert scheduler.listening.wait(30)
        burst = [ModelEvent(subject=f"policy/p{i}", action="policy_applied", detail=f"p{i} v2") for i in range(3)]
        publish(settings, "model_events", burst, broker.bootstrap)
        publish(settings, "model_events", [ModelEvent(subject="lora-x", action="promoted")], broker.bootstrap)
        wait_for(lambda: bool(reasons), 30, "a refresh after the policy change")
        time.sleep(2.5)  # a burst of changes is one refresh, and other model events trigger none
        assert reasons == ["policy_change"]
    finally:
        scheduler.stop.set()
        thread.join(10)


@pytest.mark.integration
def test_the_cron_triggers_a_refresh_when_its_time_comes(topic_settings: Settings, broker) -> None:
    now = [datetime(2026, 11, 30, 2, 59, 59, tzinfo=UTC)]
    scheduler, reasons, thread = _running(topic_settings, broker.bootstrap, clock=lambda: now[0])
    try:
        time.sleep(1.5)
        assert reasons == []
        now[0] = datetime(2026, 11, 30, 3, 0, 1, tzinfo=UTC)
        wait_for(lambda: bool(reasons), 10, "the scheduled refresh")
        assert reasons == ["schedule"]
    finally:
        scheduler.stop.set()
        thread.join(10)


@pytest.mark.integration
def test_the_champion_is_watched_every_minute_and_a_failed_look_stops_nothing(topic_settings: Settings,
                                                                              broker) -> None:
    now = [datetime(2026, 11, 30, 12, 0, tzinfo=UTC)]
    looks: list[datetime] = []

    def watch() -> None:
        looks.append(now[0])
        raise FlywheelError("the feature store is down")

    scheduler, _, thread = _running(topic_settings, broker.bootstrap, watch=watch, clock=lambda: now[0])
    try:
        wait_for(lambda: len(looks) == 1, 10, "the first look at start")
        time.sleep(1.5)  # several turns of the loop within the minute: no other look
        assert len(looks) == 1
        now[0] += timedelta(seconds=WATCH_EVERY_S)
        wait_for(lambda: len(looks) == 2, 10, "the next look a minute later")
        assert thread.is_alive()
    finally:
        scheduler.stop.set()
        thread.join(10)
