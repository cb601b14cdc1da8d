"""Policy admission: only updates signed by a trusted key, untampered, newer versions, at their effective time."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from infra.settings import Settings
from streams.events import ContractError, PolicyUpdate
from streams.policy import is_due, rejection
from streams.signing import KeyPair, trusted_keys

TEAM = KeyPair.generate("team-2026")
NEXT = KeyPair.generate("team-2027")
OUTSIDER = KeyPair.generate("team-2026")  # claims the team's key id with a key of its own
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def trusting(*pairs: KeyPair):
    """The keys a worker on a real cluster trusts when its settings name these pairs' public keys."""
    return trusted_keys(Settings(bootstrap_servers="kafka:9092",
                                 policy_public_keys={p.key_id: p.public_key for p in pairs}))


TRUSTED = trusting(TEAM)


def update(version: int = 2, **fields) -> PolicyUpdate:
    return PolicyUpdate(policy_id="returns", version=version, intent="return_window", effective_at=T0,
                        text={"en": "15-day returns"}, facts={"days": 15}, author="policy-team", **fields)


def test_a_signed_newer_version_is_admitted():
    signed = TEAM.signer().sign(update())
    assert signed.key_id == "team-2026"
    assert rejection(signed, TRUSTED, version_in_force=1) is None
    assert rejection(signed, TRUSTED, version_in_force=None) is None


def test_unsigned_forged_and_tampered_updates_are_rejected():
    assert rejection(update(), TRUSTED, None)[0] == "unsigned_policy"
    assert rejection(OUTSIDER.signer().sign(update()), TRUSTED, None)[0] == "forged_policy"
    tampered = TEAM.signer().sign(update()).model_copy(update={"facts": {"days": 90}})
    assert rejection(tampered, TRUSTED, None)[0] == "forged_policy"


def test_an_unknown_key_id_is_rejected_naming_only_the_key_id():
    reason, detail = rejection(NEXT.signer().sign(update()), TRUSTED, None)
    assert reason == "unknown_key" and "'team-2027'" in detail
    assert NEXT.public_key not in detail and "15-day" not in detail


def test_during_a_rotation_updates_signed_with_either_trusted_key_are_admitted():
    both = trusting(TEAM, NEXT)
    assert rejection(TEAM.signer().sign(update()), both, None) is None
    assert rejection(NEXT.signer().sign(update()), both, None) is None


def test_the_key_id_is_signed_so_an_update_cannot_name_another_trusted_key():
    both = trusting(TEAM, NEXT)
    renamed = TEAM.signer().sign(update()).model_copy(update={"key_id": NEXT.key_id})
    assert rejection(renamed, both, None)[0] == "forged_policy"


def test_a_signature_without_its_key_id_breaks_the_contract():
    body = json.loads(TEAM.signer().sign(update()).to_bytes())
    del body["key_id"]
    with pytest.raises(ContractError, match="key_id"):
        PolicyUpdate.from_bytes(json.dumps(body))


def test_versions_only_move_forward():
    signer = TEAM.signer()
    assert rejection(signer.sign(update(version=2)), TRUSTED, version_in_force=2)[0] == "stale_policy"
    assert rejection(signer.sign(update(version=1)), TRUSTED, version_in_force=2)[0] == "stale_policy"


def test_an_update_takes_effect_at_its_effective_time():
    assert not is_due(update(), T0 - timedelta(seconds=1))
    assert is_due(update(), T0)
