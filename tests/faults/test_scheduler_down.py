"""The scheduler was down over agenda dates: on start its catch-up makes each missed agenda exactly once."""

from __future__ import annotations

import datetime as dt
import json

from cohort.services import create_nominal, refer
from core import clock
from core.extensions import db
from panels.models import AgendaItem, JobRun, Meeting, Panel
from panels.scheduler import catch_up
from sharing.models import AccessEvent
from sharing.policy import Policy
from tests.support import clock_at

IOM_DAY, MAPPA_DAY = dt.date(2026, 12, 2), dt.date(2026, 12, 10)  # agendas due 25 and 30 November


def add_cases(partnership) -> dict[str, int]:
    made = {"IOM": 0, "MAPPA": 0}
    for panel, writer, n in (("IOM", "police", 4), ("MAPPA", "mappa.coord", 2)):
        policy = Policy(partnership.user(writer))
        for i in range(n):
            nominal = create_nominal(given_name=f"Sam {i}", family_name=f"{panel} Person")
            refer(nominal, partnership.panels[panel], ref=f"{panel}-F{i}", policy=policy, rag="red",
                  referral_date=dt.date(2026, 6, 1))
            made[panel] += 1
    db.session.commit()
    return made


def agendas() -> dict[str, tuple]:
    """Per panel: (agenda generated?, number of items) for the December meeting."""
    db.session.expire_all()
    out = {}
    for code, day in (("IOM", IOM_DAY), ("MAPPA", MAPPA_DAY)):
        meeting = db.session.execute(
            db.select(Meeting).join(Panel, Panel.id == Meeting.panel_id).where(Panel.code == code, Meeting.date == day)
        ).scalar_one()
        items = db.session.scalar(db.select(db.func.count(AgendaItem.id)).filter_by(meeting_id=meeting.id))
        out[code] = (meeting.agenda_generated_at is not None, items)
    db.session.commit()
    return out


def bookkeeping() -> tuple[list[str], int]:
    keys = sorted(db.session.execute(db.select(JobRun.key).filter_by(job="agenda")).scalars())
    events = db.session.scalar(db.select(db.func.count(AccessEvent.id)).where(AccessEvent.action == "create"))
    db.session.commit()
    return keys, events


def start_scheduler(app, when: str) -> dict[str, int]:
    clock.set_now(clock_at(when))
    db.session.commit()
    return catch_up(app)


def test_missed_agendas_made_once_on_catch_up(app, partnership, runner):
    cases = add_cases(partnership)
    # 23 November: the scheduler is down and stays down past both agenda dates. Nothing has run.
    assert agendas() == {"IOM": (False, 0), "MAPPA": (False, 0)}
    assert bookkeeping()[0] == []

    # 28 November: it starts; the IOM agenda (due on the 25th) is caught up, MAPPA's is not due yet.
    assert start_scheduler(app, "2026-11-28T09:00:00")["agendas"] == 1
    assert agendas() == {"IOM": (True, cases["IOM"]), "MAPPA": (False, 0)}
    keys, events = bookkeeping()
    assert keys == [f"agenda:IOM:{IOM_DAY.isoformat()}"]

    # Restarted the same day: nothing more.
    assert start_scheduler(app, "2026-11-28T09:30:00")["agendas"] == 0
    assert bookkeeping() == (keys, events)

    # Down again until 1 December: MAPPA's missed agenda (due the 30th) is made, IOM's is not made twice.
    assert start_scheduler(app, "2026-12-01T07:00:00")["agendas"] == 1
    assert agendas() == {"IOM": (True, cases["IOM"]), "MAPPA": (True, cases["MAPPA"])}
    keys, events = bookkeeping()
    assert keys == [f"agenda:IOM:{IOM_DAY.isoformat()}", f"agenda:MAPPA:{MAPPA_DAY.isoformat()}"]

    # Catch-up again, and the operator's one-off tick: both add nothing.
    assert start_scheduler(app, "2026-12-01T07:05:00")["agendas"] == 0
    result = runner.invoke(args=["scheduler", "tick", "--job", "agendas", "--at", "2026-12-01T08:00:00"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.strip().splitlines()[-1]) == {"agendas": 0}
    assert bookkeeping() == (keys, events)
    assert agendas() == {"IOM": (True, cases["IOM"]), "MAPPA": (True, cases["MAPPA"])}
