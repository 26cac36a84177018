"""Cohort export: a panel's cases as one viewer may see them, as CSV, XLSX or a print snapshot.

Columns follow the cohort file (exchange.spreadsheet.COLUMNS), so an export can be edited and
imported again; a column whose category the viewer may not read is left out altogether
(no placeholder), and where identity is withheld a "pseudonym" column stands in for the
names. After them come the tracker's information columns (issue 18), again only those the
viewer may read: status, lead officer, next review, flags and the count of open actions;
the importer reads them back and ignores them (exchange.spreadsheet.EXPORT_ONLY_COLUMNS).
Values come from the sharing gateway (cohort.serialise.case_dict, and the tracker's own
flag rule), the one place that decides what a viewer sees, so an export for an agency is
the same whatever the data its agreements withhold.

No shadow lists (issue 16): a file is made only with a purpose, is entered in the export
register first (lifecycle.register) and carries its marking inside — who, when, why and
the destroy-by date — as its last row (and, in a workbook, the printed page header and
the document properties). Each export or print also writes one access-log row.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func

from auth.models import Agency
from cohort.models import RAGS, Action, Case
from cohort.queries import FLAGS, case_flags, inclusion_overdue_ids, other_panel_codes
from cohort.serialise import case_dict
from core import clock
from core.extensions import db
from core.labels import label
from exchange.spreadsheet import COLUMNS, FIELD_CATEGORY, write_csv, write_xlsx
from lifecycle import register
from panels.models import Panel
from sharing import audit
from sharing.gateway import FIELD_CATEGORY as VIEW_CATEGORY
from sharing.policy import Policy

STATUSES = ("referred", "active", "paused", "exited")
PRINT_FIELDS = ("rag", "risk_level", "lead_agency", "lead_officer", "referral_date", "last_engagement",
                "next_review", "order_end_date")
# The print's column headings: the label table's short "print:" readings where it has them.
PRINT_LABELS = {f: label(f, "print") for f in (
    "rag", "risk_level", "lead_agency", "lead_officer", "referral_date", "last_engagement", "next_review",
    "order_end_date", "flags", "open_actions")}
FORMATS = {
    "csv": "text/csv",  # Flask adds "; charset=utf-8" to text types itself
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# The tracker's information columns, after the cohort file's: column -> the category a viewer
# must read (None: every party to the panel; flags are filtered one by one, as on the tracker).
INFO_COLUMNS: dict[str, str | None] = {
    "status": None, "lead_officer": "offending", "next_review": "risk", "flags": None, "open_actions": "offending",
}


@dataclass
class Export:
    """A made export: the bytes, how many cases it holds, and its register entry."""

    data: bytes
    rows: int
    record: Any  # lifecycle.models.ExportRecord


def panel_cases(panel: Panel, *, include_exited: bool = False) -> list[Case]:
    """The panel's cases in ref order (agencies preloaded so serialising costs no queries)."""
    db.session.execute(db.select(Agency)).scalars().all()
    stmt = db.select(Case).where(Case.panel_id == panel.id).order_by(Case.ref)
    if not include_exited:
        stmt = stmt.where(Case.status != "exited")
    return list(db.session.execute(stmt).scalars())


def export_columns(panel: Panel, policy: Policy) -> list[str]:
    """The cohort-file columns this viewer may read ("pseudonym" when identity is withheld), then
    the information columns it may read."""
    readable = policy.readable(panel.id)
    columns = ["ref"]
    if "identity" not in readable:
        columns.append("pseudonym")
    columns += [c for c in COLUMNS if c in FIELD_CATEGORY and FIELD_CATEGORY[c] in readable]
    columns += [c for c, category in INFO_COLUMNS.items() if category is None or category in readable]
    return columns


def export_table(panel: Panel, policy: Policy) -> tuple[list[str], list[list[Any]]]:
    """Header and rows of the panel's current (not exited) cohort as the viewer may see it."""
    columns = export_columns(panel, policy)
    rows, _shown, _ids = _export_rows(panel, policy, columns)
    return columns, rows


def open_action_counts(case_ids: list[int]) -> dict[int, int]:
    """case id -> open actions (one grouped query per 500 cases)."""
    out: dict[int, int] = {}
    for i in range(0, len(case_ids), 500):
        out.update(db.session.execute(
            db.select(Action.case_id, func.count(Action.id))
            .where(Action.case_id.in_(case_ids[i:i + 500]), Action.status == "open").group_by(Action.case_id)
        ).all())
    return out


def case_rows(panel: Panel, policy: Policy, cases: list[Case]) -> list[dict[str, Any]]:
    """Each case as the viewer may see it, with its information columns (through the gateway)."""
    readable = policy.readable(panel.id)
    today = clock.today()
    others = other_panel_codes([c.nominal_id for c in cases], panel.id, policy)
    actions = open_action_counts([c.id for c in cases]) if "offending" in readable else {}
    views = [case_dict(case, policy, json=False) for case in cases]
    overdue = inclusion_overdue_ids(panel, views, today, readable)
    out = []
    for case, seen in zip(cases, views, strict=True):
        seen["pseudonym"] = seen["name"]
        flags = [f for f in case_flags(case, today, case.nominal_id in others, case.id in overdue)
                 if FLAGS[f][1] in readable]
        seen["flags"] = "; ".join(FLAGS[f][0] for f in flags)
        if "offending" in readable:
            seen["open_actions"] = actions.get(case.id, 0)
        seen["status_label"] = label(case.status)
        out.append(seen)
    return out


def _export_rows(panel: Panel, policy: Policy, columns: list[str]) -> tuple[list[list[Any]], list[int], list[int]]:
    """The rows, the nominals they show (for the access log) and the cases (for the register)."""
    cases = panel_cases(panel)
    seen = case_rows(panel, policy, cases)
    rows = [[s["status_label"] if c == "status" else s.get(c) for c in columns] for s in seen]
    return rows, [c.nominal_id for c in cases], [c.id for c in cases]


def export_file(panel: Panel, policy: Policy, fmt: str, *, purpose: str, destroy_by: dt.date | None = None,
                note: str = "", source: str = "", unstated_allowed: bool = False) -> Export:
    """The export, registered (purpose required), marked inside and logged; formulas neutralised.

    `purpose` is one of lifecycle.models.EXPORT_PURPOSES (the caller checks it and says what is
    wrong: lifecycle.register.check); `source` says how it was asked for (the command line).
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    problems = register.check(purpose, destroy_by or register.default_destroy_by(), unstated_allowed=unstated_allowed)
    if problems:
        raise ValueError("; ".join(problems))
    columns = export_columns(panel, policy)
    rows, shown, case_ids = _export_rows(panel, policy, columns)
    rec = register.record_export(panel, policy.user, kind=fmt, purpose=purpose, destroy_by=destroy_by,
                                 case_ids=case_ids, note=note)
    marking = register.marking(rec)
    if fmt == "csv":
        data = write_csv(columns, rows, marking=marking)
    else:
        data = register.mark_xlsx(write_xlsx(columns, rows, sheet_title=panel.code, marking=marking), marking)
    why = f"{source}: " if source else ""
    audit.record("export", user=policy.user, panel=panel, categories=policy.readable(panel.id),
                 purpose=f"{why}export no. {rec.id}: {label(purpose)}", nominal_ids=shown,
                 detail=f"{fmt} export: {len(rows)} case(s), columns {', '.join(columns)}")
    return Export(data, len(rows), rec)


def export_filename(panel: Panel, fmt: str) -> str:
    return f"{panel.code}-cohort-{clock.today().isoformat()}.{fmt}"


def snapshot(panel: Panel, policy: Policy, *, purpose: str, destroy_by: dt.date | None = None) -> dict[str, Any]:
    """The monthly snapshot for printing: counts by status and RAG, and the current cohort with
    the information columns; registered (purpose required), with its marking; logged."""
    problems = register.check(purpose, destroy_by or register.default_destroy_by())
    if problems:
        raise ValueError("; ".join(problems))
    readable = policy.readable(panel.id)
    cases = panel_cases(panel, include_exited=True)
    status_counts = dict.fromkeys(STATUSES, 0)
    rag_counts = {**dict.fromkeys(RAGS, 0), "none": 0}
    current = []
    for case in cases:
        status_counts[case.status] = status_counts.get(case.status, 0) + 1
        if case.status == "exited":
            continue
        current.append(case)
        if "risk" in readable:
            rag_counts[case.rag or "none"] += 1
    rows = case_rows(panel, policy, current)
    order = {rag: i for i, rag in enumerate(RAGS)}
    rows.sort(key=lambda r: (order.get(r.get("rag") or "", len(RAGS)), r["ref"]))
    fields = [f for f in PRINT_FIELDS if VIEW_CATEGORY[f] in readable]
    fields += ["flags"] + (["open_actions"] if "offending" in readable else [])
    rec = register.record_export(panel, policy.user, kind="print", purpose=purpose, destroy_by=destroy_by,
                                 case_ids=[c.id for c in current])
    audit.record("print", user=policy.user, panel=panel, categories=readable,
                 nominal_ids=[c.nominal_id for c in current], purpose=f"print no. {rec.id}: {label(purpose)}",
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
        "record": rec,
        "marking": register.marking(rec),
    }
