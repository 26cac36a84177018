"""KPIs over the JSON API (CONTRACT.md "Additions"): monthly snapshot counts and the indicators.

GET /api/v1/kpis?panel=CODE&from=YYYY-MM&to=YYYY-MM    GET /api/v1/kpis/equality?panel=CODE&month=YYYY-MM

For coordinators and analysts, over the panels the caller's agency takes part in. A month
without a snapshot has null counts, never 0; a series drawn from a category the caller reads
on none of the panels is null every month and the category is named in `withheld`.
"""

from __future__ import annotations

import datetime as dt

from flask import abort, g

from core import clock
from core.api import api, endpoint, request_args, shape
from equality import monitoring
from panels.jobs import add_months, month_start
from panels.kpis import SERIES, Period, compute, monthly, withheld_series
from panels.models import Panel
from panels.services import user_panels
from sharing import audit
from sharing.policy import current_policy

KPI_ROLES = ("coordinator", "analyst")
EARLIEST = dt.date(1900, 1, 1)  # the first month MONTH accepts
MONTH = {"type": "string", "pattern": "^(19|20)[0-9]{2}-(0[1-9]|1[0-2])$", "description": "A month, YYYY-MM"}
PANEL_CODE = {"type": "string", "pattern": "^[A-Z][A-Z0-9_-]{0,31}$", "description": "A panel's code"}
COUNT = {"type": ["integer", "null"], "minimum": 0}

KPI_MONTH = shape("KpiMonth", {
    "type": "object",
    "required": ["month", "cohort", "red", "amber", "green", "no_rag", "referrals", "exits", "final", "as_of"],
    "properties": {
        "month": MONTH,
        "cohort": {**COUNT, "description": "Cases not exited at the month's end (or when the snapshot was taken)"},
        "red": COUNT, "amber": COUNT, "green": COUNT, "no_rag": COUNT,
        "referrals": {**COUNT, "description": "Referred during the month"},
        "exits": {**COUNT, "description": "Exited during the month"},
        "final": {"type": ["boolean", "null"], "description": "False while the month is still running"},
        "as_of": {"type": ["string", "null"], "description": "The moment the counts describe (UTC)"},
    },
})
INDICATOR = shape("KpiIndicator", {
    "type": "object", "required": ["key", "label", "numerator", "denominator", "percent", "target", "met"],
    "properties": {
        "key": {"type": "string"}, "label": {"type": "string"},
        "numerator": {"type": "integer"}, "denominator": {"type": "integer"},
        "percent": {"type": ["number", "null"], "description": "null: nothing to measure (no data)"},
        "target": {"type": ["number", "null"]}, "met": {"type": ["boolean", "null"]},
    },
})
KPIS = shape("Kpis", {
    "type": "object", "required": ["panels", "from", "to", "months", "indicators", "overdue_actions", "withheld"],
    "properties": {
        "panels": {"type": "array", "items": {"type": "string"}}, "from": MONTH, "to": MONTH,
        "months": {"type": "array", "items": KPI_MONTH,
                   "description": "Every month from `from` to `to`, in order (none when `to` is before `from`)"},
        "indicators": {"type": "array", "items": INDICATOR},
        "overdue_actions": {"type": "integer", "minimum": 0},
        "withheld": {"type": "array", "items": {"type": "string"}},
    },
})
SMALL = {"oneOf": [{"type": "integer", "minimum": 5}, {"type": "string", "enum": ["<5", "*"]}],
         "description": "A count; \"<5\" for a count under 5, \"*\" hidden so that totals do not reveal another"}
RATIO = shape("EqualityRatio", {
    "type": "object", "required": ["ratio", "low", "high"],
    "properties": {"ratio": {"type": ["number", "null"]}, "low": {"type": ["number", "null"]},
                   "high": {"type": ["number", "null"]},
                   "cohort": SMALL, "population": {"type": "integer"}},
})
EQUALITY = shape("Equality", {
    "type": "object", "required": ["panel", "month", "total", "by", "ratio"],
    "properties": {
        "panel": {"type": "string"}, "month": MONTH, "as_of": {"type": ["string", "null"]},
        "total": SMALL,
        "by": {"type": "object", "additionalProperties": {"type": "object", "additionalProperties": SMALL}},
        "ratio": {"type": "object", "additionalProperties": RATIO,
                  "description": "Ethnic groups against the partnership's population baseline (95% interval)"},
        "ratios": {"type": "object", "additionalProperties": {"type": "object", "additionalProperties": RATIO},
                   "description": "By dimension (ethnicity, gender, age_band): each group against the baseline"},
        "basis": {"type": "string", "enum": ["stated", "all"]},
        "bases": {"type": "object", "additionalProperties": {"type": "string", "enum": ["stated", "all"]},
                  "description": "By dimension: shares of those with a stated value, or of all"},
        "rounded_to": {"type": "integer", "description": "Shown counts and the total are multiples of this"},
        "withheld": {"type": "boolean", "description": "True when the month's figures are withheld (every count "
                                                       "\"*\"): beside the last month shown they would point at "
                                                       "who joined or left"},
    },
})


def _require_role() -> None:
    if not g.user.has_role(*KPI_ROLES):
        audit.refused("api: KPIs need the coordinator or analyst role")
        abort(403, "KPIs are for coordinators and analysts")


def _month(value: str | None, default: dt.date) -> dt.date:
    return dt.date.fromisoformat(value + "-01") if value else default


def _panels(code: str | None) -> list[Panel]:
    panels = user_panels(current_policy())
    if code:
        panels = [p for p in panels if p.code == code]
        if not panels:
            abort(404, f"No panel {code[:20]} among the panels your agency takes part in")
    return panels


def _month_json(m: dict) -> dict:
    values = {k: m[k] for k in SERIES if k != "none"}
    return {"month": m["month"].strftime("%Y-%m"), **values, "no_rag": m["none"], "final": m["final"],
            "as_of": m["as_of"]}


@api.get("/kpis")
@endpoint("Monthly snapshot counts and the KPI indicators", tags=("kpis",),
          query={"panel": {**PANEL_CODE, "description": "One panel (default: all yours)"},
                 "from": {**MONTH, "description": "First month (default: 11 months before `to`)"},
                 "to": {**MONTH, "description": "Last month (default: this month)"}},
          responses={200: KPIS, 403: "Needs the coordinator or analyst role",
                     404: "No such panel among the caller's",
                     422: "panel, from or to not in the expected form"})
def kpis():
    _require_role()
    args = request_args()
    panels = _panels(args.get("panel"))
    today = clock.today()
    end = _month(args.get("to"), month_start(today))
    start = _month(args.get("from"), max(add_months(end, -11), EARLIEST))
    period = Period(start, min(add_months(end, 1) - dt.timedelta(days=1), max(today, start)))
    policy = current_policy()
    result = compute(panels, policy, period, today)  # indicators: up to today at the latest
    months = monthly([p.id for p in panels], policy, Period(start, end)) if panels else []
    return {
        "panels": [p.code for p in panels], "from": start.strftime("%Y-%m"), "to": end.strftime("%Y-%m"),
        "months": [_month_json(m) for m in months],
        "indicators": [{"key": k.key, "label": k.label, "numerator": k.numerator, "denominator": k.denominator,
                        "percent": k.percent, "target": k.target, "met": k.met} for k in result["kpis"]],
        "overdue_actions": result["overdue_actions"],
        "withheld": withheld_series([p.id for p in panels], policy),
    }


@api.get("/kpis/equality")
@endpoint("A panel's cohort by ethnicity, gender and age band, small numbers suppressed", tags=("kpis",),
          query={"panel": PANEL_CODE,
                 "month": {**MONTH, "description": "The month (default: this month, as the cohort stands)"}},
          required_query=("panel",),
          responses={200: EQUALITY, 403: "Needs the coordinator or analyst role, and identity read on the panel",
                     404: "No such panel among the caller's",
                     422: "panel or month not in the expected form, or the month in the future"})
def kpis_equality():
    _require_role()
    args = request_args()
    panel = _panels(args["panel"])[0]
    policy = current_policy()
    if not monitoring.may_see(panel, policy):
        audit.refused("api: equality monitoring needs identity read on the panel", panel=panel)
        abort(403, "Equality monitoring needs identity read on this panel under your agency's agreements")
    today = clock.today()
    month = _month(args.get("month"), month_start(today))
    if month > month_start(today):
        abort(422, "month: must not be in the future")
    report = monitoring.report(panel, month)
    monitoring.log_view(panel, month)
    return monitoring.as_json(report)
