"""Key performance indicators: numbers only, never a person.

The MAPPA indicators (DESIGN.md) are computed from closed meetings: each level 2/3 item
discussed is a review; it was "on time" when the previous review (or the referral) was
no longer ago than the panel's interval. NI 143/144 read accommodation and employment
only where the viewer's agency may read resettlement. Month-by-month counts come from the
monthly snapshots (panels.jobs.run_snapshots).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from auth.models import Agency
from cohort.models import Action, Case
from core.extensions import db
from core.labels import label
from panels import charts
from panels.jobs import add_months, month_start
from panels.models import AgendaItem, Attendance, Meeting, Panel, Snapshot
from sharing.gateway import agreements_in_force, unsealing
from sharing.models import Isa, IsaGrant, isa_panels
from sharing.policy import Policy

SETTLED = ("settled", "yes", "own tenancy", "owner", "settled and suitable")
EMPLOYED = ("employed", "employment", "yes", "self-employed", "self employed", "full-time", "part-time", "in work")
ATTENDED = ("present", "by_report")


@dataclass
class Kpi:
    key: str
    numerator: int
    denominator: int
    target: float | None = None  # percent

    @property
    def label(self) -> str:
        return label(self.key)

    @property
    def percent(self) -> float | None:
        return round(100.0 * self.numerator / self.denominator, 1) if self.denominator else None

    @property
    def met(self) -> bool | None:
        if self.target is None or self.percent is None:
            return None
        return self.percent >= self.target


@dataclass
class Period:
    start: dt.date
    end: dt.date

    @classmethod
    def last_months(cls, today: dt.date, months: int = 12) -> Period:
        return cls(add_months(month_start(today), -(months - 1)), today)

    def months(self) -> list[dt.date]:
        out, m = [], month_start(self.start)
        while m <= self.end:
            out.append(m)
            m = add_months(m, 1)
        return out


def _reviews(panel_ids: list[int], period: Period) -> list[dict]:
    """Every MAPPA level 2/3 review (a discussed item at a closed meeting) up to the period end."""
    rows = db.session.execute(
        db.select(AgendaItem.case_id, AgendaItem.disclosure_considered, Meeting.id, Meeting.date, Meeting.panel_id,
                  Case.mappa_level, Case.referral_date)
        .join(Meeting, Meeting.id == AgendaItem.meeting_id)
        .join(Case, Case.id == AgendaItem.case_id)
        .where(Meeting.panel_id.in_(panel_ids), Meeting.status == "closed", AgendaItem.discussed.is_(True),
               Case.mappa_level.in_((2, 3)), Meeting.date <= period.end)
        .order_by(AgendaItem.case_id, Meeting.date)
    ).all()
    out, last = [], {}
    for r in rows:
        previous = last.get(r.case_id, r.referral_date)
        last[r.case_id] = r.date
        if r.date >= period.start:
            out.append({"level": r.mappa_level, "gap": (r.date - previous).days if previous else None,
                        "disclosure": r.disclosure_considered is not None, "meeting_id": r.id,
                        "panel_id": r.panel_id})
    return out


def _review_kpi(reviews: list[dict], panels: dict[int, Panel], level: int, target: float) -> Kpi:
    mine = [r for r in reviews if r["level"] == level and r["gap"] is not None]
    on_time = sum(1 for r in mine if r["gap"] <= panels[r["panel_id"]].review_interval(level))
    return Kpi(f"mappa_l{level}_reviews", on_time, len(mine), target)


def _attendance_kpi(reviews: list[dict]) -> Kpi:
    """Prison and probation at level 2/3 meetings, in person or by report."""
    meeting_ids = sorted({r["meeting_id"] for r in reviews})
    expected = attended = 0
    if meeting_ids:
        meetings = db.session.execute(db.select(Meeting).where(Meeting.id.in_(meeting_ids))).scalars().all()
        present = {
            (m, a) for m, a, s in db.session.execute(
                db.select(Attendance.meeting_id, Attendance.agency_id, Attendance.status)
                .where(Attendance.meeting_id.in_(meeting_ids))
            ) if s in ATTENDED
        }
        for m in meetings:
            agencies = db.session.execute(
                db.select(Agency.id).where(Agency.kind.in_(("prison", "probation")), Agency.id.in_(
                    db.select(IsaGrant.agency_id).join(Isa, Isa.id == IsaGrant.isa_id)
                    .join(isa_panels, isa_panels.c.isa_id == Isa.id)
                    .where(isa_panels.c.panel_id == m.panel_id, agreements_in_force(m.date))
                ))
            ).scalars().all()
            expected += len(agencies)
            attended += sum(1 for a in agencies if (m.id, a) in present)
    return Kpi("prison_probation_attendance", attended, expected, 90.0)


def _matches(value: str | None, words: tuple[str, ...]) -> bool:
    text = (value or "").strip().lower()
    return bool(text) and (text in words or any(text.startswith(w) for w in words if w != "yes"))


@unsealing("indicators over panels where resettlement is readable")
def _ni_kpis(panel_ids: list[int], policy: Policy, period: Period) -> list[Kpi]:
    readable = [pid for pid in panel_ids if policy.can(pid, "resettlement")]
    cases = []
    if readable:
        cases = db.session.execute(
            db.select(Case).where(Case.panel_id.in_(readable), Case.order_end_date >= period.start,
                                  Case.order_end_date <= period.end)
        ).unique().scalars().all()
    return [
        Kpi("ni143", sum(1 for c in cases if _matches(c.accommodation, SETTLED)), len(cases)),
        Kpi("ni144", sum(1 for c in cases if _matches(c.employment, EMPLOYED)), len(cases)),
    ]


def overdue_actions(panel_ids: list[int], policy: Policy, today: dt.date) -> int:
    ids = [pid for pid in panel_ids if policy.can(pid, "offending")]
    if not ids:
        return 0
    return db.session.execute(
        db.select(db.func.count(Action.id)).join(Case, Case.id == Action.case_id)
        .where(Case.panel_id.in_(ids), Action.status == "open", Action.due < today)
    ).scalar() or 0


CHART_TITLES = {
    "cohort": "Cohort size by month",
    "rag": "Cases by RAG status by month",
    "flow": "Referrals and exits by month",
    "kpis": "Performance indicators against their targets",
}
SERIES = ("cohort", "referrals", "exits", "red", "amber", "green", "none")
# The category a monthly series is drawn from: summed only over panels where the viewer reads it.
SERIES_CATEGORY = {"referrals": "offending", "exits": "offending", "red": "risk", "amber": "risk", "green": "risk",
                   "none": "risk"}


def _empty_month(month: dt.date) -> dict:
    return {"month": month, **dict.fromkeys(SERIES), "panels": 0, "final": None, "as_of": None}


def monthly(panel_ids: list[int], policy: Policy, period: Period) -> list[dict]:
    """Snapshot counts per month, summed over the panels that have a snapshot for it.

    A month with no snapshot has None everywhere (a gap, never 0). Referrals and exits are
    summed only over panels where the viewer reads offending, the RAG counts only where it
    reads risk; a series no panel lets it read stays None.
    """
    readable = {c: {pid for pid in panel_ids if policy.can(pid, c)} for c in ("offending", "risk")}
    months = {m: _empty_month(m) for m in period.months()}
    for panel_id, month, data in db.session.execute(
        db.select(Snapshot.panel_id, Snapshot.month, Snapshot.data)
        .where(Snapshot.panel_id.in_(panel_ids), Snapshot.month >= month_start(period.start),
               Snapshot.month <= period.end)
        .order_by(Snapshot.month, Snapshot.panel_id)
    ):
        row = months.get(month)
        if row is None:
            continue
        row["panels"] += 1
        values = {"cohort": data.get("cohort"), "referrals": data.get("referrals"), "exits": data.get("exits"),
                  **{k: (data.get("rag") or {}).get(k) for k in ("red", "amber", "green", "none")}}
        for key, value in values.items():
            category = SERIES_CATEGORY.get(key)
            if category is None or panel_id in readable[category]:
                row[key] = (row[key] or 0) + int(value or 0)
        row["final"] = bool(data.get("final", True)) and row["final"] is not False
        row["as_of"] = max(filter(None, (row["as_of"], data.get("as_of"))), default=None)
    return [months[m] for m in sorted(months)]


def withheld_series(panel_ids: list[int], policy: Policy) -> list[str]:
    """The categories whose series the viewer reads on none of the panels."""
    return sorted({c for c in SERIES_CATEGORY.values() if not any(policy.can(pid, c) for pid in panel_ids)})


def compute(panels: list[Panel], policy: Policy, period: Period, today: dt.date) -> dict:
    """Everything the KPI page shows, for the panels the viewer takes part in."""
    ids = [p.id for p in panels]
    by_id = {p.id: p for p in panels}
    reviews = _reviews(ids, period) if ids else []
    level23 = [r for r in reviews if r["level"] in (2, 3)]
    kpis = [
        _review_kpi(reviews, by_id, 3, 90.0),
        _review_kpi(reviews, by_id, 2, 85.0),
        Kpi("disclosure_recorded", sum(1 for r in level23 if r["disclosure"]), len(level23), 100.0),
        _attendance_kpi(level23),
        *(_ni_kpis(ids, policy, period) if ids else []),
    ]
    return {
        "kpis": kpis,
        "monthly": monthly(ids, policy, period) if ids else [],
        "overdue_actions": overdue_actions(ids, policy, today) if ids else 0,
        "risk_readable": any(policy.can(pid, "risk") for pid in ids),
        "offending_readable": any(policy.can(pid, "offending") for pid in ids),
        "panel_count": len(ids),
    }


def _cell(value) -> object:
    return "no data" if value is None else value


def csv_rows(result: dict) -> list[list]:
    """The KPI figures as rows for a CSV download (numbers and labels only; "no data" for a gap)."""
    rows: list[list] = [["indicator", "numerator", "denominator", "percent", "target"]]
    for k in result["kpis"]:
        rows.append([k.label, k.numerator, k.denominator, _cell(k.percent), "" if k.target is None else k.target])
    rows.append([label("overdue_actions"), result["overdue_actions"], "", "", ""])
    rows.append([])
    series = [s for s in SERIES if SERIES_CATEGORY.get(s) in (None, *_readable_categories(result))]
    rows.append(["month", *series])
    for m in result["monthly"]:
        rows.append([m["month"].isoformat(), *(_cell(m[s]) for s in series)])
    return rows


def _readable_categories(result: dict) -> list[str]:
    return [c for c, key in (("offending", "offending_readable"), ("risk", "risk_readable")) if result.get(key)]


def build_charts(result: dict) -> dict[str, charts.Chart]:
    """The page's charts from the same figures its tables show (gaps stay gaps)."""
    months = [m["month"] for m in result["monthly"]]
    col = {k: [m[k] for m in result["monthly"]] for k in SERIES}
    out = {"cohort": charts.line_chart(CHART_TITLES["cohort"], months, {label("cohort"): col["cohort"]})}
    if result["risk_readable"]:
        out["rag"] = charts.stacked_bar_chart(
            CHART_TITLES["rag"], months, {label(k): col[k] for k in ("red", "amber", "green")},
            {label(k): charts.COLOURS[k] for k in ("red", "amber", "green")})
    if result["offending_readable"]:
        out["flow"] = charts.grouped_bar_chart(CHART_TITLES["flow"], months,
                                               {label(k): col[k] for k in ("referrals", "exits")})
    out["kpis"] = charts.indicator_chart(CHART_TITLES["kpis"], [(k.label, k.percent, k.target)
                                                                for k in result["kpis"]])
    return out


# Everything the KPI page is drawn from, in one statement: snapshots taken or retaken, writes
# to the panels' cases (cohort.change_counter's triggers count them), meetings sat, closed or
# reopened, attendance recorded, actions changed. Equal tokens (with the same day, viewer and
# agreements) mean the same page, so it is drawn once and kept (cohort.page_cache).
_TOKEN_SQL = db.text(
    "SELECT (SELECT count(*) FROM snapshots WHERE panel_id IN :ids) AS snapshots,"
    " (SELECT max(created_at) FROM snapshots WHERE panel_id IN :ids) AS snapshot_at,"
    " (SELECT sum(seq) FROM tracker_changes WHERE panel_id IN :ids) AS writes,"
    " (SELECT max(updated_at) FROM meetings WHERE panel_id IN :ids) AS meeting_at,"
    " (SELECT count(*) FROM attendance WHERE meeting_id IN (SELECT id FROM meetings WHERE panel_id IN :ids))"
    " AS attendance,"
    " (SELECT max(a.updated_at) FROM actions a JOIN cases c ON c.id = a.case_id WHERE c.panel_id IN :ids)"
    " AS action_at"
).bindparams(db.bindparam("ids", expanding=True))


def data_token(panel_ids: list[int]) -> tuple:
    """A value that changes whenever anything the KPI figures are drawn from changes."""
    if not panel_ids:
        return ()
    return tuple(db.session.execute(_TOKEN_SQL, {"ids": panel_ids}).one())


def viewer_key(panels: list[Panel], policy: Policy) -> tuple:
    """What the viewer's agreements let it read on each panel (part of a cached page's key)."""
    return tuple((p.id, p.code, p.name, tuple(sorted(policy.readable(p.id)))) for p in panels)
