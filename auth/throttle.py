"""Sign-in lock-out, kept in the database so it holds across workers and restarts.

Rows are keyed by an HMAC of the lower-cased e-mail address, for addresses that belong to
nobody as well as real ones: an unknown address locks after the same number of failures and
gets the same answer, so the lock-out cannot be used to find out who has an account. The
HMAC (key derived from the master key) keeps the addresses people typed out of the table.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

from flask import current_app
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from auth.models import LoginThrottle
from core import clock
from core.extensions import db
from sharing.crypto import keyring


def throttle_key(email: str) -> str:
    """The row key for an address: HMAC-SHA256 of the normalised address."""
    return hmac.new(keyring().derived_key("login-throttle"), email.strip().lower().encode(), hashlib.sha256).hexdigest()


def _row(key: str, *, create: bool) -> LoginThrottle | None:
    """This address's row, locked for update; created first when asked (safe under races)."""
    if create:
        dialect = db.session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        db.session.execute(
            insert(LoginThrottle)
            .values(key_hash=key, failures=0, updated_at=clock.utcnow())
            .on_conflict_do_nothing(index_elements=["key_hash"])
        )
    return db.session.execute(
        db.select(LoginThrottle).filter_by(key_hash=key).with_for_update()
    ).scalar_one_or_none()


def locked_until(email: str) -> dt.datetime | None:
    """When the lock on this address ends, or None when it may try to sign in."""
    row = _row(throttle_key(email), create=False)
    if row is None or row.locked_until is None or row.locked_until <= clock.utcnow():
        return None
    return row.locked_until


def is_locked(email: str) -> bool:
    return locked_until(email) is not None


def record_failure(email: str) -> bool:
    """Count a failed attempt; returns True when this failure locked the address."""
    cfg = current_app.config
    now = clock.utcnow()
    row = _row(throttle_key(email), create=True)
    if row.locked_until is not None and row.locked_until <= now:
        # The last lock has run out: start counting afresh.
        row.failures, row.locked_until = 0, None
    row.failures += 1
    row.updated_at = now
    if row.failures >= cfg["LOCKOUT_THRESHOLD"] and row.locked_until is None:
        row.locked_until = now + dt.timedelta(minutes=cfg["LOCKOUT_MINUTES"])
        db.session.flush()
        return True
    db.session.flush()
    return False


def clear(email: str) -> None:
    """Forget failures after a successful sign-in (or an administrator's unlock)."""
    db.session.execute(db.delete(LoginThrottle).filter_by(key_hash=throttle_key(email)))
