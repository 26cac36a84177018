"""Cohort export: a panel's cases as one viewer may see them, as CSV, XLSX or a print snapshot.

Columns follow the cohort file (cohort.spreadsheet.COLUMNS), so an export can be edited and
imported again; a column whose category the viewer may not read is left out altogether
(no placeholder, no comment line), and where identity is withheld a "pseudonym" column
stands in for the names. Values come from cohort.serialise.case_dict, the one place that
decides what a viewer sees. Each export or print writes one access-log row.
"""

from __future__ import annotations

from typing import Any

from auth.models import Agency
from cohort.models import RAGS, Case
from cohort.serialise import case_dict
from cohort.spreadsheet import COLUMNS, FIELD_CATEGORY, write_csv, write_xlsx
from core import clock
from core.extensions import db
from panels.models import Panel
from sharing import audit
from sharing.policy import Policy

STATUSES = ("referred", "active", "paused", "exited")
PRINT_FIELDS = ("rag", "risk_level", "lead_agency", "referral_date", "last_engagement", "order_end_date")
PRINT_LABELS = {
    "rag": "RAG", "risk_level": "Risk of serious harm", "lead_agency": "Lead agency",
    "referral_date": "Referred", "last_engagement": "Last engagement", "order_end_date": "Order ends",
}
FORMATS = {
    "csv": "text/csv",  # Flask adds "; charset=utf-8" to text types itself
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def panel_cases(panel: Panel, *, include_exited: bool = False) -> list[Case]:
    """The panel's cases in ref order (agencies preloaded so serialising costs no queries)."""
    db.session.execute(db.select(Agency)).scalars().all()
    stmt = db.select(Case).where(Case.panel_id == panel.id).order_by(Case.ref)
    if not include_exited:
        stmt = stmt.where(Case.status != "exited")
    return list(db.session.execute(stmt).scalars())


def export_columns(panel: Panel, policy: Policy) -> list[str]:
    """The cohort-file columns this viewer may read, with "pseudonym" when identity is withheld."""
    readable = policy.readable(panel.id)
    columns = ["ref"]
    if "identity" not in readable:
        columns.append("pseudonym")
    columns += [c for c in COLUMNS if c in FIELD_CATEGORY and FIELD_CATEGORY[c] in readable]
    return columns


def export_table(panel: Panel, policy: Policy) -> tuple[list[str], list[list[Any]]]:
    """Header and rows of the panel's current (not exited) cohort as the viewer may see it."""
    columns = export_columns(panel, policy)
    rows, _shown = _export_rows(panel, policy, columns)
    return columns, rows


def _export_rows(panel: Panel, policy: Policy, columns: list[str]) -> tuple[list[list[Any]], list[int]]:
    """The rows, and the nominals they show (for the access log)."""
    rows, shown = [], []
    for case in panel_cases(panel):
        seen = case_dict(case, policy, json=False)
        seen["pseudonym"] = seen["name"]
        rows.append([seen.get(c) for c in columns])
        shown.append(case.nominal_id)
    return rows, shown


def export_file(panel: Panel, policy: Policy, fmt: str, *, purpose: str | None = None) -> tuple[bytes, int]:
    """The export as bytes (CSV or XLSX, formulas neutralised) and its row count; logged."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    columns = export_columns(panel, policy)
    rows, shown = _export_rows(panel, policy, columns)
    data = write_csv(columns, rows) if fmt == "csv" else write_xlsx(columns, rows, sheet_title=panel.code)
    audit.record("export", user=policy.user, panel=panel, categories=policy.readable(panel.id), purpose=purpose,
                 nominal_ids=shown, detail=f"{fmt} export: {len(rows)} case(s), columns {', '.join(columns)}")
    return data, len(rows)


def export_filename(panel: Panel, fmt: str) -> str:
    return f"{panel.code}-cohort-{clock.today().isoformat()}.{fmt}"


def snapshot(panel: Panel, policy: Policy) -> dict[str, Any]:
    """The monthly snapshot for printing: counts by status and RAG, and the current cohort; logged."""
    readable = policy.readable(panel.id)
    cases = panel_cases(panel, include_exited=True)
    status_counts = dict.fromkeys(STATUSES, 0)
    rag_counts = {**dict.fromkeys(RAGS, 0), "none": 0}
    rows, shown = [], []
    for case in cases:
        status_counts[case.status] = status_counts.get(case.status, 0) + 1
        if case.status == "exited":
            continue
        seen = case_dict(case, policy, json=False)
        rows.append(seen)
        shown.append(case.nominal_id)
        if "risk" in readable:
            rag_counts[case.rag or "none"] += 1
    order = {rag: i for i, rag in enumerate(RAGS)}
    rows.sort(key=lambda r: (order.get(r.get("rag") or "", len(RAGS)), r["ref"]))
    fields = [f for f in PRINT_FIELDS if FIELD_CATEGORY[f] in readable]
    audit.record("print", user=policy.user, panel=panel, categories=readable, nominal_ids=shown,
                 detail=f"monthly snapshot: {len(rows)} current case(s)")
    return {
        "rows": rows,
        "fields": fields,
        "labels": PRINT_LABELS,
        "status_counts": status_counts,
        "rag_counts": rag_counts if "risk" in readable else None,
        "generated_at": clock.utcnow(),
        "withheld_message": policy.withheld_message(panel.id),
        "total": len(rows),
    }
