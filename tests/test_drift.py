"""The Evidently drift gate on texts from the simulator's corpus: same distributions pass, shifted ones fail."""

from __future__ import annotations

import random

import pytest

from serving.drift import drift_gate
from simulator.world import World

ROWS = 200
FALLBACK = "Sorry, I don't know the answer to that. Please contact a human agent."


@pytest.fixture(scope="module")
def corpus():
    return World.create(7).corpus()


def _sample(items, n, seed):
    rng = random.Random(seed)
    return [rng.choice(items) for _ in range(n)]


def _answers(corpus, seed=3):
    """The champion's answers to a sample of questions (the simulator's reference answers)."""
    return [qa.answer for qa in _sample(corpus, ROWS, seed)]


def test_same_distributions_pass_and_write_the_report(corpus, tmp_path):
    answers = _answers(corpus)
    report = tmp_path / "reports" / "drift.html"
    reference, live = [qa.question for qa in _sample(corpus, ROWS, 1)], [qa.question for qa in _sample(corpus, ROWS, 2)]
    result = drift_gate(reference, live, answers, list(answers), report)
    assert result.gate == "drift" and result.verdict == "pass", result
    assert result.metrics["input_drifted"] == 0.0 and result.metrics["answer_drifted"] == 0.0
    assert result.metrics["input_drift_score"] <= result.metrics["threshold"]
    assert report.stat().st_size > 0 and "<html" in report.read_text(encoding="utf-8").lower()


def test_fallback_answers_drift_from_the_champion(corpus, tmp_path):
    questions = [qa.question for qa in _sample(corpus, ROWS, 1)]
    result = drift_gate(questions, list(questions), _answers(corpus), [FALLBACK] * ROWS, tmp_path / "drift.html")
    assert result.verdict == "fail"
    assert result.metrics["answer_drifted"] == 1.0 and result.metrics["input_drifted"] == 0.0
    assert result.metrics["answer_drift_score"] > 0.9
    assert "answers drifted" in result.detail


def test_english_reference_against_chinese_live_inputs_fails(corpus, tmp_path):
    english = [qa.question for qa in corpus if qa.locale == "en"]
    chinese = [qa.question for qa in corpus if qa.locale == "zh"]
    answers = _answers(corpus)
    result = drift_gate(_sample(english, ROWS, 1), _sample(chinese, ROWS, 2), answers, list(answers),
                        tmp_path / "drift.html")
    assert result.verdict == "fail" and result.metrics["input_drifted"] == 1.0
    assert result.metrics["answer_drifted"] == 0.0
    assert "live inputs drifted" in result.detail


def test_a_new_topic_in_live_inputs_fails(corpus, tmp_path):
    english = [qa for qa in corpus if qa.locale == "en"]
    new_topics = {"account_security", "invoice", "coupon"}
    trained = [qa.question for qa in english if qa.intent not in new_topics]
    live = [qa.question for qa in english if qa.intent in new_topics]
    answers = _answers(corpus)
    result = drift_gate(_sample(trained, ROWS, 1), _sample(live, ROWS, 2), answers, list(answers),
                        tmp_path / "drift.html")
    assert result.verdict == "fail" and result.metrics["input_drifted"] == 1.0


def test_too_few_rows_fail_without_judging(corpus, tmp_path):
    questions = [qa.question for qa in corpus[:10]]
    report = tmp_path / "drift.html"
    result = drift_gate(questions, questions, questions, questions, report)
    assert result.verdict == "fail" and "too few rows" in result.detail and not report.exists()


def test_answers_must_be_paired():
    with pytest.raises(ValueError):
        drift_gate(["a"], ["a"], ["x", "y"], ["x"], report_path=None)  # type: ignore[arg-type]
