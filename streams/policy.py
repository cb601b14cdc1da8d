"""The policy stream's rules: who may change policy, which version is in force, and from when.

Only updates signed with a key the workers trust are admitted (invariant 6); versions only move forward; an
update takes effect at its ``effective_at``, not when it arrives, so the policy team can publish ahead.
"""

from __future__ import annotations

from datetime import datetime

from streams.events import DeadLetterReason, PolicyUpdate
from streams.signing import TrustedKeys, verify


def rejection(update: PolicyUpdate, trusted: TrustedKeys,
              version_in_force: int | None) -> tuple[DeadLetterReason, str] | None:
    """Why ``update`` must not be applied (reason, detail), or None when it may. ``trusted`` are the public
    keys by key id (``streams.signing.trusted_keys``); a detail names at most the key id, a checked slug."""
    if update.signature is None:
        return "unsigned_policy", "policy update carries no signature"
    key = trusted.get(update.key_id)  # type: ignore[arg-type]  # a signed update names its key (the contract)
    if key is None:
        return "unknown_key", f"signed with key id {update.key_id!r}, which the workers do not trust"
    if not verify(update, key):
        return "forged_policy", f"signature does not match key {update.key_id!r}"
    if version_in_force is not None and update.version <= version_in_force:
        return "stale_policy", f"version {update.version} is not newer than version {version_in_force} in force"
    return None


def is_due(update: PolicyUpdate, now: datetime) -> bool:
    return update.effective_at <= now
