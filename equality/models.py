"""The population baseline from the partnership file (counts, no personal data)."""

from __future__ import annotations

from sqlalchemy import Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db


class PopulationCount(db.Model):
    """One group's count in the local population, e.g. (ethnicity, "Asian or Asian British", 21000)."""

    __tablename__ = "population_counts"
    __table_args__ = (UniqueConstraint("dimension", "label"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    dimension: Mapped[str] = mapped_column(String(32), nullable=False)
    label: Mapped[str] = mapped_column(String(200), nullable=False)
    count: Mapped[int] = mapped_column(Integer, nullable=False)
