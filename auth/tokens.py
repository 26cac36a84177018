"""Personal API tokens and calendar feed links: shown once, stored as SHA-256 hashes (256-bit random).

The two are different credentials with different prefixes in different tables: an API
token never opens a feed and a feed link never opens the API, so a link pasted into a
calendar client exposes meeting dates and nothing else.
"""

from __future__ import annotations

import hashlib
import secrets

from auth.models import ApiToken, CalendarFeedToken, User
from core import clock
from core.extensions import db

PREFIX = "mrp_"
FEED_PREFIX = "mrf_"  # core.logs scrubs both from log lines
USE_RECORDED_EVERY = 300  # seconds: last_used_at is not rewritten on every request


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(user: User, name: str = "personal") -> str:
    token = PREFIX + secrets.token_urlsafe(32)
    db.session.add(
        ApiToken(user_id=user.id, name=name, prefix=token[:12], token_hash=_hash(token), created_at=clock.utcnow())
    )
    db.session.flush()
    return token


_BY_HASH = db.select(ApiToken).where(ApiToken.token_hash == db.bindparam("token_hash"))  # every API request


def bearer_token(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None.

    The scheme is matched without regard to case (RFC 9110 11.1: "bearer", "BEARER" and
    "Bearer" are the same scheme); the token is what follows the spaces after it.
    """
    scheme, _, token = (header or "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


def user_for_token(token: str) -> User | None:
    if not token.startswith(PREFIX):
        return None
    row = db.session.execute(_BY_HASH, {"token_hash": _hash(token)}).scalar_one_or_none()
    if row is None or row.revoked_at is not None or not row.user.active:
        return None
    _note_use(row)
    return row.user


def _note_use(row: ApiToken | CalendarFeedToken) -> None:
    now = clock.utcnow()
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > USE_RECORDED_EVERY:
        row.last_used_at = now


def revoke_token(token_id: int, user: User) -> bool:
    row = db.session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id or row.revoked_at is not None:
        return False
    row.revoked_at = clock.utcnow()
    return True



# -- calendar feed links --------------------------------------------------------------------


def live_feed_token(user: User) -> CalendarFeedToken | None:
    """The user's calendar link now in force, if any."""
    return db.session.execute(
        db.select(CalendarFeedToken).filter_by(user_id=user.id, revoked_at=None)
    ).scalars().first()


def create_feed_token(user: User) -> tuple[CalendarFeedToken, str]:
    """A new calendar link for `user`, replacing (revoking) any earlier one; (row, secret)."""
    revoke_feed_tokens(user)
    token = FEED_PREFIX + secrets.token_urlsafe(32)
    row = CalendarFeedToken(user_id=user.id, token_hash=_hash(token), created_at=clock.utcnow())
    db.session.add(row)
    db.session.flush()
    return row, token


def feed_token_row(token: str) -> CalendarFeedToken | None:
    """The row a feed link names, live or not (so a refusal can name its id); None if unknown."""
    if not token.startswith(FEED_PREFIX):
        return None  # an API token, or anything else: never looked up as a feed link
    return db.session.execute(
        db.select(CalendarFeedToken).filter_by(token_hash=_hash(token))
    ).scalar_one_or_none()


def use_feed_token(row: CalendarFeedToken | None) -> bool:
    """True (and the use noted) when the link is live and its owner may still sign in."""
    if row is None or row.revoked_at is not None or not row.user.active:
        return False
    _note_use(row)
    return True


def revoke_feed_tokens(user: User) -> list[int]:
    """Revoke the user's calendar links; the ids revoked."""
    now = clock.utcnow()
    rows = db.session.execute(
        db.select(CalendarFeedToken).filter_by(user_id=user.id, revoked_at=None)
    ).scalars().all()
    for row in rows:
        row.revoked_at = now
    return [row.id for row in rows]
