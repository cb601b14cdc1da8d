"""The canary split: which adapter answers a conversation.

A conversation is assigned by a hash of its id, so every turn of it goes to the same adapter (a customer never
sees two models disagree mid-conversation) and every replica assigns it the same way with no shared state.
Raising the share only moves conversations from the champion to the canary, never back.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from serving.engine import BASE


def canary_bucket(conversation_id: str) -> float:
    """A stable number in [0, 1) for the conversation id."""
    digest = hashlib.sha256(conversation_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2 ** 64


@dataclass(frozen=True)
class Split:
    """The adapters in service: the champion (``base`` when there is none) and the canary with its share."""

    champion: str = BASE
    canary: str | None = None
    canary_share: float = 0.0

    def choose(self, conversation_id: str) -> str:
        if self.canary is not None and canary_bucket(conversation_id) < self.canary_share:
            return self.canary
        return self.champion
