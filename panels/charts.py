"""Chart geometry for the KPI page, drawn as plain SVG by templates/panels/_charts.html.

The numbers become coordinates here (pure Python, microseconds) and a Jinja macro writes
the SVG, inline in the page and, for a download, as its own image. No plotting library
on the page path: matplotlib took 98-189 ms a chart. A month without data is a gap in a
line and a "no data" mark under a bar, never a zero; the page shows every chart's numbers
in a table beside it. Colours are SVG attributes (the CSP allows no inline styles).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

COLOURS = {"red": "#d4351c", "amber": "#f47738", "green": "#00703c", "blue": "#1d70b8", "grey": "#505a5f",
           "none": "#b1b4b6", "black": "#0b0c0c"}
SERIES_COLOURS = ("#1d70b8", "#505a5f", "#00703c", "#912b88")
WIDTH, HEIGHT = 720, 300
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 28, 56


@dataclass
class Chart:
    """Everything the SVG macro draws; coordinates in the 720 x 300 view box."""

    kind: str
    title: str
    width: int = WIDTH
    height: int = HEIGHT
    x_labels: list[tuple[float, str]] = field(default_factory=list)
    y_ticks: list[tuple[float, str]] = field(default_factory=list)
    lines: list[dict] = field(default_factory=list)
    bars: list[dict] = field(default_factory=list)
    gaps: list[float] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)
    rows: list[dict] = field(default_factory=list)
    empty: bool = False

    @property
    def plot_bottom(self) -> int:
        return self.height - BOTTOM

    @property
    def plot_left(self) -> int:
        return LEFT

    @property
    def plot_right(self) -> int:
        return self.width - RIGHT


def nice_max(value: float) -> tuple[float, float]:
    """An axis maximum at or above `value` and a round tick step (1, 2 or 5 times a power of ten)."""
    if value <= 0:
        return 1.0, 1.0
    raw = value / 4
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    step = max(step, 1.0)
    return step * math.ceil(value / step), step


def _y_scale(top_value: float):
    top, step = nice_max(top_value)
    span = HEIGHT - BOTTOM - TOP

    def y(v: float) -> float:
        return round(HEIGHT - BOTTOM - span * v / top, 1)

    ticks = [(y(i * step), f"{int(i * step):,}") for i in range(int(round(top / step)) + 1)]
    return y, ticks


def _x_slots(n: int) -> tuple[list[float], float]:
    slot = (WIDTH - LEFT - RIGHT) / max(n, 1)
    return [round(LEFT + slot * (i + 0.5), 1) for i in range(n)], slot


def month_label(month: dt.date) -> str:
    return month.strftime("%b %y")


def line_chart(title: str, months: list[dt.date], series: dict[str, list[int | None]]) -> Chart:
    """Lines broken at months with no data (None), with a dot on every value."""
    values = [v for vs in series.values() for v in vs if v is not None]
    chart = Chart("line", title, empty=not values)
    xs, _ = _x_slots(len(months))
    y, chart.y_ticks = _y_scale(max(values, default=0))
    chart.x_labels = [(x, month_label(m)) for x, m in zip(xs, months, strict=True)]
    chart.gaps = [x for i, x in enumerate(xs) if all(vs[i] is None for vs in series.values())]
    for (name, vs), colour in zip(series.items(), SERIES_COLOURS, strict=False):
        runs: list[list[tuple[float, float]]] = [[]]
        points = []
        for x, v in zip(xs, vs, strict=True):
            if v is None:
                runs.append([])
                continue
            runs[-1].append((x, y(v)))
            points.append({"x": x, "y": y(v), "value": v})
        chart.lines.append({"name": name, "colour": colour, "points": points,
                            "runs": [" ".join(f"{a},{b}" for a, b in r) for r in runs if len(r) > 1]})
        chart.legend.append((name, colour))
    return chart


def stacked_bar_chart(title: str, months: list[dt.date], stacks: dict[str, list[int | None]],
                      colours: dict[str, str]) -> Chart:
    """One bar a month, its parts stacked; a month with no data has no bar and a "no data" mark."""
    totals = [None if all(vs[i] is None for vs in stacks.values()) else sum(vs[i] or 0 for vs in stacks.values())
              for i in range(len(months))]
    chart = Chart("bar", title, empty=not any(t for t in totals if t))
    xs, slot = _x_slots(len(months))
    y, chart.y_ticks = _y_scale(max((t for t in totals if t is not None), default=0))
    chart.x_labels = [(x, month_label(m)) for x, m in zip(xs, months, strict=True)]
    width = round(slot * 0.6, 1)
    for i, x in enumerate(xs):
        if totals[i] is None:
            chart.gaps.append(x)
            continue
        base = 0
        for name, vs in stacks.items():
            v = vs[i] or 0
            if v:
                chart.bars.append({"x": round(x - width / 2, 1), "y": y(base + v), "width": width,
                                   "height": round(y(base) - y(base + v), 1), "colour": colours[name],
                                   "name": name, "value": v})
            base += v
    chart.legend = [(name, colours[name]) for name in stacks]
    return chart


def grouped_bar_chart(title: str, months: list[dt.date], series: dict[str, list[int | None]]) -> Chart:
    """Bars side by side each month; a month with no data has a "no data" mark."""
    values = [v for vs in series.values() for v in vs if v is not None]
    chart = Chart("bar", title, empty=not values)
    xs, slot = _x_slots(len(months))
    y, chart.y_ticks = _y_scale(max(values, default=0))
    chart.x_labels = [(x, month_label(m)) for x, m in zip(xs, months, strict=True)]
    n = max(len(series), 1)
    width = round(slot * 0.7 / n, 1)
    for i, x in enumerate(xs):
        if all(vs[i] is None for vs in series.values()):
            chart.gaps.append(x)
            continue
        for k, ((name, vs), colour) in enumerate(zip(series.items(), SERIES_COLOURS, strict=False)):
            v = vs[i] or 0
            left = x - slot * 0.35 + k * width
            chart.bars.append({"x": round(left, 1), "y": y(v), "width": width, "height": round(y(0) - y(v), 1),
                               "colour": colour, "name": name, "value": v})
    chart.legend = [(name, colour) for name, colour in zip(series, SERIES_COLOURS, strict=False)]
    return chart


def indicator_chart(title: str, rows: list[tuple[str, float | None, float | None]]) -> Chart:
    """Horizontal bars, 0-100%, one per indicator, with its target as a tick; "no data" where none."""
    height = TOP + 34 * len(rows) + 40
    chart = Chart("indicators", title, height=height, empty=all(p is None for _, p, _ in rows))
    left, right = 300, WIDTH - RIGHT

    def x(percent: float) -> float:
        return round(left + (right - left) * percent / 100, 1)

    chart.x_labels = [(x(p), f"{p}%") for p in (0, 25, 50, 75, 100)]
    for i, (name, percent, target) in enumerate(rows):
        top = TOP + 34 * i
        chart.rows.append({"label": name, "y": top, "mid": top + 13, "left": left,
                           "width": None if percent is None else round(x(percent) - left, 1),
                           "percent": percent, "target": None if target is None else x(target),
                           "end": x(percent or 0)})
    return chart
