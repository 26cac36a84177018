"""One place for "now": UTC instants for records, Europe/London dates for rules.

Tests and the scheduler move the clock with `set_now`, so day boundaries (an ISA that
expires today, a review due today) are exercised without sleeping.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
_frozen: dt.datetime | None = None


def utcnow() -> dt.datetime:
    """The current instant as a naive UTC datetime (how every timestamp column stores it)."""
    if _frozen is not None:
        return _frozen.astimezone(dt.UTC).replace(tzinfo=None)
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


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
