"""Building two worlds that differ only in what a viewer may not see (the non-interference
tests in this folder share it).

`fresh_world` empties the tables, loads a partnership and numbers new uids from the same
start, so two worlds built by the same writes get the same ids, uids and pseudonyms; only
the values a test varies differ.
"""

from __future__ import annotations

import itertools
import re

from core import clock
from core.extensions import db
from sharing.crypto import CATEGORIES
from tests.support import clock_at

# A panel only probation is party to: a panel most test agencies take no part in.
DIP = {"code": "DIP", "name": "DIP panel", "chair": "NPS", "schedule": "FREQ=MONTHLY;BYDAY=-1TH", "time": "14:00",
       "bank_holidays": "next_working_day", "agenda_days_before": 7}
DIP_ISA = {"ref": "ISA-DIP-TEST", "panels": ["DIP"], "starts": "2026-01-01", "expires": "2027-03-31",
           "grants": {"NPS": dict.fromkeys(CATEGORIES, "rw")}}

_NONCE = re.compile(rb'nonce="[^"]*"|nonce-[A-Za-z0-9+/=_-]+')


def load_partnership(data: dict) -> None:
    from partnership.loading import load

    clock.set_now(clock_at("2026-11-23T10:00:00"))
    load(data)
    db.session.commit()


def fresh_world(app, monkeypatch, data: dict) -> None:
    """Empty every table, load `data`, and number uids 1, 2, 3... from here on."""
    import core.models
    from tests.conftest import empty_tables

    counter = itertools.count(1)
    monkeypatch.setattr(core.models, "new_uid", lambda: f"{next(counter):032x}")
    db.session.remove()
    clock.set_now(None)
    empty_tables(app)
    app.extensions.pop("cohort_page_cache", None)
    load_partnership(data)


def user(short: str):
    from auth.models import User

    return db.session.execute(db.select(User).filter_by(email=f"{short}@test.example")).scalar_one()


def panel(code: str):
    from panels.models import Panel

    return db.session.execute(db.select(Panel).filter_by(code=code)).scalar_one()


def policy(short: str):
    from sharing.policy import Policy

    return Policy(user(short))


def without_nonces(body: bytes) -> bytes:
    return _NONCE.sub(b"nonce", body)
