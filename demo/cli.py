"""`flask demo load`: the demo partnership, a deterministic synthetic cohort and a year of panel history.

The demo draws on every feature, so it sits above them all (only wsgi.py is higher).
"""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from auth.models import Agency, User
from cohort.demo_data import demo_cohort
from core.extensions import db
from exchange.importing import import_demo_cohort
from panels.demo_history import load_history
from panels.jobs import backfill_snapshots
from partnership.loading import load_file
from sharing.crypto import ensure_data_keys

DEMO_PARTNERSHIP = Path(__file__).with_name("partnership.yaml")
demo_cli = AppGroup("demo", help="Demo data for trying the service.")


def load_demo(size: int = 300, seed: int = 2026) -> str:
    """Load the demo partnership, cohort and history; the caller commits."""
    lines = [load_file(DEMO_PARTNERSHIP).summary()]
    coordinator = db.session.execute(db.select(User).filter_by(email="coordinator@demo.example")).scalar_one()
    lines.append(import_demo_cohort(demo_cohort(seed=seed, size=size), coordinator))
    lines.append(load_history(seed=seed))  # a year of meetings, after the cohort they discussed
    # The KPI history that year of meetings would have left.
    lines.append(f"KPI snapshots: {backfill_snapshots()} (a year of months for every panel)")
    return "\n".join(lines)


@demo_cli.command("load")
@click.option("--if-empty", is_flag=True, help="Only when the database has no agencies yet.")
@click.option("--size", default=300, show_default=True, help="Number of synthetic nominals.")
def demo_load(if_empty: bool, size: int) -> None:
    """Load the demo into this database (once: --if-empty leaves a database with data alone)."""
    ensure_data_keys()
    if if_empty and db.session.execute(db.select(Agency.id).limit(1)).first() is not None:
        click.echo("The database already has data; demo not loaded.")
        return
    click.echo(load_demo(size=size))
    db.session.commit()
    click.echo("Demo loaded. Sign in at http://127.0.0.1:5000 (README lists the demo accounts).")


CLI_GROUPS = (demo_cli,)
