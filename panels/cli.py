"""`flask panels ...` (schedules, meetings) and `flask scheduler ...` (the job process)."""

from __future__ import annotations

import datetime as dt
import json
import sys

import click
from flask import current_app
from flask.cli import AppGroup

from core import clock
from core.extensions import db
from panels import jobs
from panels.jobs import month_start, take_snapshot
from panels.models import Panel
from panels.scheduler import build_scheduler, run_forever
from panels.services import panel_by_code, planned_dates

panels_cli = AppGroup("panels", help="Panel schedules and meetings.")
scheduler_cli = AppGroup("scheduler", help="The scheduler process: agendas, reminders, snapshots.")
kpis_cli = AppGroup("kpis", help="KPI snapshots.")


def _panel_or_exit(code: str):
    panel = panel_by_code(code)
    if panel is None:
        click.echo(f"No panel with code {code!r}.", err=True)
        sys.exit(1)
    return panel


def next_dates(panel, start: dt.date, count: int) -> list[dt.date]:
    """The next `count` meeting dates on or after `start`, after the bank-holiday policy."""
    days = max(400, 40 * count)
    while True:
        found = sorted(o.date for o in planned_dates(panel, start, start + dt.timedelta(days=days)) if o.date)
        found = [d for d in found if d >= start]
        if len(found) >= count or days > 366 * 50:
            return found[:count]
        days *= 2


@panels_cli.command("schedule")
@click.argument("code")
@click.option("--from", "start", default=None, help="First date to consider (YYYY-MM-DD); default today.")
@click.option("--count", default=12, show_default=True, type=click.IntRange(1, 500))
def schedule_command(code: str, start: str | None, count: int) -> None:
    """Print the next COUNT meeting dates of panel CODE as a JSON list of ISO dates."""
    panel = _panel_or_exit(code)
    try:
        first = dt.date.fromisoformat(start) if start else clock.today()
    except ValueError:
        click.echo(f"--from: {start!r} is not a date (use YYYY-MM-DD).", err=True)
        sys.exit(1)
    click.echo(json.dumps([d.isoformat() for d in next_dates(panel, first, count)]))


@panels_cli.command("ensure-meetings")
def ensure_meetings_command() -> None:
    """Create any missing meetings for the next 12 months on every panel."""
    click.echo(f"Created {jobs.run_job('meetings')} meeting(s).")


@scheduler_cli.command("run")
def scheduler_run() -> None:
    """Run the scheduler until stopped (catches up on missed runs first)."""
    click.echo("Scheduler running; stop with Ctrl-C.")
    run_forever(current_app._get_current_object())


@scheduler_cli.command("tick")
@click.option("--job", "names", multiple=True, help="Only these jobs (default: all).")
@click.option("--at", "at", default=None, help="Run as if it were this instant (ISO, London time); for testing.")
def scheduler_tick(names: tuple[str, ...], at: str | None) -> None:
    """Run the jobs once now (what the scheduler does on start) and print what they did."""
    unknown = [n for n in names if n not in jobs.JOBS]
    if unknown:
        click.echo(f"Unknown job(s): {', '.join(unknown)}; known: {', '.join(jobs.JOBS)}", err=True)
        sys.exit(1)
    if at:
        when = dt.datetime.fromisoformat(at)
        clock.set_now(when if when.tzinfo else when.replace(tzinfo=clock.LONDON))
    result = {n: jobs.run_job(n) for n in (names or jobs.JOBS)}
    db.session.remove()
    click.echo(json.dumps(result))


@scheduler_cli.command("jobs")
def scheduler_jobs() -> None:
    """List the scheduled jobs and their triggers."""
    scheduler = build_scheduler(current_app._get_current_object())
    for job in scheduler.get_jobs():
        click.echo(f"{job.id}\t{job.trigger}")


@kpis_cli.command("snapshot")
@click.option("--month", default=None, help="The month to take (YYYY-MM); default this month.")
@click.option("--panel", "code", default=None, help="One panel (default: every active panel).")
def kpis_snapshot(month: str | None, code: str | None) -> None:
    """Take or retake the monthly snapshot: the panel at the month's end, or now for this month."""
    today = clock.today()
    try:
        chosen = dt.date.fromisoformat(f"{month}-01") if month else month_start(today)
    except ValueError:
        click.echo(f"--month: {month!r} is not a month (use YYYY-MM).", err=True)
        sys.exit(1)
    if chosen > month_start(today):
        click.echo(f"--month: {month} has not started yet.", err=True)
        sys.exit(1)
    panels = [_panel_or_exit(code)] if code else list(
        db.session.execute(db.select(Panel).where(Panel.active.is_(True)).order_by(Panel.code)).scalars())
    for panel in panels:
        data = take_snapshot(panel.id, chosen).data
        rag = data["rag"]
        click.echo(f"{panel.code} {chosen:%Y-%m}: cohort {data['cohort']} (red {rag['red']}, amber {rag['amber']}, "
                   f"green {rag['green']}, no RAG {rag['none']}), referrals {data['referrals']}, exits "
                   f"{data['exits']}, as at {data['as_of']}{'' if data['final'] else ' (month not over)'}")
    db.session.commit()


CLI_GROUPS = (panels_cli, scheduler_cli, kpis_cli)
