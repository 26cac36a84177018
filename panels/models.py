"""Panels, their meetings, agendas, attendance and outcomes; snapshots and job guards."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db
from core.models import TimestampMixin, UidMixin
from sharing.crypto import Encrypted

BANK_HOLIDAY_POLICIES = ("ignore", "skip", "next_working_day", "previous_working_day")
REGIONS = ("england_and_wales", "scotland", "northern_ireland")
MEETING_STATUSES = ("scheduled", "published", "closed", "cancelled")
ATTENDANCE = ("present", "by_report", "apologies", "absent")
DEFAULT_REVIEW_DAYS = {"default": 28, "mappa_level_3": 42, "mappa_level_2": 84, "visor": 122}


class Panel(TimestampMixin, db.Model):
    __tablename__ = "panels"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False, default="IOM")
    chair_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    schedule: Mapped[str] = mapped_column(String(200), nullable=False)
    time: Mapped[str] = mapped_column(String(5), nullable=False, default="10:00")
    place: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    bank_holidays: Mapped[str] = mapped_column(String(32), nullable=False, default="next_working_day")
    region: Mapped[str] = mapped_column(String(32), nullable=False, default="england_and_wales")
    agenda_days_before: Mapped[int] = mapped_column(Integer, nullable=False, default=7)
    review_days: Mapped[dict] = mapped_column(JSON, nullable=False, default=lambda: dict(DEFAULT_REVIEW_DAYS))
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    # Agenda capacity: meeting_minutes // minutes_per_case items for discussion (CONTRACT.md).
    meeting_minutes: Mapped[int] = mapped_column(Integer, nullable=False, default=120, server_default="120")
    minutes_per_case: Mapped[int] = mapped_column(Integer, nullable=False, default=10, server_default="10")
    # {red: 28, amber: 56, green: 84} or {level3: 42, level2: 84}; falls back to review_days.
    review_interval_days: Mapped[dict | None] = mapped_column(JSON)
    # "Should this person still be on this panel?" decision due this many days after the last.
    inclusion_review_days: Mapped[int | None] = mapped_column(Integer)
    # Days after a case's exit until its data on this panel is erased (lifecycle.retention); None: not set.
    retention_days_after_exit: Mapped[int | None] = mapped_column(Integer)
    # The referral form's criteria: [{name, label, type: bool|int|choice|text, choices?, required?}].
    referral_criteria: Mapped[list | None] = mapped_column(JSON)

    chair = relationship("Agency", lazy="joined")

    def review_interval(self, mappa_level: int | None = None) -> int:
        days = {**DEFAULT_REVIEW_DAYS, **(self.review_days or {})}
        if mappa_level == 3:
            return int(days["mappa_level_3"])
        if mappa_level == 2:
            return int(days["mappa_level_2"])
        return int(days["default"])

    @property
    def capacity(self) -> int:
        """How many cases a sitting can discuss."""
        return max(1, int(self.meeting_minutes or 120) // max(1, int(self.minutes_per_case or 10)))

    def interval_for(self, rag: str | None, mappa_level: int | None, mappa_category: int | None = None) -> int:
        """Days to the next review: the MAPPA level's interval, else the RAG's, else review_days."""
        intervals = self.review_interval_days or {}
        if mappa_level and f"level{mappa_level}" in intervals:
            return int(intervals[f"level{mappa_level}"])
        if rag and rag in intervals:
            return int(intervals[rag])
        days = self.review_interval(mappa_level)
        if mappa_category == 2:
            days = min(days, int({**(self.review_days or {})}.get("visor", 122)))
        return days

    def __repr__(self) -> str:
        return f"<Panel {self.code}>"


class Meeting(UidMixin, TimestampMixin, db.Model):
    """One sitting. `rule_date` is what the RRULE gives (the idempotency key); `date` is
    where it actually falls after a bank-holiday move or a coordinator's move."""

    __tablename__ = "meetings"
    __table_args__ = (UniqueConstraint("panel_id", "rule_date"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    panel_id: Mapped[int] = mapped_column(ForeignKey("panels.id"), nullable=False, index=True)
    rule_date: Mapped[dt.date] = mapped_column(Date, nullable=False)
    date: Mapped[dt.date] = mapped_column(Date, nullable=False, index=True)
    time: Mapped[str] = mapped_column(String(5), nullable=False, default="10:00")
    place: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="scheduled")
    change_reason: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    agenda_generated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    minutes_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    sequence: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    reopened_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    reopen_reason: Mapped[str] = mapped_column(String(500), nullable=False, default="", server_default="")
    # The executive summary: written to be shared with every agency taking part, so it is
    # shown to all of them (panels.meetings.executive_summary), unlike the minutes.
    summary_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    summary_updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    minutes = Encrypted("meeting")
    summary = Encrypted("meeting")
    panel = relationship("Panel", lazy="joined")
    items: Mapped[list[AgendaItem]] = relationship(
        back_populates="meeting", order_by="AgendaItem.position", cascade="all, delete-orphan"
    )
    attendance: Mapped[list[Attendance]] = relationship(back_populates="meeting", cascade="all, delete-orphan")
    attendees: Mapped[list[Attendee]] = relationship(back_populates="meeting", cascade="all, delete-orphan",
                                                     order_by="Attendee.id")


class AgendaItem(UidMixin, db.Model):
    __tablename__ = "agenda_items"
    __table_args__ = (UniqueConstraint("meeting_id", "case_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), nullable=False)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), nullable=False, index=True)
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    reasons: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    added_manually: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # Outcome, recorded at the meeting and applied to the case when the meeting closes.
    rag_decision: Mapped[str | None] = mapped_column(String(8))
    rationale_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    next_review: Mapped[dt.date | None] = mapped_column(Date)
    disclosure_considered: Mapped[bool | None] = mapped_column(Boolean)
    disclosure_decision_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    disclosure_reason_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    discussed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # Who recorded the risk decision: it lands on the case as theirs, with their grants.
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # For discussion (within capacity) or listed for information only.
    for_discussion: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True, server_default="1")
    # Bumped by every recorded outcome; closing lands an item only when its outcome changed
    # since it was last applied (a reopened meeting re-closes only what changed).
    outcome_version: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    applied_version: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    # Inclusion review decision recorded at the meeting: "keep" or "remove".
    inclusion_decision: Mapped[str | None] = mapped_column(String(8))

    rationale = Encrypted("risk")
    disclosure_decision = Encrypted("risk")
    disclosure_reason = Encrypted("risk")
    meeting: Mapped[Meeting] = relationship(back_populates="items")
    case = relationship("Case", lazy="joined")


class Attendance(db.Model):
    __tablename__ = "attendance"
    __table_args__ = (UniqueConstraint("meeting_id", "agency_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), nullable=False)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)

    meeting: Mapped[Meeting] = relationship(back_populates="attendance")
    agency = relationship("Agency", lazy="joined")


class Attendee(db.Model):
    """A named person attending for an agency; each acknowledges the confidentiality statement."""

    __tablename__ = "attendees"
    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), nullable=False,
                                            index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    role: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    acknowledged_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)

    meeting: Mapped[Meeting] = relationship(back_populates="attendees")
    agency = relationship("Agency", lazy="joined")


class ActionUpdate(UidMixin, db.Model):
    """An owner's status report on an action before a meeting (done / in progress / could
    not / not done); the history shows repeated non-completion to the coordinator."""

    __tablename__ = "action_updates"
    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("actions.id", ondelete="CASCADE"), nullable=False, index=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note_enc: Mapped[bytes | None] = mapped_column(LargeBinary)

    note = Encrypted("offending")


class Referral(UidMixin, TimestampMixin, db.Model):
    """A referral to a panel awaiting the coordinator's decision (accept / reject / defer).

    The criteria answers and the reason are risk information (encrypted); the DASH score and
    whether it repeats a referral within 12 months are plain so the agenda can rank on them.
    """

    __tablename__ = "referrals"
    id: Mapped[int] = mapped_column(primary_key=True)
    panel_id: Mapped[int] = mapped_column(ForeignKey("panels.id"), nullable=False, index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), nullable=False, index=True)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="awaiting_decision", index=True)
    referred_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    referred_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    dash_score: Mapped[int | None] = mapped_column(Integer)
    repeat_within_12m: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    criteria_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    decision_reason_enc: Mapped[bytes | None] = mapped_column(LargeBinary)

    reason = Encrypted("risk")
    criteria = Encrypted("risk")  # JSON text of {name: value}
    decision_reason = Encrypted("risk")
    panel = relationship("Panel", lazy="joined")
    case = relationship("Case")


class InclusionReview(UidMixin, db.Model):
    """A recorded decision that a person still meets the panel's criteria, or is removed."""

    __tablename__ = "inclusion_reviews"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), nullable=False, index=True)
    decided_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    decision: Mapped[str] = mapped_column(String(8), nullable=False)  # keep | remove
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meetings.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason_enc: Mapped[bytes | None] = mapped_column(LargeBinary)

    reason = Encrypted("offending")


class Snapshot(db.Model):
    """Counts for a panel at the start of a month: the KPI history (no personal data)."""

    __tablename__ = "snapshots"
    __table_args__ = (UniqueConstraint("panel_id", "month"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    panel_id: Mapped[int] = mapped_column(ForeignKey("panels.id"), nullable=False)
    month: Mapped[dt.date] = mapped_column(Date, nullable=False)
    data: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)


class JobRun(db.Model):
    """A job's unit of work done once: unique (job, key), e.g. ("agenda", "IOM:2026-12-02")."""

    __tablename__ = "job_runs"
    __table_args__ = (UniqueConstraint("job", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(64), nullable=False)
    key: Mapped[str] = mapped_column(String(200), nullable=False)
    ran_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    detail: Mapped[str] = mapped_column(Text, nullable=False, default="")


class Lease(db.Model):
    """A named lease row: the SQLite stand-in for a PostgreSQL advisory lock."""

    __tablename__ = "leases"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(100), nullable=False)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)


class Reminder(db.Model):
    """A dashboard warning raised by a job (ISA review/expiry, overdue reviews)."""

    __tablename__ = "reminders"
    __table_args__ = (UniqueConstraint("kind", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    key: Mapped[str] = mapped_column(String(200), nullable=False)
    message: Mapped[str] = mapped_column(Text, nullable=False)
    due: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    dismissed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
