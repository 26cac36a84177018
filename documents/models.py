"""The case_documents table: plain columns for what is safe to index, the rest encrypted."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db
from core.models import UidMixin
from sharing.crypto import BYTES, Encrypted


class CaseDocument(UidMixin, db.Model):
    __tablename__ = "case_documents"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), nullable=False, index=True)
    category: Mapped[str] = mapped_column(String(32), nullable=False)
    kind: Mapped[str] = mapped_column(String(8), nullable=False)  # pdf | docx | png | jpeg
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    uploaded_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    name_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    content_enc: Mapped[bytes | None] = mapped_column(LargeBinary)

    name = Encrypted(lambda doc: doc.category)
    content = Encrypted(lambda doc: doc.category, BYTES)
    user = relationship("User", lazy="joined")
