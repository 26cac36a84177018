"""Scheduled jobs: plain functions of `now`, safe to run in several processes at once.

Each unit of work (one meeting's agenda, one panel's monthly snapshot) runs in its own
transaction guarded twice: a lock (PostgreSQL transaction-scoped advisory lock; on SQLite
the whole job holds a Lease row and every transaction takes the write lock at BEGIN) and
a JobRun row unique on (job, key), written in the same transaction as the work. So two
scheduler processes never do a unit twice, and a unit that failed or was missed is picked
up by the next run: every job looks back for what is still owed ("catch-up").
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import socket
from collections.abc import Callable

from sqlalchemy.exc import IntegrityError

from auth.models import User
from cohort.models import Case, RagChange
from core import clock
from core.db import immediate_transactions
from core.extensions import db
from notifications import jobs as notification_jobs
from notifications import services as notifications
from panels.agenda import NO_ENGAGEMENT_3M, NO_ENGAGEMENT_6M, generate_agenda
from panels.models import JobRun, Lease, Meeting, Panel, Reminder, Snapshot
from panels.services import ensure_meetings, system_user
from sharing import audit

log = logging.getLogger(__name__)
LEASE_SECONDS = 600
ISA_REVIEW_WARNING_DAYS = 30
ISA_EXPIRY_WARNING_DAYS = 60
HOLDER = f"{socket.gethostname()}:{os.getpid()}"


# -- time -------------------------------------------------------------------------------------

def london_date(now: dt.datetime) -> dt.date:
    """The Europe/London date of an instant (naive values are UTC, as stored)."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.UTC)
    return now.astimezone(clock.LONDON).date()


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(day: dt.date, n: int) -> dt.date:
    y, m = divmod(day.month - 1 + n, 12)
    return dt.date(day.year + y, m + 1, 1)


# -- locks ------------------------------------------------------------------------------------

def _is_postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _lock_key(name: str) -> int:
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


def try_xact_lock(name: str) -> bool:
    """PostgreSQL: a transaction-scoped advisory lock, or False when another holds it."""
    if not _is_postgres():
        return True  # SQLite: BEGIN IMMEDIATE already holds the database's write lock
    return bool(db.session.execute(db.text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": _lock_key(name)}).scalar())


def acquire_lease(name: str, holder: str = HOLDER) -> bool:
    """SQLite: take the named lease for a whole job run unless a live holder has it."""
    if _is_postgres():
        return True
    real_now = clock.utcnow()
    try:
        lease = db.session.get(Lease, name)
        if lease is not None and lease.holder != holder and lease.expires_at > real_now:
            db.session.rollback()
            return False
        if lease is None:
            lease = Lease(name=name, holder=holder, expires_at=real_now)
            db.session.add(lease)
        lease.holder = holder
        lease.expires_at = real_now + dt.timedelta(seconds=LEASE_SECONDS)
        db.session.commit()
        return True
    except IntegrityError:
        db.session.rollback()
        return False


def release_lease(name: str, holder: str = HOLDER) -> None:
    if _is_postgres():
        return
    db.session.rollback()
    lease = db.session.get(Lease, name)
    if lease is not None and lease.holder == holder:
        db.session.delete(lease)
    db.session.commit()


def run_once(job: str, key: str, work: Callable[[], str]) -> bool:
    """Do one unit of work exactly once across processes; True when this call did it."""
    db.session.rollback()
    try:
        if not try_xact_lock(f"{job}:{key}"):
            db.session.rollback()
            return False
        done = db.session.execute(db.select(JobRun.id).filter_by(job=job, key=key)).first()
        if done is not None:
            db.session.rollback()
            return False
        detail = work() or ""
        db.session.add(JobRun(job=job, key=key, ran_at=clock.utcnow(), detail=detail[:2000]))
        db.session.commit()
        return True
    except IntegrityError:
        db.session.rollback()  # another process finished the same unit first
        return False
    except Exception:
        db.session.rollback()
        log.exception("job %s unit %s failed; it will be retried on the next run", job, key)
        return False


def _system_user_id() -> int:
    db.session.rollback()
    try:
        uid = system_user().id
        db.session.commit()
        return uid
    except IntegrityError:
        db.session.rollback()
        return system_user().id


def _done_keys(job: str, keys: list[str]) -> set[str]:
    if not keys:
        return set()
    return set(db.session.execute(db.select(JobRun.key).where(JobRun.job == job, JobRun.key.in_(keys))).scalars())


# -- agendas ------------------------------------------------------------------------------------

def agenda_key(meeting: Meeting) -> str:
    return f"agenda:{meeting.panel.code}:{meeting.rule_date.isoformat()}"


def agendas_due(today: dt.date) -> list[Meeting]:
    """Upcoming meetings whose agenda generation date has come (or passed)."""
    meetings = db.session.execute(
        db.select(Meeting).join(Panel, Panel.id == Meeting.panel_id).where(
            Meeting.status == "scheduled", Meeting.date >= today, Panel.active.is_(True),
            Meeting.date <= today + dt.timedelta(days=366),
        ).order_by(Meeting.date)
    ).scalars().all()
    return [m for m in meetings if m.date - dt.timedelta(days=m.panel.agenda_days_before) <= today]


def run_agendas(now: dt.datetime) -> int:
    """Generate each due meeting's draft agenda once; catches up any that were missed."""
    today = london_date(now)
    if not acquire_lease("job:agendas"):
        return 0
    try:
        user_id = _system_user_id()
        due = agendas_due(today)
        done = _done_keys("agenda", [agenda_key(m) for m in due])
        pending = [(m.id, agenda_key(m)) for m in due if agenda_key(m) not in done]
        made = 0
        for meeting_id, key in pending:

            def work(meeting_id=meeting_id):
                meeting = db.session.get(Meeting, meeting_id)
                if meeting.status != "scheduled" or meeting.agenda_generated_at is not None:
                    return "already generated or published"
                items = generate_agenda(meeting)
                audit.record("create", user=db.session.get(User, user_id), panel=meeting.panel,
                             purpose="scheduler: agenda generation",
                             detail=f"draft agenda generated for meeting {meeting.id} ({len(items)} items)")
                return f"{len(items)} items"

            made += run_once("agenda", key, work)
        return made
    finally:
        release_lease("job:agendas")


# -- meetings -----------------------------------------------------------------------------------

def run_meetings(now: dt.datetime) -> int:
    """Keep 12 months of meetings ahead of every active panel."""
    today = london_date(now)
    db.session.rollback()
    created = 0
    try:
        if not try_xact_lock("job:meetings"):
            db.session.rollback()
            return 0
        for panel in db.session.execute(db.select(Panel).where(Panel.active.is_(True))).scalars():
            created += ensure_meetings(panel, today=today)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()  # another scheduler created them first
    return created


# -- reminders (ISA review / expiry) -------------------------------------------------------------

def run_reminders(now: dt.datetime) -> int:
    """A dashboard reminder ahead of each agreement's review and expiry date (once each)."""
    from sharing.models import Isa

    today = london_date(now)
    made = 0
    db.session.rollback()
    try:
        if not try_xact_lock("job:reminders"):
            db.session.rollback()
            return 0
        have = {(k, key) for k, key in db.session.execute(db.select(Reminder.kind, Reminder.key))}
        for isa in db.session.execute(db.select(Isa).where(Isa.status == "active")).scalars():
            wanted = []
            if isa.review and today <= isa.review <= today + dt.timedelta(days=ISA_REVIEW_WARNING_DAYS):
                wanted.append(("isa_review", isa.review, f"Agreement {isa.ref} is due for review on"))
            if today - dt.timedelta(days=7) <= isa.expires <= today + dt.timedelta(days=ISA_EXPIRY_WARNING_DAYS):
                verb = "expired on" if isa.expires <= today else "expires on"
                wanted.append(("isa_expiry", isa.expires, f"Agreement {isa.ref} {verb}"))
            for kind, when, text in wanted:
                key = f"isa:{isa.ref}:{when.isoformat()}"
                if (kind, key) in have:
                    continue
                db.session.add(Reminder(kind=kind, key=key, message=f"{text} {when.strftime('%-d %B %Y')}.",
                                        due=when, created_at=clock.utcnow()))
                notifications.queue(_admins(), kind, None, f"/agreements/{isa.id}", key=key, detail=isa.ref)
                have.add((kind, key))
                made += 1
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        made = 0
    return made


def _admins() -> list[User]:
    """Agreement reminders go to the partnership's administrators."""
    users = db.session.execute(db.select(User).where(User.active.is_(True), User.is_system.is_(False))).scalars()
    return [u for u in users if u.has_role("admin")]


# -- nightly flags ------------------------------------------------------------------------------

def panel_flags(panel_id: int, today: dt.date) -> dict[str, int]:
    """Counts only (no one is named): reviews overdue, no engagement for 3+ / 6+ months."""
    live = (Case.panel_id == panel_id) & (Case.status != "exited")
    count = db.func.count(Case.id)
    overdue = db.session.execute(db.select(count).where(live, Case.next_review < today)).scalar()
    quiet3 = db.session.execute(db.select(count).where(
        live, (Case.last_engagement.is_(None)) | (Case.last_engagement <= today - dt.timedelta(days=NO_ENGAGEMENT_3M))
    )).scalar()
    quiet6 = db.session.execute(db.select(count).where(
        live, (Case.last_engagement.is_(None)) | (Case.last_engagement <= today - dt.timedelta(days=NO_ENGAGEMENT_6M))
    )).scalar()
    return {"reviews_overdue": overdue or 0, "no_engagement_3m": quiet3 or 0, "no_engagement_6m": quiet6 or 0}


def run_flags(now: dt.datetime) -> int:
    """Each night, one reminder per panel with its engagement and review-due counts."""
    today = london_date(now)
    made = 0
    for panel_id, code in db.session.execute(db.select(Panel.id, Panel.code).where(Panel.active.is_(True))).all():

        def work(panel_id=panel_id, code=code):
            flags = panel_flags(panel_id, today)
            if not any(flags.values()):
                return "nothing to flag"
            for old in db.session.execute(
                db.select(Reminder).where(Reminder.kind == "flags", Reminder.key.like(f"{code}:%"),
                                          Reminder.dismissed_at.is_(None))
            ).scalars():
                old.dismissed_at = clock.utcnow()
            message = (f"{code}: {flags['reviews_overdue']} review(s) overdue; "
                       f"{flags['no_engagement_3m']} with no engagement for 3+ months "
                       f"({flags['no_engagement_6m']} for 6+ months).")
            db.session.add(Reminder(kind="flags", key=f"{code}:{today.isoformat()}", message=message, due=today,
                                    created_at=clock.utcnow()))
            return message

        made += run_once("flags", f"flags:{code}:{today.isoformat()}", work)
    return made


# -- monthly snapshots ----------------------------------------------------------------------------

def _utc_naive(now: dt.datetime) -> dt.datetime:
    return now if now.tzinfo is None else now.astimezone(dt.UTC).replace(tzinfo=None)


def month_end_utc(month: dt.date) -> dt.datetime:
    """The last instant of a London month, as a naive UTC datetime (how timestamps are stored)."""
    start = dt.datetime.combine(add_months(month, 1), dt.time(), clock.LONDON)
    return start.astimezone(dt.UTC).replace(tzinfo=None) - dt.timedelta(microseconds=1)


def _on_panel_at(r, as_of: dt.datetime, day: dt.date) -> bool:
    """On the panel at `as_of`: entered by then (referral date, or the record's creation) and not exited."""
    entered = r.created_at <= as_of or (r.referral_date is not None and r.referral_date <= day)
    if r.exited_on is not None:
        return entered and r.exited_on > day
    return entered and r.status != "exited"


def _rag_at(panel_id: int, current: dict[int, str | None], as_of: dt.datetime) -> dict[int, str | None]:
    """Each case's RAG at `as_of` from its history: the last change by then, else what the first later
    change changed from (None: the service held no RAG yet), else the RAG it has now."""
    history: dict[int, list] = {}
    for case_id, at, from_rag, to_rag in db.session.execute(
        db.select(RagChange.case_id, RagChange.at, RagChange.from_rag, RagChange.to_rag)
        .join(Case, Case.id == RagChange.case_id)
        .where(Case.panel_id == panel_id)
        .order_by(RagChange.at, RagChange.id)
    ):
        history.setdefault(case_id, []).append((at, from_rag, to_rag))
    out = dict(current)
    for case_id, changes in history.items():
        if case_id in out:
            before = [c for c in changes if c[0] <= as_of]
            out[case_id] = before[-1][2] if before else changes[0][1]
    return out


def snapshot_data(panel_id: int, month: dt.date, now: dt.datetime | None = None) -> dict:
    """The panel as it stood at the end of `month`, or now if the month has not ended (counts only).

    `cohort` is the cases not exited at that moment (CONTRACT.md), the same set the tracker
    counts, so a snapshot taken now equals the tracker now; `final` is true once the month
    has ended, and a provisional snapshot is retaken until then.
    """
    now = _utc_naive(now or clock.utcnow())
    as_of = min(month_end_utc(month), now)
    day = london_date(as_of)
    rows = db.session.execute(
        db.select(Case.id, Case.nominal_id, Case.status, Case.rag, Case.referral_date, Case.exited_on,
                  Case.created_at).where(Case.panel_id == panel_id)
    ).all()
    in_cohort = [r for r in rows if _on_panel_at(r, as_of, day)]
    rag = {k: 0 for k in ("red", "amber", "green", "none")}
    if in_cohort:
        for value in _rag_at(panel_id, {r.id: r.rag for r in in_cohort}, as_of).values():
            rag[value if value in rag else "none"] += 1
    status: dict[str, int] = {}
    for r in in_cohort:
        s = "active" if r.status == "exited" else r.status
        status[s] = status.get(s, 0) + 1
    nominals = {r.nominal_id for r in in_cohort}
    overlaps: set[int] = set()
    if nominals:
        others = db.session.execute(
            db.select(Case.nominal_id, Case.status, Case.referral_date, Case.exited_on, Case.created_at)
            .where(Case.nominal_id.in_(nominals), Case.panel_id != panel_id)
        ).all()
        overlaps = {r.nominal_id for r in others if _on_panel_at(r, as_of, day)}
    return {
        "cohort": len(in_cohort),
        "rag": rag,
        "status": status,
        "referrals": sum(1 for r in rows if r.referral_date and month <= r.referral_date <= day),
        "exits": sum(1 for r in rows if r.exited_on and month <= r.exited_on <= day),
        "overlaps": len(overlaps),
        "as_of": as_of.isoformat(timespec="seconds") + "Z",
        "final": as_of < now,
    }


def take_snapshot(panel_id: int, month: dt.date, now: dt.datetime | None = None) -> Snapshot:
    """Take or retake one panel's snapshot of `month` (the caller commits)."""
    data = snapshot_data(panel_id, month, now)
    row = db.session.execute(db.select(Snapshot).filter_by(panel_id=panel_id, month=month)).scalar_one_or_none()
    if row is None:
        row = Snapshot(panel_id=panel_id, month=month, data=data, created_at=clock.utcnow())
        db.session.add(row)
    else:
        row.data, row.created_at = data, clock.utcnow()
    return row


def snapshot_months(panel_id: int, today: dt.date) -> list[dt.date]:
    """This month, plus every month since the panel's last final snapshot (missed or provisional)."""
    current = month_start(today)
    taken = db.session.execute(
        db.select(Snapshot.month, Snapshot.data).where(Snapshot.panel_id == panel_id, Snapshot.month <= current)
    ).all()
    finals = [m for m, data in taken if (data or {}).get("final")]
    first = add_months(max(finals), 1) if finals else min([m for m, _ in taken] + [current])
    months, m = [], first
    while m <= current:
        months.append(m)
        m = add_months(m, 1)
    return months


def backfill_snapshots(months: int = 12, now: dt.datetime | None = None) -> int:
    """Every active panel's snapshots for the last `months` months (ended ones final), as a
    partnership running the service all year would have them; for the demo's year of history."""
    today = london_date(_utc_naive(now or clock.utcnow()))
    first = add_months(month_start(today), -(months - 1))
    made = 0
    for (panel_id,) in db.session.execute(db.select(Panel.id).where(Panel.active.is_(True))).all():
        for i in range(months):
            take_snapshot(panel_id, add_months(first, i), now)
            made += 1
    return made


def run_snapshots(now: dt.datetime) -> int:
    """Each panel's snapshots: ended months taken once as final, the current month once a day."""
    today = london_date(now)
    made = 0
    panels = db.session.execute(db.select(Panel.id, Panel.code).where(Panel.active.is_(True))).all()
    for panel_id, code in panels:
        for month in snapshot_months(panel_id, today):
            final = month < month_start(today)
            key = f"snapshot:{code}:{month.isoformat()}:" + ("final" if final else today.isoformat())

            def work(panel_id=panel_id, month=month):
                return f"cohort {take_snapshot(panel_id, month, now).data['cohort']}"

            made += run_once("snapshot", key, work)
    return made


def run_dedupe(now: dt.datetime) -> int:
    """The nightly cross-panel duplicate check (cohort owns it; the schedule lives here)."""
    from duplicates.jobs import nightly_dedupe

    return nightly_dedupe(now)


def run_retention(now: dt.datetime) -> int:
    """Nightly erasure of what is past its retention period (lifecycle owns it)."""
    from lifecycle.jobs import run_retention as erase  # lifecycle imports this module: import at call

    return erase(now)


def run_export_reminders(now: dt.datetime) -> int:
    """Tell exporters whose copies passed their destroy-by date (lifecycle owns it)."""
    from lifecycle.jobs import run_export_reminders as remind  # as above

    return remind(now)


JOBS: dict[str, Callable[[dt.datetime], int]] = {
    "meetings": run_meetings,
    "agendas": run_agendas,
    "reminders": run_reminders,
    "flags": run_flags,
    "snapshots": run_snapshots,
    "dedupe": run_dedupe,
    "notifications": notification_jobs.run,
    "retention": run_retention,
    "export_reminders": run_export_reminders,
}


def run_job(name: str, now: dt.datetime | None = None) -> int:
    """One job, with SQLite transactions taking the write lock at BEGIN (no lock upgrades)."""
    with immediate_transactions():
        try:
            return JOBS[name](now or clock.utcnow())
        finally:
            db.session.rollback()


def run_all(now: dt.datetime | None = None) -> dict[str, int]:
    """Every job once, in dependency order (meetings before their agendas)."""
    return {name: run_job(name, now) for name in JOBS}
