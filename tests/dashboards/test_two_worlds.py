"""Dashboards under the non-interference suite: two worlds that differ only in what an
agency may not see (tests/security/test_non_interference.build) give each of its users the
same dashboard and the same lists behind every count, byte for byte."""

from __future__ import annotations

import pytest

from core.extensions import db
from dashboards.queries import ACTION_FILTERS, DATA_QUALITY
from tests.security.test_non_interference import (
    GROUPS,
    _explain,
    _load_partnership,
    _normalised,
    _reset,
    build,
    hidden_from,
)
from tests.security.two_worlds import user
from tests.support import login

PATHS = (["/", "/my/cases", "/my/changes", "/notifications", "/api/v1/notifications"]
         + [f"/my/actions?when={w}" for w in ACTION_FILTERS]
         + [f"/dashboard/referrals?panel={c}" for c in ("IOM", "MAPPA", "DIP")]
         + [f"/dashboard/actions?panel=IOM&agency={a}" for a in ("POLICE", "NPS", "LACS")]
         + [f"/data-quality?panel={c}&problem={p}" for c in ("IOM", "MAPPA", "DIP") for p in DATA_QUALITY])


def observe(app, users: list[str], ids: dict) -> dict:
    from auth.tokens import create_token

    seen = {}
    for short in users:
        token = create_token(user(short))
        db.session.commit()
        client = app.test_client()
        assert login(client, short).status_code == 302
        for case_id in ids["cases"]:  # "since I last looked": every user has looked once
            client.get(f"/cases/{case_id}")
        for path in PATHS:
            headers = {"Authorization": f"Bearer {token}"} if path.startswith("/api/") else {}
            resp = client.get(path, headers=headers)
            seen[(short, path)] = (resp.status_code, _normalised(resp))
    return seen


@pytest.mark.parametrize("agency", list(GROUPS))
def test_dashboards_do_not_depend_on_what_an_agency_may_not_see(app, agency, monkeypatch):
    _load_partnership()
    users = GROUPS[agency]
    hidden = hidden_from(users)
    worlds = []
    for secret in (False, True):
        _reset(app, monkeypatch)
        ids = build(hidden, secret)
        worlds.append(observe(app, users, ids))
    a, b = worlds
    assert all(v[0] < 500 for v in a.values())
    differing = [_explain(k, a[k], b[k]) for k in a if a[k] != b[k]]
    assert differing == [], "\n\n".join(differing[:8])


def test_the_dashboard_worlds_differ_for_someone_who_may_see(app, monkeypatch):
    """Teeth: probation reads what DWP may not, so probation's lists differ between DWP's worlds."""
    _load_partnership()
    hidden = hidden_from(GROUPS["DWP"])
    seen = []
    for secret in (False, True):
        _reset(app, monkeypatch)
        ids = build(hidden, secret)
        seen.append(observe(app, ["police"], ids))
    differing = {k[1] for k in seen[0] if seen[0][k] != seen[1][k]}
    assert {"/", "/my/actions?when=all"} <= differing
