"""A sender that dies right after the SMTP server accepted its first e-mail (the crash test).

    python tests/notifications/crash_child.py DATABASE_URL SMTP_PORT NOW

Sends what is due at NOW (the test's clock, ISO 8601) through the real SMTP server on
127.0.0.1:SMTP_PORT over one connection; the moment the first message has been accepted
("250" received), the process kills itself with SIGKILL, before it can record anything: the
gap between the server's acceptance and the outbox row being marked sent.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import sys
from pathlib import Path


def main(url: str, port: int, now: dt.datetime) -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    os.environ.setdefault("TRACKER_ENV", "test")
    from notifications import jobs
    from notifications.mail import SmtpMailer
    from tests.conftest import test_overrides
    from wsgi import create_app

    accepted = SmtpMailer.send

    def send_then_die(self, message) -> None:
        accepted(self, message)  # returns once the server answered 250 to the DATA
        os.kill(os.getpid(), signal.SIGKILL)

    SmtpMailer.send = send_then_die
    app = create_app(test_overrides(url, SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_CONNECTIONS=1))
    app.extensions["keys_ready"] = True
    with app.app_context():
        jobs.send_due(now)
    return 3  # not reached: the process died in send_then_die


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2]), dt.datetime.fromisoformat(sys.argv[3])))
