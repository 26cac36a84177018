"""`flask dedupe run [--json] [--as EMAIL]`: the cross-panel duplicate check from the command line;
`flask dedupe retrain`: fit the model again and keep it for the following runs;
`flask dedupe reindex [--all]`: recompute the stored blocking-key tokens."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from auth.models import User
from core.db import immediate_transactions
from core.extensions import db
from duplicates import candidates, keys
from sharing import audit
from sharing.crypto import ensure_data_keys
from sharing.policy import Policy

dedupe_cli = AppGroup("dedupe", help="Cross-panel duplicate detection.")


def _policy_for(email: str | None):
    if not email:
        return None
    user = db.session.execute(db.select(User).filter_by(email=email.strip().lower())).scalar_one_or_none()
    if user is None or not user.active:
        raise click.ClickException(f"No active user {email}")
    if not user.has_role("analyst"):
        raise click.ClickException(f"{email} does not have the analyst role")
    return Policy(user)


@dedupe_cli.command("run")
@click.option("--json", "as_json", is_flag=True, help='Print {"pairs": [...]} (CONTRACT.md).')
@click.option("--as", "as_email", metavar="EMAIL", help="Run as this analyst (their agency's access applies).")
@click.option("--min-score", type=click.FloatRange(0.0, 1.0), default=0.1, show_default=True,
              help="Lowest probability listed.")
def run_command(as_json: bool, as_email: str | None, min_score: float) -> None:
    """Find pairs of records that may be the same person; store them for the analysts' queue."""
    ensure_data_keys()
    with immediate_transactions():
        policy = _policy_for(as_email)
        result = candidates.run(policy, min_score=min_score)
        out = [candidates.pair_json(p, result.cases, result.scope) for p in result.pairs]
        db.session.commit()
    if as_json:
        click.echo(json.dumps({"pairs": out}, ensure_ascii=False))
        return
    click.echo(f"{result.compared} nominals compared; {len(out)} possible duplicate pair(s) "
               f"({result.new} new, {result.excluded} rejected pair(s) excluded).")
    if not out:
        return
    click.echo(f"{'score':>6}  {'band':<8}  {'record A':<28}  {'record B':<28}  strongest evidence")
    for p in out:
        a = f"#{p['a']['nominal_id']} {','.join(p['a']['refs'])}"[:28]
        b = f"#{p['b']['nominal_id']} {','.join(p['b']['refs'])}"[:28]
        click.echo(f"{p['score']:>6.3f}  {p['band']:<8}  {a:<28}  {b:<28}  {p['reasons'][0] if p['reasons'] else ''}")


@dedupe_cli.command("retrain")
def retrain_command() -> None:
    """Fit the duplicate model again (EM over the register plus the pairs analysts confirmed)
    and keep it: every later run scores with these parameters until the next retrain."""
    ensure_data_keys()
    with immediate_transactions():
        row, _fitted = candidates.retrain()
        db.session.commit()
    click.echo(f"Duplicate model {row.id} trained on {row.nominals} nominal(s) and {row.confirmed} confirmed pair(s).")


@dedupe_cli.command("reindex")
@click.option("--all", "everyone", is_flag=True,
              help="Every nominal, not only those without tokens (after the blocking keys change).")
def reindex_command(everyone: bool) -> None:
    """Store the keyed hashes of the blocking keys the duplicate check pairs nominals by."""
    ensure_data_keys()
    with immediate_transactions():
        count = keys.reindex(everyone)
        audit.record("admin", purpose="dedupe reindex", detail=f"blocking keys of {count} nominal(s) recomputed")
        db.session.commit()
    click.echo(f"Blocking keys of {count} nominal(s) recomputed.")


CLI_GROUPS = (dedupe_cli,)
