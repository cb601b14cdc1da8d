"""What serving reads online: the policy in force (by policy id or by intent), a dialog, an intent's quality."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from features.config import StoreConfig, feature_store
from features.definitions import (
    DIALOG_FEATURES,
    DIALOGS,
    INTENT_QUALITY,
    POLICIES,
    POLICY_BY_INTENT,
    POLICY_FEATURES,
)
from features.quality import MEASURES
from streams.events import FactValue


@dataclass(frozen=True)
class CurrentPolicy:
    policy_id: str
    version: int
    intent: str
    effective_at: datetime  # to the second: Feast keeps online event times in whole seconds
    text: dict[str, str]  # locale -> rule text
    facts: dict[str, FactValue]
    author: str


class OnlineFeatures:
    """Online reads through one Feast store; each call is one lookup (about a millisecond on either store)."""

    def __init__(self, config: StoreConfig):
        self._store = feature_store(config)

    def _read(self, view: str, features: Sequence[str], key: dict[str, str]) -> dict[str, Any] | None:
        """The features of one entity, with the event time of its row; None when the view does not hold it."""
        from feast.online_response import TIMESTAMP_POSTFIX

        response = self._store.get_online_features(
            features=[f"{view}:{name}" for name in features], entity_rows=[key]
        ).to_dict(include_event_timestamps=True)
        values = {name: response[name][0] for name in features}
        if all(value is None for value in values.values()):
            return None
        at = datetime.fromtimestamp(response[features[0] + TIMESTAMP_POSTFIX][0], UTC)
        return key | values | {"event_timestamp": at}

    def policy(self, policy_id: str) -> CurrentPolicy | None:
        """The newest version of ``policy_id``."""
        row = self._read(POLICIES, ("intent", *POLICY_FEATURES), {"policy_id": policy_id})
        return _policy(row) if row else None

    def policy_for_intent(self, intent: str) -> CurrentPolicy | None:
        """The policy most recently put in force for ``intent``."""
        row = self._read(POLICY_BY_INTENT, ("policy_id", *POLICY_FEATURES), {"intent": intent})
        return _policy(row) if row else None

    def dialog(self, conversation_id: str) -> dict[str, Any] | None:
        return self._read(DIALOGS, DIALOG_FEATURES, {"conversation_id": conversation_id})

    def intent_quality(self, intent: str) -> dict[str, Any] | None:
        """The intent's latest quality snapshot; ``event_timestamp`` says when it was computed."""
        return self._read(INTENT_QUALITY, tuple(MEASURES), {"intent": intent})


def _policy(row: dict[str, Any]) -> CurrentPolicy:
    return CurrentPolicy(
        policy_id=row["policy_id"],
        version=row["version"],
        intent=row["intent"],
        effective_at=row["event_timestamp"],
        text=json.loads(row["text"]),
        facts=json.loads(row["facts"]),
        author=row["author"],
    )
