"""Every write to nominals and cases, with its history row and access-log row.

Services flush; the request (or command) commits once. Each checks the access policy
itself, so no caller can write around it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm.exc import StaleDataError

from cohort.models import RAGS, Case, CaseEvent, Nominal, RagChange
from core import clock
from core.extensions import db
from sharing import audit
from sharing.blind_index import index_nominal
from sharing.policy import Policy


class Refused(Exception):
    """The policy does not allow this; the message names what is missing."""


class Invalid(ValueError):
    """Input that cannot be accepted (API 422, form error)."""


class StaleVersion(Exception):
    """The case changed since the caller read it (API 409, conflict page)."""

    def __init__(self, case: Case, expected: int | None):
        super().__init__(f"case {case.id} is at version {case.version}, not {expected}")
        self.case = case
        self.expected = expected


def require(policy: Policy, panel_id: int, category: str, action: str = "write") -> None:
    if not policy.can(panel_id, category, action):
        raise Refused(f"{category} {action} not granted to {policy.user.agency.code if policy.user else 'you'}")


def create_nominal(**identity: Any) -> Nominal:
    """A new person; identity and contact encrypted, blind indexes computed."""
    nominal = Nominal()
    for field, value in identity.items():
        setattr(nominal, field, value)
    index_nominal(nominal)
    db.session.add(nominal)
    db.session.flush()
    return nominal


def add_event(case: Case, kind: str, user, detail: str = "") -> CaseEvent:
    event = CaseEvent(case_id=case.id, at=clock.utcnow(), user_id=user.id if user else None, kind=kind)
    event.detail = detail or None
    db.session.add(event)
    return event


def change_rag(
    case: Case,
    *,
    to: str,
    rationale: str,
    policy: Policy,
    expected_version: int | None = None,
    source: str = "manual",
    meeting_id: int | None = None,
) -> RagChange:
    """Change a case's RAG with a rationale; refuse stale versions; record history and log."""
    to = (to or "").strip().lower()
    rationale = (rationale or "").strip()
    if to not in RAGS:
        raise Invalid("RAG must be red, amber or green")
    if not rationale:
        raise Invalid("Give a rationale for the RAG change")
    if len(rationale) > 5000:
        raise Invalid("Rationale must be 5,000 characters or fewer")
    require(policy, case.panel_id, "risk")
    if expected_version is not None and expected_version != case.version:
        raise StaleVersion(case, expected_version)
    user = policy.user
    change = RagChange(
        case_id=case.id, at=clock.utcnow(), user_id=user.id if user else None, from_rag=case.rag, to_rag=to,
        source=source, meeting_id=meeting_id,
    )
    change.rationale = rationale
    db.session.add(change)
    case.rag = to
    case.updated_by_id = user.id if user else None
    try:
        db.session.flush()
    except StaleDataError as exc:
        db.session.rollback()
        fresh = db.session.get(Case, case.id)
        raise StaleVersion(fresh, expected_version) from exc
    audit.record("change", user=user, panel=case.panel, nominal_id=case.nominal_id, case_id=case.id,
                 categories=["risk"], detail=f"RAG {change.from_rag or 'none'} -> {to} ({source})")
    return change


def refer(
    nominal: Nominal,
    panel,
    *,
    ref: str,
    policy: Policy,
    referral_date: dt.date | None = None,
    status: str = "referred",
    **fields: Any,
) -> Case:
    """Put a nominal on a panel (a new case), or re-refer an exited case."""
    require(policy, panel.id, "offending")
    user = policy.user
    existing = db.session.execute(
        db.select(Case).filter_by(nominal_id=nominal.id, panel_id=panel.id)
    ).scalars().first()
    if existing is not None and existing.status != "exited":
        raise Invalid(f"This nominal is already on the {panel.code} panel")
    if existing is not None:
        existing.status = status
        existing.referral_date = referral_date or clock.today()
        existing.exited_on = None
        existing.exit_reason = None
        add_event(existing, "re-referred", user)
        db.session.flush()
        audit.record("change", user=user, panel=panel, nominal_id=nominal.id, case_id=existing.id,
                     categories=["offending"], detail="re-referred")
        return existing
    case = Case(
        nominal_id=nominal.id, panel_id=panel.id, ref=ref, status=status,
        referral_date=referral_date or clock.today(), referring_agency_id=user.agency_id if user else None,
    )
    for field, value in fields.items():
        setattr(case, field, value)
    db.session.add(case)
    db.session.flush()
    add_event(case, "referred", user)
    audit.record("create", user=user, panel=panel, nominal_id=nominal.id, case_id=case.id,
                 categories=["offending"], detail="referred")
    return case


def exit_case(case: Case, *, reason: str, policy: Policy, expected_version: int | None = None) -> None:
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("Give a reason for the exit")
    require(policy, case.panel_id, "offending")
    if expected_version is not None and expected_version != case.version:
        raise StaleVersion(case, expected_version)
    case.status = "exited"
    case.exit_reason = reason
    case.exited_on = clock.today()
    case.updated_by_id = policy.user.id
    add_event(case, "exited", policy.user, reason)
    db.session.flush()
    audit.record("change", user=policy.user, panel=case.panel, nominal_id=case.nominal_id, case_id=case.id,
                 categories=["offending"], detail="exited")
