"""Drift windows: all scored traffic (the traffic log), routed to retraining or not, in a time window.

Drift checks compare a reference window with a current one over every dialog the bot answered: the dialog
log holds only the detractors, whose texts and intents are skewed by construction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd

from features.config import StoreConfig
from features.log import Condition
from features.tables import TRAFFIC_LOG
from features.windows import WindowQuery, read_window

# Bounds that hold every event time there is: reports and gates that count from the first dialog.
EVER = (datetime(1970, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))


@dataclass(frozen=True, kw_only=True)
class TrafficQuery(WindowQuery):
    """Scored dialogs of the window, optionally only those one adapter version answered (champion against
    candidate)."""

    adapter_version: str | None = None

    def conditions(self) -> list[Condition]:
        terms = super().conditions()
        if self.adapter_version is not None:
            terms.append(Condition("adapter_version", "==", self.adapter_version))
        return terms


def read_traffic(config: StoreConfig, query: TrafficQuery) -> pd.DataFrame:
    """The traffic-log rows ``query`` selects, oldest first, each with its own timestamp and every log column."""
    return read_window(config, TRAFFIC_LOG, query)
