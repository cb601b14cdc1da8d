"""When refreshes run: on the weekly cron of the settings, and soon after the policy team changes a rule.

Serving follows a published rule at once by putting it in the prompt; the refresh teaches it to the adapter
itself. Policy changes are read from ``cs.model-events`` (the ``policy_applied`` events the stream workers
send once a signed update is in force), and a burst of changes triggers one refresh: the scheduler waits
until no change has arrived for ``retrain_debounce_s``. A failed refresh is logged and the schedule goes on.

The scheduler is also what watches a newly promoted champion: it is the deployment's one process that runs
for weeks without a person, and the watch (``serving.watch``) keeps its state in the registry, so one look
every ``WATCH_EVERY_S`` is all it needs. The learners do not import serving: the watch, like the promotion
of a new adapter, is handed in by the command line.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from infra.errors import FlywheelError
from infra.settings import Settings
from streams.events import ContractError, ModelEvent

log = logging.getLogger(__name__)

POLL_S = 1.0
WATCH_EVERY_S = 60.0  # scores arrive over minutes and a watch lasts days: a minute late costs nothing


def next_fire(cron: str, after: datetime) -> datetime:
    """The first time after ``after`` that the cron expression (UTC) names."""
    from croniter import CroniterBadCronError, croniter

    try:
        return croniter(cron, after.astimezone(UTC)).get_next(datetime)
    except (CroniterBadCronError, ValueError, KeyError) as exc:
        raise FlywheelError(f"setting FLYWHEEL_RETRAIN_CRON: {cron!r} is not a cron expression ({exc})") from None


class Scheduler:
    """Runs ``refresh`` at every cron time and after policy changes, and ``watch`` every ``WATCH_EVERY_S``,
    until ``stop`` is set."""

    def __init__(self, settings: Settings, refresh: Callable[[str], Any], *, watch: Callable[[], Any] | None = None,
                 bootstrap: str | None = None, clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self.settings, self.refresh, self.watch, self.clock = settings, refresh, watch, clock
        self.stop = threading.Event()
        self.listening = threading.Event()  # set once the consumer owns partitions: later changes are seen
        self._consumer = _policy_consumer(settings, bootstrap)
        self._changed_at: datetime | None = None
        self._watch_due = clock()

    def run(self) -> None:
        due = next_fire(self.settings.retrain_cron, self.clock())
        log.info("next scheduled refresh at %s", due.isoformat())
        try:
            while not self.stop.is_set():
                self._watch_policies()
                self._watch_champion()
                now = self.clock()
                if now >= due:
                    self._fire("schedule")
                    due = next_fire(self.settings.retrain_cron, self.clock())
                    log.info("next scheduled refresh at %s", due.isoformat())
                elif self._changed_at and now - self._changed_at >= timedelta(seconds=self.settings.retrain_debounce_s):
                    self._fire("policy_change")
        finally:
            self._consumer.close()

    def _watch_policies(self) -> None:
        """Note the time of the latest policy change among the events that arrived."""
        messages = self._consumer.consume(num_messages=100, timeout=POLL_S)
        if not self.listening.is_set() and self._consumer.assignment():
            self.listening.set()
        for message in messages:
            if message.error() or message.value() is None:
                continue
            try:
                event = ModelEvent.from_bytes(message.value())
            except ContractError:
                continue  # not ours to judge: the stream workers dead-letter malformed events
            if event.action == "policy_applied":
                log.info("policy change seen (%s): refresh after %.0f s without another", event.detail,
                         self.settings.retrain_debounce_s)
                self._changed_at = self.clock()

    def _watch_champion(self) -> None:
        """One look at the champion under watch when one is due; a failed look is logged and tried again."""
        if self.watch is None or self.clock() < self._watch_due:
            return
        self._watch_due = self.clock() + timedelta(seconds=WATCH_EVERY_S)
        try:
            self.watch()
        except Exception:  # the store or the registry may be down for a while: the next look will tell
            log.exception("watching the champion failed")

    def _fire(self, reason: str) -> None:
        self._changed_at = None
        log.info("refresh triggered by %s", reason)
        try:
            self.refresh(reason)
        except FlywheelError as exc:
            log.error("refresh (%s) failed: %s", reason, exc)
        except Exception:  # a scheduler outlives one bad week: log it whole and wait for the next trigger
            log.exception("refresh (%s) failed", reason)


def _policy_consumer(settings: Settings, bootstrap: str | None) -> Any:
    """A consumer of the model-events topic that sees only events from now on (a restarted scheduler does
    not replay old changes: the next refresh reads every change since the last snapshot anyway)."""
    from confluent_kafka import Consumer

    from infra.stack import kafka_config

    consumer = Consumer({**kafka_config(settings, bootstrap), "group.id": f"flywheel-scheduler-{uuid.uuid4().hex}",
                         "auto.offset.reset": "latest", "enable.auto.commit": False,
                         "session.timeout.ms": settings.session_timeout_ms})
    consumer.subscribe([settings.topics["model_events"]])
    return consumer


def run_scheduled(settings: Settings, promote: Callable[[str], str], watch: Callable[[], Any]) -> None:
    """``flywheel retrain --schedule``: refresh on the cron and after policy changes until interrupted; with
    ``FLYWHEEL_AUTO_PROMOTE`` each new adapter goes through the gates (``promote`` says what it became), and
    ``watch`` looks at a newly promoted champion every ``WATCH_EVERY_S`` whoever promoted it."""
    from infra.stack import bootstrap_servers
    from learners.refresh import run_refresh

    def refresh(reason: str) -> None:
        result = run_refresh(settings, progress=False)
        log.info("refresh (%s) built %s: policy accuracy %.3f", reason, result.adapter,
                 result.evaluation["policy_accuracy"])
        if settings.auto_promote:  # the gates decide; a refused candidate leaves the champion serving
            log.info("%s is %s after its gates", result.adapter, promote(result.adapter))

    Scheduler(settings, refresh, watch=watch, bootstrap=bootstrap_servers(settings)).run()
