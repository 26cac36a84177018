"""The people search's own blind index: one keyed, truncated hash per name word of a nominal.

The blind indexes on `nominals` hold a whole given or family name, and the duplicate
matcher's blocking keys pair two names; neither answers a query of one word ("Smudger", a
street name kept as an alias; "Jane" of "Mary Jane"). These rows do, without decrypting
anyone: search.index keeps them for every identity written and says what they reveal.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db


class NameToken(db.Model):
    """One (kind, token) of a nominal: a name word, its sound-alike key, its first or last
    three letters, or the marker that the nominal was indexed (search.index.KINDS)."""

    __tablename__ = "search_name_tokens"
    __table_args__ = (Index("ix_search_name_tokens_kind_token", "kind", "token"),)
    nominal_id: Mapped[int] = mapped_column(ForeignKey("nominals.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    token: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
