"""Issue 12, hole 9: "who has seen this nominal", searched by name or identifier, lists every
exposure -- the tracker (drawn and from the page cache), its search, the API list and case,
the agenda (page, print, API), exports (CSV, XLSX, the command line), the monthly print and
the import preview -- with the agency, user and time.
"""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest

from cohort.identifiers import make_pnc
from core import clock
from core.extensions import db
from tests.support import clock_at, login

PNC = make_pnc(2003, 24680)
NAME = ("Zebedee", "Quartermaine")
SEEN_AT = "2026-11-23T11:07:00"


@pytest.fixture
def person(partnership):
    """Zebedee on IOM (with a PNC), among two others, on the agenda of the December meeting."""
    from cohort import services
    from sharing.policy import Policy

    policy = Policy(partnership.user("coord"))
    iom = partnership.panels["IOM"]
    ids = {}
    for i, (given, family, pnc) in enumerate([(*NAME, PNC), ("Other", "Person", None), ("Third", "One", None)]):
        nominal = services.create_nominal(given_name=given, family_name=family, pnc=pnc)
        case = services.refer(nominal, iom, ref=f"IOM-W{i}", policy=policy, status="active",
                              referral_date=dt.date(2026, 1, 5))
        ids.setdefault("nominal", nominal.id)
        ids.setdefault("case", case.id)
    db.session.commit()
    return ids


def _meeting_id() -> int:
    from panels.models import Meeting

    return db.session.execute(
        db.select(Meeting.id).where(Meeting.date == dt.date(2026, 12, 2))
    ).scalar_one()


def _bearer(short: str) -> dict:
    from auth.models import User
    from auth.tokens import create_token

    token = create_token(db.session.execute(db.select(User).filter_by(email=f"{short}@test.example")).scalar_one())
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def _get(path: str, short: str = "coord", **kwargs):
    def go(app, ids, tmp_path):
        client = app.test_client()
        login(client, short)
        resp = client.get(path.format(**ids, meeting=_meeting_id()), **kwargs)
        assert resp.status_code == 200, (path, resp.status_code)
    return go


def _api(path: str, short: str = "police"):
    def go(app, ids, tmp_path):
        resp = app.test_client().get(path.format(**ids, meeting=_meeting_id()), headers=_bearer(short))
        assert resp.status_code == 200, (path, resp.status_code)
    return go


def _tracker_twice(app, ids, tmp_path):
    """The second view is served from the page cache: it is logged with its people all the same."""
    client = app.test_client()
    login(client, "police")
    for _ in range(2):
        assert client.get("/panels/IOM/tracker").status_code == 200


def _export_cli(app, ids, tmp_path):
    out = tmp_path / "out.csv"
    result = app.test_cli_runner().invoke(
        args=["cohort", "export", "--panel", "IOM", "--as", "police@test.example", "--format", "csv",
              "--purpose", "panel_meeting", "--output", str(out)])
    assert result.exit_code == 0, result.output


def _import_preview(app, ids, tmp_path):
    client = app.test_client()
    login(client, "coord")
    data = f"ref,pnc\nIOM-W0,{PNC}\n".encode()
    resp = client.post("/panels/IOM/import", data={"file": (io.BytesIO(data), "cohort.csv")},
                       content_type="multipart/form-data")
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    assert client.get(resp.headers["Location"]).status_code == 200


EXPOSURES = {
    # name: (how, who, what the event's purpose holds, how many events at least)
    "tracker page": (_get("/panels/IOM/tracker", "police"), "police", "/panels/IOM/tracker", 1),
    "tracker page from the cache": (_tracker_twice, "police", "/panels/IOM/tracker", 2),
    "tracker rows": (_get("/panels/IOM/tracker/rows", "police"), "police", "/panels/IOM/tracker/rows", 1),
    "tracker search": (_get("/panels/IOM/tracker?q=Quartermaine", "police"), "police", "/panels/IOM/tracker", 1),
    "api cases page": (_api("/api/v1/panels/IOM/cases"), "police", "/api/v1/panels/IOM/cases", 1),
    "api case": (_api("/api/v1/cases/{case}"), "police", "/api/v1/cases/", 1),
    "agenda page": (_get("/meetings/{meeting}/agenda"), "coord", "/agenda", 1),
    "agenda print": (_get("/meetings/{meeting}/agenda/print"), "coord", "/agenda/print", 1),
    "agenda api": (_api("/api/v1/meetings/{meeting}/agenda", "coord"), "coord", "/api/v1/meetings/", 1),
    "csv export": (_get("/panels/IOM/export.csv?purpose=panel_meeting", "police"), "police", "csv export", 1),
    "xlsx export": (_get("/panels/IOM/export.xlsx?purpose=panel_meeting", "police"), "police", "xlsx export", 1),
    "command-line export": (_export_cli, "police", "flask cohort export", 1),
    "monthly print": (_get("/panels/IOM/print?purpose=panel_meeting", "police"), "police", "print no. ", 1),
    "import preview": (_import_preview, "coord", "/panels/IOM/import/", 1),
}

AGENCY = {"police": "POLICE", "coord": "LACS"}


def _search_as_auditor(app, query: str) -> str:
    auditor = app.test_client()
    login(auditor, "auditor")
    resp = auditor.post("/access-log/nominal", data={"q": query})
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def _rows_for(page: str, nominal_id: int) -> list[str]:
    table = re.search(rf'data-nominal="{nominal_id}">(.*?)</table>', page, re.S)
    assert table, f"nominal {nominal_id} not listed"
    return re.findall(r'<tr class="govuk-table__row">(.*?)</tr>', table.group(1), re.S)


@pytest.mark.parametrize("exposure", list(EXPOSURES))
def test_each_exposure_is_found_by_name_and_by_identifier(app, person, exposure, tmp_path):
    how, who, purpose, count = EXPOSURES[exposure]
    clock.set_now(clock_at(SEEN_AT))
    before = {q: _rows_for(_search_as_auditor(app, q), person["nominal"]) for q in (" ".join(NAME), PNC)}
    how(app, person, tmp_path)
    for query in (" ".join(NAME), PNC):
        rows = _rows_for(_search_as_auditor(app, query), person["nominal"])
        new = [r for r in rows if f"{who}@test.example" in r and purpose in r
               and "23 November 2026 at 11:07am" in r and f">{AGENCY[who]}<" in r]
        old = [r for r in before[query] if f"{who}@test.example" in r and purpose in r]
        assert len(new) - len(old) >= count, (exposure, query, rows[1:3])


def test_the_other_people_on_the_page_are_not_credited_with_a_view_they_did_not_have(app, person, tmp_path):
    """A case page shows one person: looking up another on the same panel does not list it."""
    client = app.test_client()
    login(client, "police")
    assert client.get(f"/cases/{person['case']}").status_code == 200
    page = _search_as_auditor(app, "Other Person")
    other = int(re.search(r'data-nominal="(\d+)"', page).group(1))
    assert other != person["nominal"]
    assert not [r for r in _rows_for(page, other) if f"/cases/{person['case']}" in r]


def test_lookup_page_answers_an_empty_get_with_the_form(app, partnership):
    auditor = app.test_client()
    login(auditor, "auditor")
    resp = auditor.get("/access-log/nominal")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "Name or identifier" in body and "Nominal ID" in body
    assert "govuk-error-summary" not in body


def test_empty_search_says_what_to_enter(app, partnership):
    auditor = app.test_client()
    login(auditor, "auditor")
    resp = auditor.post("/access-log/nominal", data={"q": "  "})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "govuk-error-summary" in body and "Enter a name or an identifier" in body


def test_nobody_matching_says_so_and_the_search_is_logged_without_the_text(app, person):
    from sharing.models import AccessEvent

    page = _search_as_auditor(app, "Nosuch Personname")
    assert "Nobody matches" in page
    last = db.session.execute(db.select(AccessEvent).order_by(AccessEvent.seq.desc()).limit(1)).scalar_one()
    assert last.action == "search" and last.user_email == "auditor@test.example"
    assert "Nosuch" not in last.detail and "Nosuch" not in last.purpose


def test_the_search_is_posted_so_the_name_never_reaches_a_url(app, person):
    page = _search_as_auditor(app, " ".join(NAME))
    assert 'method="post"' in page and "Quartermaine" not in re.sub(r'value="[^"]*"', "", page.split("</form>")[0])


def test_lookup_by_nominal_id_still_redirects(app, person):
    auditor = app.test_client()
    login(auditor, "auditor")
    resp = auditor.get("/access-log/nominal", query_string={"nominal_id": person["nominal"]})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/access-log/nominals/{person['nominal']}")
    assert auditor.get("/access-log/nominal", query_string={"nominal_id": "abc"}).status_code == 422
