"""Issue 12, the channel that was open: a case's `version` and the tracker's `since=` token
moved with writes to withheld categories (and the token with any person's update anywhere).
Now each counts only what the viewer may read, and optimistic locking still holds (409).
"""

from __future__ import annotations

import re

from core.extensions import db
from tests.cohort.test_tracker_helpers import make_case
from tests.support import login


def _bearer(short: str) -> dict:
    from auth.models import User
    from auth.tokens import create_token

    token = create_token(db.session.execute(db.select(User).filter_by(email=f"{short}@test.example")).scalar_one())
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def _version(client, headers, case_id: int) -> int:
    resp = client.get(f"/api/v1/cases/{case_id}", headers=headers)
    assert resp.status_code == 200
    return resp.get_json()["version"]


def _token(app, short: str, code: str = "IOM") -> str:
    client = app.test_client()
    login(client, short)
    html = client.get(f"/panels/{code}/tracker").get_data(as_text=True)
    return re.search(r"since=([0-9a-f]+)", html).group(1)


def _set_rag(client, headers, case_id: int, rag: str, version: int):
    return client.patch(f"/api/v1/cases/{case_id}", headers=headers,
                        json={"rag": rag, "rationale": f"now {rag}", "version": version})


def test_a_write_the_viewer_may_not_see_moves_neither_its_version_nor_its_token(app, partnership):
    """HEALTH reads identity and health on IOM, not risk: a RAG change is invisible to it."""
    case = make_case(partnership, ref="V1")
    client = app.test_client()
    health, police = _bearer("health"), _bearer("police")
    version, token = _version(client, health, case.id), _token(app, "health")
    police_version = _version(client, police, case.id)

    assert _set_rag(client, police, case.id, "red", police_version).status_code == 200
    assert _version(client, police, case.id) == police_version + 1  # the writer sees its write
    assert _version(client, health, case.id) == version
    assert _token(app, "health") == token
    assert _token(app, "police") != token


def test_a_write_on_a_panel_where_the_viewer_reads_no_identity_leaves_its_token(app, partnership):
    """HEALTH takes no part in MAPPA: a person added or changed there is none of its business,
    even one who is also on IOM (the old token read every person's last update)."""
    case = make_case(partnership, ref="V2")
    token = _token(app, "health")
    other = make_case(partnership, "MAPPA", nominal=case.nominal, ref="V2-M")
    assert _token(app, "health") == token
    client = app.test_client()
    mappa_coord = _bearer("mappa.coord")
    assert _set_rag(client, mappa_coord, other.id, "amber", _version(client, mappa_coord, other.id)).status_code == 200
    assert _token(app, "health") == token
    # POLICE reads identity on both panels: the person is "on other panels" for it, so its token moves.
    before = _token(app, "police")
    make_case(partnership, "MAPPA", ref="V2-N")
    assert _token(app, "police") != before


def test_a_write_the_viewer_reads_moves_both_and_a_stale_version_is_refused(app, partnership):
    case = make_case(partnership, ref="V3")
    client = app.test_client()
    probation, police = _bearer("probation"), _bearer("police")
    seen = _version(client, probation, case.id)
    assert _set_rag(client, police, case.id, "amber", _version(client, police, case.id)).status_code == 200
    assert _version(client, probation, case.id) == seen + 1  # NPS reads risk
    stale = _set_rag(client, probation, case.id, "green", seen)
    assert stale.status_code == 409 and f"version {seen + 1}, not {seen}" in stale.get_json()["error"]
    assert _set_rag(client, probation, case.id, "green", seen + 1).status_code == 200


def test_a_name_change_moves_the_token_of_whoever_reads_identity(app, partnership):
    """An edit of the person (identity: an import's update, a merge) reaches every case of
    theirs, so the tracker redraws and the version moves; a contact edit only for readers of contact."""
    case = make_case(partnership, ref="V4")
    client = app.test_client()
    health, police = _bearer("health"), _bearer("police")
    token, version, police_version = _token(app, "health"), _version(client, health, case.id), \
        _version(client, police, case.id)
    case.nominal.postcode = "ZZ1 1ZZ"  # contact: HEALTH may not read it, POLICE may
    db.session.commit()
    assert (_token(app, "health"), _version(client, health, case.id)) == (token, version)
    assert _version(client, police, case.id) == police_version + 1
    case = db.session.get(type(case), case.id)
    case.nominal.family_name = "Renamed"
    db.session.commit()
    assert _token(app, "health") != token and _version(client, health, case.id) == version + 1
