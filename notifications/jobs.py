"""The sender: make the day's digests, claim queued e-mails, send them once, retry with back-off.

Exactly once, even with two schedulers and `flask notifications send` at the same time: an
e-mail is claimed by one UPDATE that moves it from `queued` to `claimed` under a lease and
a holder name (on PostgreSQL the rows are picked FOR UPDATE SKIP LOCKED, so a second sender
takes the next rows instead of waiting; SQLite runs one writer at a time), and only the
holder marks it sent.

The crash after the SMTP server's "250 OK" and before our commit: before a batch is handed
to SMTP, each e-mail's Message-ID is fixed and the rows move from `claimed` to `sending`
(one committed UPDATE per batch). A sender that dies leaves its rows leased. When the lease
runs out, a `claimed` row (SMTP never saw it) is simply taken again; a `sending` row may
have been delivered, so it is not resent blindly: it becomes `uncertain`, which the admin
sees (`flask notifications uncertain`) and may resend, with the same Message-ID, or close.
NOTIFICATIONS_RESEND_UNCERTAIN=1 chooses at-least-once instead: such rows are queued again
keeping their Message-ID (README, "Notifications", says why the default is not to).

The scan queues "due tomorrow" (once per action, on the day before it is due) and
"overdue" (once per action and due date); the notifications' unique (user, kind, key) makes
a second scan, or a second scheduler, add nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import smtplib
import socket
import threading
import uuid
from collections import defaultdict
from collections.abc import Callable
from email.message import Message

import sqlalchemy as sa
from flask import current_app, render_template
from sqlalchemy.exc import IntegrityError

from cohort.models import Action, Case
from core import clock
from core.config import public_host
from core.db import immediate_transactions
from core.extensions import db
from notifications import services
from notifications.mail import Mailer, build_message, mailer_for, new_message_id
from notifications.models import Notification, OutboxEmail

log = logging.getLogger(__name__)

BATCH = 100
LEASE = dt.timedelta(minutes=10)
MAX_ATTEMPTS = 8
BACKOFF_FIRST = dt.timedelta(minutes=1)
BACKOFF_MAX = dt.timedelta(hours=6)
DIGEST_HOUR = 7  # Europe/London: the daily digest goes with the first send from 07:00
OVERDUE_LOOKBACK_DAYS = 7  # an action that went overdue longer ago than this is not news
LIVE_ACTION = ("open", "in_progress")
# A connection that cannot be made or was lost: the rest of the batch waits for the next try.
CONNECTION_ERRORS = (OSError, smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, smtplib.SMTPHeloError,
                     smtplib.SMTPAuthenticationError, smtplib.SMTPNotSupportedError)


@dataclasses.dataclass
class SendResult:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    uncertain: int = 0  # found sending after their lease: perhaps delivered, not resent

    def __str__(self) -> str:
        out = f"{self.sent} sent, {self.retrying} to retry, {self.failed} given up"
        return out + (f", {self.uncertain} uncertain (see flask notifications uncertain)" if self.uncertain else "")


def backoff(attempts: int) -> dt.timedelta:
    """1, 2, 4, 8... minutes after each failed attempt, at most 6 hours."""
    return min(BACKOFF_FIRST * (2 ** max(attempts - 1, 0)), BACKOFF_MAX)


def london_date(now: dt.datetime) -> dt.date:
    return now.replace(tzinfo=dt.UTC).astimezone(clock.LONDON).date()


def new_holder() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


# -- scanning for what became due -------------------------------------------------------------

def scan(now: dt.datetime | None = None) -> int:
    """Queue "due tomorrow" and "overdue" for live actions; once each, however often it runs."""
    today = london_date(now or clock.utcnow())
    made = 0
    db.session.rollback()
    with immediate_transactions():
        try:
            made += _scan_actions(Action.due == today + dt.timedelta(days=1), "action_due_tomorrow")
            made += _scan_actions((Action.due < today) & (Action.due >= today - dt.timedelta(
                days=OVERDUE_LOOKBACK_DAYS)), "action_overdue")
            db.session.commit()
        except IntegrityError:
            db.session.rollback()  # another scheduler queued them first (unique user, kind, key)
            made = 0
    return made


def _scan_actions(condition, kind: str) -> int:
    rows = db.session.execute(
        db.select(Action, Case.panel_id).join(Case, Case.id == Action.case_id)
        .where(condition, Action.status.in_(LIVE_ACTION), Case.status != "exited").order_by(Action.id)
    ).all()
    keys = {a.id: f"action:{a.id}:{a.due.isoformat()}" for a, _ in rows}
    cache: dict = {("have", kind): _already(kind, list(keys.values()))}
    with db.session.no_autoflush:
        made = sum(services.queue_for_action(a, kind, key=keys[a.id], cache=cache, panel_id=panel_id)
                   for a, panel_id in rows)
    db.session.flush()
    return made


def _already(kind: str, keys: list[str]) -> set[tuple[int, str]]:
    """(user id, key) pairs of `kind` notified before, looked up 500 keys at a time."""
    out: set[tuple[int, str]] = set()
    for i in range(0, len(keys), 500):
        out.update(db.session.execute(db.select(Notification.user_id, Notification.key).where(
            Notification.kind == kind, Notification.key.in_(keys[i:i + 500]))).tuples())
    return out


# -- digests ------------------------------------------------------------------------------------

def make_digests(now: dt.datetime) -> int:
    """From DIGEST_HOUR, one digest e-mail per user for what waited since the last one."""
    local = now.replace(tzinfo=dt.UTC).astimezone(clock.LONDON)
    if local.hour < DIGEST_HOUR:
        return 0
    day = local.date()
    made = 0
    with immediate_transactions():
        waiting = db.session.execute(
            db.select(Notification.user_id).where(Notification.email_state == "digest",
                                                  Notification.outbox_id.is_(None), Notification.created_at <= now)
            .distinct()).scalars().all()
        for user_id in waiting:
            try:
                with db.session.begin_nested():
                    email = OutboxEmail(user_id=user_id, status="queued", digest_on=day, next_attempt_at=now,
                                        created_at=now)
                    db.session.add(email)
                    db.session.flush()
                    db.session.execute(db.update(Notification).where(
                        Notification.user_id == user_id, Notification.email_state == "digest",
                        Notification.outbox_id.is_(None), Notification.created_at <= now,
                    ).values(outbox_id=email.id).execution_options(synchronize_session=False))
                made += 1
            except IntegrityError:
                pass  # today's digest was made already (by this or another sender)
        db.session.commit()
    return made


# -- claiming and sending ------------------------------------------------------------------------

def settle_lapsed(now: dt.datetime) -> int:
    """Rows left `sending` by a sender whose lease ran out: perhaps delivered (the crash came
    after the SMTP server accepted), so `uncertain` for an admin; or, when the instance
    chose at-least-once (NOTIFICATIONS_RESEND_UNCERTAIN), queued again with their Message-ID.
    Returns how many became uncertain."""
    lapsed = (OutboxEmail.status == "sending") & (OutboxEmail.lease_until < now)
    resend = bool(current_app.config.get("NOTIFICATIONS_RESEND_UNCERTAIN"))
    values = (dict(status="queued", next_attempt_at=now, lease_until=None,
                   last_error="resent: its sender stopped after handing it to SMTP") if resend else
              dict(status="uncertain", lease_until=None,
                   last_error="its sender stopped after handing it to SMTP: it may have been delivered"))
    with immediate_transactions():
        count = db.session.execute(db.update(OutboxEmail).where(lapsed).values(**values)
                                   .execution_options(synchronize_session=False)).rowcount
        db.session.commit()
    if count:
        log.warning("notifications: %d e-mail(s) were with the SMTP server when their sender stopped: %s",
                    count, "queued again with the same Message-ID" if resend else "marked uncertain, not resent")
    return 0 if resend else count


def claim(holder: str, now: dt.datetime, limit: int = BATCH) -> list[int]:
    """Take up to `limit` due e-mails for `holder` in one statement; committed before sending.

    A row claimed by a sender whose lease ran out is taken again (SMTP never saw it); one
    left `sending` is not (see :func:`settle_lapsed`)."""
    due = (((OutboxEmail.status == "queued") & (OutboxEmail.next_attempt_at <= now))
           | ((OutboxEmail.status == "claimed") & (OutboxEmail.lease_until < now)))
    pick = db.select(OutboxEmail.id).where(due).order_by(OutboxEmail.id).limit(limit)
    if db.engine.dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    stmt = (db.update(OutboxEmail).where(OutboxEmail.id.in_(pick.scalar_subquery()))
            .values(status="claimed", lease_until=now + LEASE, claimed_by=holder, attempts=OutboxEmail.attempts + 1)
            .returning(OutboxEmail.id).execution_options(synchronize_session=False))
    with immediate_transactions():
        ids = sorted(db.session.execute(stmt).scalars().all())
        db.session.commit()
    return ids


def _hand_over(message_ids: dict[int, tuple[str, bool]], holder: str) -> list[int]:
    """Store each claimed e-mail's Message-ID (kept for any resend) and mark it sending, in
    one commit before SMTP sees it; returns the ids still this holder's (only those are sent).

    `message_ids`: id -> (Message-ID, whether it is new and must be stored)."""
    fresh = [{"b_id": i, "mid": mid} for i, (mid, new) in message_ids.items() if new]
    with immediate_transactions():
        if fresh:
            db.session.execute(db.update(OutboxEmail.__table__).where(
                OutboxEmail.__table__.c.id == sa.bindparam("b_id"), OutboxEmail.__table__.c.message_id.is_(None),
            ).values(message_id=sa.bindparam("mid")), fresh)
        stmt = (db.update(OutboxEmail).where(OutboxEmail.id.in_(sorted(message_ids)),
                                             OutboxEmail.claimed_by == holder, OutboxEmail.status == "claimed")
                .values(status="sending").returning(OutboxEmail.id).execution_options(synchronize_session=False))
        mine = sorted(db.session.execute(stmt).scalars().all())
        db.session.commit()  # no transaction (nor SQLite's write lock) is held while the SMTP server answers
    return mine


def _host() -> str:
    return public_host(current_app.config["PUBLIC_URL"])


def send_due(now: dt.datetime | None = None, *, mailer: Mailer | None = None, batch: int = BATCH) -> SendResult:
    """`flask notifications send` and the scheduler: scan, digests, then every e-mail due now, once."""
    now = now or clock.utcnow()
    scan(now)
    make_digests(now)
    uncertain = settle_lapsed(now)
    cfg = current_app.config
    connections = 1 if mailer or not cfg.get("SMTP_HOST") else max(int(cfg.get("SMTP_CONNECTIONS") or 4), 1)
    holder, result = new_holder(), SendResult(uncertain=uncertain)
    while ids := claim(holder, now, batch):
        broken = _deliver(ids, holder, now, lambda: mailer or mailer_for(cfg), connections, result)
        if broken:
            break  # the server is down: the rest waits for its back-off, not for this run
    return result


@dataclasses.dataclass
class _Outcome:
    sent: list[int] = dataclasses.field(default_factory=list)
    failures: dict[int, str] = dataclasses.field(default_factory=dict)
    broken: bool = False


def _deliver(ids: list[int], holder: str, now: dt.datetime, make_mailer: Callable[[], Mailer], connections: int,
             result: SendResult) -> bool:
    """Send one claimed batch over a few parallel connections (an SMTP exchange is mostly
    waiting for replies); record each outcome. True if the server could not be used."""
    emails = db.session.execute(db.select(OutboxEmail).where(OutboxEmail.id.in_(ids))
                                .order_by(OutboxEmail.id)).scalars().all()
    attempts = {e.id: e.attempts for e in emails}
    host = _host()
    message_ids = {e.id: (e.message_id, False) if e.message_id else (new_message_id(host), True) for e in emails}
    messages = _render(emails, {i: mid for i, (mid, _new) in message_ids.items()})
    db.session.commit()  # end the read before taking the write lock
    ids = _hand_over(message_ids, holder)
    shares = [ids[i::connections] for i in range(min(connections, len(ids)))]
    outcomes = [_Outcome() for _ in shares]
    threads = [threading.Thread(target=_send_share, args=(share, messages, make_mailer(), out))
               for share, out in zip(shares, outcomes, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sent = [i for out in outcomes for i in out.sent]
    failures = {i: why for out in outcomes for i, why in out.failures.items()}
    _record(holder, now, sent, failures, attempts, result)
    return any(out.broken for out in outcomes)


def _send_share(ids: list[int], messages: dict[int, Message], mailer: Mailer, out: _Outcome) -> None:
    """One connection's part of a batch (no database access here: it runs in its own thread)."""
    try:
        with mailer:
            for email_id in ids:
                try:
                    mailer.send(messages[email_id])
                    out.sent.append(email_id)
                except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
                    out.failures[email_id] = _reason(exc)
    except CONNECTION_ERRORS as exc:
        out.broken = True
        out.failures.update({i: _reason(exc) for i in ids if i not in out.sent and i not in out.failures})


def _reason(exc: Exception) -> str:
    """What went wrong, without the message text (it could echo an address)."""
    code = getattr(exc, "smtp_code", None)
    return f"{type(exc).__name__}{f' {code}' if code else ''}"


def _record(holder: str, now: dt.datetime, sent: list[int], failures: dict[int, str], attempts: dict[int, int],
            result: SendResult) -> None:
    mine = (OutboxEmail.claimed_by == holder) & (OutboxEmail.status == "sending")
    with immediate_transactions():
        if sent:
            db.session.execute(db.update(OutboxEmail).where(OutboxEmail.id.in_(sent), mine).values(
                status="sent", sent_at=clock.utcnow(), lease_until=None).execution_options(
                synchronize_session=False))
        for email_id, reason in failures.items():
            give_up = attempts[email_id] >= MAX_ATTEMPTS
            db.session.execute(db.update(OutboxEmail).where(OutboxEmail.id == email_id, mine).values(
                status="failed" if give_up else "queued", lease_until=None, last_error=reason,
                next_attempt_at=now + backoff(attempts[email_id])).execution_options(synchronize_session=False))
            if give_up:
                result.failed += 1
            else:
                result.retrying += 1
        db.session.commit()
    result.sent += len(sent)
    if failures:
        log.warning("notifications: %d e-mail(s) not sent, will retry with back-off", len(failures))


def _render(emails: list[OutboxEmail], message_ids: dict[int, str]) -> dict[int, Message]:
    """Each e-mail's message: one notification's line and link, or a digest of counts."""
    cfg = current_app.config
    by_email: dict[int, list[Notification]] = defaultdict(list)
    for n in db.session.execute(db.select(Notification).where(Notification.outbox_id.in_([e.id for e in emails]))
                                .order_by(Notification.id)).scalars():
        by_email[n.outbox_id].append(n)
    base = cfg["PUBLIC_URL"]
    out = {}
    for email in emails:
        items = by_email.get(email.id, [])
        lines = [{"text": services.notification_text(n), "link": base + n.link} for n in items]
        if email.digest_on is None and len(lines) == 1:
            subject = f"Manage risk panels: {lines[0]['text']}"
            body = render_template("notifications/email.txt", item=lines[0], base=base)
        else:
            subject = f"Manage risk panels: your daily summary ({len(lines)})"
            body = render_template("notifications/digest.txt", items=_group(items), base=base)
        out[email.id] = build_message(cfg, email.user.email, subject, body, message_id=message_ids[email.id])
    return out


def _group(items: list[Notification]) -> list[str]:
    """A digest's lines: counts per kind and panel ("3 actions on IOM main panel are overdue")."""
    counts: dict[tuple[str, int | None, str], int] = defaultdict(int)
    panels: dict[int | None, str | None] = {}
    for n in items:
        detail = n.detail if n.kind.startswith("isa_") else ""
        counts[(n.kind, n.panel_id, detail)] += n.count
        panels[n.panel_id] = n.panel.name if n.panel else None
    return [services.message(kind, panels[pid], count, detail if count == 1 else "")
            for (kind, pid, detail), count in counts.items()]


def run(now: dt.datetime) -> int:
    """The scheduler's job (panels.jobs.JOBS["notifications"]): how many e-mails went."""
    return send_due(now).sent


# -- e-mails in doubt: the admin's decision --------------------------------------------------------

def uncertain_emails() -> list[OutboxEmail]:
    """E-mails whose sender stopped after handing them to SMTP, oldest first."""
    return list(db.session.execute(db.select(OutboxEmail).where(OutboxEmail.status == "uncertain")
                                   .order_by(OutboxEmail.id)).scalars())


def settle_uncertain(email_id: int, *, resend: bool, now: dt.datetime | None = None) -> bool:
    """An admin's decision on an uncertain e-mail: send it again (same Message-ID, so the
    recipient's mail client shows one message if both arrived) or close it as delivered."""
    now = now or clock.utcnow()
    values = (dict(status="queued", next_attempt_at=now, last_error="resent by an admin") if resend else
              dict(status="sent", sent_at=now, last_error="closed by an admin as delivered"))
    with immediate_transactions():
        done = db.session.execute(db.update(OutboxEmail).where(
            OutboxEmail.id == email_id, OutboxEmail.status == "uncertain").values(**values)
            .execution_options(synchronize_session=False)).rowcount
        db.session.commit()
    return bool(done)
