"""The demo's year of panel history (panels/demo_history.py), loaded with a small cohort:
held meetings with attendees and decisions dated when they sat, actions reported on and
carried forward, referrals decided and waiting, agendas within capacity."""

from __future__ import annotations

import datetime as dt

from cohort.models import Action, RagChange
from core import clock
from core.extensions import db
from panels import agenda as agendas
from panels.models import ActionUpdate, Attendee, Meeting, Panel, Referral
from panels.services import next_meeting
from tests.conftest import clock_at


def test_demo_history_gives_every_panel_a_year_of_meetings(app):
    from demo.cli import load_demo
    from sharing.crypto import ensure_data_keys

    clock.set_now(clock_at("2026-12-04T09:00:00"))
    ensure_data_keys()
    summary = load_demo(size=40)
    db.session.commit()
    assert "Demo history:" in summary
    panels = db.session.execute(db.select(Panel)).scalars().all()
    for panel in panels:
        held = db.session.execute(db.select(Meeting).filter_by(panel_id=panel.id, status="closed")).scalars().all()
        assert len(held) >= 8, panel.code  # monthly since the agreements began in April
        assert all(m.date < dt.date(2026, 12, 4) for m in held)
        assert all(m.summary for m in held), panel.code  # each held meeting has its executive summary
        dec = next_meeting(panel, clock.today())
        drafts = agendas.draft_agenda(dec)
        assert sum(d.for_discussion for d in drafts) <= panel.capacity
    changes = db.session.execute(db.select(RagChange).filter_by(source="meeting")).scalars().all()
    sat = {m.id: m.date for m in db.session.execute(db.select(Meeting)).scalars()}
    assert changes and all(c.at.date() == sat[c.meeting_id] for c in changes)  # dated when the meeting sat
    assert db.session.execute(db.select(db.func.count(Attendee.id))).scalar() > 20
    assert db.session.execute(db.select(db.func.count(ActionUpdate.id))).scalar() > 0
    assert db.session.execute(db.select(db.func.count(Action.id)).filter_by(status="open")).scalar() > 0
    waiting = db.session.execute(db.select(Referral).filter_by(status="awaiting_decision")).scalars().all()
    assert {r.panel.code for r in waiting} == {"IOM", "MAPPA", "MARAC"}
    assert db.session.execute(db.select(db.func.count(Referral.id)).filter_by(status="accepted")).scalar() > 0
