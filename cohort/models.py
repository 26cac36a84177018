"""Nominals (people), cases (a nominal on a panel) and everything recorded against a case.

Identity, contact and free text are encrypted (sharing.crypto.Encrypted). Enumerations the
tracker filters, sorts and counts on (RAG, status, levels, dates) stay in plain columns so
a 5,000-case panel does not have to be decrypted to be counted; they are still policed by
the access policy like every other field.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    case,
    literal_column,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import Grouping

from core.extensions import db
from core.models import TimestampMixin, UidMixin
from sharing.crypto import DATE, LIST, Encrypted

RAGS = ("red", "amber", "green")
CASE_STATUSES = ("referred", "active", "paused", "exited")
COHORT_TYPES = ("fixed", "flex", "free")
RISK_LEVELS = ("low", "medium", "high", "very high")
PATHWAYS = {
    "accommodation": ("Accommodation", "resettlement"),
    "ete": ("Education, training and employment", "resettlement"),
    "finance": ("Finance, benefit and debt", "resettlement"),
    "drugs": ("Drugs", "substance_misuse"),
    "alcohol": ("Alcohol", "substance_misuse"),
    "health": ("Health", "health"),
    "attitudes": ("Attitudes, thinking and behaviour", "offending"),
    "children": ("Children and families", "resettlement"),
}
NOTE_CATEGORIES = ("offending", "risk", "health", "substance_misuse", "resettlement", "intelligence")
ACTION_STATUSES = ("open", "done", "cancelled")


class Nominal(UidMixin, TimestampMixin, db.Model):
    __tablename__ = "nominals"
    # The tracker's change token reads the newest update (a merge renames): an index makes it O(log n).
    __table_args__ = (Index("ix_nominals_updated_at", "updated_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    given_name_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    family_name_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    aliases_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    date_of_birth_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    gender_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    ethnicity_enc: Mapped[bytes | None] = mapped_column(LargeBinary)  # equality monitoring (ONS 2021 categories)
    pnc_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    cro_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    nomis_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    crn_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    address_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    postcode_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Blind indexes: truncated keyed HMACs of normalised values (sharing.blind_index).
    bi_pnc: Mapped[int | None] = mapped_column(Integer, index=True)
    bi_cro: Mapped[int | None] = mapped_column(Integer, index=True)
    bi_nomis: Mapped[int | None] = mapped_column(Integer, index=True)
    bi_crn: Mapped[int | None] = mapped_column(Integer, index=True)
    bi_dob: Mapped[int | None] = mapped_column(Integer, index=True)
    bi_given: Mapped[int | None] = mapped_column(Integer, index=True)
    bi_family: Mapped[int | None] = mapped_column(Integer, index=True)
    bi_given_phon: Mapped[int | None] = mapped_column(Integer, index=True)
    bi_family_phon: Mapped[int | None] = mapped_column(Integer, index=True)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("nominals.id"), index=True)

    given_name = Encrypted("identity")
    family_name = Encrypted("identity")
    aliases = Encrypted("identity", LIST)
    date_of_birth = Encrypted("identity", DATE)
    gender = Encrypted("identity")
    ethnicity = Encrypted("identity")
    pnc = Encrypted("identity")
    cro = Encrypted("identity")
    nomis = Encrypted("identity")
    crn = Encrypted("identity")
    address = Encrypted("contact")
    postcode = Encrypted("contact")

    cases: Mapped[list[Case]] = relationship(back_populates="nominal", foreign_keys="Case.nominal_id")
    # Keyed hashes of the duplicate matcher's blocking keys (duplicates.keys), kept by
    # sharing.blind_index.index_nominal whenever the identity changes.
    block_keys: Mapped[list[NominalBlockKey]] = relationship(
        back_populates="nominal", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.given_name, self.family_name) if p)


class Case(UidMixin, TimestampMixin, db.Model):
    __tablename__ = "cases"
    __table_args__ = (
        UniqueConstraint("panel_id", "ref"),
        # Covers the RAG counts at the top of the tracker, so they never read the wide rows.
        Index("ix_cases_panel_rag", "panel_id", "rag", "status"),  # status: the counts leave exited cases out
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    nominal_id: Mapped[int] = mapped_column(ForeignKey("nominals.id"), nullable=False, index=True)
    panel_id: Mapped[int] = mapped_column(ForeignKey("panels.id"), nullable=False, index=True)
    ref: Mapped[str] = mapped_column(String(64), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    # Writes per category ("base": status, ref, panel; "_writes": any), kept by
    # cohort.change_counter: the version a viewer sees counts only what it may read.
    category_versions: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict, server_default="{}")
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="active", index=True)
    rag: Mapped[str | None] = mapped_column(String(8), index=True)
    risk_level: Mapped[str | None] = mapped_column(String(16))
    mappa_category: Mapped[int | None] = mapped_column(Integer)
    mappa_level: Mapped[int | None] = mapped_column(Integer)
    cohort_type: Mapped[str | None] = mapped_column(String(8))
    referral_date: Mapped[dt.date | None] = mapped_column(Date)
    referring_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    lead_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    last_engagement: Mapped[dt.date | None] = mapped_column(Date)
    order_end_date: Mapped[dt.date | None] = mapped_column(Date)
    next_review: Mapped[dt.date | None] = mapped_column(Date, index=True)
    last_reviewed: Mapped[dt.date | None] = mapped_column(Date)
    exited_on: Mapped[dt.date | None] = mapped_column(Date)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    lead_officer_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    exit_reason_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    accommodation_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    employment_enc: Mapped[bytes | None] = mapped_column(LargeBinary)

    lead_officer = Encrypted("offending")
    exit_reason = Encrypted("offending")
    accommodation = Encrypted("resettlement")
    employment = Encrypted("resettlement")

    nominal: Mapped[Nominal] = relationship(back_populates="cases", foreign_keys=[nominal_id], lazy="joined")
    panel = relationship("Panel", lazy="joined")
    lead_agency = relationship("Agency", foreign_keys=[lead_agency_id], lazy="joined")
    referring_agency = relationship("Agency", foreign_keys=[referring_agency_id], lazy="joined")
    updated_by = relationship("User", foreign_keys=[updated_by_id])

    # A stale write (another request bumped the version first) raises StaleDataError.
    __mapper_args__ = {"version_id_col": version}


# The tracker's default order (red, amber, green, none; then ref), written with literals so the
# expression index below matches the query's ORDER BY: a page is read off the index rather
# than sorting the whole panel (1.4 ms for 5,000 cases on SQLite).
RAG_ORDER = case(
    (Case.rag == literal_column("'red'"), literal_column("0")),
    (Case.rag == literal_column("'amber'"), literal_column("1")),
    (Case.rag == literal_column("'green'"), literal_column("2")),
    else_=literal_column("3"),
)
Index("ix_cases_panel_rag_order", Case.panel_id, Grouping(RAG_ORDER), Case.ref, Case.id)  # PostgreSQL wants ( )


class RagChange(UidMixin, db.Model):
    __tablename__ = "rag_changes"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), nullable=False, index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    from_rag: Mapped[str | None] = mapped_column(String(8))
    to_rag: Mapped[str] = mapped_column(String(8), nullable=False)
    source: Mapped[str] = mapped_column(String(16), nullable=False, default="manual")
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meetings.id"))
    rationale_enc: Mapped[bytes | None] = mapped_column(LargeBinary)

    rationale = Encrypted("risk")
    user = relationship("User", lazy="joined")


class CaseEvent(UidMixin, db.Model):
    """Referral, exit, re-referral, import, merge: the case's history besides RAG."""

    __tablename__ = "case_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), nullable=False, index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    detail_enc: Mapped[bytes | None] = mapped_column(LargeBinary)

    detail = Encrypted("offending")
    user = relationship("User", lazy="joined")


class Engagement(UidMixin, db.Model):
    __tablename__ = "engagements"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), nullable=False, index=True)
    on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False, default="contact")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    note_enc: Mapped[bytes | None] = mapped_column(LargeBinary)

    note = Encrypted("offending")
    user = relationship("User", lazy="joined")


class Need(UidMixin, db.Model):
    """A resettlement need on one pathway; its category follows the pathway."""

    __tablename__ = "needs"
    __table_args__ = (UniqueConstraint("case_id", "pathway"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), nullable=False, index=True)
    pathway: Mapped[str] = mapped_column(String(32), nullable=False)
    level: Mapped[str] = mapped_column(String(16), nullable=False, default="need")  # need|no_need|met
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note_enc: Mapped[bytes | None] = mapped_column(LargeBinary)

    note = Encrypted(lambda need: PATHWAYS[need.pathway][1])

    @property
    def category(self) -> str:
        return PATHWAYS[self.pathway][1]


class Action(UidMixin, TimestampMixin, db.Model):
    __tablename__ = "actions"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), nullable=False, index=True)
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meetings.id"), index=True)
    owner_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    due: Mapped[dt.date | None] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="open")
    completed_on: Mapped[dt.date | None] = mapped_column(Date)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    description_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    owner_name_enc: Mapped[bytes | None] = mapped_column(LargeBinary)

    description = Encrypted("offending")
    owner_name = Encrypted("offending")
    owner_agency = relationship("Agency", lazy="joined")
    case = relationship("Case")


class Note(UidMixin, db.Model):
    __tablename__ = "notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), nullable=False, index=True)
    category: Mapped[str] = mapped_column(String(32), nullable=False)
    at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    body_enc: Mapped[bytes | None] = mapped_column(LargeBinary)

    body = Encrypted(lambda note: note.category)
    user = relationship("User", lazy="joined")


class NominalBlockKey(db.Model):
    """One blocking key of a nominal as a truncated keyed hash (duplicates.keys).

    The duplicate check pairs nominals sharing a (kind, token) without decrypting anyone;
    only the nominals in those pairs are decrypted and compared.
    """

    __tablename__ = "nominal_block_keys"
    __table_args__ = (Index("ix_nominal_block_keys_kind_token", "kind", "token"),)
    nominal_id: Mapped[int] = mapped_column(ForeignKey("nominals.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(24), primary_key=True)
    token: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)

    nominal: Mapped[Nominal] = relationship(back_populates="block_keys")


class DuplicateCandidate(db.Model):
    """A pair the matcher proposed; analysts confirm (merge), reject (never again) or skip."""

    __tablename__ = "duplicate_candidates"
    __table_args__ = (UniqueConstraint("nominal_a_id", "nominal_b_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    nominal_a_id: Mapped[int] = mapped_column(ForeignKey("nominals.id"), nullable=False, index=True)
    nominal_b_id: Mapped[int] = mapped_column(ForeignKey("nominals.id"), nullable=False, index=True)
    score: Mapped[float] = mapped_column(Float, nullable=False)
    evidence: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="open", index=True)
    found_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Merge(db.Model):
    """Two nominals made one; `moved` records what moved so an admin can undo it."""

    __tablename__ = "merges"
    id: Mapped[int] = mapped_column(primary_key=True)
    kept_id: Mapped[int] = mapped_column(ForeignKey("nominals.id"), nullable=False)
    merged_id: Mapped[int] = mapped_column(ForeignKey("nominals.id"), nullable=False)
    candidate_id: Mapped[int | None] = mapped_column(ForeignKey("duplicate_candidates.id"))
    moved: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    undone_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    undone_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class DedupeModel(db.Model):
    """The duplicate check's fitted parameters, kept so that every run scores alike until
    someone retrains it (`flask dedupe retrain`, or a newly confirmed or undone merge)."""

    __tablename__ = "dedupe_models"
    id: Mapped[int] = mapped_column(primary_key=True)
    trained_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    params: Mapped[dict] = mapped_column(JSON, nullable=False)
    nominals: Mapped[int] = mapped_column(Integer, nullable=False)
    confirmed: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    confirmed_key: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    trained_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class TrackerChange(db.Model):
    """A count per panel and category that moves whenever that category of the panel's cases
    is written, bumped by triggers (cohort.change_counter)."""

    __tablename__ = "tracker_changes"
    panel_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    category: Mapped[str] = mapped_column(String(32), primary_key=True, default="base")  # or a CATEGORIES name
    seq: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)


from cohort import change_counter  # noqa: E402,F401 - the triggers come with the table
