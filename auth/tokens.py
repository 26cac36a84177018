"""Personal API tokens: shown once, stored as SHA-256 hashes (they are 256-bit random)."""

from __future__ import annotations

import hashlib
import secrets

from auth.models import ApiToken, User
from core import clock
from core.extensions import db

PREFIX = "mrp_"


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


def user_for_token(token: str) -> User | None:
    if not token.startswith(PREFIX):
        return None
    row = db.session.execute(_BY_HASH, {"token_hash": _hash(token)}).scalar_one_or_none()
    if row is None or row.revoked_at is not None or not row.user.active:
        return None
    now = clock.utcnow()
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 300:
        row.last_used_at = now
    return row.user


def revoke_token(token_id: int, user: User) -> bool:
    row = db.session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id or row.revoked_at is not None:
        return False
    row.revoked_at = clock.utcnow()
    return True

