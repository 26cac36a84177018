"""One place for "now": UTC instants for records, Europe/London dates for rules.

Tests and the scheduler move the clock with `set_now`, so day boundaries (an ISA that
expires today, a review due today) are exercised without sleeping.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
_frozen: dt.datetime | None = None
_as_if_on: dt.date | None = None  # TRACKER_TODAY: every process of an instance lives on this date


def utcnow() -> dt.datetime:
    """The current instant as a naive UTC datetime (how every timestamp column stores it)."""
    if _frozen is not None:
        return _frozen.astimezone(dt.UTC).replace(tzinfo=None)
    now = dt.datetime.now(dt.UTC)
    if _as_if_on is not None:
        # the real time of day in London, on the chosen date (so every process agrees on the day)
        now = now + (_as_if_on - now.astimezone(LONDON).date())
    return now.replace(tzinfo=None)


def run_as_if_on(day: dt.date | None) -> None:
    """TRACKER_TODAY (demos and acceptance checks): the date every rule runs on; None: the real one."""
    global _as_if_on
    _as_if_on = day


def today() -> dt.date:
    """Today's date in Europe/London: agreements, reviews and flags turn over at local midnight."""
    return utcnow().replace(tzinfo=dt.UTC).astimezone(LONDON).date()


def set_now(when: dt.datetime | None) -> None:
    """Freeze the clock at an aware datetime (None to unfreeze)."""
    global _frozen
    if when is not None and when.tzinfo is None:
        raise ValueError("set_now needs an aware datetime")
    _frozen = when


def to_london(ts: dt.datetime | None) -> dt.datetime | None:
    """Show a stored UTC timestamp in local time."""
    if ts is None:
        return None
    return ts.replace(tzinfo=dt.UTC).astimezone(LONDON)
