"""Information-sharing agreements, data keys and the hash-chained access log."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db
from core.models import TimestampMixin

ISA_STATUSES = ("draft", "active", "suspended", "ended")
ACCESS = ("r", "rw")

isa_panels = Table(
    "isa_panels",
    db.metadata,
    Column("isa_id", ForeignKey("isas.id", ondelete="CASCADE"), primary_key=True),
    Column("panel_id", ForeignKey("panels.id", ondelete="CASCADE"), primary_key=True),
)


class Isa(TimestampMixin, db.Model):
    __tablename__ = "isas"
    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    title: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    purpose: Mapped[str] = mapped_column(Text, nullable=False, default="")
    starts: Mapped[dt.date] = mapped_column(Date, nullable=False)
    review: Mapped[dt.date | None] = mapped_column(Date)
    expires: Mapped[dt.date] = mapped_column(Date, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="active")
    signatories: Mapped[str] = mapped_column(Text, nullable=False, default="")
    # The lawful basis the parties record (e.g. "DPA 2018 Part 3, s.35; Crime and Disorder Act 1998 s.115").
    lawful_basis: Mapped[str] = mapped_column(Text, nullable=False, default="", server_default="")

    panels = relationship("Panel", secondary=isa_panels, lazy="selectin", order_by="Panel.code")
    grants: Mapped[list[IsaGrant]] = relationship(
        back_populates="isa", cascade="all, delete-orphan", lazy="selectin"
    )

    def in_force(self, on: dt.date) -> bool:
        """Sharing runs from the start date up to, not including, the expiry date."""
        return self.status == "active" and self.starts <= on < self.expires


class IsaGrant(db.Model):
    __tablename__ = "isa_grants"
    __table_args__ = (UniqueConstraint("isa_id", "agency_id", "category"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    isa_id: Mapped[int] = mapped_column(ForeignKey("isas.id", ondelete="CASCADE"), nullable=False)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), nullable=False)
    category: Mapped[str] = mapped_column(String(32), nullable=False)
    access: Mapped[str] = mapped_column(String(2), nullable=False)

    isa: Mapped[Isa] = relationship(back_populates="grants")
    agency = relationship("Agency", lazy="joined")


class DataKey(db.Model):
    """A data key version, wrapped by the master key (which never touches the database)."""

    __tablename__ = "data_keys"
    __table_args__ = (UniqueConstraint("name", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(32), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    wrapped: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)


class AccessEvent(db.Model):
    """One row of the append-only access log (DPA 2018 s.62). `hash` chains to the previous row."""

    __tablename__ = "access_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True, nullable=False)
    at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, index=True)
    user_id: Mapped[int | None] = mapped_column(Integer, index=True)  # no FK: the log outlives users
    user_email: Mapped[str] = mapped_column(String(254), nullable=False, default="")
    agency_code: Mapped[str] = mapped_column(String(32), nullable=False, default="")
    action: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    outcome: Mapped[str] = mapped_column(String(16), nullable=False, default="allowed")
    panel_code: Mapped[str] = mapped_column(String(32), nullable=False, default="")
    nominal_id: Mapped[int | None] = mapped_column(Integer, index=True)
    # The keyed pseudonym of nominal_id, which the chain covers instead of the id (sharing.audit):
    # erasure sets nominal_id to NULL and the chain still verifies.
    subject: Mapped[str] = mapped_column(String(24), nullable=False, default="", server_default="")
    case_id: Mapped[int | None] = mapped_column(Integer, index=True)
    categories: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    purpose: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    detail: Mapped[str] = mapped_column(Text, nullable=False, default="")
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False)


class AccessEventNominal(db.Model):
    """A nominal an access event showed (a tracker page, an export, an agenda...): one row each,
    so "who has seen this nominal" finds every exposure. The event's chain hash covers the
    subject pseudonyms (sharing.audit.subject_of), so erasure may null nominal_id here too."""

    __tablename__ = "access_event_nominals"
    event_seq: Mapped[int] = mapped_column(ForeignKey("access_events.seq", ondelete="CASCADE"), primary_key=True)
    subject: Mapped[str] = mapped_column(String(24), primary_key=True)
    nominal_id: Mapped[int | None] = mapped_column(Integer, index=True)  # no FK: the log outlives people
