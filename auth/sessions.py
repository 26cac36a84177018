"""Server-side sessions: the cookie holds a random id, the database says if it is alive.

Idle and absolute timeouts are checked on every request; signing out, changing a password
or disabling an account revokes the rows, so a replayed cookie is worthless.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from flask import current_app, g, request, session

from auth.models import User, UserSession
from core import clock
from core.extensions import db


def _hash(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


def start_session(user: User, *, totp_verified: bool = False) -> UserSession:
    """Begin a fresh session (a new id: no session fixation)."""
    session.clear()
    sid = secrets.token_urlsafe(32)
    now = clock.utcnow()
    row = UserSession(
        sid_hash=_hash(sid), user_id=user.id, created_at=now, last_seen_at=now, totp_verified=totp_verified
    )
    db.session.add(row)
    db.session.flush()
    session["sid"] = sid
    session.permanent = False
    g.user_session = row
    return row


def _expired(row: UserSession, now: dt.datetime) -> bool:
    cfg = current_app.config
    if row.revoked_at is not None:
        return True
    if now - row.last_seen_at > dt.timedelta(minutes=cfg["SESSION_IDLE_MINUTES"]):
        return True
    return now - row.created_at > dt.timedelta(hours=cfg["SESSION_ABSOLUTE_HOURS"])


_BY_SID_HASH = db.select(UserSession).where(UserSession.sid_hash == db.bindparam("sid_hash"))  # every request


def load_session() -> UserSession | None:
    """Find this request's live session (or None), touching its last-seen time."""
    sid = session.get("sid")
    if not sid:
        return None
    row = db.session.execute(_BY_SID_HASH, {"sid_hash": _hash(sid)}).scalar_one_or_none()
    now = clock.utcnow()
    if row is None or _expired(row, now) or not row.user.active:
        session.clear()
        return None
    # Touch at most once a minute. A page's own background refresh (htmx polling) is not
    # the user doing anything, so it never keeps an unattended session alive.
    if request.headers.get("HX-Request") != "true" and now - row.last_seen_at > dt.timedelta(seconds=60):
        row.last_seen_at = now
    return row


def end_session() -> None:
    row = g.get("user_session")
    if row is not None:
        row.revoked_at = clock.utcnow()
    session.clear()


def revoke_all(user: User, *, except_current: bool = False) -> int:
    """Revoke every live session of a user (password change, account disabled)."""
    keep = g.get("user_session").id if except_current and g.get("user_session") is not None else None
    rows = db.session.execute(
        db.select(UserSession).filter_by(user_id=user.id, revoked_at=None)
    ).scalars().all()
    now = clock.utcnow()
    n = 0
    for row in rows:
        if row.id != keep:
            row.revoked_at = now
            n += 1
    return n
