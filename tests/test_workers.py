"""Reading a worker's assignment from its log: the last rebalance counts, and a split covers each partition once."""

from __future__ import annotations

from infra.workers import READY_LINE, owned_partitions, partitions_split


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
