"""Policy keys fail closed: the development pair only on the embedded broker; on a real cluster a missing,
placeholder, development or malformed key is one clear error, before anything is signed or verified."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import SecretStr

from infra.errors import FlywheelError
from infra.settings import DEV_POLICY_KEY_ID, DEV_POLICY_PUBLIC_KEY, DEV_POLICY_SIGNING_KEY, Settings
from streams.events import PolicyUpdate
from streams.signing import KeyPair, signer, trusted_keys, verify

CLUSTER = "kafka-1:9092"
TEAM = KeyPair.generate("team-2026")
UPDATE = PolicyUpdate(policy_id="returns", version=2, intent="return_window", author="policy-team",
                      effective_at=datetime(2026, 11, 2, tzinfo=UTC), text={"en": "15-day returns"})


def embedded(**fields) -> Settings:
    return Settings(bootstrap_servers=None, **fields)


def cluster(**fields) -> Settings:
    return Settings(bootstrap_servers=CLUSTER, **fields)


def test_the_embedded_broker_signs_and_verifies_with_the_development_pair():
    signed = signer(embedded()).sign(UPDATE)
    assert signed.key_id == DEV_POLICY_KEY_ID
    assert verify(signed, trusted_keys(embedded())[DEV_POLICY_KEY_ID])


def test_configured_keys_sign_and_verify_on_a_cluster():
    signed = signer(cluster(**TEAM.settings())).sign(UPDATE)
    trusted = trusted_keys(cluster(**TEAM.settings()))
    assert signed.key_id == "team-2026" and set(trusted) == {"team-2026"} and verify(signed, trusted["team-2026"])
    assert DEV_POLICY_KEY_ID not in trusted


@pytest.mark.parametrize(("public_keys", "says"), [
    ({}, "FLYWHEEL_POLICY_PUBLIC_KEYS is not set"),
    ({"team": "CHANGE-ME-policy-public-key"}, "key 'team' is still the CHANGE-ME placeholder"),
    ({"dev": DEV_POLICY_PUBLIC_KEY}, "key 'dev' is the development key"),
    ({"team": TEAM.public_key, "old": "bm90IGEga2V5"}, "key 'old' is not the base64 of a 32-byte Ed25519"),
    ({"team": ""}, "key 'team' is not set"),
])
def test_a_worker_on_a_cluster_refuses_unusable_public_keys_in_one_line(public_keys, says):
    with pytest.raises(FlywheelError) as caught:
        trusted_keys(cluster(policy_public_keys=public_keys))
    assert says in str(caught.value) and "refusing to start" in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(("fields", "says"), [
    ({}, "FLYWHEEL_POLICY_SIGNING_KEY is not set"),
    ({"policy_signing_key": SecretStr("CHANGE-ME"), "policy_key_id": "team"}, "CHANGE-ME placeholder"),
    ({"policy_signing_key": SecretStr(DEV_POLICY_SIGNING_KEY), "policy_key_id": "dev"}, "the development key"),
    ({"policy_signing_key": SecretStr("c2hvcnQ="), "policy_key_id": "team"}, "not the base64 of a 32-byte"),
    ({"policy_signing_key": SecretStr(TEAM.private_key)}, "FLYWHEEL_POLICY_KEY_ID is not set"),
])
def test_publishing_to_a_cluster_refuses_an_unusable_signing_key_in_one_line(fields, says):
    with pytest.raises(FlywheelError, match="refusing to sign") as caught:
        signer(cluster(**fields))
    assert says in str(caught.value) and "\n" not in str(caught.value)
    assert TEAM.private_key not in str(caught.value)


def test_the_embedded_broker_takes_configured_keys_too():
    assert set(trusted_keys(embedded(**TEAM.settings()))) == {"team-2026"}
    assert signer(embedded(**TEAM.settings())).key_id == "team-2026"


def test_keygen_pairs_are_new_each_time():
    assert KeyPair.generate("a").private_key != KeyPair.generate("a").private_key
