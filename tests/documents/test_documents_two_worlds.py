"""Non-interference for documents: worlds that differ only in documents of a category an agency
may not read (how many, their names, types and content) give its users the same case page,
chronology, upload form and download answers."""

from __future__ import annotations

import io

from cohort import services
from core.extensions import db
from sharing.crypto import CATEGORIES
from tests.documents.test_documents import PDF, image
from tests.security.test_non_interference import _explain, _normalised
from tests.security.two_worlds import fresh_world, panel, policy
from tests.support import login, partnership_data


def _upload(client, case_id: int, data: bytes, name: str, category: str) -> None:
    resp = client.post(f"/cases/{case_id}/documents/new", content_type="multipart/form-data",
                       data={"file": (io.BytesIO(data), name), "category": category})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]


def _world(app, monkeypatch, secret: bool) -> int:
    fresh_world(app, monkeypatch, partnership_data())
    nominal = services.create_nominal(given_name="Dot", family_name="Cument")
    case = services.refer(nominal, panel("IOM"), ref="IOM-1", policy=policy("probation"), status="active")
    db.session.commit()
    police, health = app.test_client(), app.test_client()
    login(police, "police")
    login(health, "health")
    _upload(police, case.id, PDF, "Police intelligence.pdf", "intelligence")
    if secret:  # health documents police and DWP may not read: two, with other names and types
        _upload(health, case.id, image("PNG"), "Wound photograph.png", "health")
        _upload(health, case.id, PDF[:-6] + b"secret\n%%EOF\n", "Psychiatric report.pdf", "health")
    else:
        _upload(health, case.id, PDF, "Clinic letter.pdf", "health")
    return case.id


def _observe(app, users: list[str], case_id: int) -> dict:
    seen = {}
    paths = [f"/cases/{case_id}", f"/cases/{case_id}/documents/new",
             *(f"/cases/{case_id}/chronology?category={c}" for c in ("", *CATEGORIES)),
             *(f"/cases/{case_id}/documents/{n}" for n in range(1, 5))]
    for short in users:
        client = app.test_client()
        assert login(client, short).status_code == 302
        for path in paths:
            resp = client.get(path)
            seen[(short, path)] = (resp.status_code, _normalised(resp))
    return seen


def test_documents_in_a_withheld_category_change_nothing_a_viewer_sees(app, monkeypatch):
    worlds = []
    for secret in (False, True):
        case_id = _world(app, monkeypatch, secret)
        worlds.append(_observe(app, ["police", "dwp"], case_id))
    a, b = worlds
    assert a[("police", "/cases/1/documents/1")][0] == 200  # the police document is there in both
    differing = [_explain(k, a[k], b[k]) for k in a if a[k] != b[k]]
    assert differing == [], "\n\n".join(differing[:8])


def test_the_worlds_differ_for_an_agency_that_may_read_them(app, monkeypatch):
    worlds = []
    for secret in (False, True):
        case_id = _world(app, monkeypatch, secret)
        worlds.append(_observe(app, ["probation"], case_id))
    a, b = worlds
    differing = {path for (_, path) in a if a[(_, path)] != b[(_, path)]}
    assert "/cases/1" in differing and "/cases/1/documents/3" in differing
