"""`flywheel bench features`: how fast each feature-store configuration takes and gives back dialogs.

For the embedded and the production configuration, on a throwaway store of each (its own folder, or its own
Feast project and PostgreSQL schema on the configured servers, destroyed afterwards):
- ``online_push_rows_per_s``: Feast pushes of 1,000-row batches to the online store;
- ``offline_append_rows_per_s``: idempotent appends of 1,000-row batches to the offline log;
- ``window_read_s``: reading a 7-day training window out of the 100k dialogs (``window_rows`` of them);
- ``write_scored_rows_per_s``: the stream's whole write path in 500-row batches: every dialog to the traffic log
  and the quality rollup, the detractors (NPS at most the settings' threshold) to the dialog log and online;
  ``write_scored_routed_share`` is the share of them it routed.
The dialogs are synthetic and deterministic for a seed and an end time, spread over the 30 days before it, three
in ten of them detractors, as in a service that mostly satisfies.
"""

from __future__ import annotations

import dataclasses
import random
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from features import repository
from features.config import StoreConfig, StoreKind, feature_store, store_config
from features.log import open_log
from features.quality import DETRACTOR_MAX_NPS
from features.tables import DIALOG_LOG, dialog_rows
from features.training import DialogQuery, read_dialogs
from infra.settings import Settings
from streams.events import Locale, ScoredDialog, Turn

DIALOGS = 100_000
BATCH = 1_000
WRITER_DIALOGS, WRITER_BATCH = 20_000, 500
SPAN, WINDOW = timedelta(days=30), timedelta(days=7)
DETRACTOR_SHARE = 0.3

_LOCALES: tuple[Locale, ...] = ("zh", "en")
_KINDS: tuple[StoreKind, ...] = ("embedded", "production")
_INTENTS = ("return_window", "refund_status", "shipping_delay", "price_protection", "coupon", "invoice")
_QUESTIONS = {"en": "Order {n}: can I still return the {item}?", "zh": "订单{n}的{item}还能退吗？"}
_ITEMS = {"en": ("kettle", "phone case", "jacket", "headphones"), "zh": ("水壶", "手机壳", "夹克", "耳机")}
_BOT = {"en": "The return window is {days} days.", "zh": "退货期限是{days}天。"}
_AGENT = {"en": "You can return it within 15 days of delivery.", "zh": "签收后15天内可以退货。"}


def synthetic_dialogs(n: int, seed: int, end: datetime) -> list[ScoredDialog]:
    """``n`` scored dialogs, oldest first, evenly spread over ``SPAN`` before ``end``: a ``DETRACTOR_SHARE`` of
    detractors, NPS uniform within detractors and within the rest; three in ten handed off to a human agent,
    whose answer they carry."""
    rng = random.Random(seed)
    dialogs = []
    for i in range(n):
        at = end - SPAN + SPAN * (i / n)
        locale = rng.choice(_LOCALES)
        handed_off = rng.random() < 0.3
        turns = [Turn(role="customer", text=_QUESTIONS[locale].format(n=i, item=rng.choice(_ITEMS[locale])), at=at),
                 Turn(role="bot", text=_BOT[locale].format(days=rng.choice((7, 15))), at=at)]
        if handed_off:
            turns.append(Turn(role="agent", text=_AGENT[locale], at=at))
        dialogs.append(ScoredDialog(
            event_id=f"bench-{seed}-{i:07d}", event_time=at, conversation_id=f"conv-{seed}-{i:07d}",
            conversation_event_id=f"c-{i}", satisfaction_event_id=f"s-{i}", locale=locale, channel="web",
            turns=turns, adapter_version="base-v1", intent=rng.choice(_INTENTS), resolved=not handed_off,
            handed_off=handed_off, nps=_nps(rng),
        ))
    return dialogs


def _nps(rng: random.Random) -> int:
    if rng.random() < DETRACTOR_SHARE:
        return rng.randint(0, DETRACTOR_MAX_NPS)
    return rng.randint(DETRACTOR_MAX_NPS + 1, 10)


def _rate(rows: int, seconds: float) -> float:
    return round(rows / seconds, 1)


def _batches(items: Sequence, size: int) -> list[Sequence]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def _measure_stores(config: StoreConfig, dialogs: list[ScoredDialog], end: datetime) -> dict[str, Any]:
    """The three component measures, on one store filled with ``dialogs``."""
    import pandas as pd

    from features.definitions import DIALOGS_PUSH

    batches = [dialog_rows(batch, created=datetime.now(UTC)) for batch in _batches(dialogs, BATCH)]
    with closing(open_log(config)) as log:
        started = time.perf_counter()
        for rows in batches:
            with log.transaction() as txn:
                txn.append(DIALOG_LOG, rows)
        append_s = time.perf_counter() - started

    store = feature_store(config)
    frames = [rows.to_pandas(types_mapper=pd.ArrowDtype) for rows in batches]
    started = time.perf_counter()
    for frame in frames:
        store.push(DIALOGS_PUSH, frame)
    push_s = time.perf_counter() - started

    started = time.perf_counter()
    window = read_dialogs(config, DialogQuery(end - WINDOW, end))
    read_s = time.perf_counter() - started
    return {
        "online_push_rows_per_s": _rate(len(dialogs), push_s),
        "offline_append_rows_per_s": _rate(len(dialogs), append_s),
        "window_read_s": round(read_s, 3),
        "window_rows": len(window),
    }


def _measure_writer(config: StoreConfig, dialogs: list[ScoredDialog], nps_threshold: int) -> dict[str, Any]:
    from features.writer import FeatureWriter

    with FeatureWriter(config) as writer:
        started = time.perf_counter()
        routed = sum(writer.write_scored(batch, nps_threshold).routed for batch in _batches(dialogs, WRITER_BATCH))
        return {"write_scored_rows_per_s": _rate(len(dialogs), time.perf_counter() - started),
                "write_scored_routed_share": round(routed / len(dialogs), 3)}


def _on_throwaway_store(base: StoreConfig, kind: StoreKind, scratch: Path,
                        measure: Callable[[StoreConfig], dict[str, Any]]) -> dict[str, Any]:
    """``measure`` on a store of its own: its own folder, Feast project and PostgreSQL schema, then destroyed."""
    tag = f"bench_{uuid.uuid4().hex[:10]}"
    config = dataclasses.replace(base, kind=kind, root=scratch / tag, project=tag, postgres_schema=tag)
    repository.apply(config)
    try:
        return measure(config)
    finally:
        repository.destroy(config)


def run(settings: Settings, seed: int = 7) -> dict[str, Any]:
    """Both configurations, on throwaway stores on the settings' servers."""
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    dialogs = synthetic_dialogs(DIALOGS, seed, end)
    base = store_config(settings)
    result: dict[str, Any] = {"dialogs": DIALOGS, "batch": BATCH, "seed": seed, "end": end.isoformat()}
    with tempfile.TemporaryDirectory(prefix="bench-features-") as scratch:
        for kind in _KINDS:
            result[kind] = _on_throwaway_store(base, kind, Path(scratch), lambda c: _measure_stores(c, dialogs, end))
            result[kind] |= _on_throwaway_store(
                base, kind, Path(scratch),
                lambda c: _measure_writer(c, dialogs[-WRITER_DIALOGS:], settings.nps_threshold))
    return result
