"""Shared model helpers: stable row uids (bound into encryption) and timestamps."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from core import clock


def new_uid() -> str:
    return uuid.uuid4().hex


class UidMixin:
    """A random uid set at construction, before any encrypted attribute is assigned.

    Encrypted columns bind their ciphertext to (table, column, uid); the uid must exist
    before the first assignment, which an autoincrement id does not.
    """

    uid: Mapped[str] = mapped_column(String(32), unique=True, nullable=False, default=new_uid)

    def __init__(self, **kwargs):
        self.uid = kwargs.pop("uid", None) or new_uid()
        super().__init__(**kwargs)


class TimestampMixin:
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=clock.utcnow, nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime, default=clock.utcnow, onupdate=clock.utcnow, nullable=False
    )
