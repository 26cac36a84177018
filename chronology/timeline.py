"""Assembling a case's chronology from the records that exist, as one viewer may see it.

Every source below gives entries tagged with the category their content belongs to; an
entry is kept only when the viewer may read that category on the case's panel, and its
text comes through sharing.gateway.reveal. The order (newest first, ties by source and
row id) depends only on the kept entries, so nothing withheld moves a visible entry.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from auth.models import User
from cohort.forms import ENGAGEMENT_LABELS, NEED_LABELS
from cohort.models import PATHWAYS, Action, Case, CaseEvent, Engagement, Need, Note, RagChange
from cohort.services import CASE_FIELDS
from core.extensions import db
from core.labels import label
from panels.models import AgendaItem, Meeting
from sharing.gateway import FIELD_CATEGORY, MINUTES_CATEGORY, reveal
from sharing.models import AccessEvent
from sharing.policy import Policy

# Source order for entries recorded at the same moment (a referral before its RAG, ...).
SOURCES = ("event", "rag", "engagement", "need", "action", "note", "meeting", "decision", "document")

EVENT_TITLES = {
    "referred": "Referred to the panel",
    "re-referred": "Re-referred to the panel",
    "exited": "Exited from the panel",
    "imported": "Imported from a cohort list",
    "updated": "Case details changed",
    "merged": "Records merged",
    "unmerged": "Merge undone",
    "rectified": "Record corrected",
}
# "lead officer" (as update_case, the import and rectification write fields into events) -> "offending"
_FIELD_CATEGORY = {
    **{name.replace("_", " "): cat for name, cat in FIELD_CATEGORY.items()},
    **{name.replace("_id", "").replace("_", " "): cat for name, (cat, _) in CASE_FIELDS.items()},
    "re-referred": "offending",
}
_CHANGED = re.compile(r"^(?:(?P<prefix>.*): )?changed (?P<fields>.*)$", re.S)
_RECTIFIED = re.compile(r"^(?P<field>[\w ]+?) corrected: ", re.S)
_NEED_EVENT = re.compile(r"^need (\w+): (\w+)$")
_ACTION_EVENT = re.compile(r"^action (\d+) (\w+)")


@dataclass(frozen=True)
class Entry:
    """One line of the chronology."""

    at: dt.datetime
    category: str
    source: str
    row_id: int
    title: str
    by: str = ""
    detail: str | None = None
    date_only: bool = False
    link: str | None = None
    link_text: str = "View the meeting"
    meeting_id: int | None = None

    def sort_key(self) -> tuple:
        return (self.at, SOURCES.index(self.source), self.row_id)


def _by(user) -> str:
    if user is None:
        return "the service"
    agency = user.agency.code if user.agency is not None else ""
    return f"{user.name} ({agency})" if agency else user.name


def _midday(day: dt.date) -> dt.datetime:
    """A date-only record placed on its day (shown as a date, sorted within the day)."""
    return dt.datetime.combine(day, dt.time(12, 0))


# -- sources ---------------------------------------------------------------------------

def _events(case: Case, policy: Policy) -> Iterable[Entry]:
    rows = db.session.execute(db.select(CaseEvent).filter_by(case_id=case.id)).scalars()
    for e in rows:
        detail = reveal(e, "detail", policy)
        category = "offending"
        if e.kind in ("updated", "re-referred") and detail and _CHANGED.match(detail):
            detail = _readable_fields(detail, policy, case.panel_id)
            if detail is None:
                continue
        elif e.kind == "rectified" and detail and _RECTIFIED.match(detail):
            # a correction belongs to its field's category (and is read only where that is)
            category = _FIELD_CATEGORY.get(_RECTIFIED.match(detail).group("field"), "identity")
            detail = detail if policy.can(case.panel_id, category) else None
        yield Entry(e.at, category, "event", e.id, EVENT_TITLES.get(e.kind, label(e.kind)), _by(e.user), detail)


def _readable_fields(detail: str, policy: Policy, panel_id: int) -> str | None:
    """'[Imported from x: ]changed risk level, lead officer' -> only the fields the viewer may
    read (a field of unknown category is left out), or None when none are left."""
    m = _CHANGED.match(detail)
    names = m.group("fields").split(", ")
    kept = [n for n in names if n in _FIELD_CATEGORY and policy.can(panel_id, _FIELD_CATEGORY[n])]
    if not kept:
        return None
    prefix = f"{m.group('prefix')}: changed " if m.group("prefix") else "Changed "
    return prefix + ", ".join(kept)


def _rag_changes(case: Case, policy: Policy) -> Iterable[Entry]:
    for r in db.session.execute(db.select(RagChange).filter_by(case_id=case.id)).scalars():
        title = f"RAG {label(r.from_rag) if r.from_rag else 'not set'} to {label(r.to_rag)}"
        if r.source != "manual":
            title += f" ({r.source})"
        yield Entry(r.at, "risk", "rag", r.id, title, _by(r.user), reveal(r, "rationale", policy))


def _engagements(case: Case, policy: Policy) -> Iterable[Entry]:
    for e in db.session.execute(db.select(Engagement).filter_by(case_id=case.id)).scalars():
        yield Entry(_midday(e.on), "offending", "engagement", e.id,
                    f"Engagement: {ENGAGEMENT_LABELS.get(e.kind, label(e.kind))}", _by(e.user),
                    reveal(e, "note", policy), date_only=True)


def _needs(case: Case, policy: Policy, changes: list[AccessEvent], users: dict[int, User]) -> Iterable[Entry]:
    """Each need as recorded, from the access log's change events (the need row keeps only
    its latest state, shown with its note on the newest change)."""
    latest = {n.pathway: n for n in db.session.execute(db.select(Need).filter_by(case_id=case.id)).scalars()}
    newest: dict[str, int] = {}
    found = []
    for ev in changes:
        m = _NEED_EVENT.match(ev.detail)
        if m and m.group(1) in PATHWAYS:
            found.append((ev, m.group(1), m.group(2)))
            newest[m.group(1)] = ev.id
    for ev, pathway, level in found:
        name, category = PATHWAYS[pathway]
        need = latest.get(pathway)
        note = reveal(need, "note", policy) if need is not None and newest[pathway] == ev.id else None
        yield Entry(ev.at, category, "need", ev.id, f"{name}: {NEED_LABELS.get(level, label(level))}",
                    _by(users.get(ev.user_id)), note)


def _actions(case: Case, policy: Policy, changes: list[AccessEvent], users: dict[int, User]) -> Iterable[Entry]:
    actions = {a.id: a for a in db.session.execute(db.select(Action).filter_by(case_id=case.id)).scalars()}
    users.update({u.id: u for u in _users({a.user_id for a in actions.values()} - set(users))})
    numbers = {aid: n for n, aid in enumerate(sorted(actions), start=1)}
    for a in actions.values():
        owner = a.owner_agency.code if a.owner_agency else ""
        due = f"; due {a.due.strftime('%-d %B %Y')}" if a.due else ""
        text = reveal(a, "description", policy)
        yield Entry(a.created_at, "offending", "action", a.id, f"Action {numbers[a.id]} agreed",
                    _by(users.get(a.user_id)), f"{text}\nOwner: {owner or 'not set'}{due}")
    for ev in changes:
        m = _ACTION_EVENT.match(ev.detail)
        if not m or int(m.group(1)) not in actions or m.group(2) in ("added", "agreed"):
            continue
        yield Entry(ev.at, "offending", "action", ev.id,
                    f"Action {numbers[int(m.group(1))]}: {label(m.group(2)).lower()}", _by(users.get(ev.user_id)))


def _notes(case: Case, policy: Policy) -> Iterable[Entry]:
    for n in db.session.execute(db.select(Note).filter_by(case_id=case.id)).scalars():
        yield Entry(n.at, n.category, "note", n.id, f"{label(n.category)} note", _by(n.user), reveal(n, "body", policy))


def _meetings(case: Case, policy: Policy, link: Callable[[Meeting], str | None]) -> Iterable[Entry]:
    """Held meetings where the case was on the agenda, and the decision made there."""
    rows = db.session.execute(
        db.select(AgendaItem, Meeting).join(Meeting, Meeting.id == AgendaItem.meeting_id)
        .where(AgendaItem.case_id == case.id, Meeting.status == "closed")
    ).all()
    decided_by = _users({item.decided_by_id for item, _ in rows})
    for item, meeting in rows:
        at = meeting.closed_at or _midday(meeting.date)
        when = meeting.date.strftime("%-d %B %Y")
        outcome = "Discussed" if item.discussed else "On the agenda, not discussed"
        yield Entry(at, MINUTES_CATEGORY, "meeting", item.id, f"{meeting.panel.code} meeting on {when}", "",
                    outcome, link=link(meeting), meeting_id=meeting.id)
        if item.rag_decision or item.next_review or item.disclosure_considered is not None:
            yield Entry(at, "risk", "decision", item.id, f"Decision at the {meeting.panel.code} meeting on {when}",
                        _by(decided_by.get(item.decided_by_id)), _decision_text(item, policy), link=link(meeting),
                        meeting_id=meeting.id)


def _decision_text(item: AgendaItem, policy: Policy) -> str:
    parts = []
    if item.rag_decision:
        parts.append(f"RAG: {label(item.rag_decision)}")
    if item.next_review:
        parts.append(f"Next review: {item.next_review.strftime('%-d %B %Y')}")
    rationale = reveal(item, "rationale", policy)
    if rationale:
        parts.append(rationale)
    if item.disclosure_considered is not None:
        decision = reveal(item, "disclosure_decision", policy) or ("considered" if item.disclosure_considered
                                                                  else "not considered")
        parts.append(f"Disclosure: {decision}")
    return "\n".join(parts)


def _users(ids: set) -> dict[int, User]:
    wanted = sorted(i for i in ids if i is not None)
    if not wanted:
        return {}
    return {u.id: u for u in db.session.execute(db.select(User).where(User.id.in_(wanted))).unique().scalars()}


def _change_events(case: Case) -> list[AccessEvent]:
    """The access log's record of changes to this case, in order (needs and action statuses)."""
    return list(db.session.execute(
        db.select(AccessEvent).where(AccessEvent.case_id == case.id, AccessEvent.action == "change",
                                     AccessEvent.outcome == "allowed")
        .order_by(AccessEvent.seq)
    ).scalars())


# -- the chronology --------------------------------------------------------------------

# Extra sources (documents) register here: f(case, policy) -> entries.
EXTRA_SOURCES: list[Callable[[Case, Policy], Iterable[Entry]]] = []


def chronology(case: Case, policy: Policy, *, category: str | None = None,
               meeting_link: Callable[[Meeting], str | None] = lambda m: None) -> list[Entry]:
    """Every entry the viewer may read, newest first; `category` keeps one category only."""
    readable = policy.readable(case.panel_id)
    changes = _change_events(case) if readable else []
    users = _users({ev.user_id for ev in changes})
    sources = [
        _events(case, policy), _rag_changes(case, policy), _engagements(case, policy),
        _needs(case, policy, changes, users), _actions(case, policy, changes, users), _notes(case, policy),
        _meetings(case, policy, meeting_link), *(extra(case, policy) for extra in EXTRA_SOURCES),
    ]
    wanted = readable if category is None else readable & {category}
    entries = [e for source in sources for e in _only(source, wanted)]
    return sorted(entries, key=Entry.sort_key, reverse=True)


def _only(source: Iterable[Entry], wanted: set[str]) -> Iterable[Entry]:
    """Drain a source, keeping entries in the wanted categories (a generator reads its rows
    whatever is wanted, so the queries made do not depend on the filter)."""
    return [e for e in source if e.category in wanted]


def categories_present(entries: Iterable[Entry]) -> list[str]:
    return sorted({e.category for e in entries})
