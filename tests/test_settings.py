"""Settings come from FLYWHEEL_* variables, and a bad value is one clear error naming the variable."""

from __future__ import annotations

import pytest

from infra.errors import FlywheelError
from infra.settings import load_settings


def test_environment_variables_set_fields(monkeypatch, tmp_path):
    monkeypatch.setenv("FLYWHEEL_PARTITIONS", "8")
    monkeypatch.setenv("FLYWHEEL_TOPIC_CONVERSATIONS", "shop.chats")
    monkeypatch.setenv("FLYWHEEL_DATA_DIR", str(tmp_path))
    settings = load_settings()
    assert settings.partitions == 8
    assert settings.topics["conversations"] == "shop.chats"
    assert settings.data_dir == tmp_path


def test_no_bootstrap_servers_means_the_embedded_broker(monkeypatch):
    monkeypatch.delenv("FLYWHEEL_BOOTSTRAP_SERVERS", raising=False)
    assert load_settings().embedded
    monkeypatch.setenv("FLYWHEEL_BOOTSTRAP_SERVERS", "kafka-1:9092,kafka-2:9092")
    assert not load_settings().embedded


def test_sasl_settings_become_librdkafka_options(monkeypatch):
    monkeypatch.setenv("FLYWHEEL_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("FLYWHEEL_SASL_MECHANISM", "SCRAM-SHA-512")
    monkeypatch.setenv("FLYWHEEL_SASL_USERNAME", "flywheel")
    monkeypatch.setenv("FLYWHEEL_SASL_PASSWORD", "s3cret")
    monkeypatch.setenv("FLYWHEEL_SSL_CA_LOCATION", "/etc/kafka/ca.pem")
    assert load_settings().kafka_security() == {
        "security.protocol": "sasl_ssl", "sasl.mechanism": "SCRAM-SHA-512", "sasl.username": "flywheel",
        "sasl.password": "s3cret", "ssl.ca.location": "/etc/kafka/ca.pem"}


@pytest.mark.parametrize("name, value, message", [
    ("FLYWHEEL_PARTITIONS", "many", "FLYWHEEL_PARTITIONS"),
    ("FLYWHEEL_NPS_THRESHOLD", "11", "FLYWHEEL_NPS_THRESHOLD"),
    ("FLYWHEEL_SECURITY_PROTOCOL", "SASL_SSL", "FLYWHEEL_SASL_MECHANISM"),
    ("FLYWHEEL_POLICY_PUBLIC_KEYS", "CHANGE-ME", "FLYWHEEL_POLICY_PUBLIC_KEYS: not valid JSON"),
    ("FLYWHEEL_SENSITIVE_WORDS", "[unclosed", "FLYWHEEL_SENSITIVE_WORDS: not valid JSON"),
    ("FLYWHEEL_POLICY_KEY_ID", "team 2026", "FLYWHEEL_POLICY_KEY_ID"),
])
def test_bad_setting_is_one_error_naming_the_variable(monkeypatch, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(FlywheelError, match=message):
        load_settings()


def test_secrets_do_not_print(monkeypatch):
    monkeypatch.setenv("FLYWHEEL_SASL_PASSWORD", "s3cret")
    assert "s3cret" not in repr(load_settings())


def test_settings_pass_to_a_child_process_through_its_environment(monkeypatch, tmp_path):
    parent = load_settings(bootstrap_servers="127.0.0.1:9092", data_dir=tmp_path, partitions=3,
                           known_intents=("return_window", "trade_in"), sasl_password="s3cret",
                           security_protocol="SASL_PLAINTEXT", sasl_mechanism="PLAIN", policy_key_id="team-2026",
                           policy_public_keys={"team-2026": "AAAA", "team-2025": "BBBB"})
    for name, value in parent.as_env().items():
        monkeypatch.setenv(name, value)
    child = load_settings()
    assert child.model_dump() == parent.model_dump()
    assert child.sasl_password.get_secret_value() == "s3cret"
