"""`flywheel policy`: the policy team's file is checked, signed and published, and a bad file is one clear line."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from features import repository
from features.config import store_config
from features.writer import FeatureWriter
from infra.broker import EmbeddedBroker
from infra.errors import FlywheelError
from infra.settings import DEV_POLICY_KEY_ID, DEV_POLICY_SIGNING_KEY, Settings
from streams.events import PolicyUpdate
from streams.policy_file import publish_policy_file, read_policy_file
from streams.signing import signer, trusted_keys, verify
from tests.conftest import REPO, flywheel, read_topic

EXAMPLE = REPO / "infra" / "deploy" / "examples" / "return-window-v2.json"
NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


def _example() -> dict:
    return json.loads(EXAMPLE.read_text(encoding="utf-8"))


def _write(tmp_path: Path, doc: object, name: str = "policy.json") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, allow_unicode=True) if name.endswith((".yaml", ".yml"))
                    else json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def _published(settings: Settings, broker: EmbeddedBroker) -> list[tuple[bytes, bytes]]:
    return read_topic(broker.bootstrap, settings.topic_policy_updates, settings.partitions)


def test_the_shipped_example_is_a_valid_policy():
    update = read_policy_file(EXAMPLE)
    assert (update.policy_id, update.version, update.intent, update.facts) == ("return-window", 2, "return_window",
                                                                               {"days": 30})
    assert set(update.text) == {"zh", "en"} and {e.locale for e in update.examples} == {"zh", "en"}
    assert update.signature is None
    result = flywheel("policy", "check", str(EXAMPLE))
    assert result.returncode == 0 and "valid" in result.stdout, result.stderr


def test_a_published_file_arrives_signed_and_verifiable(topic_settings: Settings, broker: EmbeddedBroker):
    result = flywheel("policy", "publish", str(EXAMPLE), "--json", env=topic_settings.as_env())
    assert result.returncode == 0, result.stderr
    [(key, value)] = _published(topic_settings, broker)
    update = PolicyUpdate.from_bytes(value)
    assert key == b"return-window" and update.key_id == topic_settings.policy_key_id
    assert verify(update, trusted_keys(topic_settings)[update.key_id])
    assert not verify(update, trusted_keys(Settings(bootstrap_servers=None))[DEV_POLICY_KEY_ID])
    assert update.model_dump(mode="json") == json.loads(result.stdout)
    unsigned = update.model_copy(update={"key_id": None, "signature": None})
    assert unsigned.model_dump(include=set(_example())) == read_policy_file(EXAMPLE).model_dump(include=set(_example()))


def test_a_yaml_file_without_effective_time_takes_effect_now(topic_settings: Settings, broker: EmbeddedBroker,
                                                             tmp_path: Path):
    doc = {k: v for k, v in _example().items() if k != "effective_at"}
    sent = publish_policy_file(topic_settings, _write(tmp_path, doc, "change.yaml"), now=NOW)
    [(_, value)] = _published(topic_settings, broker)
    assert PolicyUpdate.from_bytes(value) == sent
    assert sent.effective_at == NOW and verify(sent, trusted_keys(topic_settings)[sent.key_id])


def test_an_unquoted_yaml_time_is_read_as_the_time_it_says(tmp_path: Path):
    path = tmp_path / "change.yaml"
    path.write_text(yaml.safe_dump(_example(), allow_unicode=True).replace(
        "effective_at: '2026-12-01T00:00:00+08:00'", "effective_at: 2026-12-01T00:00:00+08:00"), encoding="utf-8")
    assert "effective_at: 2026-12-01T00:00:00+08:00\n" in path.read_text(encoding="utf-8")
    assert read_policy_file(path).effective_at == datetime.fromisoformat(_example()["effective_at"])


def test_a_missing_field_fails_in_one_line_naming_it_and_publishes_nothing(topic_settings: Settings,
                                                                          broker: EmbeddedBroker, tmp_path: Path):
    path = _write(tmp_path, {k: v for k, v in _example().items() if k != "intent"})
    result = flywheel("policy", "publish", str(path), env=topic_settings.as_env())
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.strip() == f"flywheel: {path}: invalid policy update event: field 'intent': Field required"
    assert _published(topic_settings, broker) == []


def test_the_development_key_is_refused_for_a_real_cluster(topic_settings: Settings, broker: EmbeddedBroker):
    result = flywheel("policy", "publish", str(EXAMPLE), env={
        **topic_settings.as_env(), "FLYWHEEL_POLICY_SIGNING_KEY": DEV_POLICY_SIGNING_KEY,
        "FLYWHEEL_POLICY_KEY_ID": DEV_POLICY_KEY_ID})
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.strip() == ("flywheel: FLYWHEEL_POLICY_SIGNING_KEY is the development key, which only the "
                                     "embedded broker accepts: set the policy team's key (refusing to sign)")
    with pytest.raises(FlywheelError, match="FLYWHEEL_POLICY_SIGNING_KEY is not set"):
        publish_policy_file(topic_settings.model_copy(update={"policy_signing_key": None}), EXAMPLE)
    assert _published(topic_settings, broker) == []


def test_keygen_prints_a_pair_whose_public_key_verifies_what_its_private_key_signs():
    made = flywheel("policy", "keygen", "--key-id", "team-2027", "--json")
    assert made.returncode == 0, made.stderr
    pair = json.loads(made.stdout)
    team = Settings(bootstrap_servers="kafka:9092", policy_signing_key=pair["private_key"],
                    policy_key_id=pair["key_id"], policy_public_keys={pair["key_id"]: pair["public_key"]})
    signed = signer(team).sign(read_policy_file(EXAMPLE))
    assert signed.key_id == "team-2027" and verify(signed, trusted_keys(team)["team-2027"])
    as_text = flywheel("policy", "keygen").stdout
    assert "FLYWHEEL_POLICY_SIGNING_KEY=" in as_text and "FLYWHEEL_POLICY_PUBLIC_KEYS='{\"policy-" in as_text
    assert "private key stays with the policy team" in " ".join(flywheel("policy", "--help").stdout.split())


@pytest.mark.parametrize(("change", "field"), [
    ({"version": "2"}, "'version'"),
    ({"version": 0}, "'version'"),
    ({"effective_at": "2026-12-01T00:00:00"}, "'effective_at'"),
    ({"text": {"fr": "Retours sous 30 jours."}}, "'text.*.[key]'"),
    ({"examples": [{"locale": "en", "question": "How long?"}]}, "'examples.0.answer'"),
    ({"policy_id": "return window"}, "'policy_id'"),
    ({"approved_by": "legal"}, "'approved_by'"),
    ({"signature": "0" * 128}, "remove the signature field"),
    ({"key_id": "team-2026", "signature": "0" * 128}, "remove the key_id and signature field"),
])
def test_an_invalid_file_is_one_error_naming_what_is_wrong(tmp_path: Path, change: dict, field: str):
    path = _write(tmp_path, _example() | change)
    with pytest.raises(FlywheelError) as caught:
        read_policy_file(path)
    assert str(caught.value).startswith(f"{path}: ") and field in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(("name", "content", "message"), [
    ("policy.json", "{not json", "not valid JSON"),
    ("policy.yaml", "policy_id: [unclosed", "not valid YAML"),
    ("policy.json", "[1, 2]", "holds one object"),
    ("policy.txt", "{}", "a policy file is .json, .yaml, .yml"),
    ("policy.yaml", "facts: !!set {days: null}", "a YAML set has no place in a policy update"),
])
def test_a_file_that_is_no_policy_object_is_one_error(tmp_path: Path, name: str, content: str, message: str):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(FlywheelError, match=message):
        read_policy_file(path)


@pytest.mark.parametrize("argv", [["policy"], ["policy", "publish"], ["policy", "retract", "x.json"],
                                  ["policy", "keygen", "--key-id", "alice@example.com"]])
def test_wrong_usage_is_one_line_and_exit_2(argv):
    result = flywheel(*argv)
    assert result.returncode == 2 and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_a_missing_file_is_one_line_and_exit_1(tmp_path: Path):
    result = flywheel("policy", "publish", str(tmp_path / "nope.json"))
    assert result.returncode == 1 and result.stderr.strip() == f"flywheel: no policy file at {tmp_path / 'nope.json'}"


def test_show_prints_the_version_in_force(tmp_path: Path):
    env = {"FLYWHEEL_DATA_DIR": str(tmp_path)}
    config = store_config(Settings(data_dir=tmp_path))
    assert flywheel("policy", "show", "return-window", env=env).stderr.strip().endswith("run `flywheel features apply`")
    repository.apply(config)
    try:
        with FeatureWriter(config) as writer:
            writer.write_policy(signer(Settings(bootstrap_servers=None)).sign(read_policy_file(EXAMPLE)))
        shown = flywheel("policy", "show", "return-window", "--json", env=env)
        assert shown.returncode == 0, shown.stderr
        assert {k: json.loads(shown.stdout)[k] for k in ("version", "intent", "facts", "author")} == {
            "version": 2, "intent": "return_window", "facts": {"days": 30}, "author": "policy-team"}
        missing = flywheel("policy", "show", "price-protection", env=env)
        assert missing.returncode == 1
        assert missing.stderr.strip() == "flywheel: no version of policy price-protection is in force"
    finally:
        repository.destroy(config)
