"""`flask backup FILE` / `flask restore FILE`.

SQLite: the online backup API copies a consistent snapshot while the service runs (WAL
readers and writers carry on). PostgreSQL: `pg_dump --format=custom` / `pg_restore`, run
for you when the tools are on PATH. Backups hold ciphertext only; the master key is not
in them and must be backed up separately (README, "Backups").
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.engine import make_url

from core.db import immediate_transactions
from core.extensions import db
from lifecycle import retention
from sharing import audit_head


def _sqlite_path() -> Path | None:
    url = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])
    return Path(url.database) if url.get_backend_name() == "sqlite" else None


def backup_sqlite(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(source)
    dst = sqlite3.connect(target)
    try:
        with dst:
            src.backup(dst, pages=1024)
    finally:
        dst.close()
        src.close()


def restore_sqlite(backup: Path, target: Path) -> None:
    src = sqlite3.connect(backup)
    dst = sqlite3.connect(target)
    try:
        with dst:
            src.backup(dst)
    finally:
        dst.close()
        src.close()


def _pg_args() -> list[str]:
    url = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])
    args = ["--host", url.host or "127.0.0.1", "--port", str(url.port or 5432), "--dbname", url.database or ""]
    if url.username:
        args += ["--username", url.username]
    return args


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False))
@with_appcontext
def backup_command(file: str) -> None:
    """Write a consistent backup of the database to FILE while the service runs."""
    path = _sqlite_path()
    if path is not None:
        backup_sqlite(path, Path(file))
        click.echo(f"Backed up {path} to {file}. Back up the master key separately.")
        return
    if shutil.which("pg_dump") is None:
        click.echo("PostgreSQL: run `pg_dump --format=custom --file FILE DBNAME` (pg_dump is not on PATH).", err=True)
        sys.exit(1)
    subprocess.run(["pg_dump", "--format=custom", "--file", file, *_pg_args()], check=True)
    click.echo(f"Backed up with pg_dump to {file}. Back up the master key separately.")


@click.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="Confirm: the current database is replaced.")
@with_appcontext
def restore_command(file: str, yes: bool) -> None:
    """Replace the database with the backup in FILE (stop the service first)."""
    if not yes:
        click.echo("Restoring replaces the current database. Stop the service, then re-run with --yes.", err=True)
        sys.exit(1)
    db.session.remove()
    db.engine.dispose()
    path = _sqlite_path()
    if path is not None:
        restore_sqlite(Path(file), path)
        _reset_audit_head()
        click.echo(f"Restored {path} from {file}.")
        _reapply_erasures()
        return
    if shutil.which("pg_restore") is None:
        click.echo("PostgreSQL: run `pg_restore --clean --if-exists --dbname DBNAME FILE`.", err=True)
        sys.exit(1)
    subprocess.run(["pg_restore", "--clean", "--if-exists", "--no-owner", *_pg_args(), file], check=True)
    _reset_audit_head()
    click.echo(f"Restored from {file} with pg_restore.")
    _reapply_erasures()


def _reset_audit_head() -> None:
    """The restored log is shorter than the checkpoint: make its head the new checkpoint."""
    head = audit_head.reset_to_database()
    db.session.remove()
    click.echo(f"Access log head checkpoint reset to event {head.seq if head else 0}.")


def _reapply_erasures() -> None:
    """Erase again what was erased after the backup was made (lifecycle.journal)."""
    with immediate_transactions():
        result, problems = retention.reapply_journal(source="restore")
        db.session.commit()
    for problem in problems:
        click.echo(f"Erasure journal: {problem}", err=True)
    click.echo(f"Erasures re-applied: {result.cases} case(s), {result.nominals} person(s) erased again.")


CLI_GROUPS = (backup_command, restore_command)
