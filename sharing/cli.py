"""`flask audit verify`, `flask audit pseudonymise`, `flask keys ...`."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from core.db import immediate_transactions
from core.extensions import db
from sharing import audit, audit_head
from sharing.crypto import KEY_NAMES, ensure_data_keys
from sharing.keys import rotate

audit_cli = AppGroup("audit", help="The access log.")
keys_cli = AppGroup("keys", help="Data keys for field-level encryption.")


@audit_cli.command("verify")
def audit_verify() -> None:
    """Check the access log's hash chain and its head checkpoint; exit 1 naming what is wrong."""
    result = audit.verify()
    if not result.ok:
        click.echo(f"Access log broken: {result.problem}", err=True)
        sys.exit(1)
    ok, message = audit_head.check()
    if not ok:
        click.echo(f"Access log broken: {message}", err=True)
        sys.exit(1)
    click.echo(f"Access log intact: {result.checked} events checked.")
    click.echo(message)
    head = audit_head.database_head()
    if head is not None:
        click.echo(f"Last event {head.seq}: {head.hash}")


@audit_cli.command("pseudonymise")
def audit_pseudonymise() -> None:
    """Give events written before the log carried pseudonyms their subject pseudonym (so erasure
    can drop the person's number) and seal the chain again; refused unless the log verifies."""
    try:
        with immediate_transactions():  # SQLite: hold the append lock from the start
            result = audit.pseudonymise_legacy()
            db.session.commit()
    except audit.LegacyRefused as exc:
        db.session.rollback()
        click.echo(f"Refused: {exc}", err=True)
        sys.exit(1)
    click.echo(result.summary())
    click.echo(f"Events still naming a person by number only: {audit.legacy_count()}")


@keys_cli.command("init")
def keys_init() -> None:
    """Create any missing data keys (also done on first request)."""
    n = ensure_data_keys()
    click.echo(f"Created {n} data key(s).")


@keys_cli.command("rotate")
@click.option("--only", "only", metavar="NAME", help="Rotate just this data key (e.g. identity).")
@click.option("--resume", is_flag=True, help="Make no new versions; finish re-encrypting to the current ones.")
@click.option("--batch", default=500, show_default=True, type=click.IntRange(1, 10000),
              help="Rows per transaction.")
def keys_rotate(only: str | None, resume: bool, batch: int) -> None:
    """New data-key versions, then re-encrypt every value in batches (safe while the service runs)."""
    if only is not None and only not in KEY_NAMES:
        click.echo(f"Unknown key {only!r}: choose one of {', '.join(KEY_NAMES)}", err=True)
        sys.exit(2)
    ensure_data_keys()
    result = rotate(only, resume=resume, batch=batch, progress=click.echo)
    db.session.rollback()  # end any reading transaction the rotation left open
    with immediate_transactions():
        audit.record("admin", purpose="keys rotate", detail=result.summary())
        db.session.commit()
    click.echo(result.summary())
    if result.failed:
        sys.exit(1)


CLI_GROUPS = (audit_cli, keys_cli)
