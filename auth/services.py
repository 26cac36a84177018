"""Changes to accounts and agencies: every one flushes (never commits) and is logged.

Views, the admin pages and the `users` commands all come here, so the rules (a disabled
account loses its sessions, tokens and calendar link; a password change ends the other
sessions and revokes the API tokens and calendar link) hold whichever way a change is made.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

from auth.models import AGENCY_KINDS, ROLES, Agency, ApiToken, User
from auth.passwords import hash_password, password_problem
from auth.sessions import revoke_all
from auth.tokens import revoke_feed_tokens
from core import clock
from core.extensions import db
from sharing import audit

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SETUP_MAX_AGE = 72 * 3600


class Invalid(ValueError):
    """A change that cannot be made; `field` names the form field to show the message on."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass
class UserData:
    email: str
    name: str
    agency_id: int
    roles: set[str]
    password: str | None = None


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def find_user(email: str) -> User | None:
    return db.session.execute(db.select(User).filter_by(email=normalise_email(email))).scalar_one_or_none()


def check_password(password: str, *, email: str, name: str, agency_id: int | None) -> None:
    agency = db.session.get(Agency, agency_id) if agency_id else None
    extra = set()
    if agency is not None:
        extra = {w for w in re.split(r"[^a-z]+", f"{agency.code} {agency.name}".lower()) if len(w) >= 3}
    problem = password_problem(password, email=email, name=name, extra_words=extra)
    if problem:
        raise Invalid("password", problem)


def _check_user(data: UserData, *, existing: User | None = None) -> None:
    if not EMAIL.match(data.email) or len(data.email) > 254:
        raise Invalid("email", "Enter an email address in the correct format, like name@example.org")
    other = find_user(data.email)
    if other is not None and other is not existing:
        raise Invalid("email", "A user with this email address already exists")
    if not data.name.strip():
        raise Invalid("name", "Enter the user's full name")
    if db.session.get(Agency, data.agency_id) is None:
        raise Invalid("agency_id", "Select the user's agency")
    if not data.roles or not data.roles <= set(ROLES):
        raise Invalid("roles", "Select at least one role")


def create_user(data: UserData, *, reason: str = "user created") -> User:
    data.email = normalise_email(data.email)
    _check_user(data)
    if data.password:
        check_password(data.password, email=data.email, name=data.name, agency_id=data.agency_id)
    user = User(email=data.email, name=data.name.strip(), agency_id=data.agency_id, active=True)
    user.roles = data.roles
    if data.password:
        user.password_hash = hash_password(data.password)
        user.password_changed_at = clock.utcnow()
    db.session.add(user)
    db.session.flush()
    db.session.refresh(user, ["agency"])
    audit.record("admin", purpose="user accounts",
                 detail=f"{reason}: user {user.id} {user.email} ({user.agency.code}) roles {user.roles_csv}"
                        f"{'' if data.password else '; set-up needed'}")
    return user


def update_user(user: User, *, name: str, agency_id: int, roles: set[str], acting: User | None = None) -> list[str]:
    """Change name, agency and roles; returns what changed (for the flash message)."""
    data = UserData(email=user.email, name=name, agency_id=agency_id, roles=set(roles))
    _check_user(data, existing=user)
    if acting is not None and acting.id == user.id and "admin" not in roles:
        raise Invalid("roles", "You cannot remove your own administrator role")
    changes = []
    if user.name != name.strip():
        changes.append("name")
        user.name = name.strip()
    if user.agency_id != agency_id:
        old = user.agency.code
        user.agency_id = agency_id
        db.session.flush()
        db.session.refresh(user, ["agency"])
        changes.append(f"agency {old} -> {user.agency.code}")
    if user.roles != set(roles):
        changes.append(f"roles {user.roles_csv or '-'} -> {','.join(sorted(roles))}")
        user.roles = roles
    if changes:
        if any(c.startswith(("agency", "roles")) for c in changes):
            # What the user may see has changed: make them sign in again.
            revoke_all(user, except_current=acting is not None and acting.id == user.id)
        db.session.flush()
        audit.record("admin", purpose="user accounts", detail=f"user {user.id} {user.email}: {'; '.join(changes)}")
    return changes


def set_active(user: User, active: bool, *, acting: User | None = None) -> None:
    """Disable (ending every session and API token at once) or re-enable an account."""
    if acting is not None and acting.id == user.id and not active:
        raise Invalid("active", "You cannot disable your own account")
    if user.active == active:
        return
    user.active = active
    detail = f"user {user.id} {user.email} {'enabled' if active else 'disabled'}"
    if not active:
        sessions, tokens = shut_out(user)
        detail += f"; {sessions} session(s) and {tokens} API token(s) revoked"
    db.session.flush()
    audit.record("admin", purpose="user accounts", detail=detail)


def revoke_tokens(user: User) -> int:
    now = clock.utcnow()
    rows = db.session.execute(db.select(ApiToken).filter_by(user_id=user.id, revoked_at=None)).scalars().all()
    for row in rows:
        row.revoked_at = now
    return len(rows)


def shut_out(user: User, *, except_current: bool = False) -> tuple[int, int]:
    """End the user's sessions and revoke their API tokens and calendar link: after a password
    change (someone may have used the old one) or when the account is disabled.
    Returns (sessions, API tokens); a revoked calendar link is logged here by its id."""
    sessions, tokens = revoke_all(user, except_current=except_current), revoke_tokens(user)
    for feed_id in revoke_feed_tokens(user):
        audit.record("token", purpose="account", detail=f"calendar link {feed_id} of user {user.id} revoked")
    return sessions, tokens


def change_password(user: User, new: str) -> tuple[int, int]:
    """Set a new password, end every other session and revoke every API token.

    Whoever learnt the old password may have signed in elsewhere or made a token with it;
    changing it must shut them out. Returns (sessions ended, tokens revoked).
    """
    check_password(new, email=user.email, name=user.name, agency_id=user.agency_id)
    user.password_hash = hash_password(new)
    user.password_changed_at = clock.utcnow()
    ended, tokens = shut_out(user, except_current=True)
    db.session.flush()
    audit.record("admin", user=user, purpose="account",
                 detail=f"password changed; {ended} other session(s) ended, {tokens} API token(s) revoked")
    return ended, tokens


# -- set-up links: one-time, because they are bound to the password hash they replace --

def _setup_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="account-set-up")


def _fingerprint(user: User) -> str:
    return hashlib.sha256(f"{user.uid}:{user.password_hash or ''}".encode()).hexdigest()[:24]


def setup_token(user: User) -> str:
    return _setup_serializer().dumps({"u": user.uid, "f": _fingerprint(user)})


def user_for_setup(token: str) -> User | None:
    try:
        data = _setup_serializer().loads(token, max_age=SETUP_MAX_AGE)
    except BadSignature:
        return None
    if not isinstance(data, dict):
        return None
    user = db.session.execute(db.select(User).filter_by(uid=str(data.get("u")))).scalar_one_or_none()
    if user is None or not user.active or user.is_system or data.get("f") != _fingerprint(user):
        return None
    return user


def complete_setup(user: User, password: str) -> None:
    check_password(password, email=user.email, name=user.name, agency_id=user.agency_id)
    user.password_hash = hash_password(password)
    user.password_changed_at = clock.utcnow()
    # The link is also how someone who lost their authenticator gets back in: they set it up again.
    had_totp = user.totp_enabled
    user.totp_enabled = False
    user.totp_secret = None
    sessions, tokens = shut_out(user)
    db.session.flush()
    audit.record("admin", user=user, purpose="account",
                 detail="password set with a set-up link" + ("; two-factor authentication reset" if had_totp else "")
                 + f"; {sessions} session(s) ended, {tokens} API token(s) revoked")


# -- agencies ------------------------------------------------------------------------

def _check_agency(code: str, name: str, kind: str, existing: Agency | None = None) -> None:
    if not re.fullmatch(r"[A-Z0-9_]{2,32}", code):
        raise Invalid("code", "Enter a code of 2 to 32 capital letters, digits or underscores, like POLICE")
    other = db.session.execute(db.select(Agency).filter_by(code=code)).scalar_one_or_none()
    if other is not None and other is not existing:
        raise Invalid("code", "An agency with this code already exists")
    if not name.strip():
        raise Invalid("name", "Enter the agency's name")
    if kind not in AGENCY_KINDS:
        raise Invalid("kind", "Select the kind of agency")


def create_agency(code: str, name: str, kind: str) -> Agency:
    code = code.strip().upper()
    _check_agency(code, name, kind)
    agency = Agency(code=code, name=name.strip(), kind=kind)
    db.session.add(agency)
    db.session.flush()
    audit.record("admin", purpose="agencies", detail=f"agency {agency.code} created ({agency.kind})")
    return agency


def update_agency(agency: Agency, *, name: str, kind: str) -> bool:
    """Rename or re-classify; the code stays (partnership files and agreements refer to it)."""
    _check_agency(agency.code, name, kind, existing=agency)
    if agency.name == name.strip() and agency.kind == kind:
        return False
    agency.name, agency.kind = name.strip(), kind
    db.session.flush()
    audit.record("admin", purpose="agencies", detail=f"agency {agency.code} changed: {agency.name} ({agency.kind})")
    return True
