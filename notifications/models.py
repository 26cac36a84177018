"""Notification rows, the e-mail outbox and each user's e-mail preference.

No column holds anything about a nominal: a notification is a kind, a panel, a count and a
link to a page of the service, which applies the access policy when it is opened.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core import clock
from core.extensions import db

KINDS = (
    "action_assigned", "action_due_tomorrow", "action_overdue", "agenda_published", "referral_decided",
    "isa_review", "isa_expiry", "export_destroy_by",
)
PREFERENCES = ("immediately", "daily", "off")
DEFAULT_PREFERENCE = "immediately"
# How a notification reaches e-mail: its own message, a daily digest, or not at all.
EMAIL_STATES = ("outbox", "digest", "off")
# queued -> claimed (leased to one sender) -> sending (its Message-ID fixed, handed to SMTP)
# -> sent; failed after MAX_ATTEMPTS; uncertain: a sender's lease ran out while the e-mail was
# with the SMTP server, so it may have gone (notifications.jobs, README "Notifications").
OUTBOX_STATUSES = ("queued", "claimed", "sending", "sent", "failed", "uncertain")


class Notification(db.Model):
    """One thing a user should know: shown in the service until read; e-mailed by preference."""

    __tablename__ = "notifications"
    __table_args__ = (UniqueConstraint("user_id", "kind", "key", name="uq_notifications_user_kind_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    # What makes it once only, e.g. "action:12" (an id, never a name).
    key: Mapped[str] = mapped_column(String(200), nullable=False)
    panel_id: Mapped[int | None] = mapped_column(ForeignKey("panels.id"))
    count: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    link: Mapped[str] = mapped_column(String(500), nullable=False, default="/")
    # Words shown with the message that say nothing about a nominal: a meeting's date, an agreement's ref.
    detail: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=clock.utcnow)
    read_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    email_state: Mapped[str] = mapped_column(String(8), nullable=False, default="outbox")
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("notification_outbox.id"), index=True)

    panel = relationship("Panel", lazy="joined")
    outbox = relationship("OutboxEmail", lazy="select")


class OutboxEmail(db.Model):
    """One e-mail to send: a notification's own, or a user's daily digest (digest_on set).

    The sender claims rows (status queued -> claimed, with a lease) in one statement, so two
    senders never take the same row; before handing them to SMTP it fixes each one's
    Message-ID and marks them sending. A claimed row whose lease ran out (its sender died
    before sending) is taken again; a sending one is not resent blindly: it becomes
    uncertain (or, under NOTIFICATIONS_RESEND_UNCERTAIN, is resent with the same Message-ID).
    """

    __tablename__ = "notification_outbox"
    __table_args__ = (UniqueConstraint("user_id", "digest_on", name="uq_notification_outbox_user_digest_on"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="queued", index=True)
    digest_on: Mapped[dt.date | None] = mapped_column(Date)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=clock.utcnow)
    lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # Fixed before the first hand-over to SMTP and kept for any resend, so a resend is
    # recognisably the same message (mail clients and archives collapse duplicates by it).
    message_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    last_error: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=clock.utcnow)

    user = relationship("User", lazy="joined")


class NotificationPreference(db.Model):
    """A user's choice for e-mail: immediately (the default), a daily digest, or off."""

    __tablename__ = "notification_preferences"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    email: Mapped[str] = mapped_column(String(16), nullable=False, default=DEFAULT_PREFERENCE)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=clock.utcnow)
