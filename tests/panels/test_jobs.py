"""The scheduler's jobs: exactly once across concurrent schedulers, catch-up, no duplicate jobs."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from core import clock
from core.extensions import db
from panels import jobs
from panels.models import AgendaItem, JobRun, Meeting, Reminder, Snapshot
from sharing.models import AccessEvent
from tests.support import clock_at

ROOT = Path(__file__).resolve().parents[2]
# Each step passes at least one agenda generation date (IOM: 7 days before, MAPPA: 10).
STEPS = ["2026-11-25T09:00", "2026-11-30T09:00", "2027-01-04T09:00"]
EXPECTED = {"agenda:IOM:2026-12-02", "agenda:MAPPA:2026-12-10", "agenda:IOM:2027-01-06", "agenda:MAPPA:2027-01-14"}


@pytest.fixture
def cohort(make_case):
    for name in ("Ann", "Bob", "Cy"):
        make_case(given=name, rag="amber", last_engagement=dt.date(2026, 11, 1))
    make_case("MAPPA", given="Dee", rag="red", mappa_level=3)


def _generated_once(app):
    runs = db.session.execute(db.select(JobRun.key, db.func.count()).where(JobRun.job == "agenda")
                              .group_by(JobRun.key)).all()
    assert {k for k, _ in runs} == EXPECTED
    assert all(n == 1 for _, n in runs)
    events = db.session.execute(
        db.select(AccessEvent.detail).where(AccessEvent.detail.like("draft agenda generated%"))
    ).scalars().all()
    assert len(events) == len(EXPECTED)
    generated = db.session.execute(
        db.select(db.func.count(Meeting.id)).where(Meeting.agenda_generated_at.is_not(None))
    ).scalar()
    assert generated == len(EXPECTED)
    per_meeting = db.session.execute(
        db.select(AgendaItem.meeting_id, db.func.count()).group_by(AgendaItem.meeting_id)
    ).all()
    assert sorted(n for _, n in per_meeting) == [1, 1, 3, 3]


def test_two_schedulers_in_threads_generate_each_agenda_once(app, cohort):
    errors = []

    def worker(barrier):
        with app.app_context():
            try:
                barrier.wait()
                jobs.run_job("agendas")
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    for step in STEPS:
        clock.set_now(clock_at(step))
        barrier = threading.Barrier(2)
        threads = [threading.Thread(target=worker, args=(barrier,)) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert not errors
    db.session.expire_all()
    _generated_once(app)


def _tick(app, at: str) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "TRACKER_MASTER_KEY": app.config["TRACKER_MASTER_KEY"], "TRACKER_ENV": "test",
           "SECRET_KEY": app.config["SECRET_KEY"]}
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "scheduler", "tick", "--job", "agendas", "--at", at],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


@pytest.mark.slow
def test_two_scheduler_processes_generate_each_agenda_once(app, cohort):
    db.session.remove()
    for step in (STEPS[0], STEPS[2]):
        procs = [_tick(app, step), _tick(app, step)]
        for p in procs:
            out, err = p.communicate(timeout=120)
            assert p.returncode == 0, err[-2000:]
    clock.set_now(clock_at(STEPS[1]))
    jobs.run_job("agendas")  # the step both processes missed is caught up here
    db.session.expire_all()
    _generated_once(app)


def test_missed_runs_are_caught_up_on_start(app, cohort):
    from panels.scheduler import catch_up

    clock.set_now(clock_at("2027-01-05T08:00"))
    db.session.commit()
    result = catch_up(app)
    assert result["agendas"] == 2  # 6 Jan (IOM) and 14 Jan (MAPPA); December's meetings have passed
    keys = set(db.session.execute(db.select(JobRun.key).where(JobRun.job == "agenda")).scalars())
    assert keys == {"agenda:IOM:2027-01-06", "agenda:MAPPA:2027-01-14"}
    months = db.session.execute(db.select(Snapshot.month)).scalars().all()
    assert months == [dt.date(2027, 1, 1)] * 2
    again = catch_up(app)
    assert again.pop("retention") == 0 and again.pop("export_reminders") == 0  # lifecycle jobs: nothing due
    assert again == {"meetings": 0, "agendas": 0, "reminders": 0, "flags": 0, "snapshots": 0, "dedupe": 0,
                     **({"notifications": 0} if "notifications" in again else {})}


def test_restart_does_not_duplicate_jobs(app):
    from panels.scheduler import SCHEDULE, build_scheduler, configure

    scheduler = build_scheduler(app)
    scheduler.start(paused=True)
    try:
        configure(scheduler, app)  # what a restart (or a second configure) does
        configure(scheduler, app)
        ids = sorted(job.id for job in scheduler.get_jobs())
        assert ids == sorted(job_id for job_id, _, _ in SCHEDULE)
    finally:
        scheduler.shutdown(wait=False)


def test_in_process_scheduler_not_started_in_tests(app):
    from panels.scheduler import maybe_start_in_process

    app.config["START_SCHEDULER"] = True
    try:
        assert maybe_start_in_process(app) is None
    finally:
        app.config["START_SCHEDULER"] = False


def test_snapshots_monthly_and_missed_months(app, make_case):
    make_case(given="Ann", rag="red", referral_date=dt.date(2026, 11, 2))
    make_case(given="Bob", rag="green", referral_date=dt.date(2026, 3, 1))
    clock.set_now(clock_at("2026-12-01T06:00"))
    assert jobs.run_job("snapshots") == 2
    assert jobs.run_job("snapshots") == 0
    iom = db.session.execute(db.select(Snapshot).filter_by(panel_id=partnership_panel(app, "IOM"))).scalar_one()
    assert iom.month == dt.date(2026, 12, 1)
    assert iom.data["cohort"] == 2 and iom.data["rag"]["red"] == 1 and iom.data["rag"]["green"] == 1
    assert iom.data["referrals"] == 0 and iom.data["exits"] == 0  # December so far; Ann came in November
    assert iom.data["final"] is False
    clock.set_now(clock_at("2027-03-02T06:00"))
    assert jobs.run_job("snapshots") == 8  # December retaken as final, January, February, March so far
    db.session.expire_all()
    finals = {s.month: s.data["final"] for s in db.session.execute(db.select(Snapshot)).scalars()}
    assert finals[dt.date(2026, 12, 1)] and not finals[dt.date(2027, 3, 1)]
    assert "Ann" not in str([s.data for s in db.session.execute(db.select(Snapshot)).scalars()])


def partnership_panel(app, code):
    from panels.models import Panel

    return db.session.execute(db.select(Panel.id).filter_by(code=code)).scalar_one()


def test_isa_reminders_once_and_on_dashboard(app, partnership, login_as, client):
    clock.set_now(clock_at("2026-12-15T06:00"))
    assert jobs.run_job("reminders") == 1  # ISA-IOM-TEST review on 1 January 2027
    assert jobs.run_job("reminders") == 0
    reminder = db.session.execute(db.select(Reminder)).scalar_one()
    assert reminder.key == "isa:ISA-IOM-TEST:2027-01-01" and reminder.kind == "isa_review"
    login_as("coord")
    body = client.get("/").get_data(as_text=True)
    # shown once: the live warning, not repeated by the stored reminder
    assert body.count("ISA-IOM-TEST review is due on 1 January 2027") == 1
    assert "ISA-IOM-TEST is due for review" not in body


def test_nightly_flags(app, make_case, login_as, client):
    make_case(given="Quiet", rag="amber", last_engagement=None, next_review=dt.date(2026, 11, 1))
    assert jobs.run_job("flags") == 2  # one unit per panel per night
    assert jobs.run_job("flags") == 0
    flag = db.session.execute(db.select(Reminder).filter_by(kind="flags")).scalar_one()
    assert flag.message.startswith("IOM: 1 review(s) overdue; 1 with no engagement")
    assert "Quiet" not in flag.message
    login_as("police")
    assert "IOM: 1 review(s) overdue" in client.get("/").get_data(as_text=True)


def test_scheduler_tick_command(runner, partnership):
    result = runner.invoke(args=["scheduler", "tick", "--job", "meetings"])
    assert result.exit_code == 0, result.output
    assert '"meetings": 0' in result.output
    assert runner.invoke(args=["scheduler", "tick", "--job", "nope"]).exit_code == 1
