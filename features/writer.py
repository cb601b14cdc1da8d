"""The stream's way into the feature store: scored dialogs and policy updates, idempotent by key.

Scored dialogs are routed here, in one place, so that the logs cannot disagree: every one goes to the traffic
log (drift windows) and into its intent's quality; those at most the routing threshold (the detractors, the
retraining candidates) also go to the dialog log and online.

Every write is one offline-log transaction wrapped around the online push: the rows the log did not hold yet
are pushed online, then the transaction commits. A writer that dies before the commit has stored nothing, so
redelivery (the stream is at-least-once) stores and pushes the rows again; after the commit they are both
stored and pushed. A duplicate is neither stored nor pushed a second time.

Calls block (Feast and the database clients are synchronous); from a Faust agent, run them in a thread, e.g.
``await loop.run_in_executor(None, writer.write_scored, batch, settings.nps_threshold)``, one writer per thread.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from features.config import StoreConfig, feature_store
from features.definitions import DIALOGS_PUSH, POLICIES_PUSH, QUALITY_PUSH
from features.log import open_log
from features.quality import hourly_counts, snapshot
from features.tables import (
    DIALOG_LOG,
    POLICY_LOG,
    QUALITY_LOG,
    TRAFFIC_LOG,
    dialog_rows,
    policy_rows,
    traffic_rows,
)
from infra.errors import FlywheelError
from streams.events import PolicyUpdate, ScoredDialog, utcnow


PolicyWrite = Literal["applied", "in_force", "stale"]


@dataclass(frozen=True)
class WriteResult:
    received: int
    stored: int  # new to the traffic log; the others were duplicates of stored events
    routed: int  # detractors new to the dialog log, pushed online


class FeatureWriter:
    """Writes through one Feast store and one offline-log connection; open it once per worker thread.

    ``quality_window`` is how far back the per-intent quality looks from the time of each write, in whole hours.
    """

    def __init__(self, config: StoreConfig, quality_window: timedelta = timedelta(days=7)):
        self._store = feature_store(config)
        pushes = {source.name for source in self._store.list_data_sources()}
        if not {DIALOGS_PUSH, POLICIES_PUSH, QUALITY_PUSH} <= pushes:
            raise FlywheelError("the feature store has no definitions yet: run `flywheel features apply`")
        self._log = open_log(config)
        self._log.recover()
        self._quality_window = quality_window

    def write_scored(self, dialogs: Sequence[ScoredDialog], detractor_max_nps: int) -> WriteResult:
        """Log every dialog as traffic and count it in its intent's quality; store those scored at most
        ``detractor_max_nps`` in the dialog log and push them online. Quality counts all traffic: counted from
        the detractors alone, every intent would look as bad as its worst dialogs."""
        rows = dialog_rows(dialogs, created=utcnow())
        with self._log.transaction() as txn:
            traffic = txn.append(TRAFFIC_LOG, traffic_rows(rows))
            routed = txn.append(DIALOG_LOG, rows.filter(pc.field("nps") <= detractor_max_nps))
            self._push(DIALOGS_PUSH, routed)
            txn.count_hours(hourly_counts(traffic))  # last: other writers wait on the rollup's rows the least
        self._refresh_quality(rows.column("intent").to_pylist())
        return WriteResult(received=len(dialogs), stored=traffic.num_rows, routed=routed.num_rows)

    def _refresh_quality(self, intents: Iterable[str | None]) -> None:
        """Recompute the batch's intents, duplicates included: a writer that died between the dialogs' commit
        and this point left the snapshot behind, and the redelivered batch brings it up to date."""
        names = sorted({intent for intent in intents if intent is not None})
        if not names:
            return
        # Under the lock, snapshots are computed, stamped and pushed in one order, and the last one pushed was
        # computed after the last dialogs committed.
        with self._log.transaction(lock=QUALITY_LOG.name) as txn:
            at = utcnow()
            since_hour = (at - self._quality_window).replace(minute=0, second=0, microsecond=0)
            rows = snapshot(txn.totals(names, since_hour), names, at)
            self._push(QUALITY_PUSH, txn.append(QUALITY_LOG, rows))

    def write_policy(self, update: PolicyUpdate) -> PolicyWrite:
        """Put ``update`` in force online if it is newer than every stored version of its policy: ``applied``.
        The same version again changes nothing and is ``in_force`` (a replay after a crash between this write
        and the worker's own record of it); an older one is ``stale`` (policies only move forward)."""
        with self._log.transaction(lock=f"policy:{update.policy_id}") as txn:
            latest = txn.latest_version(update.policy_id)
            if latest is not None and latest >= update.version:
                return "in_force" if latest == update.version else "stale"
            self._push(POLICIES_PUSH, txn.append(POLICY_LOG, policy_rows(update, created=utcnow())))
        return "applied"

    def _push(self, source: str, rows: pa.Table) -> None:
        """One batched online write to every view of ``source`` (Arrow-backed frame: ints stay nullable)."""
        from feast.data_source import PushMode

        if rows.num_rows:
            self._store.push(source, rows.to_pandas(types_mapper=pd.ArrowDtype), to=PushMode.ONLINE)

    def close(self) -> None:
        self._log.close()

    def __enter__(self) -> FeatureWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
