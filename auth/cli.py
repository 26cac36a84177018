"""`flask users ...`: the first administrator, personal API tokens, disabling an account.

There are no default accounts: a new installation gets its first administrator from
`users create-admin`, which refuses once any administrator exists.
"""

from __future__ import annotations

import click
from flask.cli import AppGroup

from auth.models import AGENCY_KINDS, Agency, User
from auth.services import Invalid, UserData, create_agency, create_user, find_user, set_active
from auth.tokens import create_token
from core.db import immediate_transactions
from core.extensions import db
from sharing import audit
from sharing.crypto import ensure_data_keys

users_cli = AppGroup("users", help="User accounts and API tokens.")
CLI_GROUPS = (users_cli,)


def _user(email: str) -> User:
    user = find_user(email)
    if user is None or user.is_system:
        raise click.ClickException(f"No user has the email address {email.strip().lower()}.")
    return user


@users_cli.command("create-admin")
@click.argument("email")
@click.option("--name", required=True, help="The administrator's full name.")
@click.option("--agency", "agency_code", required=True, help="Code of the administrator's agency, e.g. LACS.")
@click.option("--agency-name", help="Create the agency with this name if it does not exist yet.")
@click.option("--agency-kind", type=click.Choice(AGENCY_KINDS), default="council", show_default=True)
@click.option("--password", help="Initial password (prompted for, hidden, when left out).")
def create_admin(email: str, name: str, agency_code: str, agency_name: str | None, agency_kind: str,
                 password: str | None) -> None:
    """Create the first administrator (refused once any administrator exists)."""
    ensure_data_keys()
    with immediate_transactions():
        if any(u.has_role("admin") for u in db.session.execute(db.select(User).filter_by(is_system=False)).scalars()):
            db.session.rollback()
            raise click.ClickException(
                "An administrator already exists: add further users from the Users page as that administrator."
            )
        if password is None:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        try:
            code = agency_code.strip().upper()
            agency = db.session.execute(db.select(Agency).filter_by(code=code)).scalar_one_or_none()
            if agency is None:
                if not agency_name:
                    raise Invalid("agency", f"There is no agency {code}: add --agency-name to create it.")
                agency = create_agency(code, agency_name, agency_kind)
            data = UserData(email=email, name=name, agency_id=agency.id, roles={"admin"}, password=password)
            user = create_user(data, reason="first administrator created (command line)")
        except Invalid as exc:
            db.session.rollback()
            raise click.ClickException(exc.message) from None
        db.session.commit()
    click.echo(f"Created administrator {user.email} ({agency.code}). Sign in, then turn on two-factor authentication.")


@users_cli.command("token")
@click.argument("email")
@click.option("--name", default="personal", show_default=True, help="What the token is for.")
def token(email: str, name: str) -> None:
    """Create a personal API token; the token is printed alone on the last line."""
    with immediate_transactions():
        user = _user(email)
        if not user.active:
            raise click.ClickException(f"The account {user.email} is disabled.")
        value = create_token(user, name)
        audit.record("token", user=user, purpose="command line", detail=f"API token {value[:12]}… '{name}' created")
        db.session.commit()
    click.echo(f"API token '{name}' for {user.email}. It is shown only once: store it safely.")
    click.echo(value)


def _set_active(email: str, active: bool) -> None:
    with immediate_transactions():
        user = _user(email)
        set_active(user, active)
        db.session.commit()


@users_cli.command("disable")
@click.argument("email")
def disable(email: str) -> None:
    """Disable an account: its sessions end and its API tokens are revoked at once."""
    _set_active(email, False)
    click.echo(f"Disabled {email.strip().lower()}: signed out everywhere, API tokens revoked.")


@users_cli.command("enable")
@click.argument("email")
def enable(email: str) -> None:
    """Enable a disabled account again (its old API tokens stay revoked)."""
    _set_active(email, True)
    click.echo(f"Enabled {email.strip().lower()}.")
