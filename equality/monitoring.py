"""A panel's cohort by ethnicity, gender and age band for one month, suppressed, with ratios.

The cohort is the cases not exited at the month's end (or now, for this month), the same
set the KPI snapshots count; ethnicity, gender and date of birth are read as recorded on
each nominal now (age on the month's last day). Who may see it: the coordinator and
analyst roles, and only on a panel where their agency reads identity. The counts are
aggregates, but the sharing invariant says nothing an agency is shown may depend on data
its agreements withhold, and these depend on identity; an agency without identity read on
the panel is refused, whatever the numbers.

Published counts are suppressed (equality.suppression: under 5 as "<5", secondary "*"), so no
count under 5 can be read off one table or worked out from its totals: the figures are exact
otherwise, as CONTRACT.md's `GET /kpis/equality` gives them to the partnership's analysts.
With EQUALITY_ROUNDING on (for figures released beyond the partnership) they are then randomly
rounded to a multiple of 5, keyed on the exact cohort, and a month whose figures beside the
last month shown would point at who joined or left is withheld, so that no two views (months,
panels, or sums of them) can be subtracted to give a count under 5.

Ratios compare each group's share of the cohort with its share of the partnership file's
`population` (a risk ratio with a 95% Katz log interval), for every dimension the baseline
gives: ethnicity, gender and age band. They are computed from the published (rounded)
figures, so they give away nothing the figures do not, and only for groups whose count is
shown; the cohort share is of those with a stated value when the "Not stated" count is
shown, otherwise of everyone (which lowers every ratio a little; `basis` says which).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
from dataclasses import dataclass, field

from flask import current_app

from cohort.models import Case, Nominal
from core import clock
from core.extensions import db
from equality import categories as cat
from equality.models import PopulationCount
from equality.suppression import BASE, HIDDEN, Table, protect, publish, reveals_change
from panels.jobs import add_months, london_date, month_end_utc
from panels.models import Panel
from sharing import audit
from sharing.crypto import keyring
from sharing.gateway import unsealing
from sharing.policy import Policy

DIMENSIONS = ("ethnicity", "gender", "age_band")
OTHER_GROUPS = "Other groups (not in the population baseline)"
Z95 = 1.959964


@dataclass
class Report:
    panel: str
    month: dt.date
    as_of: dt.datetime
    tables: dict[str, Table]
    ratios: dict[str, dict[str, dict]] = field(default_factory=dict)  # dimension -> group -> ratio
    basis: dict[str, str] = field(default_factory=dict)  # dimension -> "stated" or "all"
    baselines: dict[str, bool] = field(default_factory=dict)  # dimension -> a baseline is loaded
    withheld: bool = False  # beside the last month shown, the figures would point at who moved

    @property
    def baseline(self) -> bool:
        return any(self.baselines.values())


def may_see(panel: Panel, policy: Policy) -> bool:
    """Identity read on the panel (see the module docstring for why aggregates need it too)."""
    return policy.can(panel.id, "identity")


def baseline(dimension: str = "ethnicity") -> dict[str, int]:
    return {r.label: r.count for r in db.session.execute(
        db.select(PopulationCount).filter_by(dimension=dimension).order_by(PopulationCount.id)).scalars()}


def ethnicity_groups(population: dict[str, int]) -> dict[str, str]:
    """Detailed category -> the group it is counted in: the baseline's keys, else the five ONS groups."""
    if not population:
        return dict(cat.GROUP_OF)
    out = {}
    for name in population:
        for member in cat.population_members(name) or ():
            out.setdefault(member, name)
    for detailed in cat.ETHNICITIES:
        out.setdefault(detailed, cat.NOT_STATED if detailed == cat.NOT_STATED else OTHER_GROUPS)
    return out


def _case_rows(panel_id: int) -> list:
    return db.session.execute(
        db.select(Case.nominal_id, Case.status, Case.referral_date, Case.exited_on, Case.created_at)
        .where(Case.panel_id == panel_id)
    ).all()


def _cohort_nominal_ids(panel_id: int, as_of: dt.datetime, day: dt.date, rows: list | None = None) -> list[int]:
    seen, out = set(), []
    for r in rows if rows is not None else _case_rows(panel_id):
        entered = r.created_at <= as_of or (r.referral_date is not None and r.referral_date <= day)
        live = r.exited_on > day if r.exited_on is not None else r.status != "exited"
        if entered and live and r.nominal_id not in seen:
            seen.add(r.nominal_id)
            out.append(r.nominal_id)
    return out


@unsealing("aggregate equality counts over a panel whose identity the viewer reads")
def _people(nominal_ids: list[int]) -> dict[int, tuple[str | None, str | None, dt.date | None]]:
    out = {}
    for start in range(0, len(nominal_ids), 500):
        for n in db.session.execute(db.select(Nominal).where(Nominal.id.in_(nominal_ids[start:start + 500]))).scalars():
            out[n.id] = (n.ethnicity, n.gender, n.date_of_birth)
    return out


def counts(panel: Panel, month: dt.date, now: dt.datetime) -> tuple[dict[str, dict[str, int]], dt.datetime]:
    """Unsuppressed counts by dimension (never shown as they are: see `report`)."""
    tables, as_of, _ids = _Counter(panel)(month, now)
    return tables, as_of


class _Counter:
    """Counts a panel's cohort month by month from one read of its cases and people."""

    def __init__(self, panel: Panel) -> None:
        self.panel = panel
        self.rows = _case_rows(panel.id)
        self.people = _people(sorted({r.nominal_id for r in self.rows}))
        self.groups = ethnicity_groups(baseline())
        self.eth_order = list(dict.fromkeys([*baseline(), *self.groups.values()]))

    def first_month(self) -> dt.date | None:
        days = [london_date(r.created_at) for r in self.rows] + [r.referral_date for r in self.rows if r.referral_date]
        return min(days).replace(day=1) if days else None

    def __call__(self, month: dt.date, now: dt.datetime) -> tuple[dict[str, dict[str, int]], dt.datetime, list[int]]:
        as_of = min(month_end_utc(month), now)
        day = london_date(as_of)
        tables = {"ethnicity": dict.fromkeys(self.eth_order, 0), "gender": dict.fromkeys(cat.GENDERS, 0),
                  "age_band": dict.fromkeys(cat.AGE_BANDS, 0)}
        ids = _cohort_nominal_ids(self.panel.id, as_of, day, self.rows)
        for nominal_id in ids:
            ethnicity, gender, dob = self.people[nominal_id]
            recorded = cat.normalise_ethnicity(ethnicity or "") or cat.NOT_STATED  # as written by a form or script
            tables["ethnicity"][self.groups.get(recorded, cat.NOT_STATED)] += 1
            tables["gender"][cat.gender_group(gender)] += 1
            tables["age_band"][cat.age_band(dob, day)] += 1
        return tables, as_of, ids


def rounding_draw(panel: Panel, month: dt.date, nominal_ids: list[int]):
    """The uniform numbers for random rounding, keyed on the panel, month and exact cohort (see
    equality.suppression): the same cohort always draws the same, any change draws afresh."""
    key = keyring().derived_key("equality-rounding")
    cohort = hashlib.sha256(",".join(map(str, sorted(nominal_ids))).encode()).hexdigest()

    def draw(table: str, cell: str) -> float:
        mac = hmac.new(key, f"{panel.code}|{month:%Y-%m}|{cohort}|{table}|{cell}".encode(), hashlib.sha256)
        return int.from_bytes(mac.digest()[:8], "big") / 2 ** 64

    return draw


def risk_ratio(a: int, n1: int, b: int, n2: int) -> dict:
    """(a/n1) / (b/n2) with its 95% Katz log interval (a, b > 0)."""
    ratio = (a / n1) / (b / n2)
    se = math.sqrt(max(1 / a - 1 / n1 + 1 / b - 1 / n2, 0.0))
    return {"ratio": round(ratio, 2), "low": round(ratio * math.exp(-Z95 * se), 2),
            "high": round(ratio * math.exp(Z95 * se), 2)}


def _ratios(table: Table, population: dict[str, int]) -> tuple[dict[str, dict], str]:
    not_stated = table.cells.get(cat.NOT_STATED, 0)
    if not population or not isinstance(table.total, int):
        return {}, "stated"
    basis = "stated" if isinstance(not_stated, int) else "all"
    n1 = table.total - (not_stated if isinstance(not_stated, int) else 0)
    n2 = sum(population.values())
    out = {}
    for name, b in population.items():
        a = table.cells.get(name)
        if isinstance(a, int) and 0 < a <= n1 and b > 0:  # rounded figures: a share of at most all
            out[name] = {**risk_ratio(a, n1, b, n2), "cohort": a, "population": b}
        else:
            out[name] = {"ratio": None, "low": None, "high": None, "population": b,
                         **({"cohort": a} if isinstance(a, str) else {})}
    return out, basis


def report(panel: Panel, month: dt.date, now: dt.datetime | None = None) -> Report:
    """The published figures for one panel and month: suppressed, rounded counts and ratios,
    or withheld when, beside the last month shown, they would give away who joined or left."""
    now = now or clock.utcnow()
    counter = _Counter(panel)
    tables, as_of, withheld = _released(counter, month, now)
    out = Report(panel.code, month, as_of, tables, withheld=withheld)
    for dimension in DIMENSIONS:
        population = baseline(dimension)
        out.baselines[dimension] = bool(population)
        out.ratios[dimension], out.basis[dimension] = ({}, "stated") if withheld else _ratios(
            tables[dimension], population)
    return out


def rounding_on() -> bool:
    """EQUALITY_ROUNDING: differencing protection for figures released beyond the partnership."""
    return bool(current_app.config.get("EQUALITY_ROUNDING"))


def _published(counter: _Counter, month: dt.date, now: dt.datetime):
    raw, as_of, ids = counter(month, now)
    tables = protect(raw)
    if rounding_on():
        tables = publish(tables, rounding_draw(counter.panel, month, ids))
    return tables, as_of, ids


def _released(counter: _Counter, month: dt.date, now: dt.datetime) -> tuple[dict[str, Table], dt.datetime, bool]:
    """The month's tables and whether they are withheld, checking each month from the panel's
    first against the last one shown before it (equality.suppression: releases one after another)."""
    if not rounding_on():
        tables, as_of, _ids = _published(counter, month, now)
        return tables, as_of, False
    first = counter.first_month()
    shown = None  # (tables, cohort ids) of the last month shown
    current = first if first is not None and first < month else month
    while True:
        tables, as_of, ids = _published(counter, current, now)
        withheld = False
        if shown is not None:
            before, before_ids = shown
            joined, left = len(set(ids) - before_ids), len(before_ids - set(ids))
            withheld = any(reveals_change(before[d], tables[d], len(before_ids), len(ids), joined, left)
                           for d in DIMENSIONS)
        if current >= month:
            if withheld:
                return {d: Table(dict.fromkeys(t.cells, HIDDEN), HIDDEN) for d, t in tables.items()}, as_of, True
            return tables, as_of, False
        if not withheld:
            shown = (tables, set(ids))
        current = add_months(current, 1)
def as_json(r: Report) -> dict:
    total = next(iter(r.tables.values())).total
    return {
        "panel": r.panel, "month": r.month.strftime("%Y-%m"), "as_of": r.as_of.isoformat(timespec="seconds") + "Z",
        "total": total, "by": {name: dict(t.cells) for name, t in r.tables.items()},
        "ratio": r.ratios.get("ethnicity", {}), "basis": r.basis.get("ethnicity", "stated"),
        "ratios": r.ratios, "bases": r.basis, "rounded_to": BASE if rounding_on() else 1, "withheld": r.withheld,
    }


def log_view(panel: Panel, month: dt.date) -> None:
    """Logged like any read of identity data, though it names no one."""
    audit.record("view", panel=panel, categories=["identity"],
                 detail=f"equality monitoring: suppressed counts for {month.strftime('%Y-%m')}")


def months_back(today: dt.date, n: int = 12) -> list[dt.date]:
    first = add_months(today.replace(day=1), -(n - 1))
    return [add_months(first, i) for i in range(n)]
