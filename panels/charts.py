"""Server-rendered SVG charts (matplotlib's Figure API, never pyplot: no global state).

Each chart is its own image URL with an alt text, and the page shows the same numbers in
an HTML table beside it; inline SVG would need style-src the CSP does not allow.
"""

from __future__ import annotations

import io

COLOURS = {"red": "#d4351c", "amber": "#f47738", "green": "#00703c", "blue": "#1d70b8", "grey": "#505a5f"}


def _figure():
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["svg.hashsalt"] = "panels-kpi"
    matplotlib.rcParams["font.family"] = "sans-serif"
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 3.2), dpi=96)
    ax = fig.subplots()
    ax.spines[["top", "right"]].set_visible(False)
    return fig, ax


def _svg(fig) -> bytes:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    return buf.getvalue()


def _labels(months) -> list[str]:
    return [m.strftime("%b %y") for m in months]


def line_chart(months, series: dict[str, list[int]], ylabel: str) -> bytes:
    fig, ax = _figure()
    x = _labels(months)
    colours = iter((COLOURS["blue"], COLOURS["grey"], COLOURS["green"]))
    for name, values in series.items():
        ax.plot(x, values, marker="o", label=name, color=next(colours))
    ax.set_ylabel(ylabel)
    ax.set_ylim(bottom=0)
    ax.tick_params(axis="x", labelrotation=45)
    if len(series) > 1:
        ax.legend(frameon=False)
    return _svg(fig)


def stacked_rag_chart(months, red: list[int], amber: list[int], green: list[int]) -> bytes:
    fig, ax = _figure()
    x = _labels(months)
    ax.bar(x, red, label="Red", color=COLOURS["red"])
    ax.bar(x, amber, bottom=red, label="Amber", color=COLOURS["amber"])
    ax.bar(x, green, bottom=[r + a for r, a in zip(red, amber, strict=True)], label="Green", color=COLOURS["green"])
    ax.set_ylabel("Cases")
    ax.tick_params(axis="x", labelrotation=45)
    ax.legend(frameon=False, ncols=3)
    return _svg(fig)


def grouped_bar_chart(months, series: dict[str, list[int]], ylabel: str) -> bytes:
    fig, ax = _figure()
    n = len(series)
    width = 0.8 / max(n, 1)
    colours = iter((COLOURS["blue"], COLOURS["grey"], COLOURS["green"]))
    for i, (name, values) in enumerate(series.items()):
        ax.bar([k + i * width for k in range(len(months))], values, width=width, label=name, color=next(colours))
    ax.set_xticks([k + width * (n - 1) / 2 for k in range(len(months))], _labels(months), rotation=45)
    ax.set_ylabel(ylabel)
    ax.legend(frameon=False)
    return _svg(fig)


def kpi_chart(labels: list[str], percents: list[float | None], targets: list[float | None]) -> bytes:
    """Horizontal bars: each indicator's percentage against its target."""
    fig, ax = _figure()
    y = list(range(len(labels)))[::-1]
    values = [p or 0 for p in percents]
    ax.barh(y, values, color=COLOURS["blue"], label="Achieved")
    for yi, t in zip(y, targets, strict=True):
        if t is not None:
            ax.plot([t, t], [yi - 0.4, yi + 0.4], color=COLOURS["grey"], linewidth=2)
    ax.set_yticks(y, labels)
    ax.set_xlim(0, 100)
    ax.set_xlabel("Per cent (line: target)")
    return _svg(fig)
