"""Closing a large meeting, killed (SIGKILL) while the close transaction runs: all or nothing, then exactly once."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

import pytest

from auth.models import User
from cohort.models import Action, Case, RagChange
from core import clock
from core.extensions import db
from panels.agenda import generate_agenda
from panels.meetings import propose_action, record_outcome
from panels.models import Meeting, Panel
from tests.faults.scratch import soak_setting

pytestmark = pytest.mark.slow
ROWS = 600  # cases on the panel, so items on the agenda
CHILD = Path(__file__).with_name("close_meeting_child.py")
COORD = "coord@test.example"
OTHER = {"red": "amber", "amber": "green", "green": "red", None: "red"}


def prepare_meeting(scratch_db) -> tuple[int, dict[int, str], dict[int, tuple]]:
    """The next IOM meeting with an outcome on every item (and some actions); returns
    (meeting id, {case id: decided RAG}, {case id: (rag, last_reviewed, next_review) before})."""
    with scratch_db.app().app_context():
        coord = db.session.execute(db.select(User).filter_by(email=COORD)).scalar_one()
        iom = db.session.execute(db.select(Panel).filter_by(code="IOM")).scalar_one()
        meeting = db.session.execute(
            db.select(Meeting).where(Meeting.panel_id == iom.id, Meeting.status == "scheduled",
                                     Meeting.date >= clock.today()).order_by(Meeting.date).limit(1)
        ).scalar_one()
        meeting.date = clock.today()  # a meeting closes only on or after the day it sits (issue 14)
        items = generate_agenda(meeting)
        assert len(items) == ROWS
        decided, before = {}, {}
        for n, item in enumerate(items):
            case = item.case
            before[case.id] = (case.rag, case.last_reviewed, case.next_review)
            decided[case.id] = OTHER[case.rag]
            record_outcome(meeting, item, user=coord, rag=decided[case.id], rationale=f"Panel decision {n}",
                           next_review=None, disclosure_considered=False)
            if n % 10 == 0:
                propose_action(meeting, item, user=coord, description=f"Action {n}", owner_agency_id=coord.agency_id,
                               owner_name="Officer", due=meeting.date + dt.timedelta(days=14))
        db.session.commit()
        meeting_id = meeting.id
        db.session.remove()
    return meeting_id, decided, before


def state(scratch_db, meeting_id: int) -> tuple[str, dt.date, dict[int, tuple], Counter, Counter]:
    with scratch_db.app().app_context():
        meeting = db.session.get(Meeting, meeting_id)
        status, day = meeting.status, meeting.date
        cases = {c.id: (c.rag, c.last_reviewed, c.next_review) for c in db.session.execute(db.select(Case)).scalars()}
        landed = Counter(db.session.execute(
            db.select(RagChange.case_id).where(RagChange.meeting_id == meeting_id, RagChange.source == "meeting")
        ).scalars())
        actions = Counter(db.session.execute(db.select(Action.status).where(Action.meeting_id == meeting_id)).scalars())
        db.session.remove()
    return status, day, cases, landed, actions


def assert_all_or_nothing(scratch_db, meeting_id, decided, before) -> bool:
    """Closed and every outcome on its case exactly once, or open and nothing landed. True when closed."""
    status, day, cases, landed, actions = state(scratch_db, meeting_id)
    if status == "closed":
        assert landed == Counter(decided.keys()), "closed, but not every outcome landed exactly once"
        assert {cid: cases[cid][0] for cid in decided} == decided
        assert all(cases[cid][1] == day and cases[cid][2] is not None for cid in decided)
        assert set(actions) == {"open"}
        return True
    assert status == "scheduled"
    assert not landed, f"meeting not closed, yet {sum(landed.values())} RAG decision(s) landed"
    assert {cid: cases[cid] for cid in before} == before, "meeting not closed, yet cases changed"
    assert set(actions) == {"proposed"}
    return False


def test_meeting_close_killed_is_all_or_nothing_then_lands_once(scratch):
    target = scratch(cohort=ROWS)
    meeting_id, decided, before = prepare_meeting(target)
    target.dispose()

    child = target.start([target.command()[0], str(CHILD), str(meeting_id), COORD])
    assert child.stdout.readline().strip() == "closing", target.stderr(child)
    target.kill_while_writing(child, "rag_changes", after=soak_setting("CLOSE_DELAY", 0.2))
    target.dispose()
    closed_before_kill = assert_all_or_nothing(target, meeting_id, decided, before)
    if not closed_before_kill:
        assert child.returncode == -9

    # Close again (the coordinator presses the button after the crash): it lands, exactly once.
    child = target.start([target.command()[0], str(CHILD), str(meeting_id), COORD])
    out = child.stdout.read().splitlines()
    child.wait(120)
    assert child.returncode == 0, target.stderr(child)
    target.kill(child)
    assert out[-1] == ("already closed" if closed_before_kill else "closed")
    assert assert_all_or_nothing(target, meeting_id, decided, before) is True
    assert "Access log intact" in target.flask("audit", "verify").stdout
