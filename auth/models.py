"""Agencies, users, server-side sessions, API tokens, calendar feed links and the sign-in throttle."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db
from core.models import TimestampMixin, UidMixin
from sharing.crypto import Encrypted

# dpo: the data protection officer (subject access, rectification, the export register; lifecycle/).
ROLES = ("admin", "coordinator", "practitioner", "analyst", "auditor", "dpo")
AGENCY_KINDS = (
    "police", "probation", "council", "housing", "dwp", "drugs_alcohol", "health", "youth_justice",
    "prison", "other",
)


class Agency(TimestampMixin, db.Model):
    __tablename__ = "agencies"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False, default="other")

    users: Mapped[list[User]] = relationship(back_populates="agency")

    def __repr__(self) -> str:
        return f"<Agency {self.code}>"


# The agency of the service's own automated jobs: it owns no case, signs no agreement and is
# never offered to people as a lead agency, an action owner, a party or a user's agency.
SYSTEM_AGENCY = "SYSTEM"


def partner_agencies(order_by=Agency.code):
    """The statement for every agency a person may choose (all but the system's own)."""
    return db.select(Agency).where(Agency.code != SYSTEM_AGENCY).order_by(order_by)


class User(UidMixin, TimestampMixin, db.Model):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), nullable=False)
    roles_csv: Mapped[str] = mapped_column("roles", String(200), nullable=False, default="")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    is_system: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    totp_secret_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    totp_enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    totp_last_counter: Mapped[int | None] = mapped_column(Integer)
    password_changed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # The user's own page settings (e.g. the tracker columns chosen per panel); no case data.
    settings: Mapped[dict | None] = mapped_column(JSON)

    totp_secret = Encrypted("auth")
    agency: Mapped[Agency] = relationship(back_populates="users", lazy="joined")

    @property
    def roles(self) -> set[str]:
        return {r for r in (self.roles_csv or "").split(",") if r}

    @roles.setter
    def roles(self, value) -> None:
        self.roles_csv = ",".join(sorted(set(value)))

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    def __repr__(self) -> str:
        return f"<User {self.id}>"


class UserSession(db.Model):
    """A signed-in browser. The cookie carries only a random id; revoking the row ends it."""

    __tablename__ = "user_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    sid_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    totp_verified: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    user: Mapped[User] = relationship(lazy="joined")


class ApiToken(db.Model):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False, default="personal")
    prefix: Mapped[str] = mapped_column(String(12), nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    user: Mapped[User] = relationship(lazy="joined")


class CalendarFeedToken(db.Model):
    """A calendar subscription link: opens the user's meetings feed and nothing else.

    Kept apart from API tokens so a link pasted into a calendar client (and so into its
    sync logs) cannot read case data. Stored as a SHA-256 hash; one live link per user.
    """

    __tablename__ = "calendar_feed_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    user: Mapped[User] = relationship(lazy="joined")


class LoginThrottle(db.Model):
    """Failed sign-ins per e-mail (known or not), so lock-out holds across workers."""

    __tablename__ = "login_throttle"
    id: Mapped[int] = mapped_column(primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    failures: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
