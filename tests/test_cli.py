"""The command line: help lists the commands, wrong usage is one line and exit status 2."""

from __future__ import annotations

import socket

import pytest

from tests.conftest import flywheel


def test_help_lists_the_commands():
    result = flywheel("--help")
    assert result.returncode == 0
    for command in ("up", "down", "status", "simulate", "bench", "demo", "bootstrap", "retrain", "evaluate",
                    "adapters", "dataset", "intents", "serve", "promote", "rollback", "policy"):
        assert f"    {command}" in result.stdout


@pytest.mark.parametrize("argv", [
    [], ["bogus"], ["simulate", "--dialogs", "-3"], ["simulate", "--locale", "fr"],
    ["simulate", "--error-rate", "2"], ["simulate", "--start", "2026-11-02T09:00"], ["bench", "disk", "--json", "x"],
    ["bench", "broker"], ["status", "--jsn"], ["evaluate"], ["dataset", "import"], ["dataset", "drop"],
    ["intents", "train", "--csv", "x.csv"], ["intents", "eval", "--csv", "x.csv"], ["adapters", "delete"],
    ["promote"], ["serve", "--port", "eighty"], ["rollback", "now"], ["demo", "--dialogs", "5"],
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


@pytest.mark.parametrize(("argv", "message"), [
    (["evaluate", "lora-nonexistent"], "no adapter named lora-nonexistent"),
    (["dataset", "export"], "no snapshot to export yet"),
    (["intents", "eval", "--csv", "missing.csv", "--model", "m"], "no intent model directory at m"),
    (["promote", "lora-nonexistent"], "no adapter named lora-nonexistent"),
    (["rollback"], "no champion to roll back"),
    (["features", "show"], "run `flywheel features apply`"),
])
def test_learner_commands_explain_what_is_missing_in_one_line(tmp_path, argv, message):
    result = flywheel(*argv, env={"FLYWHEEL_DATA_DIR": str(tmp_path)})
    assert result.returncode == 1
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_an_empty_registry_lists_no_adapters(tmp_path):
    result = flywheel("adapters", "list", "--json", env={"FLYWHEEL_DATA_DIR": str(tmp_path)})
    assert result.returncode == 0 and result.stdout.strip() == "[]"


def test_serving_on_a_busy_port_is_one_line_before_anything_starts(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        result = flywheel("serve", "--port", str(busy.getsockname()[1]), env={"FLYWHEEL_DATA_DIR": str(tmp_path)})
    assert result.returncode == 1 and "cannot serve on 127.0.0.1" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "features").exists()


def test_a_demo_that_misses_a_target_says_which_in_one_line_and_exits_1(monkeypatch, capsys, tmp_path):
    import infra.demo
    from infra.cli import main

    report = {"targets": [{"name": "no failed request during the swap", "passed": True},
                          {"name": "new service learned by the refresh", "passed": False}]}
    monkeypatch.setattr(infra.demo, "run_demo", lambda settings, out, plan: report)  # the loop itself: test_demo
    monkeypatch.setenv("FLYWHEEL_DATA_DIR", str(tmp_path))
    assert main(["demo", "--out", str(tmp_path / "out")]) == 1
    assert capsys.readouterr().err.strip() == (
        f"flywheel: the demo ran, but 1 target(s) missed: new service learned by the refresh "
        f"(see {tmp_path / 'out' / 'report.html'})")
