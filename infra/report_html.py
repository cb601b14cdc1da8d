"""The demo's ``report.json`` as one self-contained HTML page a person can read: ``render(report, out)``.

The page has to open on any machine, offline (a CI artefact, an attachment): no scripts, fonts or stylesheets
from elsewhere, CSS inline, charts as inline SVG (``infra.charts``). Every string that comes from the report is
HTML-escaped, since details carry model answers and gate messages. The verdicts are the demo's own (``targets``,
``gates``): the page shows them and never recomputes them, so the page and ``report.json`` cannot disagree. Any
value may be missing or ``None`` (a window without scores, an adapter not yet serving): it shows as a dash or a
gap in a line, never as a crash or a zero.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from infra.charts import CHART_CSS, Band, Guide, Line, Marker, line_chart

Report = Mapping[str, Any]
DASH = "—"
# Time-axis tick steps in seconds, so ticks land on whole clock units whatever the demo's (accelerated) span.
TIME_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
              172800, 604800)
PHASE_LABELS = {"before_change": "before", "after_change": "after change", "canary": "canary",
                "after_swap": "after swap"}
GATE_ORDER = ("ab", "drift", "canary")  # the order a candidate meets them
VERDICT_CLASS = {"pass": "ok", "fail": "bad", "wait": "wait"}


def render(report: Report, out: Path) -> Path:
    """Write the page for ``report`` to ``out`` (its folder is created) and return ``out``."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page(report), encoding="utf-8")
    return out


def page(report: Report) -> str:
    """The whole document, section by section, in the order a reader asks: did it work, how, what decided."""
    clock = Clock.of(report)
    sections = [_headline(report, clock), _charts(report, clock), _gates(report, clock), _timeline(report, clock),
                _settings(report)]
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>cs-flywheel · closed-loop demo report</title><style>{PAGE_CSS}{CHART_CSS}</style></head>"
            f'<body><main>{"".join(sections)}</main></body></html>')


@dataclass(frozen=True)
class Clock:
    """Puts the report's ISO times on one numeric axis (epoch seconds) and prints them back in the run's own
    time zone, as clock times and as time since the run began (the demo's clock may be accelerated, so the
    elapsed time is what a reader compares)."""

    start: float
    end: float
    zone: tzinfo

    @classmethod
    def of(cls, report: Report) -> Clock:
        times = [t for t in map(_parse, _axis_times(report)) if t is not None]
        if not times:
            return cls(0.0, 0.0, UTC)
        stamps = [t.timestamp() for t in times]
        return cls(min(stamps), max(stamps), times[0].tzinfo or UTC)

    def x(self, iso: Any) -> float | None:
        moment = _parse(iso)
        return None if moment is None else moment.timestamp()

    def tick(self, x: float) -> str:
        """An axis label: seconds only when the run is short enough to need them, the date when it spans days."""
        span = self.end - self.start
        fmt = "%H:%M:%S" if span <= 300 else "%H:%M" if span <= 2 * 86400 else "%b %d"
        return datetime.fromtimestamp(x, self.zone).strftime(fmt)

    def span(self) -> str:
        """The run's first and last recorded moments, the date given once unless the run crosses midnight."""
        first, last = (datetime.fromtimestamp(x, self.zone) for x in (self.start, self.end))
        end = f"{last:%H:%M:%S}" if last.date() == first.date() else f"{last:%Y-%m-%d %H:%M:%S}"
        return f"{first:%Y-%m-%d %H:%M:%S} → {end} {first:%Z}".rstrip()

    def cell(self, iso: Any) -> str:
        """A table cell: the clock time, the full timestamp on hover, and the time since the run began."""
        x = self.x(iso)
        if x is None:
            return _e(iso)
        moment, sign = datetime.fromtimestamp(x, self.zone), "+" if x >= self.start else "−"
        return (f'<span title="{_e(iso)}">{moment:%H:%M:%S}</span>'
                f' <span class="muted">{sign}{duration(x - self.start)}</span>')


def _axis_times(report: Report) -> list[Any]:
    """The times the charts must cover; adapter creation is left out, as the first adapter predates the run."""
    spans = [*_rows(report, "phases"), *_rows(report, "series")]
    return [*(s.get(k) for s in spans for k in ("start", "end")), *(e.get("at") for e in _rows(report, "timeline"))]


def _parse(iso: Any) -> datetime | None:
    if not isinstance(iso, str):
        return None
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _object(report: Report, key: str) -> Mapping[str, Any]:
    """An object field of the report, or an empty one when it is missing or not an object."""
    value = report.get(key)
    return value if isinstance(value, Mapping) else {}


def _rows(report: Report, key: str) -> list[Mapping[str, Any]]:
    """A list field of the report, keeping only the entries that are objects (a hand-edited report may not)."""
    return [row for row in report.get(key) or () if isinstance(row, Mapping)]


# ---- formatting: every data string passes through _e; numbers never raise, whatever they hold


def _e(value: Any) -> str:
    return DASH if value is None else escape(str(value))


def _number(value: Any) -> float | None:
    """A finite number, or None for anything else (None, NaN, a string), so callers test one thing."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _fmt(value: Any, pattern: str) -> str:
    number = _number(value)
    return DASH if number is None else format(number, pattern)


def pct(value: Any) -> str:
    number = _number(value)
    return DASH if number is None else f"{number * 100:.1f} %"


def count(value: Any) -> str:
    return _fmt(value, ",.0f")


def metric(value: Any) -> str:
    """A gate metric or a setting: integers as integers, other numbers to four significant digits, NaN as
    missing, and anything else (a string, a flag) as its text."""
    number = _number(value)
    if number is None:
        return DASH if isinstance(value, float) else _e(value)
    return f"{number:,.0f}" if number.is_integer() and abs(number) < 1e15 else f"{number:.4g}"


def duration(seconds: Any) -> str:
    """Seconds as the two largest units a reader needs: ``42 s``, ``7 m 12 s``, ``3 h 05 m``, ``2 d 03 h``."""
    total = _number(seconds)
    if total is None:
        return DASH
    s = round(abs(total))
    for size, unit, sub_size, sub in ((86400, "d", 3600, "h"), (3600, "h", 60, "m"), (60, "m", 1, "s")):
        if s >= size:
            return f"{s // size} {unit} {s % size // sub_size:02d} {sub}"
    return f"{s} s"


def _badge(passed: bool | None, text: str) -> str:
    cls = "ok" if passed else "bad" if passed is False else "wait"
    return f'<span class="badge {cls}">{_e(text)}</span>'


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], cls: str, empty: str = "None recorded.") -> str:
    """A table from cells that are already safe HTML (the callers escape); an empty one is a line saying so."""
    if not rows:
        return f'<p class="muted">{empty}</p>'
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _section(title: str, body: str) -> str:
    return f"<section><h2>{title}</h2>{body}</section>"


# ---- sections


def _headline(report: Report, clock: Clock) -> str:
    """The title, the overall verdict, the key numbers as cards and each target with its mark."""
    targets = _rows(report, "targets")
    missed = sum(1 for t in targets if t.get("passed") is not True)
    overall = (_badge(None, "no targets recorded") if not targets else
               _badge(missed == 0, f"all {len(targets)} targets met" if missed == 0
                      else f"{missed} of {len(targets)} targets missed"))
    span = f"{clock.span()} · " if clock.end > clock.start else ""
    header = (f"<header><h1>cs-flywheel · closed-loop demo</h1>{overall}"
              f'<p class="muted">{span}wall time {duration(report.get("wall_s"))}</p></header>')
    rows = [[_badge(t.get("passed") is True, "pass" if t.get("passed") is True else "fail"), _e(t.get("name")),
             _e(t.get("detail"))] for t in targets]
    return header + _cards(report) + _section("Targets", _table(["", "target", "measured"], rows, "targets"))


def _cards(report: Report) -> str:
    """The figures of ``report.json`` that the targets are about, a before → after story where there is one."""
    nps = " → ".join(_fmt(report.get(k), ".1f") for k in ("nps_before_change", "nps_after_change", "nps_after_swap"))
    cards = [
        ("Satisfaction (mean NPS)", nps, "before change → after change → after swap"),
        ("Changed rule accuracy", pct(report.get("changed_rule_accuracy")), "right after the change"),
        ("New service accuracy", f'{pct(report.get("new_topic_accuracy_before"))} → '
                                 f'{pct(report.get("new_topic_accuracy_after"))}', "before → after the swap"),
        ("Failed requests", count(report.get("failed_during_swap")), "during the swap"),
        ("Personal data", count(report.get("pii_in_feature_store")), "items in the feature store"),
    ]
    body = "".join(f'<div class="card"><div class="label">{label}</div><div class="value">{value}</div>'
                   f'<div class="muted">{note}</div></div>' for label, value, note in cards)
    return f'<div class="cards">{body}</div>'


def _charts(report: Report, clock: Clock) -> str:
    """The five plots over time, sharing one x axis, the phases as bands and the timeline events as markers."""
    windows = _windows(report, clock)
    shared = {"x_range": (clock.start, clock.end), "x_format": clock.tick, "x_steps": TIME_STEPS,
              "markers": _markers(report, clock), "bands": _bands(report, clock)}
    charts = [
        line_chart([_line("mean NPS", windows, lambda w: w.get("mean_nps"))], title="Satisfaction (mean NPS)",
                   y_range=(0, 10), guides=_baseline(report), **shared),
        line_chart([_line(name, windows, _accuracy_of(name)) for name in _adapter_names(report)],
                   title="Policy-fact accuracy", y_range=(0, 1), y_format=lambda y: f"{y:.0%}", **shared),
        line_chart([_line("routed", windows, lambda w: w.get("routed"))], title="Dialogs routed to the feature store",
                   **shared),
        line_chart([_line("dead letters", windows, lambda w: w.get("dead_letters"))], title="Dead letters",
                   **shared),
        line_chart([_line("p50", windows, lambda w: w.get("p50_ms")),
                    _line("p99", windows, lambda w: w.get("p99_ms"), dashed=True)], title="Latency (ms)", **shared),
    ]
    figures = "".join(f"<figure>{chart}</figure>" for chart in charts)
    note = ('<p class="muted">Each point is one window. Numbered markers are the timeline events below; '
            "shaded bands are the phases.</p>")
    return _section("Over time", f'{note}<div class="charts">{figures}</div>')


def _windows(report: Report, clock: Clock) -> list[tuple[float, Mapping[str, Any]]]:
    """The series' windows that have a start, in time order, each with its x."""
    placed = [(x, w) for w in _rows(report, "series") if (x := _middle(clock, w)) is not None]
    return sorted(placed, key=lambda pair: pair[0])


def _baseline(report: Report) -> list[Guide]:
    """NPS before the change, as a line to read the recovery against (the target is getting back to it)."""
    before = _number(report.get("nps_before_change"))
    return [] if before is None else [Guide(before, f"before change {before:.1f}")]


def _middle(clock: Clock, window: Mapping[str, Any]) -> float | None:
    """A window is plotted at its middle, or at its start when its end is missing."""
    start, end = clock.x(window.get("start")), clock.x(window.get("end"))
    return None if start is None else start if end is None else (start + end) / 2


def _line(label: str, windows: Sequence[tuple[float, Mapping[str, Any]]],
          value: Callable[[Mapping[str, Any]], Any], dashed: bool = False) -> Line:
    return Line(label, [(x, _number(value(w))) for x, w in windows], dashed)


def _accuracy_of(adapter: str) -> Callable[[Mapping[str, Any]], Any]:
    return lambda window: (window.get("accuracy_by_adapter") or {}).get(adapter)


def _adapter_names(report: Report) -> list[str]:
    """Registry order first, then any adapter seen only in the series (e.g. ``base``), each once."""
    named = [str(a.get("name")) for a in _rows(report, "adapters") if a.get("name") is not None]
    seen = [str(name) for w in _rows(report, "series") for name in (w.get("accuracy_by_adapter") or {})]
    return list(dict.fromkeys([*named, *seen]))


def _markers(report: Report, clock: Clock) -> list[Marker]:
    events = [(i, e, clock.x(e.get("at"))) for i, e in enumerate(_rows(report, "timeline"), 1)]
    return [Marker(x, str(i), f'{i}. {e.get("event")}: {e.get("detail") or ""}') for i, e, x in events
            if x is not None]


def _bands(report: Report, clock: Clock) -> list[Band]:
    spans = [(clock.x(p.get("start")), clock.x(p.get("end")), p.get("name")) for p in _rows(report, "phases")]
    return [Band(x0, x1, PHASE_LABELS.get(str(name), str(name))) for x0, x1, name in spans
            if x0 is not None and x1 is not None]


def _gates(report: Report, clock: Clock) -> str:
    """Each candidate's gate verdicts with the numbers behind them, the adapters, and the drift report's link."""
    gates = _object(report, "gates")
    rows = [[_e(adapter), _e(gate), _verdict(result.get("verdict")), _e(result.get("detail")),
             _metrics(result.get("metrics"))]
            for adapter, by_gate in gates.items() if isinstance(by_gate, Mapping)
            for gate, result in sorted(by_gate.items(), key=_gate_rank) if isinstance(result, Mapping)]
    adapters = [[_e(a.get("name")), _e(a.get("state")), clock.cell(a.get("created"))]
                for a in _rows(report, "adapters")]
    body = (_table(["adapter", "gate", "verdict", "detail", "metrics"], rows, "gates",
                   "No gate judged a candidate in this run.")
            + f'<h3>Drift report</h3>{_drift_link(report.get("drift_report"))}'
            + "<h3>Adapters</h3>" + _table(["adapter", "state", "created"], adapters, "adapters"))
    return _section("Promotion gates", body)


def _gate_rank(item: tuple[str, Any]) -> tuple[int, str]:
    return (GATE_ORDER.index(item[0]) if item[0] in GATE_ORDER else len(GATE_ORDER), item[0])


def _verdict(verdict: Any) -> str:
    cls = VERDICT_CLASS.get(str(verdict), "wait")
    return f'<span class="badge {cls}">{_e(verdict)}</span>'


def _metrics(metrics: Any) -> str:
    if not isinstance(metrics, Mapping) or not metrics:
        return f'<span class="muted">{DASH}</span>'
    return "".join(f'<span class="metric">{_e(k)} <b>{metric(v)}</b></span>' for k, v in metrics.items())


def _drift_link(name: Any) -> str:
    """A link to the Evidently report beside this page; a name that is not a relative path is shown, not linked,
    so a report cannot turn the page into a link elsewhere (``javascript:``, another host)."""
    if not name:
        return '<p class="muted">No drift report was written in this run.</p>'
    parts = urlsplit(str(name))
    if parts.scheme or parts.netloc:
        return f'<p>Drift report (not linked, not a relative file): <code>{_e(name)}</code></p>'
    return f'<p><a href="{_e(name)}">Open the Evidently drift report</a> <code>{_e(name)}</code></p>'


def _timeline(report: Report, clock: Clock) -> str:
    """The events in order, numbered as their chart markers, and the phases with their traffic."""
    events = [[str(i), clock.cell(e.get("at")), _e(e.get("event")), _e(e.get("detail"))]
              for i, e in enumerate(_rows(report, "timeline"), 1)]
    phases = [[_e(PHASE_LABELS.get(str(p.get("name")), p.get("name"))), clock.cell(p.get("start")),
               clock.cell(p.get("end")), _span(clock, p), count(p.get("dialogs"))] for p in _rows(report, "phases")]
    body = (_table(["#", "at", "event", "detail"], events, "timeline") + "<h3>Phases</h3>"
            + _table(["phase", "start", "end", "length", "dialogs"], phases, "phases"))
    return _section("Timeline", body)


def _span(clock: Clock, phase: Mapping[str, Any]) -> str:
    start, end = clock.x(phase.get("start")), clock.x(phase.get("end"))
    return DASH if start is None or end is None else duration(end - start)


def _settings(report: Report) -> str:
    settings = _object(report, "settings")
    rows = [[f"<code>{_e(k)}</code>", metric(v)] for k, v in settings.items()]
    rows.append(["<code>wall time</code>", duration(report.get("wall_s"))])
    return f'<footer>{_section("Run", _table(["setting", "value"], rows, "settings"))}</footer>'


PAGE_CSS = """
:root{--fg:#1f2328;--muted:#656d76;--line:#d0d7de;--soft:#f6f8fa;--ok:#1a7f37;--okbg:#dafbe1;--bad:#cf222e;
--badbg:#ffebe9;--wait:#9a6700;--waitbg:#fff8c5}
*{box-sizing:border-box}
body{margin:0;color:var(--fg);background:#fff;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:1180px;margin:0 auto;padding:24px 20px 40px}
header{display:flex;flex-wrap:wrap;align-items:baseline;gap:6px 14px;margin-bottom:14px}
header p{flex-basis:100%;margin:0}
h1{font-size:22px;margin:0}
h2{font-size:16px;margin:28px 0 10px;padding-bottom:4px;border-bottom:1px solid var(--line)}
h3{font-size:14px;margin:18px 0 8px}
.muted{color:var(--muted)}
.badge{display:inline-block;padding:1px 9px;border-radius:10px;font-size:12px;font-weight:600;
text-transform:uppercase;letter-spacing:.03em}
.badge.ok{color:var(--ok);background:var(--okbg)}.badge.bad{color:var(--bad);background:var(--badbg)}
.badge.wait{color:var(--wait);background:var(--waitbg)}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(200px,1fr));gap:10px}
.card{border:1px solid var(--line);border-radius:8px;padding:10px 12px;background:var(--soft)}
.card .label{font-size:12px;color:var(--muted);text-transform:uppercase;letter-spacing:.03em}
.card .value{font-size:21px;font-weight:600;margin:2px 0;font-variant-numeric:tabular-nums}
.card .muted{font-size:12px}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{text-align:left;vertical-align:top;padding:5px 8px;border-bottom:1px solid var(--line)}
th{font-size:12px;color:var(--muted);font-weight:600;background:var(--soft)}
table.targets td:first-child,table.timeline td:first-child{width:1%;white-space:nowrap}
.metric{display:inline-block;margin:1px 8px 1px 0;color:var(--muted);font-size:12px;white-space:nowrap}
.metric b{color:var(--fg);font-weight:600}
code{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
a{color:#0969da}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(460px,1fr));gap:14px}
figure{margin:0;border:1px solid var(--line);border-radius:8px;padding:8px}
footer table.settings td:first-child{width:35%}
"""
