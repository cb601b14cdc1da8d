"""Training windows: every dialog of ``[start, end)`` that matches a query, each with its own timestamp.

Feast's keyless ``get_historical_features`` ignores ``start_date`` on the file offline store (measured), so
windows are read from the offline log directly, with one filter compiled for parquet and for PostgreSQL.
"""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass
from datetime import datetime

import pandas as pd
import pyarrow as pa

from features.config import StoreConfig
from features.log import Condition, open_log
from features.tables import DIALOG_LOG, EVENT_TIMESTAMP

# Nullable pandas dtypes: a NULL policy_version stays an integer column, not float NaN.
_PANDAS_TYPES = {pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype(), pa.string(): pd.StringDtype()}


@dataclass(frozen=True)
class DialogQuery:
    """Dialogs with ``start <= event_timestamp < end`` and every given criterion, e.g. the refresh set:
    ``DialogQuery(start, end, max_nps=settings.nps_threshold, with_agent_answer=True)``."""

    start: datetime
    end: datetime
    max_nps: int | None = None
    min_nps: int | None = None
    intents: tuple[str, ...] | None = None
    locales: tuple[str, ...] | None = None
    with_agent_answer: bool = False  # a human agent answered: the answer to learn from

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("a training window needs timezone-aware bounds")
        if self.end <= self.start:
            raise ValueError("a training window must end after it starts")

    def conditions(self) -> list[Condition]:
        """The criteria other than the window, as log conditions."""
        terms = []
        if self.max_nps is not None:
            terms.append(Condition("nps", "<=", self.max_nps))
        if self.min_nps is not None:
            terms.append(Condition("nps", ">=", self.min_nps))
        if self.intents is not None:
            terms.append(Condition("intent", "in", self.intents))
        if self.locales is not None:
            terms.append(Condition("locale", "in", self.locales))
        if self.with_agent_answer:
            terms.append(Condition("agent_answer", "not_null"))
        return terms


def read_dialogs(config: StoreConfig, query: DialogQuery) -> pd.DataFrame:
    """The dialog-log rows ``query`` selects, oldest first (ties by event id), with every log column."""
    with closing(open_log(config)) as log:
        rows = log.read(DIALOG_LOG, query.start, query.end, query.conditions())
    ordered = rows.sort_by([(EVENT_TIMESTAMP, "ascending"), ("event_id", "ascending")])
    return ordered.to_pandas(types_mapper=_PANDAS_TYPES.get)
