"""A subject access report: everything held on one person, who received it, and the exports.

For the data protection officer only (role `dpo`), who reads every category on every panel
for this one purpose: the report is built inside `unsealed("subject access")` and making it
is logged as a disclosure of every category. Records are found from the schema (every table
pointing at the person's cases), so a feature added later is in the report without an edit.
Recipients come from the access log: each agency whose users viewed, changed, exported or
were shown the person, with the first and last time and the number of events.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from cohort.models import Case, Nominal
from core.extensions import db
from lifecycle.models import ExportRecord, ExportSubject
from sharing import audit, crypto
from sharing.crypto import CATEGORIES
from sharing.gateway import CONTACT_FIELDS, FIELD_CATEGORY, IDENTITY_FIELDS, unsealed
from sharing.queries import nominal_events

SKIP_COLUMNS = {"uid", "case_id"}


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="seconds") + "Z"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return None
    return value


def _encrypted_names(cls) -> list[str]:
    names = []
    for klass in cls.__mro__:
        names += [n for n, v in vars(klass).items() if isinstance(v, crypto.Encrypted) and n not in names]
    return names


def _row(obj) -> dict[str, Any]:
    """A row's plain columns and decrypted fields (ciphertext columns left out)."""
    out: dict[str, Any] = {}
    for column in obj.__table__.columns:
        if column.name in SKIP_COLUMNS or column.name.endswith("_enc"):
            continue
        out[column.name] = _plain(getattr(obj, column.key, None))
    for name in _encrypted_names(type(obj)):
        out[name] = _plain(getattr(obj, name))
    return out


def _case_tables() -> list[type]:
    """Mapped classes of every table with a foreign key to cases.id."""
    cases = Case.__table__
    out = []
    for mapper in db.Model.registry.mappers:
        table = mapper.local_table
        if table is cases or not hasattr(mapper.class_, "__table__"):
            continue
        if any(fk.column.table is cases for fk in table.foreign_keys):
            out.append(mapper.class_)
    return sorted(out, key=lambda c: c.__tablename__)


def _person(nominal: Nominal) -> dict[str, Any]:
    return {f: _plain(getattr(nominal, f)) for f in (*IDENTITY_FIELDS, *CONTACT_FIELDS)}


def _case(case: Case) -> dict[str, Any]:
    out = {"id": case.id, "panel": case.panel.code, "panel_name": case.panel.name, "ref": case.ref,
           "status": case.status}
    for field in FIELD_CATEGORY:
        if field in IDENTITY_FIELDS or field in CONTACT_FIELDS:
            continue
        value = getattr(case, field, None)
        if field in ("lead_agency", "referring_agency"):
            value = value.code if value is not None else None
        out[field] = _plain(value)
    records: dict[str, list] = {}
    for cls in _case_tables():
        column = next(c for c in cls.__table__.columns
                      if any(fk.column.table is Case.__table__ for fk in c.foreign_keys))
        rows = db.session.execute(select(cls).where(column == case.id)).scalars().all()
        if rows:
            records[cls.__tablename__] = [_row(r) for r in rows]
    out["records"] = records
    return out


def recipients(nominal_ids: list[int]) -> list[dict[str, Any]]:
    """Agencies the access log shows receiving the person (the auditor's "who has seen this
    nominal", list pages and files included): first, last and number of events allowed."""
    seen: dict[str, list] = {}
    for ev in nominal_events(nominal_ids):
        if ev.outcome != "allowed" or not ev.agency_code:
            continue
        row = seen.setdefault(ev.agency_code, [ev.at, ev.at, 0])
        row[0], row[1], row[2] = min(row[0], ev.at), max(row[1], ev.at), row[2] + 1
    return [{"agency": code, "first": _plain(first), "last": _plain(last), "events": n}
            for code, (first, last, n) in sorted(seen.items())]


def exports(nominal_id: int) -> list[dict[str, Any]]:
    rows = db.session.execute(
        select(ExportRecord).join(ExportSubject, ExportSubject.export_id == ExportRecord.id)
        .where(ExportSubject.nominal_id == nominal_id).order_by(ExportRecord.at, ExportRecord.id)
    ).unique().scalars().all()
    return [{"id": e.id, "at": _plain(e.at), "by": e.user.email, "agency": e.agency_code, "panel": e.panel.code,
             "kind": e.kind, "purpose": e.purpose, "destroy_by": _plain(e.destroy_by),
             "destroyed_at": _plain(e.destroyed_at)} for e in rows]


def report(nominal: Nominal, *, fmt: str = "json") -> dict[str, Any]:
    """The whole report (JSON-ready); logged as a disclosure of every category."""
    with unsealed("subject access"):
        cases = db.session.execute(select(Case).where(Case.nominal_id == nominal.id).order_by(Case.id)).scalars()
        merged = db.session.execute(select(Nominal).where(Nominal.merged_into_id == nominal.id)).scalars().all()
        out = {
            "nominal_id": nominal.id,
            "person": _person(nominal),
            "merged_records": [_person(m) for m in merged],
            "panels": [_case(c) for c in cases],
        }
    out["recipients"] = recipients([nominal.id, *(m.id for m in merged)])
    out["exports"] = exports(nominal.id)
    audit.record("disclose", nominal_id=nominal.id, categories=CATEGORIES, purpose="subject access request",
                 detail=f"subject access report ({fmt})")
    return out
