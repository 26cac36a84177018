"""The scheduler process: APScheduler running panels.jobs, never started at import.

`flask scheduler run` is the production shape (one process beside the web workers). The
dev server may run it in-process (START_SCHEDULER) — only the single `flask run` process,
never gunicorn workers, tests or the reloader's parent. Jobs carry fixed ids and
replace_existing=True, so configuring twice (a restart) never adds copies, and every job
catches up on start with what it missed while nothing ran.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
from typing import Any

from flask import Flask

from panels import jobs
from sharing.crypto import ensure_data_keys

log = logging.getLogger(__name__)
TIMEZONE = "Europe/London"

# (job id, panels.jobs name, trigger arguments)
SCHEDULE: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("panels.meetings", "meetings", {"trigger": "cron", "hour": 1, "minute": 5}),
    ("panels.agendas", "agendas", {"trigger": "interval", "minutes": 15}),
    ("panels.flags", "flags", {"trigger": "cron", "hour": 2, "minute": 10}),
    ("panels.reminders", "reminders", {"trigger": "cron", "hour": 6, "minute": 0}),
    ("panels.snapshots", "snapshots", {"trigger": "cron", "hour": 0, "minute": 30}),  # daily: the month so far
    ("cohort.dedupe", "dedupe", {"trigger": "cron", "hour": 3, "minute": 0}),
    ("notifications.send", "notifications", {"trigger": "interval", "minutes": 5}),
    ("lifecycle.retention", "retention", {"trigger": "cron", "hour": 2, "minute": 40}),
    ("lifecycle.export_reminders", "export_reminders", {"trigger": "cron", "hour": 7, "minute": 0}),
)


def run_job(app: Flask, name: str) -> int:
    """Run one job inside an application context; failures are logged, never raised."""
    with app.app_context():
        try:
            done = jobs.run_job(name)
            log.info("job %s done: %s unit(s)", name, done)
            return done
        except Exception:
            log.exception("job %s failed", name)
            return 0


def catch_up(app: Flask) -> dict[str, int]:
    """On start: every job once, so missed agendas, reminders and snapshots are made now."""
    return {name: run_job(app, name) for _, name, _ in SCHEDULE}


def configure(scheduler, app: Flask) -> None:
    """Register every job under its fixed id (re-registering replaces, never duplicates)."""
    for job_id, name, trigger in SCHEDULE:
        scheduler.add_job(
            run_job, args=[app, name], id=job_id, name=name, replace_existing=True, coalesce=True,
            max_instances=1, misfire_grace_time=3600, **trigger,
        )


def build_scheduler(app: Flask, *, blocking: bool = False):
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.schedulers.blocking import BlockingScheduler

    cls = BlockingScheduler if blocking else BackgroundScheduler
    scheduler = cls(timezone=TIMEZONE, job_defaults={"coalesce": True, "max_instances": 1})
    configure(scheduler, app)
    return scheduler


def run_forever(app: Flask) -> None:
    """`flask scheduler run`: catch up, then run the jobs until SIGTERM / Ctrl-C."""
    with app.app_context():
        ensure_data_keys()
    scheduler = build_scheduler(app, blocking=True)

    def _stop(signum, _frame):
        log.info("scheduler stopping (signal %s)", signum)
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, _stop)
    log.info("scheduler catching up")
    catch_up(app)
    log.info("scheduler started with %d jobs", len(scheduler.get_jobs()))
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        scheduler.start()


def _is_single_dev_server(app: Flask) -> bool:
    if app.testing or "gunicorn" in sys.modules:
        return False
    if os.environ.get("FLASK_RUN_FROM_CLI") != "true" or "run" not in sys.argv[1:]:
        return False
    # With the reloader, only the child that serves requests runs jobs.
    return not app.debug or os.environ.get("WERKZEUG_RUN_MAIN") == "true"


def maybe_start_in_process(app: Flask):
    """Start a background scheduler in the dev server when START_SCHEDULER is set; else None.

    Call from create_app after blueprints are registered.
    """
    wanted = app.config.get("START_SCHEDULER") or os.environ.get("START_SCHEDULER") in ("1", "true")
    if not wanted or not _is_single_dev_server(app) or app.extensions.get("panels_scheduler"):
        return None
    scheduler = build_scheduler(app)
    scheduler.start()
    scheduler.add_job(catch_up, args=[app], id="panels.catch_up", replace_existing=True)
    app.extensions["panels_scheduler"] = scheduler
    log.info("in-process scheduler started (development)")
    return scheduler
