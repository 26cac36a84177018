"""Meeting dates from a panel's RFC 5545 recurrence rule, after its bank-holiday policy.

Panels meet on rules such as "the first Wednesday of the month" (``FREQ=MONTHLY;BYDAY=1WE``)
or "the last Thursday" (``FREQ=MONTHLY;BYDAY=-1TH``). A rule date that falls on a bank
holiday or a weekend is not a working day, so each panel says what happens then: the
meeting stays put (``ignore``), does not happen (``skip``), or moves to the next or previous
working day. Bank holidays differ between England and Wales, Scotland and Northern Ireland
(the ``holidays`` package knows them, including substitute days, up to the year 2100).

Everything here is pure (no Flask, no database) so the scheduler, the CLI, the partnership
loader and the tests all get the same answer.

Behaviour worth knowing:

* The *rule date* identifies a meeting (it is what the database keys meetings on); the
  *date* is where it actually falls. A moved meeting keeps its rule date.
* Moves are not checked against other meetings: a weekly rule on Mondays and Tuesdays whose
  Monday is a bank holiday gives two occurrences on the Tuesday (different rule dates). No
  monthly panel rule in use can collide like this; coordinators can move a meeting by hand.
* ``count`` counts meetings that happen: skipped occurrences are still listed (``date`` is
  None) but do not count. The command line prints "the next N meeting dates after the
  bank-holiday policy", so N means N real dates.
* A rule's own COUNT and INTERVAL run from DTSTART, which is ``start`` unless ``anchor`` says
  otherwise; pass a fixed anchor to keep the phase of "every 2 weeks"-style rules.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
from dateutil.rrule import rrule as RRule
from dateutil.rrule import rrulestr

BANK_HOLIDAY_POLICIES = ("ignore", "skip", "next_working_day", "previous_working_day")

# Region (as in the partnership file) -> subdivision of holidays.UnitedKingdom. England and
# Wales have the same bank holidays, so "ENG" stands for both.
REGIONS: dict[str, str] = {
    "england_and_wales": "ENG",
    "scotland": "SCT",
    "northern_ireland": "NIR",
}

LONDON = ZoneInfo("Europe/London")

ALLOWED_FREQS = ("WEEKLY", "MONTHLY")
MAX_INTERVAL = 12
MAX_RULE_LENGTH = 200  # the panels.schedule column is String(200)
# Parts of a rule we accept; the meeting time comes from the panel, not from BYHOUR etc.
_ALLOWED_PARTS = {"FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYSETPOS", "WKST"}
_TIME_PARTS = {"BYHOUR", "BYMINUTE", "BYSECOND"}
_DAYS_IN_MONTH = {m: 29 if m == 2 else calendar.monthrange(2001, m)[1] for m in range(1, 13)}
# Give up after this long without a meeting that happens, so a rule whose every date is
# skipped (the 25th of December, weekends) cannot loop for ever.
_GIVE_UP_AFTER = dt.timedelta(days=366 * 10)
_VALIDATION_START = dt.datetime(2000, 1, 1)
_TIME_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class Occurrence:
    """One meeting of a rule: the date the rule gives and where it falls after the policy."""

    rule_date: dt.date
    date: dt.date | None  # None when the policy skipped it
    moved: bool

    @property
    def skipped(self) -> bool:
        return self.date is None


# -- working days ---------------------------------------------------------------------------

def _subdiv(region: str) -> str:
    try:
        return REGIONS[region]
    except KeyError:
        raise ValueError(f"unknown region {region!r}: use one of {', '.join(REGIONS)}") from None


@lru_cache(maxsize=512)
def _bank_holidays(subdiv: str, year: int) -> dict[dt.date, str]:
    """One region's bank holidays in one year (cached: the holidays objects are slow to build)."""
    return dict(holidays.UnitedKingdom(subdiv=subdiv, years=year).items())


def holiday_name(d: dt.date, region: str = "england_and_wales") -> str | None:
    """The bank holiday on ``d`` in ``region`` (e.g. "Boxing Day (observed)"), or None."""
    return _bank_holidays(_subdiv(region), d.year).get(d)


def is_working_day(d: dt.date, region: str = "england_and_wales") -> bool:
    """Monday to Friday and not a bank holiday (substitute days included) in ``region``."""
    return d.weekday() < 5 and holiday_name(d, region) is None


def next_working_day(d: dt.date, region: str = "england_and_wales") -> dt.date:
    """The first working day strictly after ``d``."""
    d += dt.timedelta(days=1)
    while not is_working_day(d, region):
        d += dt.timedelta(days=1)
    return d


def previous_working_day(d: dt.date, region: str = "england_and_wales") -> dt.date:
    """The last working day strictly before ``d``."""
    d -= dt.timedelta(days=1)
    while not is_working_day(d, region):
        d -= dt.timedelta(days=1)
    return d


def apply_policy(rule_date: dt.date, policy: str = "next_working_day",
                 region: str = "england_and_wales") -> Occurrence:
    """Where a meeting due on ``rule_date`` actually happens under ``policy``."""
    if policy not in BANK_HOLIDAY_POLICIES:
        raise ValueError(f"unknown bank-holiday policy {policy!r}: use one of {', '.join(BANK_HOLIDAY_POLICIES)}")
    if policy == "ignore" or is_working_day(rule_date, region):
        return Occurrence(rule_date, rule_date, False)
    if policy == "skip":
        return Occurrence(rule_date, None, False)
    if policy == "next_working_day":
        return Occurrence(rule_date, next_working_day(rule_date, region), True)
    return Occurrence(rule_date, previous_working_day(rule_date, region), True)


# -- rules ----------------------------------------------------------------------------------

def _strip_prefix(rule: str) -> str:
    rule = rule.strip()
    rule = rule[len("RRULE:"):] if rule.upper().startswith("RRULE:") else rule
    return rule.rstrip(";")  # a trailing ";" is a common, harmless slip


def _parse(rule: str, dtstart: dt.datetime) -> RRule:
    """The dateutil rule (UNTIL read as a local date, whatever its zone)."""
    parsed = rrulestr(_strip_prefix(rule), dtstart=dtstart, ignoretz=True)
    if not isinstance(parsed, RRule):  # pragma: no cover - forceset is off, so always an rrule
        raise ValueError("expected a single RRULE")
    return parsed


def _ints(value: str) -> list[int]:
    return [int(v) for v in value.split(",")]


def validate_rule(rrule: str) -> str | None:
    """Why ``rrule`` is not a usable panel rule (a message for the partnership file), or None.

    A panel rule is one RFC 5545 RRULE without DTSTART (e.g. ``FREQ=MONTHLY;BYDAY=1WE``),
    weekly or monthly, that produces at least one date; the time of day comes from the panel.
    """
    if not isinstance(rrule, str) or not rrule.strip():
        return "not a valid RRULE: it is empty"
    if len(rrule) > MAX_RULE_LENGTH:
        return f"not a valid RRULE: longer than {MAX_RULE_LENGTH} characters"
    if "\n" in rrule or "\r" in rrule:
        return "not a valid RRULE: give one RRULE line only (no DTSTART)"
    body = _strip_prefix(rrule)
    if not body.strip():
        return "not a valid RRULE: it is empty"
    parts: dict[str, str] = {}
    for item in body.split(";"):
        name, sep, value = item.partition("=")
        name, value = name.strip().upper(), value.strip().upper()
        if not sep or not name or not value:
            return f"not a valid RRULE: {item.strip()!r} is not NAME=VALUE (e.g. FREQ=MONTHLY;BYDAY=1WE)"
        if name in parts:
            return f"not a valid RRULE: {name} is given twice"
        if name in _TIME_PARTS:
            return f"not a valid RRULE: {name} is not allowed (the meeting time is set on the panel)"
        if name == "DTSTART":
            return "not a valid RRULE: DTSTART is not allowed (meetings start from the panel's creation)"
        if name not in _ALLOWED_PARTS:
            return f"not a valid RRULE: unknown or unsupported part {name}"
        parts[name] = value
    freq = parts.get("FREQ")
    if freq is None:
        return "not a valid RRULE: FREQ is missing (e.g. FREQ=MONTHLY;BYDAY=1WE)"
    if freq not in ALLOWED_FREQS:
        return f"not a valid RRULE: FREQ={freq} is not supported; panels meet WEEKLY or MONTHLY"
    try:
        interval = int(parts.get("INTERVAL", "1"))
        count = int(parts["COUNT"]) if "COUNT" in parts else None
        monthdays = _ints(parts["BYMONTHDAY"]) if "BYMONTHDAY" in parts else []
        months = _ints(parts["BYMONTH"]) if "BYMONTH" in parts else []
        setpos = _ints(parts["BYSETPOS"]) if "BYSETPOS" in parts else []
    except ValueError:
        return "not a valid RRULE: INTERVAL, COUNT, BYMONTHDAY, BYMONTH and BYSETPOS take whole numbers"
    if not 1 <= interval <= MAX_INTERVAL:
        return f"not a valid RRULE: INTERVAL must be between 1 and {MAX_INTERVAL}"
    if count is not None and count < 1:
        return "not a valid RRULE: COUNT must be at least 1"
    if "COUNT" in parts and "UNTIL" in parts:
        return "not a valid RRULE: give COUNT or UNTIL, not both"
    if any(not 1 <= abs(v) <= 31 for v in monthdays):
        return "not a valid RRULE: BYMONTHDAY must be 1 to 31 or -1 to -31"
    if any(not 1 <= v <= 12 for v in months):
        return "not a valid RRULE: BYMONTH must be 1 to 12"
    if any(not 1 <= abs(v) <= 366 for v in setpos):
        return "not a valid RRULE: BYSETPOS must be 1 to 366 or -1 to -366"
    for day in (parts.get("BYDAY") or "").split(","):
        match = re.fullmatch(r"([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)", day) if day else None
        if "BYDAY" in parts and match is None:
            return f"not a valid RRULE: BYDAY {day!r} is not a weekday such as WE, 1WE or -1TH"
        if match and match.group(1) is not None:
            nth = int(match.group(1))
            if freq != "MONTHLY" or not 1 <= abs(nth) <= 5:
                return (f"not a valid RRULE: BYDAY {day!r}: a numbered weekday needs FREQ=MONTHLY "
                        "and 1 to 5 or -1 to -5")
    if monthdays and months and all(v > 0 for v in monthdays) and min(monthdays) > max(
        _DAYS_IN_MONTH[m] for m in months
    ):
        return "not a valid RRULE: no month in BYMONTH has that BYMONTHDAY, so it never happens"
    try:
        parsed = _parse(body, _VALIDATION_START)
        first = parsed.after(_VALIDATION_START, inc=True)
    except (ValueError, TypeError, IndexError, KeyError, OverflowError) as exc:  # what dateutil raises
        return f"not a valid RRULE: {exc}"
    if first is None:
        return "not a valid RRULE: it never produces a date"
    return None


def _check(rrule: str, policy: str, region: str) -> None:
    """ValueError now (not half-way through a generator) for a bad rule, policy or region."""
    if policy not in BANK_HOLIDAY_POLICIES:
        raise ValueError(f"unknown bank-holiday policy {policy!r}: use one of {', '.join(BANK_HOLIDAY_POLICIES)}")
    _subdiv(region)
    problem = validate_rule(rrule)
    if problem:
        raise ValueError(problem)


def _generate(rrule: str, anchor: dt.date, policy: str, region: str) -> Iterator[Occurrence]:
    """Every occurrence from DTSTART ``anchor`` on, in rule-date order (call _check first).

    Stops after ten years in which no meeting happens (only ``skip`` can cause that).
    """
    dtstart = dt.datetime.combine(anchor, dt.time())
    last_meeting = anchor
    previous: dt.date | None = None
    for when in _parse(rrule, dtstart):
        day = when.date()
        if day - last_meeting > _GIVE_UP_AFTER:
            return
        if day == previous:
            continue
        previous = day
        occ = apply_policy(day, policy, region)
        if occ.date is not None:
            last_meeting = day
        yield occ


def occurrences(
    rrule: str,
    start: dt.date,
    *,
    count: int | None = None,
    until: dt.date | None = None,
    policy: str = "next_working_day",
    region: str = "england_and_wales",
    anchor: dt.date | None = None,
) -> list[Occurrence]:
    """The rule's occurrences with rule dates from ``start`` (to ``until``, inclusive).

    ``count`` stops after that many meetings that happen (skipped ones are listed but not
    counted). With neither ``count``, ``until`` nor a COUNT/UNTIL in the rule, the list
    would be endless, so that is a ValueError. ``anchor`` (default ``start``) is the rule's
    DTSTART; when it is earlier, occurrences whose rule date is before ``start`` but whose
    moved date is on or after it are included too (they are meetings after ``start``).
    A ``previous_working_day`` move can give a ``date`` a little before ``start``.
    """
    _check(rrule, policy, region)
    anchor = start if anchor is None else min(anchor, start)
    if count is None and until is None and not re.search(r"(^|;|:)\s*(COUNT|UNTIL)\s*=", rrule, re.IGNORECASE):
        raise ValueError("give count or until: the rule repeats for ever")
    if count is not None and count < 1:
        return []
    found: list[Occurrence] = []
    happened = 0
    for occ in _generate(rrule, anchor, policy, region):
        if until is not None and occ.rule_date > until:
            break
        if occ.rule_date < start and (occ.date is None or occ.date < start):
            continue
        found.append(occ)
        if occ.date is not None:
            happened += 1
            if count is not None and happened >= count:
                break
    return found


def meeting_dates(
    rrule: str,
    start: dt.date,
    count: int,
    policy: str = "next_working_day",
    region: str = "england_and_wales",
    *,
    anchor: dt.date | None = None,
) -> list[dt.date]:
    """The next ``count`` dates meetings actually happen on, on or after ``start``.

    This is what ``flask panels schedule CODE --from YYYY-MM-DD --count N`` prints: dates
    after the bank-holiday policy, skipped meetings left out, none before ``start`` (a
    meeting moved back to before ``start`` is not "next").
    """
    _check(rrule, policy, region)
    if count < 1:
        return []
    anchor = start if anchor is None else min(anchor, start)
    dates: list[dt.date] = []
    for occ in _generate(rrule, anchor, policy, region):
        if occ.date is None or occ.date < start:
            continue
        dates.append(occ.date)
        if len(dates) >= count:
            break
    return sorted(dates)


# -- times ----------------------------------------------------------------------------------

def parse_time(value: str | dt.time) -> dt.time:
    """A panel's "HH:MM" meeting time; ValueError when it is not one."""
    if isinstance(value, dt.time):
        return value.replace(tzinfo=None)
    match = _TIME_RE.match(str(value).strip())
    if match is None:
        raise ValueError(f"{value!r} is not a time of day (use HH:MM, 24-hour clock)")
    return dt.time(int(match.group(1)), int(match.group(2)))


def meeting_datetime(d: dt.date, time: str | dt.time) -> dt.datetime:
    """The meeting's start as an aware Europe/London datetime.

    Meetings keep their local clock time across the clocks changing (10:00 is 10:00 GMT in
    winter and 10:00 BST in summer). A time the clocks skip (01:30 on the last Sunday of
    March) becomes the same wall-clock distance after the change (02:30 BST).
    """
    local = dt.datetime.combine(d, parse_time(time), tzinfo=LONDON)
    return local.astimezone(dt.UTC).astimezone(LONDON)
