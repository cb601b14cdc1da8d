"""The Evidently drift gate on texts from the simulator's corpus: same distributions pass, shifted ones fail; the
report it writes neither runs a customer's markup nor shows a customer's personal data."""

from __future__ import annotations

import json
import random
import re
from html.parser import HTMLParser

import pytest

from serving.drift import drift_gate, script_safe
from simulator.world import World

ROWS = 200
FALLBACK = "Sorry, I don't know the answer to that. Please contact a human agent."
PAYLOAD = "</script><img src=x onerror=alert(1)>"
PERSONAL = ("+86 138 0013 8000", "jane.doe@example.com")
SKELETON = {"html", "head", "meta", "style", "script", "body", "div"}  # the elements of Evidently's page itself


class Elements(HTMLParser):
    """The start tags a browser's HTML parser would build elements from (script contents are text to it)."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.feed(page)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


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


def test_a_customer_text_cannot_close_the_report_script_nor_leave_personal_data_in_it(corpus, tmp_path):
    rows = 30
    questions = [qa.question for qa in _sample(corpus, 2 * rows, 1)]
    live = [f"{q} call me on {PERSONAL[0]} or at {PERSONAL[1]} {PAYLOAD}" for q in questions[rows:]]
    answers = _answers(corpus)[:rows]
    report = tmp_path / "drift.html"
    drift_gate(questions[:rows], live, answers, list(answers), report, min_rows=rows)
    page = report.read_text(encoding="utf-8")
    assert "</script><img" not in page.lower()
    tags = Elements(page).tags
    assert {tag for tag, _ in tags} <= SKELETON and not [attrs for _, attrs in tags if "onerror" in attrs]
    assert "\\u003c/script\\u003e\\u003cimg src=x onerror=alert(1)\\u003e" in page  # still shown, as text
    assert not [value for value in PERSONAL if value in page]
    assert "\\u003cPHONE_1\\u003e" in page and "\\u003cEMAIL_1\\u003e" in page


def test_the_embedded_data_is_escaped_to_the_same_values():
    data, graphs = {"examples": [PAYLOAD, "<!-- & -->"], "n": 1.5}, {"g": {"text": "</SCRIPT >"}}
    page = (f"<html><head><style>a{{}}</style><script>\n    var metric_1 = {json.dumps(data)};\n"
            f"    var additional_graphs_metric_1 = {json.dumps(graphs)};\n</script></head>"
            f"<body><script>var lib = '</' + 'div>';</script></body></html>")
    safe = script_safe(page)
    declared = dict(re.findall(r"var (\w+) = (.*);", safe))
    assert json.loads(declared["metric_1"]) == data and json.loads(declared["additional_graphs_metric_1"]) == graphs
    assert not re.search(r"[<>&]", declared["metric_1"] + declared["additional_graphs_metric_1"])
    assert safe.endswith("<body><script>var lib = '</' + 'div>';</script></body></html>")  # the library untouched


def test_a_report_of_another_layout_is_refused_rather_than_saved_unescaped():
    with pytest.raises(ValueError):
        script_safe(f"<html><head><script>var report = {json.dumps({'examples': [PAYLOAD]})};</script></head></html>")
