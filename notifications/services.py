"""Queueing notifications and reading a user's own: the API other features call.

`queue(to, kind, panel, link, key=...)` is all a feature needs: `to` is a user or an agency
(its active users who may read `category` on the panel). It adds rows to the current
transaction — nothing is sent here, so a slow or broken SMTP server never holds up a
request — and each (user, kind, key) is notified once however often it is queued.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from auth.models import Agency, User
from cohort.models import Action, Case
from core import clock
from core.extensions import db
from notifications.models import (
    DEFAULT_PREFERENCE,
    KINDS,
    PREFERENCES,
    Notification,
    NotificationPreference,
    OutboxEmail,
)
from sharing.policy import Policy

# Roles who get notifications meant for an agency (admins and auditors work on no case).
AGENCY_ROLES = ("practitioner", "coordinator")
PAGE_SIZE = 50

# What each kind says, from its count, panel name and non-personal detail only.
MESSAGES: dict[str, tuple[str, str]] = {
    "action_assigned": ("An action was assigned to you on {panel}", "{count} actions were assigned to you on {panel}"),
    "action_due_tomorrow": ("An action on {panel} is due tomorrow", "{count} actions on {panel} are due tomorrow"),
    "action_overdue": ("An action on {panel} is overdue", "{count} actions on {panel} are overdue"),
    "agenda_published": ("The agenda for the {panel} meeting{detail} is published",
                         "{count} agendas for {panel} are published"),
    "referral_decided": ("A referral to {panel} was decided", "{count} referrals to {panel} were decided"),
    "isa_review": ("Agreement {detail} is due for review", "{count} agreements are due for review"),
    "isa_expiry": ("Agreement {detail} is nearing expiry", "{count} agreements are nearing expiry"),
    "export_destroy_by": ("Export {detail} has passed its destroy-by date: destroy every copy",
                          "{count} exports have passed their destroy-by date"),
}


class Invalid(ValueError):
    """A request the service refuses, with a message for the user."""


def message(kind: str, panel_name: str | None, count: int = 1, detail: str = "") -> str:
    """The one line shown in the list and e-mailed: counts, a panel name and a link only."""
    one, many = MESSAGES[kind]
    text = one if count == 1 else many
    return text.format(panel=panel_name or "your panels", count=count, detail=detail)


def notification_text(n: Notification) -> str:
    detail = n.detail or ""
    if n.kind == "agenda_published" and detail:
        detail = f" on {detail}"
    return message(n.kind, n.panel.name if n.panel else None, n.count, detail)


def preference(user: User) -> str:
    row = db.session.get(NotificationPreference, user.id)
    return row.email if row else DEFAULT_PREFERENCE


def set_preference(user: User, choice: str) -> None:
    if choice not in PREFERENCES:
        raise Invalid("Choose how you want to be told by e-mail")
    row = db.session.get(NotificationPreference, user.id)
    if row is None:
        row = NotificationPreference(user_id=user.id)
        db.session.add(row)
    row.email, row.updated_at = choice, clock.utcnow()
    db.session.flush()


def recipients(to: User | Agency, panel_id: int | None, category: str | None) -> list[User]:
    """The users `to` names: the user, or an agency's working users; on a panel, only those
    whose agency takes part in it (and may read `category` there, when given): a notification
    must not tell anyone of a row they may not see."""
    if isinstance(to, User):
        users = [to]
    else:
        users = [u for u in db.session.execute(
            db.select(User).where(User.agency_id == to.id, User.active.is_(True), User.is_system.is_(False))
            .order_by(User.id)).scalars() if u.has_role(*AGENCY_ROLES)]
    users = [u for u in users if u.active and not u.is_system]
    if panel_id is None:
        return users
    return [u for u in users if _may_know(Policy(u), panel_id, category)]


def _may_know(policy: Policy, panel_id: int, category: str | None) -> bool:
    return policy.can(panel_id, category) if category else policy.takes_part(panel_id)


def queue(
    to: User | Agency | Iterable[User | Agency], kind: str, panel, link: str, *, key: str,
    count: int = 1, detail: str = "", category: str | None = None, exclude: User | None = None,
    cache: dict | None = None,
) -> list[Notification]:
    """Notify `to` once per (user, kind, key); e-mail follows each user's preference.

    `link` is a path in this service (e.g. "/cases/12#actions"); `detail` is shown in the
    message and must never hold anything about a nominal (a meeting date, an agreement ref).
    `exclude` is the user who caused it (no one is told of their own doing). Returns the
    notifications made (none for users already told). A job queueing many passes one `cache`
    dict to all its calls, so recipients and preferences are looked up once per run (and
    may put the (user id, key) pairs already notified under ("have", kind)); it flushes.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    if not link.startswith("/") or link.startswith("//"):
        raise ValueError("a notification links to a path of this service")
    panel_id = getattr(panel, "id", panel)
    targets = [to] if isinstance(to, (User, Agency)) else list(to)
    users = {u.id: u for t in targets for u in _cached(cache, ("to", type(t).__name__, t.id, panel_id, category),
                                                        lambda t=t: recipients(t, panel_id, category))}
    if exclude is not None:
        users.pop(exclude.id, None)
    if not users:
        return []
    known = cache.get(("have", kind)) if cache is not None else None
    if known is not None:  # a job looked up what was already sent, for all its keys at once
        have = {uid for uid in users if (uid, key) in known}
    else:
        have = set(db.session.execute(
            db.select(Notification.user_id).where(Notification.kind == kind, Notification.key == key,
                                                  Notification.user_id.in_(users))).scalars())
    made = [_notify(user, kind, key, panel_id, link, count, detail,
                    _cached(cache, ("pref", uid), lambda user=user: preference(user)))
            for uid, user in users.items() if uid not in have]
    if cache is None:
        db.session.flush()
    return made


def _cached(cache: dict | None, key: tuple, make):
    if cache is None:
        return make()
    if key not in cache:
        cache[key] = make()
    return cache[key]


def _notify(user: User, kind: str, key: str, panel_id: int | None, link: str, count: int,
            detail: str, choice: str) -> Notification:
    n = Notification(user_id=user.id, kind=kind, key=key, panel_id=panel_id, link=link, count=count,
                     detail=detail[:200], created_at=clock.utcnow(),
                     email_state={"immediately": "outbox", "daily": "digest"}.get(choice, "off"))
    if choice == "immediately":
        n.outbox = OutboxEmail(user_id=user.id, status="queued", next_attempt_at=clock.utcnow(),
                               created_at=clock.utcnow())
    db.session.add(n)
    return n


def action_owner(action: Action) -> User | Agency | None:
    """Who an action is for: its owning user where the model records one, else its agency."""
    if action.owner_user_id:
        return db.session.get(User, action.owner_user_id)
    return action.owner_agency


def queue_for_action(action: Action, kind: str, *, key: str, exclude: User | None = None,
                     cache: dict | None = None, panel_id: int | None = None) -> int:
    """Notify an action's owner (offending readers only: an action is offending information)."""
    owner = action_owner(action)
    if owner is None:
        return 0
    if panel_id is None:
        panel_id = db.session.get(Case, action.case_id).panel_id
    return len(queue(owner, kind, panel_id, f"/cases/{action.case_id}#actions", key=key,
                 category="offending", exclude=exclude, cache=cache))


def queue_agenda_published(meeting, exclude: User | None = None) -> int:
    """Tell every working user of the agencies taking part in the panel (by their own agreements)."""
    agencies = db.session.execute(db.select(Agency).order_by(Agency.id)).scalars().all()
    when = meeting.date.strftime("%-d %B %Y")
    return len(queue(agencies, "agenda_published", meeting.panel_id, f"/meetings/{meeting.id}/agenda",
                     key=f"meeting:{meeting.id}", detail=when, exclude=exclude))


def queue_referral_decided(referral, exclude: User | None = None) -> int:
    """Tell whoever made the referral that it was decided (accepted, rejected or deferred)."""
    referrer = db.session.get(User, referral.referred_by_id) if referral.referred_by_id else None
    if referrer is None:
        return 0
    return len(queue(referrer, "referral_decided", referral.panel_id, f"/cases/{referral.case_id}",
                     key=f"referral:{referral.id}:{referral.status}", category="offending", exclude=exclude))


# -- reading one's own ----------------------------------------------------------------------

def unread_count(user: User | None) -> int:
    if user is None:
        return 0
    return db.session.execute(
        db.select(db.func.count()).select_from(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
    ).scalar_one()


def for_user(user: User, *, page: int = 1, unread_only: bool = False) -> tuple[list[Notification], int]:
    """A page of the user's notifications, newest first, and how many there are in all."""
    where = [Notification.user_id == user.id]
    if unread_only:
        where.append(Notification.read_at.is_(None))
    total = db.session.execute(db.select(db.func.count()).select_from(Notification).where(*where)).scalar_one()
    rows = db.session.execute(
        db.select(Notification).where(*where).order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(PAGE_SIZE).offset((max(page, 1) - 1) * PAGE_SIZE)
    ).scalars().all()
    return list(rows), total


def own(user: User, notification_id: int) -> Notification | None:
    """The user's notification by id, or None (someone else's is treated as not there)."""
    n = db.session.get(Notification, notification_id)
    return n if n is not None and n.user_id == user.id else None


def mark_read(user: User, ids: Iterable[int] | None = None, when: dt.datetime | None = None) -> int:
    """Mark the user's notifications read (all of them when `ids` is None); how many changed."""
    stmt = db.update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    if ids is not None:
        stmt = stmt.where(Notification.id.in_(list(ids)))
    result = db.session.execute(stmt.values(read_at=when or clock.utcnow()).execution_options(
        synchronize_session=False))
    return result.rowcount or 0
