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


CLI_GROUPS = (notifications_cli,)
