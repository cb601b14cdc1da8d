"""The demo report page: written, well formed, complete, escaped, and robust to missing values."""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime, timedelta
from html import escape
from html.parser import HTMLParser

import pytest

from infra.charts import LEFT, RIGHT, WIDTH, Line, line_chart, nice_ticks
from infra.report_html import render

PLOTS = 5  # NPS, accuracy per adapter, routed, dead letters, latency
OLD, NEW = "lora-20261123-065900-1a2b3c", "lora-20261123-070430-9f8e7d"
START = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
WINDOW_S = 40
EVIL = "<script>alert(1)</script>"
BREAKOUT = "</script><img src=x onerror=alert(1)>"
VOID = {"meta", "br", "hr", "img", "input", "link", "wbr", "col", "area", "base", "source"}


def at(seconds: float) -> str:
    return (START + timedelta(seconds=seconds)).isoformat()


def window(i: int) -> dict:
    """Window ``i`` of twelve: the rule changes after 4, the new adapter is a canary in 7-8 and serves from 9."""
    accuracy = {OLD: 0.97 if i < 4 else 0.62} if i < 9 else {}
    if i >= 7:
        accuracy[NEW] = 0.96
    return {"start": at(i * WINDOW_S), "end": at((i + 1) * WINDOW_S), "dialogs": 60 + i,
            "mean_nps": None if i == 2 else (8.6 if i < 4 else 4.1 if i < 9 else 8.7),
            "routed": 2 if i < 4 else 17, "dead_letters": 1 if i == 5 else 0, "accuracy_by_adapter": accuracy,
            "p50_ms": None if i == 5 else 38.0 + i, "p99_ms": None if i == 5 else 140.0 + 3 * i}


def sample_report() -> dict:
    phases = [("before_change", 0, 4), ("after_change", 4, 7), ("canary", 7, 9), ("after_swap", 9, 12)]
    events = [(160, "policy change", "return_window 30 → 14 days"), (170, "refresh started", "after policy change"),
              (270, "candidate built", NEW), (290, "canary started", "10 % of traffic"), (360, "promoted", NEW)]
    return {
        "nps_before_change": 8.6, "nps_after_change": 3.9, "nps_after_swap": 8.7, "changed_rule_accuracy": 0.97,
        "new_topic_accuracy_before": 0.08, "new_topic_accuracy_after": 0.93, "failed_during_swap": 0,
        "pii_in_feature_store": 0, "wall_s": 432.5,
        "targets": [{"name": "NPS recovers after the swap", "passed": True, "detail": "8.7 ≥ 8.6"},
                    {"name": "changed rule accuracy ≥ 95 %", "passed": True, "detail": "97.0 %"},
                    {"name": "new service accuracy ≥ 90 % after the swap", "passed": False, "detail": "88.0 %"},
                    {"name": "no failed requests during the swap", "passed": True, "detail": "0"},
                    {"name": "no personal data in the feature store", "passed": True, "detail": "0"}],
        "phases": [{"name": n, "start": at(a * WINDOW_S), "end": at(b * WINDOW_S), "dialogs": 250}
                   for n, a, b in phases],
        "timeline": [{"at": at(s), "event": e, "detail": d} for s, e, d in events],
        "gates": {NEW: {"ab": {"verdict": "pass", "detail": "better: difference +0.340 [+0.300, +0.380]",
                               "metrics": {"cases": 400.0, "accuracy_diff": 0.34, "ci_low": 0.3, "ci_high": 0.38}},
                        "canary": {"verdict": "wait", "detail": EVIL, "metrics": {"canary_n": 12.0}},
                        "drift": {"verdict": "fail", "detail": "answers drifted",
                                  "metrics": {"answer_drift_score": 0.81, "input_drift_score": float("nan")}}}},
        "series": [window(i) for i in range(12)],
        "adapters": [{"name": OLD, "state": "retired", "created": "2026-11-22T06:59:00+00:00"},
                     {"name": NEW, "state": "serving", "created": at(270)}],
        "drift_report": "drift.html",
        "settings": {"dialogs": 2000, "seed": 7, "clock_speed": 60.0, "broker": "embedded", "gpu": False},
    }


class Page(HTMLParser):
    """The parts of the page the tests read: tag balance, each table's rows as text, links, svg count."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.mismatched: list[str] = []
        self.tables: dict[str, list[list[str]]] = {}
        self.links: list[str] = []
        self.svgs = 0
        self.elements: set[str] = set()
        self._table: str | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.svgs += tag == "svg"
        self.elements.add(tag)
        found = dict(attrs)
        if tag == "table":
            self._table = found.get("class") or ""
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self.tables[self._table].append([])
        elif tag == "td":
            self.tables[self._table][-1].append("")
        elif tag == "a":
            self.links.append(found.get("href") or "")
        if tag not in VOID:
            self.open.append(tag)

    def rows(self, table: str) -> list[list[str]]:
        """The body rows of the table with this class, as the text of their cells (header rows have none)."""
        return [row for row in self.tables[table] if row]

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open.pop() != tag:
            self.mismatched.append(tag)
        if tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._table is not None and "td" in self.open and self.tables[self._table][-1]:
            self.tables[self._table][-1][-1] += data


def page_of(report: dict, tmp_path) -> tuple[str, Page]:
    out = render(report, tmp_path / "nested" / "report.html")
    assert out == tmp_path / "nested" / "report.html"
    text = out.read_text(encoding="utf-8")
    return text, Page(text)


def test_the_page_is_written_and_well_formed_with_one_svg_per_plot(tmp_path):
    text, page = page_of(sample_report(), tmp_path)
    assert text.startswith("<!doctype html>")
    assert page.mismatched == [] and page.open == []
    assert page.svgs == text.count("<svg") == PLOTS


def test_the_page_needs_nothing_from_the_network(tmp_path):
    text, _ = page_of(sample_report(), tmp_path)
    assert "<script" not in text and "<link" not in text and "@import" not in text
    assert "http://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in text


def test_each_target_shows_its_name_and_its_verdict(tmp_path):
    report = sample_report()
    _, page = page_of(report, tmp_path)
    rows = page.rows("targets")
    assert [(r[0].strip(), r[1]) for r in rows] == [("pass" if t["passed"] else "fail", t["name"])
                                                    for t in report["targets"]]


def test_the_headline_shows_the_key_numbers(tmp_path):
    text, _ = page_of(sample_report(), tmp_path)
    for shown in ("8.6 → 3.9 → 8.7", "97.0 %", "8.0 % → 93.0 %", "7 m 12 s", "1 of 5 targets missed"):
        assert shown in text


def test_gate_verdicts_come_with_their_details_and_numbers(tmp_path):
    _, page = page_of(sample_report(), tmp_path)
    rows = page.rows("gates")
    assert [(r[1], r[2]) for r in rows] == [("ab", "pass"), ("drift", "fail"), ("canary", "wait")]
    assert "ci_low 0.3" in rows[0][4] and "cases 400" in rows[0][4]
    assert "input_drift_score —" in rows[1][4]  # NaN shows as missing, not as "nan"


def test_the_settings_and_wall_time_close_the_page(tmp_path):
    text, page = page_of(sample_report(), tmp_path)
    assert text.index("<footer>") > text.index('<table class="timeline">')
    assert page.rows("settings") == [["dialogs", "2,000"], ["seed", "7"], ["clock_speed", "60"],
                                     ["broker", "embedded"], ["gpu", "False"], ["wall time", "7 m 12 s"]]


def test_strings_from_the_report_are_escaped(tmp_path):
    report = sample_report()
    report["timeline"][0]["event"] = EVIL
    report["settings"][EVIL] = EVIL
    report["adapters"][0]["name"] = EVIL
    text, page = page_of(report, tmp_path)
    assert EVIL not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert page.mismatched == []


def with_breakout_in_every_text(report: dict) -> dict:
    """``report`` with BREAKOUT added to every text the page shows: names, details, events, verdicts, states,
    settings and metric names, gate and adapter keys (times and numbers stay, so every part is still drawn)."""
    poisoned = copy.deepcopy(report)
    texts = [*poisoned["targets"], *poisoned["timeline"], *poisoned["adapters"], *poisoned["phases"]]
    for row in texts:
        for key in ("name", "detail", "event", "state"):
            if key in row:
                row[key] += BREAKOUT
    poisoned["gates"] = {adapter + BREAKOUT: {gate: result | {
        "verdict": result["verdict"] + BREAKOUT, "detail": result["detail"] + BREAKOUT,
        "metrics": {name + BREAKOUT: value for name, value in result["metrics"].items()}}
        for gate, result in gates.items()} for adapter, gates in poisoned["gates"].items()}
    for window in poisoned["series"]:
        window["accuracy_by_adapter"] = {name + BREAKOUT: v for name, v in window["accuracy_by_adapter"].items()}
    poisoned["settings"] = {name + BREAKOUT: f"{value}{BREAKOUT}" for name, value in poisoned["settings"].items()}
    return poisoned | {"drift_report": "drift.html" + BREAKOUT}


def test_no_text_from_the_report_can_add_an_element_to_the_page(tmp_path):
    _, clean = page_of(sample_report(), tmp_path)
    text, page = page_of(with_breakout_in_every_text(sample_report()), tmp_path)
    assert page.elements == clean.elements and "img" not in page.elements and page.mismatched == []
    assert BREAKOUT not in text and text.count(escape(BREAKOUT)) > 40  # every text is there, escaped


def test_the_drift_report_is_linked_or_its_absence_said(tmp_path):
    _, page = page_of(sample_report(), tmp_path)
    assert "drift.html" in page.links
    report = sample_report() | {"drift_report": None}
    text, page = page_of(report, tmp_path)
    assert page.links == [] and "No drift report" in text


def test_a_drift_report_that_is_not_a_relative_file_is_not_linked(tmp_path):
    text, page = page_of(sample_report() | {"drift_report": "javascript:alert(1)"}, tmp_path)
    assert page.links == [] and "javascript:alert(1)" in text


def test_every_plot_marks_every_timeline_event(tmp_path):
    text, _ = page_of(sample_report(), tmp_path)
    assert text.count('<g class="marker">') == PLOTS * len(sample_report()["timeline"])


def test_every_plot_shades_the_phases(tmp_path):
    text, _ = page_of(sample_report(), tmp_path)
    assert text.count('class="band band') == PLOTS * len(sample_report()["phases"])
    assert text.count(">after swap</text>") == PLOTS


def test_each_window_is_plotted_at_its_middle_inside_the_frame(tmp_path):
    text, _ = page_of(sample_report(), tmp_path)
    nps_chart = text.split("<svg")[1]
    xs = [float(x) for x in re.findall(r'<circle cx="([\d.]+)" cy="[\d.]+" r="2.6"', nps_chart)]
    assert len(xs) == 11 and xs == sorted(xs)
    assert LEFT < xs[0] < xs[-1] < WIDTH - RIGHT  # the first and last windows' middles, not the frame's edges
    assert xs[1] - xs[0] == pytest.approx(xs[-1] - xs[-2])


def test_a_window_without_a_value_breaks_the_line_instead_of_drawing_zero():
    nps = [w["mean_nps"] for w in sample_report()["series"]]
    assert nps[2] is None
    chart = line_chart([Line("nps", [(i, v) for i, v in enumerate(nps)])], title="t", x_range=(0, 11),
                       y_range=(0, 10))
    assert chart.count("<polyline") == 2  # windows 0-1 and 3-11
    assert chart.count("<circle") == 11


def test_an_adapter_gets_a_line_only_where_it_has_accuracy(tmp_path):
    text, _ = page_of(sample_report(), tmp_path)
    accuracy_chart = text.split("<svg")[2]
    assert OLD in accuracy_chart and NEW in accuracy_chart
    assert accuracy_chart.count("<polyline") == 2


@pytest.mark.parametrize("change", [
    {"series": []}, {"gates": {}}, {"phases": [], "timeline": []}, {"drift_report": None, "settings": {}},
])
def test_missing_parts_still_give_a_whole_page(tmp_path, change):
    text, page = page_of(sample_report() | change, tmp_path)
    assert page.mismatched == [] and page.svgs == PLOTS
    if change.get("series") == []:
        assert text.count(">no data<") == PLOTS
    if change.get("gates") == {}:
        assert "gates" not in page.tables and "No gate judged a candidate" in text


def test_an_empty_or_broken_report_does_not_crash(tmp_path):
    broken = copy.deepcopy(sample_report())
    broken["series"][0] = {"start": "not a time", "mean_nps": "high"}
    broken["series"][1]["accuracy_by_adapter"] = None
    broken["nps_before_change"] = None
    broken["targets"].append({"name": "unjudged"})
    broken["settings"] = ["not", "an", "object"]
    for report in ({}, broken):
        text, page = page_of(report, tmp_path)
        assert page.mismatched == [] and page.svgs == PLOTS
    assert "unjudged" in text


def test_time_ticks_land_on_whole_clock_units():
    start = START.timestamp()
    ticks = nice_ticks(start + 7, start + 487, 5, (1, 2, 5, 10, 15, 30, 60, 120, 300))
    assert [t - start for t in ticks] == [120, 240, 360, 480]
    assert nice_ticks(0, 10, 5) == [0, 2, 4, 6, 8, 10]
    assert len(nice_ticks(start, start + 10 * 365 * 86400, 5, (60, 3600, 86400))) <= 5  # past the longest step
