"""Tombstones, erasure runs and the export register.

A tombstone is what is left of an erased case: its old id, reference, panel and dates,
nothing about the person. An export record is one file or print that left the service:
who, when, why, until when, and (in `export_subjects`) whose records it held, so a subject
access request can list the exports that contained someone.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db

EXPORT_PURPOSES = (
    "panel_meeting", "case_management", "performance_report", "inspection_audit", "legal_request",
)
EXPORT_KINDS = ("csv", "xlsx", "print")


class ErasureRun(db.Model):
    """One `retention apply --commit` (or a re-application after a restore)."""

    __tablename__ = "erasure_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    today: Mapped[dt.date] = mapped_column(Date, nullable=False)
    source: Mapped[str] = mapped_column(String(32), nullable=False, default="command line")
    cases: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    nominals: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    rows: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    events: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class Tombstone(db.Model):
    """An erased case: ref, panel and dates only (CONTRACT.md "Details": retention)."""

    __tablename__ = "tombstones"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)  # the erased case's id
    case_uid: Mapped[str] = mapped_column(String(32), nullable=False, unique=True)
    panel_id: Mapped[int] = mapped_column(ForeignKey("panels.id"), nullable=False, index=True)
    ref: Mapped[str] = mapped_column(String(64), nullable=False)
    referral_date: Mapped[dt.date | None] = mapped_column(Date)
    exited_on: Mapped[dt.date | None] = mapped_column(Date)
    erased_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("erasure_runs.id"), index=True)

    panel = relationship("Panel", lazy="joined")


class ExportRecord(db.Model):
    """One export or print: who, when, why and the date it must be destroyed by."""

    __tablename__ = "export_records"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    agency_code: Mapped[str] = mapped_column(String(32), nullable=False, default="")
    panel_id: Mapped[int] = mapped_column(ForeignKey("panels.id"), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(8), nullable=False)
    purpose: Mapped[str] = mapped_column(String(32), nullable=False)
    purpose_note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    destroy_by: Mapped[dt.date] = mapped_column(Date, nullable=False, index=True)
    rows: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    reminded_on: Mapped[dt.date | None] = mapped_column(Date)
    destroyed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    user = relationship("User", lazy="joined")
    panel = relationship("Panel", lazy="joined")


class ExportSubject(db.Model):
    """A case (and its person) that an export held; erased with the case."""

    __tablename__ = "export_subjects"
    export_id: Mapped[int] = mapped_column(ForeignKey("export_records.id", ondelete="CASCADE"), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True, index=True)
    nominal_id: Mapped[int] = mapped_column(ForeignKey("nominals.id"), nullable=False, index=True)
