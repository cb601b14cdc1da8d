"""Time windows over an offline log: every row of ``[start, end)`` that matches a query, with its own timestamp.

Feast's keyless ``get_historical_features`` ignores ``start_date`` on the file offline store (measured), so
windows are read from the offline log directly, with one filter compiled for parquet and for PostgreSQL. Training
windows (``training.py``, the dialog log) and drift windows (``traffic.py``, the traffic log) are the same read
with their own criteria on top of the ones here.
"""

from __future__ import annotations

from contextlib import closing
from dataclasses import KW_ONLY, dataclass
from datetime import datetime

import pandas as pd
import pyarrow as pa

from features.config import StoreConfig
from features.log import Condition, open_log
from features.tables import EVENT_TIMESTAMP, LogTable

# Nullable pandas dtypes: a NULL policy_version stays an integer column, not float NaN.
_PANDAS_TYPES = {pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype(), pa.string(): pd.StringDtype()}


@dataclass(frozen=True)
class WindowQuery:
    """Rows with ``start <= event_timestamp < end`` of the given intents and locales (all when None)."""

    start: datetime
    end: datetime
    _: KW_ONLY
    intents: tuple[str, ...] | None = None
    locales: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("a window needs timezone-aware bounds")
        if self.end <= self.start:
            raise ValueError("a window must end after it starts")

    def conditions(self) -> list[Condition]:
        """The criteria other than the window, as log conditions; subclasses add theirs."""
        terms = []
        if self.intents is not None:
            terms.append(Condition("intent", "in", self.intents))
        if self.locales is not None:
            terms.append(Condition("locale", "in", self.locales))
        return terms


def read_window(config: StoreConfig, log: LogTable, query: WindowQuery) -> pd.DataFrame:
    """The rows of ``log`` that ``query`` selects, oldest first (ties by event id), with every log column."""
    with closing(open_log(config)) as offline:
        rows = offline.read(log, query.start, query.end, query.conditions())
    ordered = rows.sort_by([(EVENT_TIMESTAMP, "ascending"), ("event_id", "ascending")])
    return ordered.to_pandas(types_mapper=_PANDAS_TYPES.get)
