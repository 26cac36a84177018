"""A year of panel history for the demo (`flask demo load`), so every page and KPI shows real
figures: held meetings with named attendees, agendas within capacity, RAG decisions and
reviews dated at each sitting, actions agreed and reported on (some carried forward), and
referrals decided or waiting. Deterministic (one seeded generator); synthetic, no real person.

It runs as a system load through the same services the pages use, with the panel's
coordinator as the author and the agreements not applied (exchange.importing.SystemLoad).
"""

from __future__ import annotations

import datetime as dt
import random

from auth.models import User
from cohort.models import Case
from core import clock
from core.extensions import db
from exchange.importing import SystemLoad
from panels import actions as acts
from panels import agenda as agendas
from panels import meetings as mtg
from panels import referrals as refs
from panels.models import AgendaItem, Meeting, Panel, Referral
from panels.services import planned_dates

COORDINATORS = {"MAPPA": "mappa.coordinator@demo.example", "DIP": "mappa.coordinator@demo.example"}
DEFAULT_COORDINATOR = "coordinator@demo.example"
RATIONALES = {
    "red": ["Further offending reported since the last panel; escalate contact", "Breach of licence conditions",
            "New intelligence of weapons; police lead to act"],
    "amber": ["Engaging, but accommodation remains unstable", "Mixed compliance; continue the current plan",
              "Risk reduced after treatment started; keep under review"],
    "green": ["Settled in work and engaging well", "No concerns raised by any agency this month",
              "Completed the programme; consider exit at the next review"],
}
ACTIONS = ["Home visit with the offender manager", "Refer to the housing options team", "Book a drug test",
           "Share the safety plan with partners", "Check benefit claim and ID documents", "Arrange a joint visit",
           "Update the risk management plan", "Offer a place on the employment programme"]
SUMMARIES = [  # names no one: the executive summary is shared with every agency taking part
    "The panel reviewed its priority cases. Housing remains the most common barrier; partners agreed to "
    "escalate two cases to the housing options manager.",
    "Engagement improved this month. The panel noted pressure on drug treatment places and asked health "
    "partners to report waiting times at the next meeting.",
    "Most agreed actions were completed. Partners will share safety plans earlier, before the meeting, so "
    "discussion can focus on decisions.",
]
ATTENDEES = ["A. Patel", "B. Okafor", "C. Jones", "D. Kowalska", "E. Hughes", "F. Begum", "G. O'Neill", "H. Singh"]


def _coordinator(panel: Panel) -> User:
    email = COORDINATORS.get(panel.code, DEFAULT_COORDINATOR)
    return db.session.execute(db.select(User).filter_by(email=email)).scalar_one()


def _past_meetings(panel: Panel, today: dt.date) -> list[Meeting]:
    """The panel's sittings over the last year (made here: schedules only create them ahead)."""
    have = {m.rule_date: m for m in db.session.execute(db.select(Meeting).filter_by(panel_id=panel.id)).scalars()}
    out = []
    for occ in planned_dates(panel, today - dt.timedelta(days=365), today - dt.timedelta(days=1)):
        if occ.date is None or occ.date >= today:
            continue
        meeting = have.get(occ.rule_date)
        if meeting is None:
            meeting = Meeting(panel_id=panel.id, rule_date=occ.rule_date, date=occ.date, time=panel.time,
                              place=panel.place)
            db.session.add(meeting)
        out.append(meeting)
    db.session.flush()
    return sorted(out, key=lambda m: m.date)


def _attend(meeting: Meeting, rng: random.Random, user: User) -> None:
    for agency in mtg.panel_agencies(meeting.panel_id, meeting.date):  # none before the agreements began
        if rng.random() < 0.8:
            mtg.add_attendee(meeting, agency_id=agency.id, name=rng.choice(ATTENDEES), role="Panel member",
                             acknowledged=True, user=user)
        else:
            mtg.record_attendance(meeting, {agency.id: rng.choice(["apologies", "by_report"])}, user)


def _sit(meeting: Meeting, rng: random.Random, user: User, policy: SystemLoad) -> None:
    """Draft the agenda (only people referred by then), decide each item for discussion, agree
    some actions, and close the meeting as it sat."""
    agendas.generate_agenda(meeting)
    for item in list(meeting.items):
        if item.case.referral_date and item.case.referral_date > meeting.date:
            meeting.items.remove(item)
    db.session.flush()
    _attend(meeting, rng, user)
    for item in [i for i in meeting.items if i.for_discussion]:
        case = item.case
        rag = case.rag if rng.random() < 0.7 or case.rag is None else rng.choice(["red", "amber", "green"])
        rag = rag or "amber"
        disclosure = False if mtg.needs_disclosure(case) else None
        mtg.record_outcome(meeting, item, user=user, rag=rag, rationale=rng.choice(RATIONALES[rag]),
                           next_review=None, disclosure_considered=disclosure, policy=policy)
        if rng.random() < 0.35:
            agencies = mtg.panel_agencies(meeting.panel_id)
            mtg.propose_action(meeting, item, user=user, description=rng.choice(ACTIONS),
                               owner_agency_id=rng.choice(agencies).id if agencies else None, owner_name=None,
                               due=meeting.date + dt.timedelta(days=rng.choice([14, 21, 28])), policy=policy)
    mtg.close_meeting(meeting, policy, confirm=True)
    meeting.closed_at = mtg.sat_at(meeting) + dt.timedelta(hours=3)
    # Not drawn from rng: the rest of the history stays the same, seed for seed.
    mtg.save_summary(meeting, SUMMARIES[meeting.date.month % len(SUMMARIES)], user)
    meeting.summary_updated_at = meeting.closed_at


def _report_on_actions(panel: Panel, rng: random.Random, policy: SystemLoad, today: dt.date) -> None:
    """Owners' reports: most actions done, some not (reported twice for a few), the recent ones open."""
    for carried in acts.outstanding(panel.id, today + dt.timedelta(days=60)):
        action = carried.action
        if action.due and action.due > today - dt.timedelta(days=20):
            continue  # still open: it comes back on the next agenda
        roll = rng.random()
        if roll < 0.7:
            acts.update_status(action, status="done", note=None, policy=policy)
        elif roll < 0.85:
            acts.update_status(action, status="not_done", note=None, policy=policy)
            acts.update_status(action, status="could_not", note="Could not make contact", policy=policy)
        else:
            acts.update_status(action, status="in_progress", note="Booked", policy=policy)


def _referrals(panel: Panel, rng: random.Random, policy: SystemLoad, today: dt.date) -> int:
    """A decided referral for each case referred in the last year, and two waiting for a decision."""
    cases = db.session.execute(db.select(Case).where(
        Case.panel_id == panel.id, Case.referral_date >= today - dt.timedelta(days=365))).scalars().all()
    for case in cases:
        referral = Referral(panel_id=panel.id, case_id=case.id, referred_on=case.referral_date,
                            status="accepted", referred_by_id=policy.user.id,
                            dash_score=rng.randint(14, 24) if panel.kind == "MARAC" else None,
                            decided_at=dt.datetime.combine(case.referral_date, dt.time(12)),
                            decided_by_id=policy.user.id)
        referral.reason = "Referred by the lead agency"
        referral.decision_reason = "Meets the panel's criteria"
        db.session.add(referral)
        if case.status == "referred":
            case.status = "active"
    waiting = 0
    for given, family in (("Robin", "Example"), ("Alex", "Sample"))[: 2 if panel.referral_criteria else 0]:
        answers = {}
        for c in panel.referral_criteria or []:
            kind = c.get("type", "bool")
            answers[c["name"]] = (rng.choice(c["choices"]) if kind == "choice" else rng.randint(10, 20)
                                  if kind == "int" else rng.random() < 0.5 if kind == "bool" else "See referral")
        refs.refer(panel, policy=policy, reason="New referral from the lead agency", criteria=answers,
                   nominal={"given_name": given, "family_name": f"{family}-{panel.code}"})
        waiting += 1
    db.session.flush()
    return waiting


def load_history(seed: int = 2026, today: dt.date | None = None) -> str:
    """Add the year of history to every active panel of the demo; the caller commits."""
    today = today or clock.today()
    rng = random.Random(seed)
    held = waiting = 0
    for panel in db.session.execute(db.select(Panel).where(Panel.active.is_(True)).order_by(Panel.code)).scalars():
        user = _coordinator(panel)
        policy = SystemLoad(user)
        waiting += _referrals(panel, rng, policy, today)
        for meeting in _past_meetings(panel, today):
            if meeting.status == "closed":
                continue
            _sit(meeting, rng, user, policy)
            held += 1
        _report_on_actions(panel, rng, policy, today)
    db.session.flush()
    items = db.session.execute(db.select(db.func.count(AgendaItem.id)).where(AgendaItem.discussed.is_(True))).scalar()
    return f"Demo history: {held} meetings held, {items} items discussed, {waiting} referrals awaiting decision"
