"""Small helpers shared by the auth tests."""

from __future__ import annotations

import re

from core.extensions import db


def field_value(html: str, name: str) -> str:
    match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html) or re.search(
        rf'value="([^"]*)"[^>]*name="{name}"', html
    )
    assert match, f"no {name} field"
    return match.group(1)


def user(short: str):
    from auth.models import User

    email = short if "@" in short else f"{short}@test.example"
    return db.session.execute(db.select(User).filter_by(email=email)).scalar_one()


def audit_actions(action: str) -> list:
    from sharing.models import AccessEvent

    db.session.expire_all()
    return db.session.execute(db.select(AccessEvent).filter_by(action=action).order_by(AccessEvent.seq)).scalars().all()
