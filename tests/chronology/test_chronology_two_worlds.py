"""Non-interference for the chronology: two worlds differing only in what an agency may not
see (tests/security/test_non_interference.py builds them), plus a held meeting whose
decisions differ in the withheld categories, give each of its users the same chronology
pages, for every case and every category filter."""

from __future__ import annotations

import datetime as dt

import pytest

from core import clock
from core.extensions import db
from sharing.crypto import CATEGORIES
from tests.security.test_non_interference import (
    GROUPS,
    _explain,
    _load_partnership,
    _normalised,
    _reset,
    build,
    hidden_from,
)
from tests.security.two_worlds import policy
from tests.support import clock_at, login


def _hold_meeting(ids: dict, hidden: dict[str, set[str]], secret: bool) -> None:
    """Decisions at the IOM meeting (RAG, rationale, review vary only where risk is hidden), then close it."""
    from panels.meetings import close_meeting, record_outcome
    from panels.models import Meeting

    meeting = db.session.get(Meeting, ids["meeting"])
    coord = policy("coord")
    risk_hidden = secret and "risk" in hidden["IOM"]
    for n, item in enumerate(sorted(meeting.items, key=lambda i: i.case_id)):
        record_outcome(meeting, item, user=coord.user, rag=("green" if risk_hidden else "red"),
                       rationale=(f"secret decision {n}" if risk_hidden else "public decision"),
                       next_review=meeting.date + dt.timedelta(days=(14 if risk_hidden else 28) + n), policy=coord)
    clock.set_now(clock_at(f"{meeting.date.isoformat()}T16:00:00"))
    close_meeting(meeting, coord)
    db.session.commit()


def _observe(app, users: list[str], ids: dict) -> dict:
    seen = {}
    for short in users:
        client = app.test_client()
        assert login(client, short).status_code == 302
        for case_id in ids["cases"]:
            for category in ("", *CATEGORIES):
                path = f"/cases/{case_id}/chronology?category={category}"
                resp = client.get(path)
                seen[(short, path)] = (resp.status_code, _normalised(resp))
            resp = client.get(f"/cases/{case_id}")
            seen[(short, f"/cases/{case_id}")] = (resp.status_code, _normalised(resp))
    return seen


def _worlds(app, monkeypatch, agency: str, observers: list[str]) -> tuple[dict, dict]:
    _load_partnership()
    hidden = hidden_from(GROUPS[agency])
    out = []
    for secret in (False, True):
        _reset(app, monkeypatch)
        ids = build(hidden, secret)
        _hold_meeting(ids, hidden, secret)
        out.append(_observe(app, observers, ids))
    return out[0], out[1]


@pytest.mark.parametrize("agency", list(GROUPS))
def test_the_chronology_does_not_depend_on_what_the_agency_may_not_see(app, agency, monkeypatch):
    a, b = _worlds(app, monkeypatch, agency, GROUPS[agency])
    assert a.keys() == b.keys() and all(v[0] < 500 for v in a.values())
    differing = [_explain(k, a[k], b[k]) for k in a if a[k] != b[k]]
    assert differing == [], f"{len(differing)} of {len(a)} differ:\n\n" + "\n\n".join(differing[:8])


def test_the_worlds_differ_for_an_agency_that_may_see(app, monkeypatch):
    """The check has teeth: NPS reads the risk and health that DWP may not."""
    a, b = _worlds(app, monkeypatch, "DWP", ["probation"])
    differing = {path for (_, path) in a if a[(_, path)] != b[(_, path)]}
    assert any("category=risk" in p for p in differing) and any("category=health" in p for p in differing)
