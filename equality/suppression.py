"""Small-number suppression for one-way tables that share a published total.

A count under 5 is shown as "<5" (primary suppression). Hiding it is not enough: the
total minus the shown cells gives the sum of the hidden ones, and with one hidden cell,
or hidden cells whose bounds leave one value, that is the cell itself. So cells are
hidden as "*" (secondary suppression, smallest first) until every hidden cell under 5
could still take at least two values given everything shown: each "<5" cell lies in
0..4, each "*" cell is 5 or more, and together they make the total minus the shown cells.
For one equation with box bounds those feasible ranges are exact intervals, computed
below. In the rare table no amount of hiding protects (every cell exactly 4, or zeros
beside cells of exactly 5), the total is hidden too, and then every cell of every table
that shares it (the caller does that: see `protect`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

THRESHOLD = 5
BASE = 5  # shown counts and totals are published as multiples of this (see `publish`)
UNDER = "<5"
HIDDEN = "*"
INFINITY = float("inf")


@dataclass
class Table:
    """One published table: each cell a number, "<5" or "*", and the total (a number, "<5" or "*")."""

    cells: dict[str, int | str]
    total: int | str


def _bounds(value: int, threshold: int) -> tuple[float, float]:
    return (0, threshold - 1) if value < threshold else (threshold, INFINITY)


def feasible_range(counts: dict[str, int], hidden: set[str], total: int | None,
                   threshold: int = THRESHOLD) -> dict[str, tuple[float, float]]:
    """What an onlooker can work out about each hidden cell from the shown cells (and the total, if shown)."""
    bounds = {k: _bounds(counts[k], threshold) for k in hidden}
    if total is None:
        return bounds
    rest = total - sum(v for k, v in counts.items() if k not in hidden)
    low_sum = sum(lo for lo, _ in bounds.values())
    high_sum = sum(hi for _, hi in bounds.values())
    out = {}
    for k, (lo, hi) in bounds.items():
        others_low, others_high = low_sum - lo, high_sum - hi
        out[k] = (max(lo, rest - others_high), min(hi, rest - others_low))
    return out


def is_safe(counts: dict[str, int], hidden: set[str], total: int | None, threshold: int = THRESHOLD) -> bool:
    """True when no hidden cell under the threshold is pinned to one value."""
    ranges = feasible_range(counts, hidden, total, threshold)
    return all(hi > lo for k, (lo, hi) in ranges.items() if counts[k] < threshold)


def suppress(counts: dict[str, int], threshold: int = THRESHOLD) -> Table | None:
    """The table with its total shown, or None when hiding every cell would still reveal one."""
    total = sum(counts.values())
    hidden = {k for k, v in counts.items() if v < threshold}
    while hidden and not is_safe(counts, hidden, total, threshold):
        shown = sorted((v, k) for k, v in counts.items() if k not in hidden)
        if not shown:
            return None
        hidden.add(shown[0][1])
    return Table({k: _label(counts, k, hidden, threshold) for k in counts}, total)


def _label(counts: dict[str, int], key: str, hidden: set[str], threshold: int) -> int | str:
    if key not in hidden:
        return counts[key]
    return UNDER if counts[key] < threshold else HIDDEN


def fully_hidden(counts: dict[str, int], threshold: int = THRESHOLD) -> Table:
    return Table({k: UNDER if v < threshold else HIDDEN for k, v in counts.items()}, HIDDEN)


def protect(tables: dict[str, dict[str, int]], threshold: int = THRESHOLD) -> dict[str, Table]:
    """Several one-way tables over the same people (so the same total), each made safe.

    With the total under the threshold every cell is "<5". When one table cannot be
    protected with the total shown, the total and every cell of every table are hidden:
    with the total unknown the tables' sums still equal one another, so a partly shown
    table would pin the others.
    """
    totals = {sum(c.values()) for c in tables.values()}
    if len(totals) > 1:
        raise ValueError("tables over the same people must have the same total")
    total = totals.pop() if totals else 0
    if total < threshold:
        return {name: Table(dict.fromkeys(c, UNDER), UNDER) for name, c in tables.items()}
    out = {name: suppress(c, threshold) for name, c in tables.items()}
    if any(t is None for t in out.values()):
        return {name: fully_hidden(c, threshold) for name, c in tables.items()}
    return out  # type: ignore[return-value]


# -- differencing between views ------------------------------------------------------
#
# Suppression protects one month's tables on their own, even against an onlooker who knows
# the exact total (the tracker and the KPI pages show it). It cannot, alone, protect two
# views of overlapping cohorts: this month against last month when one person left (the
# KPI page says how many left), or a panel's figures against a sum over panels or months.
# The difference of two exact counts is itself a count, often under 5, and it points at
# the people who moved. So every shown count and total is published as a multiple of 5 by
# unbiased random rounding (7 is 5 with chance 3/5 and 10 with chance 2/5): a figure then
# stands for any count within 4 of it, and the difference of two figures for a range of at
# least five counts, never one. The draw is keyed (HMAC under a service key) on the panel,
# the month and the exact set of people counted, so the same cohort always gives the same
# figures (asking again shows nothing new), while any change to the cohort draws every cell
# afresh: a figure that moved does not say that its own group moved. Suppression runs on
# the exact counts first, so rounding only ever widens what an onlooker can work out.


def random_round(n: int, u: float, base: int = BASE) -> int:
    """`n` rounded to a multiple of `base`, up with chance (n mod base)/base, decided by u in [0, 1)."""
    low = n - n % base
    return low + base if u < (n % base) / base else low


def publish(tables: dict[str, Table], draw: Callable[[str, str], float], base: int = BASE) -> dict[str, Table]:
    """Suppressed tables with every shown count and the shared total randomly rounded.

    `draw(table, cell)` gives the uniform number for one cell (the total is ("total", "")),
    the same for the same cohort; a shown count (5 or more) stays 5 or more.
    """
    out = {}
    total_u = draw("total", "")
    for name, t in tables.items():
        cells = {k: random_round(v, draw(name, k), base) if isinstance(v, int) else v for k, v in t.cells.items()}
        total = random_round(t.total, total_u, base) if isinstance(t.total, int) else t.total
        out[name] = Table(cells, total)
    return out


# -- releases one after another --------------------------------------------------------
#
# Rounding cannot hide a figure crossing the threshold: a group shown as 5 last month and
# "<5" this month lost someone, and if the KPI page says one person left, that names their
# group. So each month's tables are checked against the last month that was shown, by an
# onlooker who knows both published tables, both exact totals and how many people joined
# and left: for each group, which changes of its count fit both figures and the totals.
# If some group's change is certain to be a small non-zero number (1 to 4 people, either
# way), the month's figures are withheld (`Report.withheld`) and the next month is checked
# against the last one shown instead.


def _interval(value: int | str, total: int, base: int = BASE) -> tuple[int, int]:
    if value == UNDER:
        return 0, THRESHOLD - 1
    if value == HIDDEN:
        return THRESHOLD, total
    return max(THRESHOLD, int(value) - (base - 1)), int(value) + (base - 1)


def _tightened(table: Table, total: int) -> dict[str, tuple[int, int]]:
    """Each cell's possible range from its figure, then from the table's sum (the exact total)."""
    out = {k: _interval(v, total) for k, v in table.cells.items()}
    for _ in range(3):
        lo_sum, hi_sum = sum(lo for lo, _ in out.values()), sum(hi for _, hi in out.values())
        out = {k: (max(lo, total - (hi_sum - hi)), min(hi, total - (lo_sum - lo))) for k, (lo, hi) in out.items()}
    return out


def reveals_change(before: Table, after: Table, total_before: int, total_after: int, joined: int, left: int) -> bool:
    """True when an onlooker could tell that some group gained or lost 1-4 people between two releases."""
    b, a = _tightened(before, total_before), _tightened(after, total_after)
    # each group's change, from its two ranges (integer intervals, so their sums are intervals)
    local = {}
    for k, (lo1, hi1) in b.items():
        lo2, hi2 = a.get(k, (0, 0))
        local[k] = (max(-left, lo2 - hi1), min(joined, hi2 - lo1))
    net = joined - left
    lo_all, hi_all = sum(lo for lo, _ in local.values()), sum(hi for _, hi in local.values())
    for lo, hi in local.values():
        others_lo, others_hi = lo_all - lo, hi_all - hi
        low, high = max(lo, net - others_hi), min(hi, net - others_lo)
        if low <= high and not low <= 0 <= high and low > -THRESHOLD and high < THRESHOLD:
            return True
    return False
