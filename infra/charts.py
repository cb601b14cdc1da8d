"""Small inline-SVG line charts for the demo report.

The report must open anywhere, offline and years later, so it can carry no plotting library, script or font:
each chart is a plain ``<svg>`` string that inherits the page's font and colours. A chart shows a few lines over
one shared x axis (a gap where a value is missing, so an empty window is not drawn as a zero), shaded bands
(the demo's phases), vertical markers (its events) and horizontal guides (a target or a baseline).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape
from typing import NamedTuple

Number = float | int
# Okabe-Ito: distinguishable with the common colour-vision deficiencies and in greyscale print.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
WIDTH, HEIGHT = 560, 230
LEFT, RIGHT, BOTTOM = 48, 22, 24  # plot margins: y tick labels, -, x tick labels
ROW = 16  # px per header row (title and legend, wrapping); one more row holds the band labels
MARKER_GAP = 16  # px between marker tags in one row, before they stack
AUTO_Y_FLOOR = 5.0  # an automatic y axis reaches at least this, so a count that stays at 0 gets whole ticks
DOTS_UP_TO = 60  # points per line drawn as dots too; beyond that dots only clutter


class Line(NamedTuple):
    """One named series; ``None`` (or NaN) values break the line instead of pretending to be zero."""

    label: str
    points: Sequence[tuple[Number, Number | None]]
    dashed: bool = False


class Marker(NamedTuple):
    """A vertical line at an event: ``tag`` is drawn on the chart, ``title`` shows on hover."""

    x: Number
    tag: str
    title: str


class Band(NamedTuple):
    """A shaded x interval with a name, so a reader sees which phase a point belongs to."""

    x0: Number
    x1: Number
    label: str


class Guide(NamedTuple):
    """A horizontal reference line (a target, a baseline) with its label."""

    y: Number
    label: str


@dataclass(frozen=True)
class _Frame:
    """Maps data coordinates to pixels; every drawing step shares one."""

    x_range: tuple[float, float]
    y_range: tuple[float, float]
    top: float  # below the header

    def px(self, x: Number) -> float:
        lo, hi = self.x_range
        return LEFT + (x - lo) / (hi - lo) * (WIDTH - LEFT - RIGHT)

    def py(self, y: Number) -> float:
        lo, hi = self.y_range
        return HEIGHT - BOTTOM - (y - lo) / (hi - lo) * (HEIGHT - self.top - BOTTOM)


def nice_ticks(lo: float, hi: float, target: int = 5, steps: Sequence[float] | None = None) -> list[float]:
    """About ``target`` round tick values inside [lo, hi]. ``steps`` are tried before the 1-2-5 ladder (e.g.
    seconds to minutes to hours for a time axis, whose ticks should land on whole clock units); the ladder
    still bounds the count when the span outgrows them."""
    if hi <= lo:
        return [lo]
    step = _step(hi - lo, target, [*(steps or ()), *_decades((hi - lo) / target)])
    first = math.ceil(lo / step - 1e-9) * step
    return [first + i * step for i in range(int((hi - first) / step + 1e-9) + 1)]


def _step(span: float, target: int, ladder: Sequence[float]) -> float:
    return next((s for s in ladder if span / s <= target), ladder[-1])


def _decades(rough: float) -> list[float]:
    """The 1-2-5 steps around ``rough``, smallest first."""
    base = 10.0 ** math.floor(math.log10(rough))
    return [base * m for m in (1, 2, 5, 10, 20, 50)]


def _round_up(hi: float, target: int) -> float:
    """An automatic y axis ends on a round tick at or above the largest value, so the top line is labelled."""
    step = _step(hi, target, _decades(hi / target))
    return math.ceil(hi / step - 1e-9) * step


def line_chart(lines: Sequence[Line], *, title: str, x_range: tuple[float, float],
               y_range: tuple[float, float] | None = None, x_format: Callable[[float], str] = str,
               y_format: Callable[[float], str] = lambda y: f"{y:g}", x_steps: Sequence[float] | None = None,
               markers: Sequence[Marker] = (), bands: Sequence[Band] = (), guides: Sequence[Guide] = ()) -> str:
    """The chart as one ``<svg>`` element; with no values at all it still draws its frame, saying so."""
    values = [y for line in lines for _, y in line.points if _finite(y)]
    y_lo, y_hi = y_range or (0.0, _round_up(max([*values, *(g.y for g in guides), AUTO_Y_FLOOR]), 4))
    header, rows = _header(title, lines)
    frame = _Frame(_widen(x_range), (y_lo, y_hi), top=ROW * (rows + 1) + 8)
    parts = [
        *(_band(frame, band, i) for i, band in enumerate(bands)),
        _y_axis(frame, nice_ticks(y_lo, y_hi, 5), y_format),
        _x_axis(frame, nice_ticks(*frame.x_range, 5, x_steps), x_format),
        *(_guide(frame, guide) for guide in guides),
        *(_line(frame, line, PALETTE[i % len(PALETTE)]) for i, line in enumerate(lines)),
        *(_marker(frame, marker, row) for marker, row in zip(markers, _marker_rows(frame, markers))),
        header,
    ]
    if not values:
        parts.append(_text(WIDTH / 2, (frame.top + HEIGHT - BOTTOM) / 2, "no data", "muted", anchor="middle"))
    return (f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" '
            f'xmlns="http://www.w3.org/2000/svg">{"".join(parts)}</svg>')


def _finite(y: Number | None) -> bool:
    return y is not None and math.isfinite(y)


def _widen(x_range: tuple[float, float]) -> tuple[float, float]:
    """A zero-width range (one window, one instant) gets a margin so the frame can still divide by it."""
    lo, hi = x_range
    return (lo, hi) if hi > lo else (lo - 1.0, lo + 1.0)


def _text(x: float, y: float, text: str, cls: str, anchor: str = "start") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" class="{cls}" text-anchor="{anchor}">{escape(text)}</text>'


def _header(title: str, lines: Sequence[Line]) -> tuple[str, int]:
    """Title, then the legend flowing after it and wrapping onto more rows (adapter names are long); returns
    the markup and the rows used. Widths are estimated from character counts: SVG cannot measure text here."""
    parts, x, row = [_text(4, 14, title, "title")], 4 + 7.5 * len(title) + 18, 0
    for i, line in enumerate(lines):
        width = 18 + 6.5 * len(line.label) + 14
        if x + width > WIDTH and x > 4:
            x, row = 4, row + 1
        y, colour = 10 + row * ROW, PALETTE[i % len(PALETTE)]
        dash = ' stroke-dasharray="4 3"' if line.dashed else ""
        parts.append(f'<line x1="{x:.1f}" x2="{x + 14:.1f}" y1="{y}" y2="{y}" stroke="{colour}" '
                     f'stroke-width="2.5"{dash}/>')
        parts.append(_text(x + 18, y + 4, line.label, "legend"))
        x += width
    return "".join(parts), row + 1


def _band(frame: _Frame, band: Band, index: int) -> str:
    x0, x1 = frame.px(max(band.x0, frame.x_range[0])), frame.px(min(band.x1, frame.x_range[1]))
    if x1 <= x0:
        return ""
    shade = (f'<rect x="{x0:.1f}" y="{frame.top}" width="{x1 - x0:.1f}" height="{HEIGHT - frame.top - BOTTOM}" '
             f'class="band band{index % 2}"><title>{escape(band.label)}</title></rect>')
    if x1 - x0 < 6 * len(band.label):  # a short phase keeps its name on hover only, not over its neighbour's
        return shade
    return shade + _text((x0 + x1) / 2, frame.top - 5, band.label, "band-label", anchor="middle")


def _y_axis(frame: _Frame, ticks: Sequence[float], y_format: Callable[[float], str]) -> str:
    parts = []
    for y in ticks:
        py = frame.py(y)
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{py:.1f}" y2="{py:.1f}" class="grid"/>')
        parts.append(_text(LEFT - 6, py + 4, y_format(y), "tick", anchor="end"))
    return "".join(parts)


def _x_axis(frame: _Frame, ticks: Sequence[float], x_format: Callable[[float], str]) -> str:
    base = HEIGHT - BOTTOM
    parts = [f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{base}" y2="{base}" class="axis"/>']
    for x in ticks:
        px = frame.px(x)
        parts.append(f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{base}" y2="{base + 4}" class="axis"/>')
        parts.append(_text(px, base + 16, x_format(x), "tick", anchor="middle"))
    return "".join(parts)


def _guide(frame: _Frame, guide: Guide) -> str:
    py = frame.py(guide.y)
    return (f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{py:.1f}" y2="{py:.1f}" class="guide"/>'
            + _text(WIDTH - RIGHT - 4, py - 4, guide.label, "guide-label", anchor="end"))


def _marker_rows(frame: _Frame, markers: Sequence[Marker]) -> list[int]:
    """The tag row of each marker: events close in time stack their tags instead of printing over each other."""
    last_in_row: list[float] = []
    rows = []
    for marker in markers:
        px = frame.px(marker.x)
        row = next((r for r, last in enumerate(last_in_row) if abs(px - last) >= MARKER_GAP), len(last_in_row))
        last_in_row[row:row + 1] = [px]
        rows.append(row)
    return rows


def _marker(frame: _Frame, marker: Marker, row: int) -> str:
    px = frame.px(marker.x)
    if not LEFT <= px <= WIDTH - RIGHT:
        return ""
    cy = frame.top + 8 + row * MARKER_GAP
    return (f'<g class="marker"><title>{escape(marker.title)}</title>'
            f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{frame.top}" y2="{HEIGHT - BOTTOM}"/>'
            f'<circle cx="{px:.1f}" cy="{cy}" r="7"/>{_text(px, cy + 3.5, marker.tag, "tag", anchor="middle")}</g>')


def _line(frame: _Frame, line: Line, colour: str) -> str:
    """Polylines over the runs of present values, and a dot per value so a lone point between gaps shows."""
    points = [(frame.px(x), frame.py(y) if _finite(y) else None) for x, y in line.points]
    dash = ' stroke-dasharray="5 3"' if line.dashed else ""
    runs = [" ".join(f"{x:.1f},{y:.1f}" for x, y in run) for run in _runs(points)]
    parts = [f'<polyline points="{run}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>' for run in runs]
    present = [(x, y) for x, y in points if y is not None]
    if len(present) <= DOTS_UP_TO:
        parts += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.6" fill="{colour}"/>' for x, y in present]
    return f'<g><title>{escape(line.label)}</title>{"".join(parts)}</g>'


def _runs(points: Sequence[tuple[float, float | None]]) -> list[list[tuple[float, float]]]:
    """The maximal stretches of consecutive present values."""
    runs: list[list[tuple[float, float]]] = [[]]
    for x, y in points:
        if y is None:
            runs.append([])
        else:
            runs[-1].append((x, y))
    return [run for run in runs if len(run) > 1]


# The charts' look, for the page that embeds them: SVG text inherits the page font, so only sizes and colours.
CHART_CSS = """
svg.chart{width:100%;height:auto;display:block}
svg.chart text{font-size:11px;fill:#656d76}
svg.chart .title{font-size:13px;font-weight:600;fill:#1f2328}
svg.chart .legend{fill:#1f2328}
svg.chart .band-label{font-size:10px;fill:#8c959f}
svg.chart .band0{fill:#f6f8fa}svg.chart .band1{fill:#eef1f5}
svg.chart .grid{stroke:#eaeef2}svg.chart .axis{stroke:#8c959f}
svg.chart .guide{stroke:#8c959f;stroke-dasharray:6 4}
svg.chart .guide-label{font-size:10px;paint-order:stroke;stroke:#fff;stroke-width:3px}
svg.chart .marker line{stroke:#6e7781;stroke-dasharray:2 3}
svg.chart .marker circle{fill:#fff;stroke:#6e7781}
svg.chart .tag{font-size:9px;font-weight:600;fill:#1f2328}
svg.chart .muted{font-size:13px}
"""
