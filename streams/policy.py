"""The policy stream's rules: who may change policy, which version is in force, and from when.

Only updates signed with the policy team's key are admitted (invariant 6); versions only move forward; an
update takes effect at its ``effective_at``, not when it arrives, so the policy team can publish ahead.
"""

from __future__ import annotations

from datetime import datetime

from streams.events import DeadLetterReason, PolicyUpdate
from streams.signing import verify


def rejection(update: PolicyUpdate, key: str, version_in_force: int | None) -> tuple[DeadLetterReason, str] | None:
    """Why ``update`` must not be applied (reason, detail), or None when it may."""
    if update.signature is None:
        return "unsigned_policy", "policy update carries no signature"
    if not verify(update, key):
        return "forged_policy", "signature does not match the policy team's key"
    if version_in_force is not None and update.version <= version_in_force:
        return "stale_policy", f"version {update.version} is not newer than version {version_in_force} in force"
    return None


def is_due(update: PolicyUpdate, now: datetime) -> bool:
    return update.effective_at <= now
