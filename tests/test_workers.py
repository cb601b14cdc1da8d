"""Stream worker processes: reading the assignment from a worker's log, and a worker that cannot run says why in
one line before it consumes anything."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from infra.broker import free_port
from infra.errors import FlywheelError
from infra.settings import DEV_POLICY_KEY_ID, DEV_POLICY_PUBLIC_KEY, Settings
from infra.workers import READY_LINE, owned_partitions, partitions_split, start_worker, wait_ready
from streams.signing import KeyPair
from tests.conftest import REPO, flywheel


def write(path, *assignments: str):
    path.write_text("".join(f"[INFO] {READY_LINE} {a}\n" for a in assignments))
    return path


def test_the_last_assignment_in_the_log_is_what_the_worker_owns(tmp_path):
    log = write(tmp_path / "w.log", '{"cs.conversations": [0, 1, 2, 3]}', '{"cs.conversations": [1, 3]}')
    assert owned_partitions(log, "cs.conversations") == {1, 3}
    assert owned_partitions(log, "cs.satisfaction") == set()
    assert owned_partitions(write(tmp_path / "new.log"), "cs.conversations") == set()


def test_a_split_needs_every_worker_to_own_some_and_each_partition_once(tmp_path):
    a = write(tmp_path / "a.log", '{"t": [0, 2]}')
    assert partitions_split([a, write(tmp_path / "b.log", '{"t": [1, 3]}')], "t", 4)
    assert not partitions_split([a, write(tmp_path / "c.log", '{"t": [1, 2]}')], "t", 4)
    assert not partitions_split([a, write(tmp_path / "d.log", '{"t": []}')], "t", 2)
    assert not partitions_split([a, write(tmp_path / "e.log", '{"t": [1]}')], "t", 4)


CLOSED = f"127.0.0.1:{free_port()}"  # nothing listens there: connections are refused


@pytest.mark.parametrize(("public_keys", "says"), [
    (None, "FLYWHEEL_POLICY_PUBLIC_KEYS is not set"),
    ('{"team": "CHANGE-ME-public-key"}', "key 'team' is still the CHANGE-ME placeholder"),
    (json.dumps({DEV_POLICY_KEY_ID: DEV_POLICY_PUBLIC_KEY}), "key 'dev' is the development key"),
])
def test_a_worker_for_a_real_cluster_without_usable_policy_keys_refuses_to_start_in_one_line(tmp_path, public_keys,
                                                                                             says):
    env = {"FLYWHEEL_BOOTSTRAP_SERVERS": CLOSED, "FLYWHEEL_DATA_DIR": str(tmp_path)}
    result = flywheel("worker", env={**env, "FLYWHEEL_POLICY_PUBLIC_KEYS": public_keys} if public_keys else env)
    assert result.returncode == 1 and result.stdout == ""
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("flywheel: FLYWHEEL_POLICY_PUBLIC_KEYS") and says in line and "refusing to start" in line


def test_a_worker_whose_broker_cannot_be_reached_says_so_in_one_line(tmp_path):
    settings = Settings(bootstrap_servers=CLOSED, data_dir=tmp_path, **KeyPair.generate("team").settings())
    log = tmp_path / "worker.log"
    process = start_worker(settings, log, free_port())
    with pytest.raises(FlywheelError, match=f"cannot reach the Kafka broker at {CLOSED}"):
        wait_ready(process, log, timeout_s=60)
    assert process.returncode == 1
    [line] = log.read_text().strip().splitlines()
    assert line.startswith(f"flywheel: cannot reach the Kafka broker at {CLOSED} (") and "Connection refused" in line


def test_the_worker_s_anonymizer_and_suite_run_without_transformers():
    """A worker keeps transformers out (Presidio would import it for an NLP engine the worker never uses)."""
    code = ("import sys; sys.modules['transformers'] = None\n"
            "from infra.settings import Settings\n"
            "from streams.anonymizer import Anonymizer\n"
            "from streams.quality import anonymizer_detector\n"
            "anonymizer = Anonymizer(Settings().anonymizer_options())\n"
            "print(anonymizer.scrub('My name is John Smith, call 13812345678').text)\n"
            "print(sorted(anonymizer_detector(anonymizer)('call 13812345678')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines() == ["My name is <PERSON_1>, call <PHONE_1>", "['PHONE']"]
