"""The export register: every export and print, who made it, when, why and until when.

No shadow lists: a file or print that leaves the service is recorded with its purpose
(chosen on export) and a destroy-by date, and the cases it held (`export_subjects`), so the
DPO sees every copy that may still exist, a subject access report lists the exports that
held the person, and the exporter is reminded when the date passes.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Iterable

from markupsafe import escape
from sqlalchemy import select

from cohort.models import Case
from core import clock
from core.extensions import db
from core.labels import label
from lifecycle.models import EXPORT_PURPOSES, ExportRecord, ExportSubject
from notifications import services as notify

DEFAULT_KEEP_DAYS = 30
MAX_KEEP_DAYS = 90
UNSTATED = "not_stated"


def default_destroy_by(today: dt.date | None = None) -> dt.date:
    return (today or clock.today()) + dt.timedelta(days=DEFAULT_KEEP_DAYS)


def check(purpose: str | None, destroy_by: dt.date | None, *, unstated_allowed: bool = False) -> list[str]:
    """Problems with a chosen purpose and destroy-by date (empty when both are fine).

    `unstated_allowed`: the contract's `flask cohort export` takes no purpose; its export is
    still made and registered, as "not stated", for the DPO to follow up.
    """
    out = []
    if purpose not in EXPORT_PURPOSES and not (unstated_allowed and purpose == UNSTATED):
        out.append(f"Choose why you are exporting (purpose: one of {', '.join(EXPORT_PURPOSES)})")
    today = clock.today()
    if destroy_by is None:
        out.append("Enter the date the copy will be destroyed by")
    elif destroy_by < today:
        out.append("The destroy-by date cannot be in the past")
    elif destroy_by > today + dt.timedelta(days=MAX_KEEP_DAYS):
        out.append(f"Keep a copy for at most {MAX_KEEP_DAYS} days")
    return out


def record_export(panel, user, *, kind: str, purpose: str, destroy_by: dt.date | None,
                  case_ids: Iterable[int], note: str = "") -> ExportRecord:
    """Register one export or print (flushes, in the request's transaction)."""
    rec = ExportRecord(
        at=clock.utcnow(), user_id=user.id, agency_code=user.agency.code if user.agency else "",
        panel_id=panel.id, kind=kind, purpose=purpose if purpose in EXPORT_PURPOSES else UNSTATED,
        purpose_note=(note or "")[:500], destroy_by=destroy_by or default_destroy_by(),
    )
    db.session.add(rec)
    db.session.flush()
    ids = sorted(set(case_ids))
    pairs = []
    for i in range(0, len(ids), 500):
        pairs += db.session.execute(select(Case.id, Case.nominal_id).where(Case.id.in_(ids[i:i + 500]))).all()
    if pairs:
        db.session.execute(ExportSubject.__table__.insert(),
                           [{"export_id": rec.id, "case_id": c, "nominal_id": n} for c, n in pairs])
    rec.rows = len(pairs)
    db.session.flush()
    return rec


def marking(rec: ExportRecord) -> str:
    """The words every export and print carries: who, when, why and destroy by."""
    when = rec.at.strftime("%-d %b %Y %H:%M UTC")
    kind = "Print" if rec.kind == "print" else "Export"
    return (f"{kind} no. {rec.id} by {rec.user.name} ({rec.agency_code}) on {when} for: {label(rec.purpose)}. "
            f"Destroy every copy by {rec.destroy_by.strftime('%-d %b %Y')}.")


def mark_xlsx(data: bytes, text: str) -> bytes:
    """The workbook with the marking as its document description and subject (File > Info)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            body = src.read(item.filename)
            if item.filename == "docProps/core.xml":
                marking = f"<dc:subject>{escape(text)}</dc:subject><dc:description>{escape(text)}</dc:description>"
                body = body.replace(b"</cp:coreProperties>", marking.encode() + b"</cp:coreProperties>")
            dst.writestr(item, body)
    return out.getvalue()


def filename(rec: ExportRecord, fmt: str) -> str:
    return (f"{rec.panel.code}-cohort-{rec.at.date().isoformat()}-export-{rec.id}"
            f"-destroy-by-{rec.destroy_by.isoformat()}.{fmt}")


def overdue(today: dt.date | None = None) -> list[ExportRecord]:
    """Exports past their destroy-by date that nobody has said are destroyed."""
    today = today or clock.today()
    return list(db.session.execute(
        select(ExportRecord).where(ExportRecord.destroy_by < today, ExportRecord.destroyed_at.is_(None))
        .order_by(ExportRecord.destroy_by, ExportRecord.id)
    ).scalars())


def send_reminders(today: dt.date | None = None) -> int:
    """Remind each exporter once when an export passes its destroy-by date (notifications)."""
    today = today or clock.today()
    count = 0
    for rec in overdue(today):
        if rec.reminded_on is not None:
            continue
        notify.queue(rec.user, "export_destroy_by", None, f"/exports/{rec.id}", key=f"export:{rec.id}",
                     detail=f"no. {rec.id} ({rec.panel.code})")
        rec.reminded_on = today
        count += 1
    db.session.flush()
    return count
