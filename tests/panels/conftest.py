"""Fixtures for the panels tests: cases built through the real cohort services."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from core.extensions import db

WRITERS = {"IOM": "police", "MAPPA": "mappa.coord"}
_refs = itertools.count(1)


@pytest.fixture
def make_case(partnership):
    """make_case("IOM", rag="red", last_engagement=date, ...) -> a committed Case."""
    from cohort.services import create_nominal, refer
    from sharing.policy import Policy

    def _make(panel: str = "IOM", *, given: str = "Alex", family: str = "Smith", nominal=None,
              status: str = "active", referral_date: dt.date | None = dt.date(2026, 1, 5), **fields):
        policy = Policy(partnership.user(WRITERS[panel]))
        nominal = nominal or create_nominal(given_name=given, family_name=family)
        case = refer(nominal, partnership.panels[panel], ref=f"{panel}-{next(_refs)}", policy=policy,
                     status=status, referral_date=referral_date, **fields)
        db.session.commit()
        return case

    return _make


@pytest.fixture
def meeting_on(partnership):
    """meeting_on("IOM", date(2026, 12, 2)) -> that panel's meeting on that date."""
    from panels.models import Meeting

    def _get(panel: str, day: dt.date):
        return db.session.execute(
            db.select(Meeting).filter_by(panel_id=partnership.panels[panel].id, date=day)
        ).scalar_one()

    return _get


@pytest.fixture
def held_meeting(partnership):
    """held_meeting("IOM", date(2026, 11, 4), [case, ...]) -> a past meeting of the panel, sat
    and closed through the real services, at which these cases were discussed (their next
    review dates kept as they are)."""
    from panels import agenda as agendas
    from panels import meetings as mtg
    from panels.models import Meeting
    from sharing.policy import Policy

    def _hold(panel: str, day: dt.date, cases: list, *, closer: str = "coord"):
        panel_obj = partnership.panels[panel]
        user = partnership.user(WRITERS[panel] if panel != "IOM" else closer)
        meeting = Meeting(panel_id=panel_obj.id, rule_date=day, date=day, time="10:00")
        db.session.add(meeting)
        db.session.flush()
        agendas.generate_agenda(meeting)
        wanted = {c.id: c for c in cases}
        for item in meeting.items:
            if item.case_id in wanted:
                mtg.record_outcome(meeting, item, user=user, rag=None, rationale=None,
                                   next_review=wanted[item.case_id].next_review, policy=Policy(user))
        mtg.close_meeting(meeting, Policy(user), confirm=True)
        db.session.commit()
        return meeting

    return _hold
