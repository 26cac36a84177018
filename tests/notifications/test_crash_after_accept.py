"""The crash between the SMTP server's "250" and the outbox commit, with a real aiosmtpd server
and a sender process that is killed right after its first e-mail was accepted: the next
sender does not resend what was with the server (it is 'uncertain' for an admin), an admin's
resend carries the same Message-ID, and an instance that chose at-least-once resends with the
same Message-ID by itself. E-mails the dead sender had only claimed are sent as usual."""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

from core import clock
from core.extensions import db
from notifications import jobs, services
from notifications.cli import notifications_cli
from notifications.models import OutboxEmail

CHILD = Path(__file__).with_name("crash_child.py")


def _queue(partnership, n: int) -> None:
    police = partnership.user("police")
    for i in range(n):
        services.queue(police, "action_overdue", partnership.panels["IOM"], f"/cases/{i + 1}#actions",
                       key=f"action:{i}:2026-11-20", category="offending")
    db.session.commit()


def _crash(app, mailbox) -> None:
    db.session.commit()
    proc = subprocess.run([sys.executable, str(CHILD), app.config["SQLALCHEMY_DATABASE_URI"], str(mailbox.port),
                           clock.utcnow().isoformat()],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stdout + proc.stderr
    assert len(mailbox.messages) == 1  # the server had accepted one e-mail when the sender died


def _rows() -> list[OutboxEmail]:
    db.session.rollback()  # see what the other process committed
    return list(db.session.execute(db.select(OutboxEmail).order_by(OutboxEmail.id)).scalars())


def after_lease() -> dt.datetime:
    return clock.utcnow() + jobs.LEASE + dt.timedelta(minutes=1)


def test_an_email_the_server_accepted_before_the_crash_is_not_sent_again(app, mailbox, partnership, runner):
    _queue(partnership, 2)
    _crash(app, mailbox)
    first = mailbox.messages[0]["Message-ID"]
    rows = _rows()
    assert [r.status for r in rows] == ["sending", "sending"]  # handed over, Message-IDs fixed first
    assert rows[0].message_id == first and rows[1].message_id and rows[1].message_id != first
    assert jobs.send_due(clock.utcnow()).sent == 0  # the dead sender's lease still holds

    result = jobs.send_due(after_lease())
    assert result.sent == 0 and result.uncertain == 2 and "2 uncertain" in str(result)
    assert len(mailbox.messages) == 1  # nothing resent blindly
    assert [r.status for r in _rows()] == ["uncertain", "uncertain"]
    assert jobs.send_due(after_lease()).sent == 0 and len(mailbox.messages) == 1  # and not on a later run

    listed = runner.invoke(args=["notifications", "uncertain"])
    assert listed.exit_code == 0 and "2 uncertain" in listed.output and first in listed.output
    # the admin knows the first arrived and closes it; the second is resent with its own Message-ID
    delivered = runner.invoke(args=["notifications", "uncertain", "--delivered", str(rows[0].id)])
    assert delivered.exit_code == 0, delivered.output
    assert runner.invoke(args=["notifications", "uncertain", "--resend", str(rows[1].id)]).exit_code == 0
    assert runner.invoke(args=["notifications", "uncertain", "--resend", str(rows[1].id)]).exit_code != 0
    assert jobs.send_due(after_lease()).sent == 1
    ids = [m["Message-ID"] for m in mailbox.messages]
    assert ids == [first, rows[1].message_id]
    assert [r.status for r in _rows()] == ["sent", "sent"]
    assert notifications_cli.get_command(None, "uncertain") is not None


def test_at_least_once_by_choice_resends_with_the_same_message_id(app, mailbox, partnership):
    _queue(partnership, 1)
    _crash(app, mailbox)
    first = mailbox.messages[0]["Message-ID"]
    app.config["NOTIFICATIONS_RESEND_UNCERTAIN"] = True
    try:
        result = jobs.send_due(after_lease())
    finally:
        app.config.pop("NOTIFICATIONS_RESEND_UNCERTAIN")
    assert result.sent == 1 and result.uncertain == 0
    assert Counter(m["Message-ID"] for m in mailbox.messages) == {first: 2}  # the same message, twice
    assert [r.status for r in _rows()] == ["sent"]


def test_emails_the_dead_sender_had_only_claimed_go_once(app, mailbox, partnership):
    _queue(partnership, 3)
    now = clock.utcnow()
    assert jobs.claim("dead-sender", now, limit=2) != []  # claimed, then died before handing them to SMTP
    assert [r.status for r in _rows()] == ["claimed", "claimed", "queued"]
    assert jobs.send_due(now).sent == 1  # only the unclaimed one while the lease holds
    assert jobs.send_due(now + jobs.LEASE + dt.timedelta(seconds=1)).sent == 2
    assert len({m["Message-ID"] for m in mailbox.messages}) == len(mailbox.messages) == 3
