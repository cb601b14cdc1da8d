"""The Faust app is built from the same settings as every other client: broker, security, partitions."""

from __future__ import annotations

import faust

from infra.settings import Settings
from streams.app import create_app, declare_topics


def test_sasl_settings_become_faust_credentials():
    settings = Settings(security_protocol="SASL_PLAINTEXT", sasl_mechanism="SCRAM-SHA-512",
                        sasl_username="flywheel", sasl_password="s3cret")
    credentials = create_app(settings, "kafka-1:9092,kafka-2:9092").conf.broker_credentials
    assert isinstance(credentials, faust.SASLCredentials)
    assert (credentials.username, credentials.password, credentials.mechanism.value) == \
        ("flywheel", "s3cret", "SCRAM-SHA-512")


def test_every_broker_and_topic_partition_count_comes_from_settings():
    settings = Settings(partitions=7, topic_conversations="shop.chats")
    app = create_app(settings, "kafka-1:9092,kafka-2:9092")
    assert [url.host for url in app.conf.broker] == ["kafka-1", "kafka-2"]
    assert app.conf.broker_credentials is None
    topics = declare_topics(app, settings)
    assert topics.conversations.get_topic_name() == "shop.chats"
    assert topics.conversations.partitions == 7
    assert app.conf.flywheel_fetch_max_wait_ms == settings.fetch_max_wait_ms


def test_join_state_is_on_disk_with_kafka_and_checked_against_its_changelog(tmp_path):
    on_kafka = create_app(Settings(bootstrap_servers="kafka-1:9092", data_dir=tmp_path), "kafka-1:9092").conf
    assert on_kafka.store.scheme == "rocksdb" and on_kafka.recovery_consistency_check
    embedded = create_app(Settings(data_dir=tmp_path), "127.0.0.1:9092").conf
    assert embedded.store.scheme == "memory" and not embedded.recovery_consistency_check
