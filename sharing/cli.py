"""`flask partnership load`, `flask audit verify`, `flask keys ...`."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from core.extensions import db
from sharing import audit
from sharing.crypto import ensure_data_keys
from sharing.partnership import PartnershipError, load_file

partnership_cli = AppGroup("partnership", help="The partnership file: agencies, panels, agreements, users.")
audit_cli = AppGroup("audit", help="The access log.")
keys_cli = AppGroup("keys", help="Data keys for field-level encryption.")


@partnership_cli.command("load")
@click.argument("path", type=click.Path(dir_okay=False))
def partnership_load(path: str) -> None:
    """Upsert agencies, panels, ISAs and users from a YAML or JSON partnership file."""
    ensure_data_keys()
    try:
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


@audit_cli.command("verify")
def audit_verify() -> None:
    """Check the access log's hash chain; exit 1 naming the first bad event."""
    result = audit.verify()
    if result.ok:
        click.echo(f"Access log intact: {result.checked} events checked.")
        return
    click.echo(f"Access log broken: {result.problem}", err=True)
    sys.exit(1)


@keys_cli.command("init")
def keys_init() -> None:
    """Create any missing data keys (also done on first request)."""
    n = ensure_data_keys()
    click.echo(f"Created {n} data key(s).")


CLI_GROUPS = (partnership_cli, audit_cli, keys_cli)
