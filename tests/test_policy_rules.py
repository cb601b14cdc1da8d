"""Policy admission: only signed, untampered, newer versions are applied, at their effective time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from streams.events import PolicyUpdate
from streams.policy import is_due, rejection
from streams.signing import sign

KEY = "policy-team-key"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def update(version: int = 2, **fields) -> PolicyUpdate:
    return PolicyUpdate(policy_id="returns", version=version, intent="return_window", effective_at=T0,
                        text={"en": "15-day returns"}, facts={"days": 15}, author="policy-team", **fields)


def test_a_signed_newer_version_is_admitted():
    assert rejection(sign(update(), KEY), KEY, version_in_force=1) is None
    assert rejection(sign(update(), KEY), KEY, version_in_force=None) is None


def test_unsigned_forged_and_tampered_updates_are_rejected():
    assert rejection(update(), KEY, None)[0] == "unsigned_policy"
    assert rejection(sign(update(), "someone-else"), KEY, None)[0] == "forged_policy"
    tampered = sign(update(), KEY).model_copy(update={"facts": {"days": 90}})
    assert rejection(tampered, KEY, None)[0] == "forged_policy"


def test_versions_only_move_forward():
    assert rejection(sign(update(version=2), KEY), KEY, version_in_force=2)[0] == "stale_policy"
    assert rejection(sign(update(version=1), KEY), KEY, version_in_force=2)[0] == "stale_policy"


def test_an_update_takes_effect_at_its_effective_time():
    assert not is_due(update(), T0 - timedelta(seconds=1))
    assert is_due(update(), T0)
