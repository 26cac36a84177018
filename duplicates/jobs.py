"""The duplicates feature's scheduled job: the nightly system-wide duplicate check.

The schedule table and the lease/run-once machinery live in panels (panels.scheduler,
panels.jobs); the work itself lives here, with the data it owns.
"""

from __future__ import annotations

import datetime as dt

from core import clock
from core.db import immediate_transactions
from duplicates.candidates import run
from panels.jobs import london_date, run_once
from panels.services import system_user


def nightly_dedupe(now: dt.datetime | None = None) -> int:
    """Scheduler job: the system-wide check, once per London day; returns pairs stored."""
    when = now or clock.utcnow()
    stored: list[int] = []

    def work() -> str:
        result = run(None, user=system_user())
        stored.append(result.stored)
        return f"{result.stored} pair(s) stored, {result.new} new"

    with immediate_transactions():
        run_once("dedupe", london_date(when).isoformat(), work)
    return stored[0] if stored else 0
