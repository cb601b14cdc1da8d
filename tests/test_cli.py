"""The command line: help lists the commands, wrong usage is one line and exit status 2."""

from __future__ import annotations

import pytest

from tests.conftest import flywheel


def test_help_lists_the_commands():
    result = flywheel("--help")
    assert result.returncode == 0
    for command in ("up", "down", "status", "simulate", "bench", "demo"):
        assert f"    {command} " in result.stdout


@pytest.mark.parametrize("argv", [
    [], ["bogus"], ["simulate", "--dialogs", "-3"], ["simulate", "--locale", "fr"],
    ["simulate", "--error-rate", "2"], ["simulate", "--start", "2026-11-02T09:00"], ["bench", "disk", "--json", "x"],
    ["bench", "broker"], ["status", "--jsn"],
])
def test_wrong_usage_is_one_line_and_exit_2(argv):
    result = flywheel(*argv)
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_setting_is_one_line_and_exit_1(tmp_path):
    result = flywheel("status", env={"FLYWHEEL_PARTITIONS": "many", "FLYWHEEL_DATA_DIR": str(tmp_path)})
    assert result.returncode == 1
    assert result.stderr.strip() == ("flywheel: setting FLYWHEEL_PARTITIONS: Input should be a valid integer, "
                                     "unable to parse string as an integer")


def test_status_without_a_stack_says_how_to_start_one(tmp_path):
    result = flywheel("status", env={"FLYWHEEL_DATA_DIR": str(tmp_path)})
    assert result.returncode == 1
    assert "flywheel up" in result.stderr and "Traceback" not in result.stderr
