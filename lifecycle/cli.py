"""`flask --app wsgi retention apply [--commit]`: dry run by default (CONTRACT.md)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from core.db import immediate_transactions
from core.extensions import db
from lifecycle import retention
from lifecycle.erasure import checkpoint_sqlite
from sharing.crypto import ensure_data_keys

retention_cli = AppGroup("retention", help="Erase what is past its panel's retention period.")


@retention_cli.command("apply")
@click.option("--commit", is_flag=True, help="Erase for real (irreversible). Without it: a dry run.")
def apply_command(commit: bool) -> None:
    """Show (or, with --commit, erase) the exited cases past their panel's retention period."""
    ensure_data_keys()
    with immediate_transactions():
        the_plan = retention.plan()
        for line in the_plan.lines():
            click.echo(line)
        ids = the_plan.case_ids
        if not commit:
            people = retention.people_affected(ids)
            db.session.rollback()
            click.echo(f"Dry run: {len(ids)} case(s) and {people} person(s) would be erased. "
                       "Nothing changed; run with --commit to erase (irreversible).")
            return
        result = retention.apply(source="command line")
        db.session.commit()
    checkpoint_sqlite()
    click.echo(f"Erased: {retention.summary(result)}.")


CLI_GROUPS = (retention_cli,)
