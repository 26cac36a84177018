"""`flask partnership load FILE`."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from core.db import immediate_transactions
from core.extensions import db
from partnership.loading import PartnershipError, load_file
from sharing import audit
from sharing.crypto import ensure_data_keys

partnership_cli = AppGroup("partnership", help="The partnership file: agencies, panels, agreements, users.")


@partnership_cli.command("load")
@click.argument("path", type=click.Path(dir_okay=False))
def partnership_load(path: str) -> None:
    """Upsert agencies, panels, ISAs and users from a YAML or JSON partnership file."""
    ensure_data_keys()
    try:
        # SQLite: hold the write lock from the start; the load reads before it writes and
        # appends to the access log, and a reading transaction cannot wait for the lock.
        with immediate_transactions():
            result = load_file(path)
            audit.record("admin", purpose="partnership load", detail=result.summary())
            db.session.commit()
    except PartnershipError as exc:
        db.session.rollback()
        click.echo(f"The partnership file has {len(exc.problems)} problem(s); nothing was written:", err=True)
        for problem in exc.problems:
            click.echo(f"  {problem}", err=True)
        sys.exit(1)
    click.echo(result.summary())


CLI_GROUPS = (partnership_cli,)
