"""Agendas: drafted from the cohort as it stands, stored, edited and published.

Prioritising reads only plain columns (status, RAG, dates, MAPPA level) in two bulk
queries, so a 1,000-case panel drafts in well under a second without decrypting anything.
What a viewer then sees of each item is decided by the access policy (agenda_rows).

Order and grants. The stored order (positions) is one order for everyone: the generator's
priority, drawn from the case's `risk` fields (RAG, review dates, MAPPA level) and
`offending` fields (referral and engagement dates) and from nothing else (not from the
person's other panels), then the coordinator's moves. A viewer who may read both of
ORDER_CATEGORIES on the panel sees that order. A viewer who may not read one of them
would learn it from the order (the first items are the red cases), so sees the items in
case-reference order, numbered 1..n, and may not reorder them — the same rule on the
page, the print view, the meeting page and the API (agenda_rows is the only place it is
applied). Reasons are shown only where their category (REASON_CATEGORY) is readable.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from cohort.models import Action, Case
from cohort.serialise import FIELD_CATEGORY
from core import clock
from core.extensions import db
from core.labels import label
from notifications import services as notifications
from panels.models import AgendaItem, InclusionReview, Meeting, Panel, Referral
from sharing import audit
from sharing.gateway import display_name, visible_other_panels
from sharing.policy import Policy

# Priority order: an item ranks by its most urgent reason. Items with a DISCUSSION reason
# compete for the meeting's capacity (Panel.capacity); the rest are listed for information.
PRIORITY = ("referral_awaiting_decision", "new_referral", "actions_outstanding", "red", "no_engagement_6m",
            "no_engagement_3m", "review_due", "inclusion_review_due", "amber", "green")
DISCUSSION = PRIORITY[:8]
REASONS = PRIORITY + ("on_other_panels", "added_by_coordinator")
REASON_LABELS = {r: label(r, "reason") for r in REASONS}  # words from the one label table (core.labels)
# The category a reason reveals: a viewer who may not read it does not see the reason.
# "on_other_panels" is also filtered by which panels the viewer may be told of
# (gateway.visible_other_panels); "added_by_coordinator" reveals no case data.
REASON_CATEGORY = {
    "red": "risk", "amber": "risk", "green": "risk", "review_due": "risk",
    "no_engagement_3m": "offending", "no_engagement_6m": "offending", "new_referral": "offending",
    "referral_awaiting_decision": "offending", "actions_outstanding": "offending",
    "inclusion_review_due": "offending", "on_other_panels": "identity",
}
# The categories the priority order is drawn from: a viewer who may not read all of them
# sees the items in an order drawn from none of them (by case reference), and one list: which
# items are for discussion follows the same data.
ORDER_CATEGORIES = ("risk", "offending")
NO_ENGAGEMENT_3M = 91
NO_ENGAGEMENT_6M = 182
EDITABLE = ("scheduled", "published")
AWAITING = ("awaiting_decision", "deferred")
NOT_OUTSTANDING = ("done", "cancelled", "proposed")


class AgendaError(ValueError):
    """An agenda change that cannot be made; the message is shown to the user."""


@dataclass
class ItemDraft:
    case_id: int
    nominal_id: int
    reasons: list[str]
    other_panels: list[tuple[int, str]] = field(default_factory=list)  # (panel id, code)
    rank: int = len(PRIORITY)
    position: int = 0
    weight: int = 0  # how many priority (risk/offending) reasons: the tie-break within a rank
    for_discussion: bool = False
    ref: str = ""


def review_interval(panel: Panel, mappa_level: int | None, mappa_category: int | None,
                    rag: str | None = None) -> int:
    """Days between reviews from the panel's intervals (per MAPPA level or RAG), e.g. MAPPA
    level 3 six weeks, level 2 twelve, ViSOR (category 2) four months."""
    return panel.interval_for(rag, mappa_level, mappa_category)


def previous_meeting_date(meeting: Meeting) -> dt.date:
    """The date of the panel's last sitting before this one (or one review interval earlier)."""
    prev = db.session.execute(
        db.select(db.func.max(Meeting.date)).where(
            Meeting.panel_id == meeting.panel_id, Meeting.date < meeting.date, Meeting.status != "cancelled"
        )
    ).scalar()
    return prev or meeting.date - dt.timedelta(days=meeting.panel.review_interval())


@dataclass
class _Facts:
    """What the draft ranks on besides the case row, each a set or map by case id."""

    discussed: set[int]
    awaiting: set[int]
    outstanding: set[int]
    last_inclusion: dict[int, dt.date]
    others: dict[int, list[tuple[int, str]]]


def _facts(meeting: Meeting, live) -> _Facts:
    """Five bulk queries: held-meeting discussions, referrals awaiting decision, outstanding
    actions, inclusion decisions and other panels of everyone live on the panel."""
    panel_id = meeting.panel_id
    on_panel = db.select(Case.id).where(live)
    discussed = set(db.session.execute(
        db.select(AgendaItem.case_id).join(Meeting, Meeting.id == AgendaItem.meeting_id)
        .where(Meeting.panel_id == panel_id, Meeting.status == "closed", Meeting.id != meeting.id,
               AgendaItem.discussed.is_(True))
    ).scalars())
    awaiting = set(db.session.execute(
        db.select(Referral.case_id).where(Referral.panel_id == panel_id, Referral.status.in_(AWAITING))
    ).scalars())
    earlier = db.select(Meeting.id).where(Meeting.panel_id == panel_id, Meeting.date < meeting.date)
    outstanding = set(db.session.execute(
        db.select(Action.case_id).where(
            Action.case_id.in_(on_panel), Action.status.not_in(NOT_OUTSTANDING),
            (Action.due <= meeting.date) | Action.meeting_id.in_(earlier))
    ).scalars())
    last_inclusion = dict(db.session.execute(
        db.select(InclusionReview.case_id, db.func.max(InclusionReview.decided_on))
        .where(InclusionReview.case_id.in_(on_panel)).group_by(InclusionReview.case_id)
    ).all()) if meeting.panel.inclusion_review_days else {}
    others: dict[int, list[tuple[int, str]]] = {}
    for nominal_id, pid, code in db.session.execute(
        db.select(Case.nominal_id, Case.panel_id, Panel.code)
        .join(Panel, Panel.id == Case.panel_id)
        .where(Case.nominal_id.in_(db.select(Case.nominal_id).where(live)), Case.panel_id != panel_id,
               Case.status != "exited")
        .order_by(Panel.code)
    ):
        others.setdefault(nominal_id, []).append((pid, code))
    return _Facts(discussed, awaiting, outstanding, last_inclusion, others)


def review_due_on(panel: Panel, r) -> dt.date | None:
    """The case's next review date; a case without one is due an interval after its last
    review (or referral), and one with neither is not due."""
    if r.next_review is not None:
        return r.next_review
    base = r.last_reviewed or r.referral_date
    if base is None:
        return None
    return base + dt.timedelta(days=review_interval(panel, r.mappa_level, r.mappa_category, r.rag))


def _reasons(panel: Panel, on: dt.date, r, facts: _Facts) -> list[str]:
    reasons = []
    if r.id in facts.awaiting:
        reasons.append("referral_awaiting_decision")
    if r.id not in facts.discussed:
        reasons.append("new_referral")
    if r.id in facts.outstanding:
        reasons.append("actions_outstanding")
    if r.rag == "red":
        reasons.append("red")
    quiet = None if r.last_engagement is None else (on - r.last_engagement).days
    if quiet is None or quiet >= NO_ENGAGEMENT_6M:
        reasons += ["no_engagement_6m", "no_engagement_3m"]
    elif quiet >= NO_ENGAGEMENT_3M:
        reasons.append("no_engagement_3m")
    due = review_due_on(panel, r)
    if due is not None and due <= on:
        reasons.append("review_due")
    if panel.inclusion_review_days:
        last = facts.last_inclusion.get(r.id) or r.referral_date
        if last is not None and last + dt.timedelta(days=panel.inclusion_review_days) <= on:
            reasons.append("inclusion_review_due")
    if r.rag in ("amber", "green"):
        reasons.append(r.rag)
    return reasons


def draft_agenda(meeting: Meeting) -> list[ItemDraft]:
    """The prioritised agenda for a meeting, computed from the cohort now: every live case,
    the first `capacity` of those with a discussion reason for discussion, by priority."""
    panel = meeting.panel
    live = (Case.panel_id == panel.id) & (Case.status != "exited")
    rows = db.session.execute(
        db.select(
            Case.id, Case.nominal_id, Case.ref, Case.status, Case.rag, Case.referral_date, Case.last_engagement,
            Case.next_review, Case.last_reviewed, Case.mappa_level, Case.mappa_category,
        ).where(live)
    ).all()
    facts = _facts(meeting, live)
    drafts = []
    for r in rows:
        reasons = _reasons(panel, meeting.date, r, facts)
        rank = min((PRIORITY.index(x) for x in reasons), default=len(PRIORITY))
        weight = len(reasons)  # priority reasons only: the order must not follow other panels
        other = facts.others.get(r.nominal_id, [])
        if other:
            reasons.append("on_other_panels")
        drafts.append(ItemDraft(r.id, r.nominal_id, reasons, other, rank, weight=weight, ref=r.ref))
    drafts.sort(key=lambda d: (d.rank, -d.weight, d.case_id))
    left = panel.capacity
    for i, d in enumerate(drafts, start=1):
        d.position = i
        if left and any(x in DISCUSSION for x in d.reasons):
            d.for_discussion, left = True, left - 1
    return drafts


# -- stored agendas ----------------------------------------------------------------------------

def generate_agenda(meeting: Meeting, *, refresh: bool = False) -> list[AgendaItem]:
    """Store the draft as agenda items; idempotent.

    Once generated, a second call changes nothing unless `refresh` (the coordinator's
    "rebuild"), which recomputes the automatic items and keeps the ones added by hand.
    A published, closed or cancelled agenda is never regenerated.
    """
    if meeting.status != "scheduled" or (meeting.agenda_generated_at is not None and not refresh):
        return list(meeting.items)
    drafts = draft_agenda(meeting)
    existing = {item.case_id: item for item in meeting.items}
    wanted = {d.case_id for d in drafts}
    manual = [i for i in meeting.items if i.added_manually and i.case_id not in wanted]
    for item in list(meeting.items):
        if item.case_id not in wanted and not item.added_manually:
            meeting.items.remove(item)
    # Rows are inserted by case id, not by priority: an item's id is visible (in links) to
    # viewers who may not read the RAG and dates the priority is drawn from.
    for position, d in sorted(enumerate(drafts, start=1), key=lambda pd: pd[1].case_id):
        item = existing.get(d.case_id)
        if item is None:
            meeting.items.append(AgendaItem(case_id=d.case_id, position=position, reasons=d.reasons,
                                            for_discussion=d.for_discussion))
        else:
            item.position, item.reasons, item.added_manually = position, d.reasons, False
            item.for_discussion = d.for_discussion
    position = len(drafts)
    for item in sorted(manual, key=lambda i: i.position):
        position += 1
        item.position, item.for_discussion = position, True
    meeting.agenda_generated_at = clock.utcnow()
    db.session.flush()
    db.session.expire(meeting, ["items"])
    return list(meeting.items)


def _editable(meeting: Meeting) -> None:
    if meeting.status not in EDITABLE:
        raise AgendaError(f"The agenda of a {meeting.status} meeting cannot be changed")
    if meeting.agenda_generated_at is None:
        generate_agenda(meeting)


def add_item(meeting: Meeting, case: Case, user) -> AgendaItem:
    _editable(meeting)
    if case.panel_id != meeting.panel_id or case.status == "exited":
        raise AgendaError("Choose a current case on this panel")
    if any(i.case_id == case.id for i in meeting.items):
        raise AgendaError("That case is already on the agenda")
    last = max((i.position for i in meeting.items), default=0)
    item = AgendaItem(case_id=case.id, position=last + 1, reasons=["added_by_coordinator"], added_manually=True,
                      for_discussion=True)
    meeting.items.append(item)
    _renumber(meeting)
    db.session.flush()
    audit.record("change", user=user, panel=meeting.panel, nominal_id=case.nominal_id, case_id=case.id,
                 detail=f"added to the agenda of meeting {meeting.id}")
    return item


def remove_item(meeting: Meeting, item: AgendaItem, user) -> None:
    _editable(meeting)
    case_id = item.case_id
    meeting.items.remove(item)
    for i, other in enumerate(sorted(meeting.items, key=lambda x: x.position), start=1):
        other.position = i
    db.session.flush()
    audit.record("change", user=user, panel=meeting.panel, case_id=case_id,
                 detail=f"removed from the agenda of meeting {meeting.id}")


def _renumber(meeting: Meeting) -> list[AgendaItem]:
    """Positions 1..n: the items for discussion first (in their order), then the rest."""
    ordered = sorted(meeting.items, key=lambda x: (not x.for_discussion, x.position or 0, x.case_id))
    for i, other in enumerate(ordered, start=1):
        other.position = i
    return ordered


def _may_reorder(meeting: Meeting, policy: Policy | None) -> None:
    if policy is not None and order_is_neutral(meeting.panel_id, policy):
        raise AgendaError("Your agency sees this agenda in reference order, so cannot reorder it")
    _editable(meeting)


def move_item(meeting: Meeting, item: AgendaItem, direction: str, policy: Policy | None = None) -> None:
    """Swap an item for discussion with its neighbour above ("up") or below ("down").

    A viewer shown the reference order (order_is_neutral) cannot see the order it would change.
    """
    _may_reorder(meeting, policy)
    ordered = [i for i in _renumber(meeting) if i.for_discussion == item.for_discussion]
    index = ordered.index(item)
    swap = index - 1 if direction == "up" else index + 1
    if 0 <= swap < len(ordered):
        ordered[index].position, ordered[swap].position = ordered[swap].position, ordered[index].position
    db.session.flush()


def set_discussion(meeting: Meeting, item: AgendaItem, discuss: bool, user, policy: Policy | None = None) -> None:
    """Pull an item up from "for information" (to the end of the discussion list) or push
    one down to "for information"; the coordinator may go over the capacity."""
    _may_reorder(meeting, policy)
    if item.for_discussion == discuss:
        return
    last = max((i.position for i in meeting.items if i.for_discussion), default=0)
    item.for_discussion = discuss
    item.position = last + 1 if discuss else len(meeting.items) + 1
    if discuss and "added_by_coordinator" not in (item.reasons or []):
        item.reasons = [*(item.reasons or []), "added_by_coordinator"]
    _renumber(meeting)
    db.session.flush()
    moved = "pulled up for discussion" if discuss else "pushed down for information"
    audit.record("change", user=user, panel=meeting.panel, case_id=item.case_id, categories=[],
                 detail=f"agenda of meeting {meeting.id}: item {moved}")


def publish(meeting: Meeting, user) -> None:
    """Publish the agenda: every partner can now read it under their own agreement."""
    if meeting.status != "scheduled":
        raise AgendaError(f"The agenda of a {meeting.status} meeting cannot be published")
    generate_agenda(meeting)
    meeting.status = "published"
    meeting.published_at = clock.utcnow()
    db.session.flush()
    audit.record("change", user=user, panel=meeting.panel,
                 detail=f"agenda of meeting {meeting.id} published ({len(meeting.items)} items)")
    notifications.queue_agenda_published(meeting, exclude=user)


# -- reading ------------------------------------------------------------------------------------

def current_items(meeting: Meeting, *, live_draft: bool = False) -> list[ItemDraft]:
    """The agenda as it stands: stored items, or (not yet generated / live_draft) the draft."""
    if meeting.status in ("published", "closed") or (meeting.agenda_generated_at is not None and not live_draft):
        rows = db.session.execute(
            db.select(AgendaItem.case_id, AgendaItem.position, AgendaItem.reasons, AgendaItem.for_discussion,
                      Case.nominal_id, Case.ref)
            .join(Case, Case.id == AgendaItem.case_id)
            .where(AgendaItem.meeting_id == meeting.id)
            .order_by(AgendaItem.position)
        ).all()
        others = other_panels([r.nominal_id for r in rows], meeting.panel_id)
        return [
            ItemDraft(r.case_id, r.nominal_id, list(r.reasons or []), others.get(r.nominal_id, []), position=r.position,
                      for_discussion=bool(r.for_discussion), ref=r.ref)
            for r in rows
        ]
    return draft_agenda(meeting)


def discussion_items(meeting: Meeting, policy: Policy) -> list[ItemDraft]:
    """The stored items for discussion only (meeting mode reads these at every save, so a
    5,000-case panel's information list is not read); a viewer shown one list in reference
    order (order_is_neutral) gets every item, as agenda_rows shows it."""
    if order_is_neutral(meeting.panel_id, policy) or meeting.agenda_generated_at is None:
        return current_items(meeting)
    rows = db.session.execute(
        db.select(AgendaItem.case_id, AgendaItem.position, AgendaItem.reasons, Case.nominal_id, Case.ref)
        .join(Case, Case.id == AgendaItem.case_id)
        .where(AgendaItem.meeting_id == meeting.id, AgendaItem.for_discussion.is_(True))
        .order_by(AgendaItem.position)
    ).all()
    others = other_panels([r.nominal_id for r in rows], meeting.panel_id)
    return [ItemDraft(r.case_id, r.nominal_id, list(r.reasons or []), others.get(r.nominal_id, []),
                      position=r.position, for_discussion=True, ref=r.ref) for r in rows]


def other_panels(nominal_ids: list[int], panel_id: int) -> dict[int, list[tuple[int, str]]]:
    """The other live panels (id, code) of each of these nominals, by nominal id."""
    out: dict[int, list[tuple[int, str]]] = {}
    if not nominal_ids:
        return out
    for nominal_id, pid, code in db.session.execute(
        db.select(Case.nominal_id, Case.panel_id, Panel.code)
        .join(Panel, Panel.id == Case.panel_id)
        .where(Case.nominal_id.in_(set(nominal_ids)), Case.panel_id != panel_id, Case.status != "exited")
        .order_by(Panel.code)
    ):
        out.setdefault(nominal_id, []).append((pid, code))
    return out


def visible_reasons(reasons: list[str], panel_id: int, policy: Policy,
                    other_panels: list[str] | None = None) -> list[str]:
    """Reasons that reveal a category the viewer may not read are left out; "on other
    panels" only where the viewer sees one of those panels (`other_panels`, already filtered)."""
    return [r for r in reasons
            if (REASON_CATEGORY.get(r) is None or policy.can(panel_id, REASON_CATEGORY[r]))
            and (r != "on_other_panels" or other_panels)]


def order_is_neutral(panel_id: int, policy: Policy) -> bool:
    """True when the viewer must see the agenda in reference order and may not reorder it
    (the stored order is drawn from ORDER_CATEGORIES; see the module docstring)."""
    return not all(policy.can(panel_id, c) for c in ORDER_CATEGORIES)


def agenda_rows(meeting: Meeting, drafts: list[ItemDraft], policy: Policy,
                cases: dict[int, Case] | None = None) -> list[dict]:
    """Each item as this viewer may see it: name or pseudonym, RAG only if risk is readable.
    `cases` (by id), when the caller has loaded them already."""
    ids = [d.case_id for d in drafts]
    if cases is None and ids:
        cases = {c.id: c for c in db.session.execute(db.select(Case).where(Case.id.in_(ids))).unique().scalars()}
    cases = cases or {}
    panel_id = meeting.panel_id
    readable = policy.readable(panel_id)

    def shown_field(case: Case, name: str):  # plain columns, under the one field -> category map
        return getattr(case, name) if FIELD_CATEGORY[name] in readable else None

    rows = []
    for d in drafts:
        case = cases.get(d.case_id)
        if case is None:
            continue
        shown = visible_other_panels(policy, panel_id, d.other_panels)
        rows.append({
            "position": d.position,
            "case_id": case.id,
            "case": case,
            "name": display_name(case, policy),
            "ref": case.ref,
            "status": case.status,
            "rag": shown_field(case, "rag"),
            "mappa_level": shown_field(case, "mappa_level"),
            "last_engagement": shown_field(case, "last_engagement"),
            "next_review": shown_field(case, "next_review"),
            "reasons": visible_reasons(d.reasons, panel_id, policy, shown),
            "other_panels": shown,
            "for_discussion": d.for_discussion,
        })
    if order_is_neutral(panel_id, policy):
        # One list in reference order: which items are for discussion follows the same data.
        rows.sort(key=lambda r: (r["ref"], r["case_id"]))
        for i, row in enumerate(rows, start=1):
            row["position"], row["for_discussion"] = i, True
    return rows


def split(rows: list[dict]) -> tuple[list[dict], list[dict]]:
    """(items for discussion, the rest for information) of agenda_rows(); the second by reference."""
    items = [r for r in rows if r["for_discussion"]]
    for i, row in enumerate(items, start=1):
        row["position"] = i
    info = sorted((r for r in rows if not r["for_discussion"]), key=lambda r: (r["ref"], r["case_id"]))
    return items, info


def id_ranges(ids: list[int]) -> str:
    """Compact case ids for the access log: "3-7,9,12-15"."""
    out, run = [], []
    for i in sorted(set(ids)):
        if run and i == run[-1] + 1:
            run.append(i)
            continue
        if run:
            out.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
        run = [i]
    if run:
        out.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
    return ",".join(out)


def log_view(meeting: Meeting, rows: list[dict], policy: Policy, action: str = "view") -> None:
    """One access-log event for reading (or printing) an agenda, listing its case ids."""
    audit.record(
        action, user=policy.user, panel=meeting.panel, categories=policy.readable(meeting.panel_id),
        case_ids=[r["case_id"] for r in rows],
        detail=f"agenda of meeting {meeting.id}: cases {id_ranges([r['case_id'] for r in rows]) or 'none'}",
    )
