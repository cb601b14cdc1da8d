"""Training windows: the dialogs routed to retraining (the dialog log) in a time window, matching a query."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from features.config import StoreConfig
from features.log import Condition
from features.tables import DIALOG_LOG
from features.windows import WindowQuery, read_window


@dataclass(frozen=True, kw_only=True)
class DialogQuery(WindowQuery):
    """Dialogs of the window with every given criterion, e.g. the refresh set:
    ``DialogQuery(start, end, max_nps=settings.nps_threshold, with_agent_answer=True)``."""

    max_nps: int | None = None
    min_nps: int | None = None
    with_agent_answer: bool = False  # a human agent answered: the answer to learn from

    def conditions(self) -> list[Condition]:
        terms = super().conditions()
        if self.max_nps is not None:
            terms.append(Condition("nps", "<=", self.max_nps))
        if self.min_nps is not None:
            terms.append(Condition("nps", ">=", self.min_nps))
        if self.with_agent_answer:
            terms.append(Condition("agent_answer", "not_null"))
        return terms


def read_dialogs(config: StoreConfig, query: DialogQuery) -> pd.DataFrame:
    """The dialog-log rows ``query`` selects, oldest first, each with its own timestamp and every log column."""
    return read_window(config, DIALOG_LOG, query)
