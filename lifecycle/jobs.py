"""The lifecycle's scheduled jobs: nightly retention and destroy-by reminders.

Both are idempotent: erasure removes what it erased, so a second run finds nothing; a
reminder is sent once per export (`reminded_on`).
"""

from __future__ import annotations

import datetime as dt

from core.extensions import db
from lifecycle import register, retention
from lifecycle.erasure import checkpoint_sqlite
from panels.jobs import london_date


def run_retention(now: dt.datetime) -> int:
    """Erase what is past its retention period (as `retention apply --commit`)."""
    result = retention.apply(source="scheduler", today=london_date(now))
    db.session.commit()
    if result.cases:
        checkpoint_sqlite()
    return result.cases


def run_export_reminders(now: dt.datetime) -> int:
    count = register.send_reminders(london_date(now))
    db.session.commit()
    return count
