"""Authentication of policy updates: an HMAC-SHA256 over the update's canonical bytes.

Only the policy team holds the key (``FLYWHEEL_POLICY_HMAC_KEY``); the policy stream rejects updates whose
signature is missing or does not match, so nobody else can change what the bot tells customers.
"""

from __future__ import annotations

import hashlib
import hmac

from streams.events import PolicyUpdate


def signature_for(update: PolicyUpdate, key: str) -> str:
    return hmac.new(key.encode(), update.signing_payload(), hashlib.sha256).hexdigest()


def sign(update: PolicyUpdate, key: str) -> PolicyUpdate:
    """The same update, signed with ``key``."""
    return update.model_copy(update={"signature": signature_for(update, key)})


def verify(update: PolicyUpdate, key: str) -> bool:
    """True when the update carries a signature made with ``key`` over exactly these fields."""
    return update.signature is not None and hmac.compare_digest(update.signature, signature_for(update, key))
