"""`flask notifications send`: send what is due now, exactly once however often it runs."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from notifications import jobs

notifications_cli = AppGroup("notifications", help="Notifications: send the e-mails that are due.")


@notifications_cli.command("send")
def send() -> None:
    """Queue "due tomorrow"/"overdue", make the day's digests, send every e-mail due now.

    E-mails go to SMTP_HOST, or are printed here when it is not set. An SMTP failure leaves
    the e-mail queued for a retry with back-off; the command still exits 0.
    """
    result = jobs.send_due()
    click.echo(f"notifications: {result}")


@notifications_cli.command("uncertain")
@click.option("--resend", "resend", type=int, metavar="ID", help="Queue this e-mail again, with its Message-ID.")
@click.option("--delivered", "delivered", type=int, metavar="ID", help="Close this e-mail as delivered.")
def uncertain(resend: int | None, delivered: int | None) -> None:
    """E-mails that may or may not have gone: their sender stopped after the SMTP server had
    them. Listed (id, recipient, Message-ID, since); an admin resends one or closes it."""
    if resend is not None or delivered is not None:
        email_id = resend if resend is not None else delivered
        if not jobs.settle_uncertain(email_id, resend=resend is not None):
            raise click.ClickException(f"e-mail {email_id} is not uncertain")
        click.echo(f"e-mail {email_id}: {'queued again with its Message-ID' if resend is not None else 'closed'}")
        return
    rows = jobs.uncertain_emails()
    for e in rows:
        click.echo(f"{e.id}\t{e.user.email}\t{e.message_id}\t{e.lease_until or e.created_at:%Y-%m-%d %H:%M}")
    click.echo(f"notifications: {len(rows)} uncertain")


CLI_GROUPS = (notifications_cli,)
