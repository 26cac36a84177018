"""Meeting dates from panel rules and bank-holiday policies (panels.schedule), checked against real calendars."""

from __future__ import annotations

import datetime as dt

import pytest

from panels.schedule import (
    BANK_HOLIDAY_POLICIES,
    REGIONS,
    Occurrence,
    holiday_name,
    is_working_day,
    meeting_dates,
    meeting_datetime,
    next_working_day,
    occurrences,
    previous_working_day,
    validate_rule,
)

D = dt.date
IOM = "FREQ=MONTHLY;BYDAY=1WE"
IOM_MID = "FREQ=MONTHLY;BYDAY=3WE"
SGV = "FREQ=MONTHLY;BYDAY=1TU"
DIP = "FREQ=MONTHLY;BYDAY=-1TH"

# (rule, the rule date it gives, next working day, previous working day) in England and Wales.
ENGLAND_CASES = [
    (IOM, D(2025, 1, 1), D(2025, 1, 2), D(2024, 12, 31)),  # New Year's Day on the 1st Wednesday
    ("FREQ=MONTHLY;BYDAY=3FR", D(2025, 4, 18), D(2025, 4, 22), D(2025, 4, 17)),  # Good Friday, then Easter Monday
    ("FREQ=MONTHLY;BYDAY=3MO", D(2025, 4, 21), D(2025, 4, 22), D(2025, 4, 17)),  # Easter Monday, back past Good Fri
    ("FREQ=MONTHLY;BYDAY=1MO", D(2025, 5, 5), D(2025, 5, 6), D(2025, 5, 2)),  # early May bank holiday
    ("FREQ=MONTHLY;BYDAY=-1MO", D(2025, 5, 26), D(2025, 5, 27), D(2025, 5, 23)),  # spring bank holiday
    ("FREQ=MONTHLY;BYDAY=-1MO", D(2025, 8, 25), D(2025, 8, 26), D(2025, 8, 22)),  # summer bank holiday
    (DIP, D(2025, 12, 25), D(2025, 12, 29), D(2025, 12, 24)),  # last Thursday is Christmas Day
    ("FREQ=MONTHLY;BYDAY=1TH", D(2026, 1, 1), D(2026, 1, 2), D(2025, 12, 31)),
    ("FREQ=MONTHLY;BYDAY=1FR", D(2026, 4, 3), D(2026, 4, 7), D(2026, 4, 2)),  # Good Friday 2026
    ("FREQ=MONTHLY;BYDAY=1MO", D(2026, 4, 6), D(2026, 4, 7), D(2026, 4, 2)),  # Easter Monday 2026
    ("FREQ=MONTHLY;BYDAY=1MO", D(2026, 5, 4), D(2026, 5, 5), D(2026, 5, 1)),
    ("FREQ=MONTHLY;BYDAY=-1MO", D(2026, 8, 31), D(2026, 9, 1), D(2026, 8, 28)),
    ("FREQ=MONTHLY;BYMONTHDAY=25", D(2026, 12, 25), D(2026, 12, 29), D(2026, 12, 24)),  # Boxing Day sub on Mon 28
    ("FREQ=MONTHLY;BYMONTHDAY=26", D(2026, 12, 26), D(2026, 12, 29), D(2026, 12, 24)),  # Boxing Day on a Saturday
    ("FREQ=MONTHLY;BYDAY=-1MO", D(2026, 12, 28), D(2026, 12, 29), D(2026, 12, 24)),  # the substitute day itself
    ("FREQ=MONTHLY;BYDAY=1FR", D(2027, 1, 1), D(2027, 1, 4), D(2026, 12, 31)),
    ("FREQ=MONTHLY;BYDAY=-1FR", D(2027, 3, 26), D(2027, 3, 30), D(2027, 3, 25)),  # Good Friday 2027
    ("FREQ=MONTHLY;BYDAY=-1MO", D(2027, 3, 29), D(2027, 3, 30), D(2027, 3, 25)),  # Easter Monday 2027
    ("FREQ=MONTHLY;BYDAY=1MO", D(2027, 5, 3), D(2027, 5, 4), D(2027, 4, 30)),
    ("FREQ=MONTHLY;BYDAY=-1MO", D(2027, 5, 31), D(2027, 6, 1), D(2027, 5, 28)),
    ("FREQ=MONTHLY;BYDAY=-1MO", D(2027, 8, 30), D(2027, 8, 31), D(2027, 8, 27)),
    ("FREQ=MONTHLY;BYMONTHDAY=25", D(2027, 12, 25), D(2027, 12, 29), D(2027, 12, 24)),  # Sat; subs Mon 27, Tue 28
    ("FREQ=MONTHLY;BYDAY=4MO", D(2027, 12, 27), D(2027, 12, 29), D(2027, 12, 24)),  # Christmas substitute
    ("FREQ=MONTHLY;BYDAY=-1TU", D(2027, 12, 28), D(2027, 12, 29), D(2027, 12, 24)),  # Boxing Day substitute
    ("FREQ=MONTHLY;BYMONTHDAY=1", D(2028, 1, 1), D(2028, 1, 4), D(2027, 12, 31)),  # Sat; substitute Mon 3 Jan
    ("FREQ=MONTHLY;BYDAY=1MO", D(2028, 1, 3), D(2028, 1, 4), D(2027, 12, 31)),
    ("FREQ=MONTHLY;BYDAY=2FR", D(2028, 4, 14), D(2028, 4, 18), D(2028, 4, 13)),  # Good Friday 2028
    ("FREQ=MONTHLY;BYDAY=3MO", D(2028, 4, 17), D(2028, 4, 18), D(2028, 4, 13)),  # Easter Monday 2028
    ("FREQ=MONTHLY;BYDAY=1MO", D(2028, 5, 1), D(2028, 5, 2), D(2028, 4, 28)),
    ("FREQ=MONTHLY;BYDAY=-1MO", D(2028, 12, 25), D(2028, 12, 27), D(2028, 12, 22)),  # Christmas Mon, Boxing Tue
    ("FREQ=MONTHLY;BYDAY=1SU", D(2026, 2, 1), D(2026, 2, 2), D(2026, 1, 30)),  # weekends are not working days
]


def _only(rule: str, day: dt.date, policy: str, region: str = "england_and_wales") -> Occurrence:
    found = occurrences(rule, day, until=day, policy=policy, region=region)
    assert len(found) == 1 and found[0].rule_date == day, found
    return found[0]


@pytest.mark.parametrize(("rule", "day", "after", "before"), ENGLAND_CASES)
def test_every_policy_on_england_and_wales_bank_holidays(rule, day, after, before):
    assert not is_working_day(day)
    assert _only(rule, day, "ignore") == Occurrence(day, day, False)
    assert _only(rule, day, "skip") == Occurrence(day, None, False)
    assert _only(rule, day, "next_working_day") == Occurrence(day, after, True)
    assert _only(rule, day, "previous_working_day") == Occurrence(day, before, True)
    assert is_working_day(after) and is_working_day(before)


def test_working_days_and_substitute_holidays():
    assert holiday_name(D(2027, 12, 27)) == "Christmas Day (observed)"
    assert holiday_name(D(2027, 12, 28)) == "Boxing Day (observed)"
    assert holiday_name(D(2026, 12, 28)) == "Boxing Day (observed)"
    assert holiday_name(D(2026, 12, 29)) is None
    assert is_working_day(D(2026, 12, 29))
    assert not is_working_day(D(2026, 12, 27))  # Sunday
    assert next_working_day(D(2027, 12, 24)) == D(2027, 12, 29)
    assert previous_working_day(D(2027, 12, 29)) == D(2027, 12, 24)
    assert next_working_day(D(2026, 6, 1)) == D(2026, 6, 2)  # strictly after, even from a working day
    assert previous_working_day(D(2026, 6, 1)) == D(2026, 5, 29)


def test_new_years_day_on_the_first_wednesday_under_each_policy():
    start = D(2025, 1, 1)
    assert meeting_dates(IOM, start, 2, "next_working_day") == [D(2025, 1, 2), D(2025, 2, 5)]
    assert meeting_dates(IOM, start, 2, "ignore") == [D(2025, 1, 1), D(2025, 2, 5)]
    assert meeting_dates(IOM, start, 2, "skip") == [D(2025, 2, 5), D(2025, 3, 5)]
    # Moved back to 31 December 2024: listed as an occurrence, but it is not a date "from" 1 January.
    assert occurrences(IOM, start, count=1, policy="previous_working_day") == [
        Occurrence(D(2025, 1, 1), D(2024, 12, 31), True)
    ]
    assert meeting_dates(IOM, start, 2, "previous_working_day") == [D(2025, 2, 5), D(2025, 3, 5)]


def test_a_year_of_each_panel_in_england_and_wales():
    assert meeting_dates(IOM, D(2025, 1, 1), 12) == [
        D(2025, 1, 2), D(2025, 2, 5), D(2025, 3, 5), D(2025, 4, 2), D(2025, 5, 7), D(2025, 6, 4),
        D(2025, 7, 2), D(2025, 8, 6), D(2025, 9, 3), D(2025, 10, 1), D(2025, 11, 5), D(2025, 12, 3),
    ]
    assert meeting_dates(IOM_MID, D(2026, 1, 1), 4) == [D(2026, 1, 21), D(2026, 2, 18), D(2026, 3, 18), D(2026, 4, 15)]
    assert meeting_dates(SGV, D(2026, 11, 1), 3) == [D(2026, 11, 3), D(2026, 12, 1), D(2027, 1, 5)]
    assert meeting_dates(DIP, D(2025, 9, 1), 6) == [
        D(2025, 9, 25), D(2025, 10, 30), D(2025, 11, 27), D(2025, 12, 29), D(2026, 1, 29), D(2026, 2, 26),
    ]


def test_count_counts_meetings_that_happen():
    found = occurrences(DIP, D(2025, 11, 1), count=3, policy="skip")
    assert found == [
        Occurrence(D(2025, 11, 27), D(2025, 11, 27), False),
        Occurrence(D(2025, 12, 25), None, False),
        Occurrence(D(2026, 1, 29), D(2026, 1, 29), False),
        Occurrence(D(2026, 2, 26), D(2026, 2, 26), False),
    ]
    assert found[1].skipped
    assert meeting_dates(DIP, D(2025, 11, 1), 3, "skip") == [D(2025, 11, 27), D(2026, 1, 29), D(2026, 2, 26)]
    assert meeting_dates(DIP, D(2025, 11, 1), 0) == []


def test_until_is_inclusive_and_on_rule_dates():
    found = occurrences(IOM, D(2026, 10, 1), until=D(2027, 1, 6))
    assert [o.rule_date for o in found] == [D(2026, 10, 7), D(2026, 11, 4), D(2026, 12, 2), D(2027, 1, 6)]
    assert len(occurrences(IOM, D(2026, 10, 1), until=D(2027, 1, 5))) == 3
    assert len(occurrences(IOM, D(2026, 10, 1), until=D(2027, 6, 30), count=2)) == 2
    assert occurrences(IOM, D(2026, 10, 1), until=D(2026, 9, 1)) == []


def test_endless_rule_needs_count_or_until_but_a_rule_count_is_enough():
    with pytest.raises(ValueError, match="count or until"):
        occurrences(IOM, D(2026, 1, 1))
    assert [o.date for o in occurrences(f"{IOM};COUNT=2", D(2026, 1, 1))] == [D(2026, 1, 7), D(2026, 2, 4)]
    found = occurrences(f"{IOM};UNTIL=20260401T000000Z", D(2026, 1, 1))
    assert [o.date for o in found] == [D(2026, 1, 7), D(2026, 2, 4), D(2026, 3, 4), D(2026, 4, 1)]


def test_a_rule_every_date_of_which_is_skipped_ends():
    christmas = "FREQ=MONTHLY;BYMONTH=12;BYMONTHDAY=25"
    assert meeting_dates(christmas, D(2026, 1, 1), 3, "skip") == []  # always a bank holiday: gives up, no hang
    weekend = "FREQ=WEEKLY;BYDAY=SA,SU"
    assert meeting_dates(weekend, D(2026, 1, 1), 2, "skip") == []
    assert meeting_dates(weekend, D(2026, 1, 1), 2, "next_working_day") == [D(2026, 1, 5), D(2026, 1, 5)]


def test_anchor_keeps_interval_phase_and_catches_moves_across_start():
    fortnightly = "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU"
    assert meeting_dates(fortnightly, D(2026, 6, 3), 2, anchor=D(2026, 5, 25)) == [D(2026, 6, 9), D(2026, 6, 23)]
    assert meeting_dates(fortnightly, D(2026, 6, 3), 2) == [D(2026, 6, 16), D(2026, 6, 30)]
    # Christmas Day 2027 (Saturday) moves to Wednesday 29 December: a meeting after the 27th.
    found = occurrences("FREQ=MONTHLY;BYMONTHDAY=25", D(2027, 12, 27), until=D(2028, 1, 31), anchor=D(2027, 12, 1))
    assert found == [
        Occurrence(D(2027, 12, 25), D(2027, 12, 29), True),
        Occurrence(D(2028, 1, 25), D(2028, 1, 25), False),
    ]
    assert meeting_dates("FREQ=MONTHLY;BYMONTHDAY=25", D(2027, 12, 27), 1, anchor=D(2027, 12, 1)) == [D(2027, 12, 29)]


# -- regions ---------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("rule", "day", "moved_in", "to"),
    [
        ("FREQ=MONTHLY;BYMONTHDAY=2", D(2026, 1, 2), "scotland", D(2026, 1, 5)),  # 2 January
        (IOM, D(2025, 1, 1), "scotland", D(2025, 1, 3)),  # 1 and 2 January
        ("FREQ=MONTHLY;BYDAY=1MO", D(2025, 8, 4), "scotland", D(2025, 8, 5)),  # Scottish summer bank holiday
        ("FREQ=MONTHLY;BYDAY=-1MO", D(2026, 11, 30), "scotland", D(2026, 12, 1)),  # St Andrew's Day
        ("FREQ=MONTHLY;BYDAY=3TU", D(2026, 3, 17), "northern_ireland", D(2026, 3, 18)),  # St Patrick's Day
        ("FREQ=MONTHLY;BYDAY=2MO", D(2027, 7, 12), "northern_ireland", D(2027, 7, 13)),  # Battle of the Boyne
    ],
)
def test_regional_bank_holidays(rule, day, moved_in, to):
    assert _only(rule, day, "next_working_day", moved_in) == Occurrence(day, to, True)
    if day != D(2025, 1, 1):
        assert _only(rule, day, "next_working_day") == Occurrence(day, day, False)  # a working day in England


def test_english_only_holidays_are_working_days_in_scotland():
    assert _only("FREQ=MONTHLY;BYDAY=3MO", D(2025, 4, 21), "next_working_day", "scotland").moved is False
    assert _only("FREQ=MONTHLY;BYDAY=-1MO", D(2025, 8, 25), "next_working_day", "scotland").moved is False
    assert _only("FREQ=MONTHLY;BYDAY=-1MO", D(2025, 8, 25), "next_working_day").date == D(2025, 8, 26)
    assert is_working_day(D(2026, 1, 2)) and not is_working_day(D(2026, 1, 2), "scotland")


def test_unknown_region_or_policy():
    assert set(REGIONS) == {"england_and_wales", "scotland", "northern_ireland"}
    assert BANK_HOLIDAY_POLICIES == ("ignore", "skip", "next_working_day", "previous_working_day")
    with pytest.raises(ValueError, match="region"):
        is_working_day(D(2026, 1, 1), "wales")
    with pytest.raises(ValueError, match="policy"):
        occurrences(IOM, D(2026, 1, 1), count=1, policy="nearest")
    with pytest.raises(ValueError, match="not a valid RRULE"):
        occurrences("FREQ=DAILY", D(2026, 1, 1), count=1)
    with pytest.raises(ValueError, match="not a valid RRULE"):
        occurrences("garbage", D(2026, 1, 1))  # the rule's problem, not "give count or until"
    with pytest.raises(ValueError, match="region"):
        meeting_dates(IOM, D(2026, 1, 1), 0, region="wales")


# -- rules -----------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "rule",
    [IOM, IOM_MID, SGV, DIP, "FREQ=MONTHLY;BYMONTHDAY=25", "RRULE:FREQ=MONTHLY;BYDAY=1WE", "freq=monthly;byday=1we",
     "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU", "FREQ=MONTHLY;BYDAY=WE;BYSETPOS=-1", "FREQ=MONTHLY;BYDAY=1WE;COUNT=12",
     "FREQ=MONTHLY;BYDAY=1WE;UNTIL=20271231", "FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=29", "FREQ=MONTHLY;BYDAY=5WE",
     "FREQ=MONTHLY;BYDAY=1WE;"],
)
def test_validate_rule_accepts_panel_rules(rule):
    assert validate_rule(rule) is None


@pytest.mark.parametrize(
    ("rule", "says"),
    [
        ("", "empty"),
        ("RRULE:", "empty"),
        (";", "empty"),
        ("garbage", "NAME=VALUE"),
        ("first Wednesday", "NAME=VALUE"),
        ("BYDAY=1WE", "FREQ is missing"),
        ("FREQ=FOO;BYDAY=1WE", "FREQ=FOO"),
        ("FREQ=DAILY", "WEEKLY or MONTHLY"),
        ("FREQ=MONTHLY;BYDAY=XX", "BYDAY"),
        ("FREQ=MONTHLY;BYDAY=9WE", "BYDAY"),
        ("FREQ=WEEKLY;BYDAY=1WE", "BYDAY"),
        ("FREQ=MONTHLY;BYDAY=1WE;BYHOUR=10", "BYHOUR"),
        ("FREQ=MONTHLY;BYDAY=1WE;FOO=1", "FOO"),
        ("FREQ=MONTHLY;FREQ=WEEKLY", "twice"),
        ("FREQ=MONTHLY;INTERVAL=0", "INTERVAL"),
        ("FREQ=MONTHLY;COUNT=x", "whole numbers"),
        ("FREQ=MONTHLY;COUNT=0", "COUNT"),
        ("FREQ=MONTHLY;COUNT=2;UNTIL=20271231", "not both"),
        ("FREQ=MONTHLY;UNTIL=yesterday", "not a valid RRULE"),
        ("FREQ=MONTHLY;BYMONTHDAY=32", "BYMONTHDAY"),
        ("FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=30", "never"),
        ("DTSTART:20260101\nRRULE:FREQ=MONTHLY", "one RRULE"),
        ("FREQ=MONTHLY;" + "BYDAY=1WE" * 30, "longer than"),
    ],
)
def test_validate_rule_rejects_garbage_with_a_message(rule, says):
    problem = validate_rule(rule)
    assert problem is not None and problem.startswith("not a valid RRULE") and says in problem, problem


def test_validate_rule_rejects_non_strings():
    assert validate_rule(None) is not None  # type: ignore[arg-type]


# -- times and daylight saving ---------------------------------------------------------------

@pytest.mark.parametrize(
    ("day", "offset_hours"),
    [
        (D(2026, 3, 25), 0), (D(2026, 4, 1), 1),  # clocks go forward Sunday 29 March 2026
        (D(2026, 10, 21), 1), (D(2026, 10, 28), 0),  # clocks go back Sunday 25 October 2026
        (D(2027, 3, 24), 0), (D(2027, 3, 31), 1),  # 28 March 2027
        (D(2027, 10, 27), 1), (D(2027, 11, 3), 0),  # 31 October 2027
    ],
)
def test_meeting_keeps_local_time_across_daylight_saving(day, offset_hours):
    start = meeting_datetime(day, "10:00")
    assert (start.date(), start.hour, start.minute) == (day, 10, 0)
    assert start.utcoffset() == dt.timedelta(hours=offset_hours)
    assert start.astimezone(dt.UTC).hour == 10 - offset_hours
    assert str(start.tzinfo) == "Europe/London"


def test_meeting_datetime_over_a_year_of_iom_meetings():
    starts = [meeting_datetime(d, "10:00") for d in meeting_dates(IOM, D(2026, 1, 1), 12)]
    assert {s.time() for s in starts} == {dt.time(10, 0)}
    assert [int(s.utcoffset().total_seconds() // 3600) for s in starts] == [0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 0]


def test_meeting_datetime_times():
    assert meeting_datetime(D(2026, 6, 3), "9:30").time() == dt.time(9, 30)
    assert meeting_datetime(D(2026, 6, 3), dt.time(14, 0)).hour == 14
    skipped = meeting_datetime(D(2026, 3, 29), "01:30")  # this hour does not exist in London
    assert (skipped.hour, skipped.minute, skipped.utcoffset()) == (2, 30, dt.timedelta(hours=1))
    for bad in ("25:00", "10", "10:60", "ten"):
        with pytest.raises(ValueError, match="HH:MM"):
            meeting_datetime(D(2026, 6, 3), bad)
