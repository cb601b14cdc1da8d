"""`flywheel demo` runs end to end on the embedded defaults and summarises what the topics hold."""

from __future__ import annotations

import json

import pytest

from tests.conftest import flywheel

pytestmark = pytest.mark.integration


def test_demo_streams_traffic_and_shows_the_stale_rule_hurting_satisfaction(tmp_path):
    result = flywheel("demo", "--out", str(tmp_path / "out"), "--dialogs", "600", "--seed", "3",
                      env={"FLYWHEEL_DATA_DIR": str(tmp_path / "data")})
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["conversations"] == 600
    assert 0 < summary["scores"] < 600
    nps = summary["nps"]
    assert nps["after_change/changed_intent"]["mean_nps"] < nps["before_change/changed_intent"]["mean_nps"] - 2
    assert "live:" in result.stderr
