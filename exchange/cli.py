"""`flask cohort import` and `flask cohort export`: cohort lists in and out, acting as a user.

The access policy applies exactly as on the web pages: the command acts as the user named
by --as, on the agreements in force today. Imports are all-or-nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from auth.models import User
from core.db import immediate_transactions
from core.extensions import db
from exchange.exporting import export_file
from exchange.importing import apply_import, plan_import, record_preview
from exchange.spreadsheet import SpreadsheetError, read_table
from lifecycle import register
from lifecycle.models import EXPORT_PURPOSES
from panels.models import Panel
from sharing import audit
from sharing.crypto import ensure_data_keys
from sharing.policy import Policy

cohort_cli = AppGroup("cohort", help="Import and export panel cohort lists.")


def _fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


def _size(size: int) -> str:
    """A limit as people write it: 15 MB, 2 KB."""
    return f"{size / (1024 * 1024):g} MB" if size >= 1024 * 1024 else f"{max(1, round(size / 1024))} KB"


def _user_and_panel(email: str, code: str):
    user = db.session.execute(db.select(User).filter(db.func.lower(User.email) == email.strip().lower())).scalar()
    if user is None or not user.active:
        _fail(f"no active user with the e-mail address {email}")
    panel = db.session.execute(db.select(Panel).filter_by(code=code.strip().upper())).scalar()
    if panel is None:
        _fail(f"no panel with the code {code}")
    return user, panel


@cohort_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--panel", "code", required=True, help="Panel code, e.g. IOM.")
@click.option("--as", "email", required=True, help="E-mail address of the user the import acts as.")
@click.option("--dry-run", is_flag=True, help="Validate and say what would happen; write nothing.")
def import_command(file: Path, code: str, email: str, dry_run: bool) -> None:
    """Import a CSV or XLSX cohort list onto a panel (all-or-nothing)."""
    ensure_data_keys()
    with immediate_transactions():
        user, panel = _user_and_panel(email, code)
        policy = Policy(user)
        limit = current_app.config["MAX_IMPORT_BYTES"]  # as on the upload page: never read more
        try:
            with file.open("rb") as stream:
                data = stream.read(limit + 1)
            if len(data) > limit:
                _fail(f"{file.name}: the file must be smaller than {_size(limit)}")
            headers, rows = read_table(file.name, data)
        except SpreadsheetError as exc:
            _fail(f"{file.name}: {exc}")
        plan = plan_import(panel, headers, rows, policy, filename=file.name)
        if plan.errors or dry_run:
            # Planning wrote nothing; what the errors or the dry run tell the user is logged,
            # as the preview page is (the nominal ids it reported on).
            record_preview(plan, user=user, purpose="command line: flask cohort import"
                           + (" --dry-run" if dry_run else ""))
            db.session.commit()
        if plan.errors:
            for error in plan.errors:
                click.echo(error.line, err=True)
            _fail(f"{len(plan.errors)} problem(s) in {file.name}; nothing was imported")
        if dry_run:
            click.echo(f"Dry run: {plan.data_rows} row(s) are valid and would give {plan.summary()}. "
                       "Nothing was written.")
            return
        result = apply_import(plan, policy, source="command line: flask cohort import")
        db.session.commit()
    click.echo(f"Imported {file.name} onto {panel.code}: {result.summary()}.")


def _purposes() -> list[str]:
    return list(EXPORT_PURPOSES)


@cohort_cli.command("export")
@click.option("--panel", "code", required=True, help="Panel code, e.g. IOM.")
@click.option("--as", "email", required=True, help="E-mail address of the user the export acts as.")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv", show_default=True)
@click.option("--purpose", default=None, type=click.Choice(_purposes()),
              help="Why the export is made (recorded in the export register and marked in the file). "
                   "Without it the export is recorded as 'not stated', for the DPO to follow up.")
@click.option("--destroy-by", "destroy_by", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="YYYY-MM-DD: the date every copy will be destroyed by (default 30 days, at most 90).")
@click.option("--note", default="", help="More about the purpose (no personal data).")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, writable=True, path_type=Path))
def export_command(code: str, email: str, fmt: str, purpose: str | None, destroy_by, note: str, output: Path) -> None:
    """Export the panel's cohort as that user may see it (withheld categories left out), for a purpose:
    entered in the export register, and marked inside the file with who, when, why and destroy by."""
    day = destroy_by.date() if destroy_by is not None else None
    # CONTRACT.md's command takes no purpose: a script using it still exports, recorded as unstated.
    purpose = purpose or register.UNSTATED
    problems = register.check(purpose, day or register.default_destroy_by(), unstated_allowed=True)
    if purpose == register.UNSTATED:
        click.echo("No --purpose given: the export register records this export's purpose as not stated.", err=True)
    if problems:
        raise click.UsageError("; ".join(p.replace("The destroy-by date", "--destroy-by") for p in problems))
    ensure_data_keys()
    with immediate_transactions():
        user, panel = _user_and_panel(email, code)
        policy = Policy(user)
        if not policy.takes_part(panel.id):
            audit.record("refused", user=user, outcome="refused", panel=panel,
                         detail="export: not a party to any agreement covering the panel")
            db.session.commit()
            _fail(f"{email} does not take part in the {panel.code} panel under any agreement in force")
        made = export_file(panel, policy, fmt, purpose=purpose, destroy_by=day, note=note,
                           source="command line: flask cohort export", unstated_allowed=True)
        db.session.commit()  # the register and access-log rows first: no export leaves without its record
    try:
        output.write_bytes(made.data)
    except OSError as exc:
        _fail(f"could not write {output}: {exc.strerror}")
    click.echo(f"Exported {made.rows} case(s) from {panel.code} to {output} "
               f"(export no. {made.record.id}, destroy by {made.record.destroy_by.isoformat()}).")


CLI_GROUPS = (cohort_cli,)
