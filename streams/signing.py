"""Authentication of policy updates: Ed25519 signatures over the update's canonical bytes.

Only the policy team holds a private key (``FLYWHEEL_POLICY_SIGNING_KEY``); workers hold only public keys
(``FLYWHEEL_POLICY_PUBLIC_KEYS``, by key id, several at once while a key is rotated), so a worker that leaks
lets nobody sign. Each update names the key that signed it (``key_id``, inside the signed bytes).

Keys fail closed: the development pair in ``infra.settings`` is the default only on the embedded broker; with
``FLYWHEEL_BOOTSTRAP_SERVERS`` set, a missing, placeholder, development or malformed key is one
``FlywheelError`` before anything starts.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
from pydantic import SecretStr

from infra.errors import FlywheelError
from infra.secrets import problem
from infra.settings import DEV_POLICY_KEY_ID, DEV_POLICY_PUBLIC_KEY, DEV_POLICY_SIGNING_KEY, Settings
from streams.events import PolicyUpdate

TrustedKeys = Mapping[str, Ed25519PublicKey]
"""The public keys a worker verifies with, by key id."""

_KEY_BYTES = 32


@dataclass(frozen=True)
class Signer:
    """A private key and its id: what a publisher needs to sign updates."""

    key_id: str
    private_key: Ed25519PrivateKey

    def sign(self, update: PolicyUpdate) -> PolicyUpdate:
        """The same update, naming this key and signed with it."""
        named = update.model_copy(update={"key_id": self.key_id, "signature": None})
        return named.model_copy(update={"signature": self.private_key.sign(named.signing_payload()).hex()})


@dataclass(frozen=True)
class KeyPair:
    """A new key pair in the form the settings take (base64 of the raw bytes): what `flywheel policy keygen`
    prints, and what a run with its own throwaway broker (demo, benchmarks, tests) signs and verifies with."""

    key_id: str
    private_key: str
    public_key: str

    @classmethod
    def generate(cls, key_id: str) -> KeyPair:
        private = Ed25519PrivateKey.generate()
        return cls(key_id, _b64(private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())),
                   _b64(private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)))

    def settings(self) -> dict[str, object]:
        """Settings fields that sign with this pair and trust only it."""
        return {"policy_signing_key": SecretStr(self.private_key), "policy_key_id": self.key_id,
                "policy_public_keys": {self.key_id: self.public_key}}

    def signer(self) -> Signer:
        return Signer(self.key_id, Ed25519PrivateKey.from_private_bytes(base64.b64decode(self.private_key)))


def signer(settings: Settings) -> Signer:
    """The signer ``settings`` configure: the development key on the embedded broker when none is set; else
    the policy team's key and id, or a ``FlywheelError`` saying which is missing or unusable."""
    secret = settings.policy_signing_key.get_secret_value() if settings.policy_signing_key else None
    if secret is None and settings.embedded:
        secret, key_id = DEV_POLICY_SIGNING_KEY, DEV_POLICY_KEY_ID
    else:
        key_id = settings.policy_key_id
    if (why := _unusable(secret, settings, DEV_POLICY_SIGNING_KEY, "private")) is not None:
        raise FlywheelError(f"FLYWHEEL_POLICY_SIGNING_KEY {why}: set the policy team's key (refusing to sign)")
    if (why := problem(key_id)) is not None:
        raise FlywheelError(f"FLYWHEEL_POLICY_KEY_ID {why}: name the signing key (refusing to sign)")
    return Signer(key_id, Ed25519PrivateKey.from_private_bytes(_decoded(secret)))  # type: ignore[arg-type]


def trusted_keys(settings: Settings) -> dict[str, Ed25519PublicKey]:
    """The public keys ``settings`` trust, by key id: the development key on the embedded broker when none is
    set; else every key configured, or a ``FlywheelError`` naming the first unusable one (refusing to start)."""
    configured = settings.policy_public_keys
    if not configured and settings.embedded:
        configured = {DEV_POLICY_KEY_ID: DEV_POLICY_PUBLIC_KEY}
    if not configured:
        raise FlywheelError("FLYWHEEL_POLICY_PUBLIC_KEYS is not set: give the policy team's public keys as "
                            '{"key id": "base64 key"} (refusing to start)')
    for key_id, value in configured.items():
        if (why := _unusable(value, settings, DEV_POLICY_PUBLIC_KEY, "public")) is not None:
            raise FlywheelError(f"FLYWHEEL_POLICY_PUBLIC_KEYS: key {key_id!r} {why} (refusing to start)")
    return {key_id: Ed25519PublicKey.from_public_bytes(_decoded(value))  # type: ignore[arg-type]  # checked
            for key_id, value in configured.items()}


def verify(update: PolicyUpdate, key: Ed25519PublicKey) -> bool:
    """True when the update carries a signature ``key`` made over exactly these fields."""
    if update.signature is None:
        return False
    try:
        key.verify(bytes.fromhex(update.signature), update.signing_payload())
    except InvalidSignature:
        return False
    return True


def _unusable(value: str | None, settings: Settings, dev_value: str, kind: str) -> str | None:
    """Why ``value`` cannot be a key here (a few words), or None when it can: the development key is one only
    on the embedded broker."""
    why = problem(value, development=() if settings.embedded else (dev_value,))
    if why is None and _decoded(value) is None:
        why = f"is not the base64 of a 32-byte Ed25519 {kind} key"
    return why


def _decoded(value: str | None) -> bytes | None:
    """The 32 raw key bytes ``value`` encodes in base64, or None when it does not."""
    try:
        raw = base64.b64decode(value or "", validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == _KEY_BYTES else None


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()
