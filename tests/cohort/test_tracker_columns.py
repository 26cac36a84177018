"""The tracker's columns come from what the viewer may read on the panel, then from the
viewer's own choice among those, remembered for their next visit."""

from __future__ import annotations

import pytest

from cohort import services
from core.extensions import db
from tests.cohort.test_tracker_helpers import make_case, policy_for
from tests.html import Page


@pytest.fixture
def housed(partnership):
    case = make_case(partnership, given="Hana", family="Housed", rag="red", lead_officer="DC Sharp")
    services.update_case(case, changes={"accommodation": "Supported housing", "employment": "Part-time"},
                         policy=policy_for(partnership, "probation"), expected_version=None)
    db.session.commit()
    return case


def _headers(page: Page) -> list[str]:
    table = page.soup.select_one("table.app-tracker-table")
    return [" ".join(th.get_text().split()) for th in table.select("thead th")]


def test_an_agency_that_reads_resettlement_only_sees_those_columns_not_withheld_ones(login_as, housed):
    page = Page(login_as("dwp").get("/panels/IOM/tracker"))
    assert _headers(page) == ["Name", "Ref", "Status", "Accommodation", "Employment", "Flags"]
    row = [" ".join(td.get_text().split()) for td in page.soup.select("table.app-tracker-table tbody td")]
    assert "Supported housing" in row and "Part-time" in row
    assert "Withheld" not in " ".join(row)


def test_the_standard_columns_for_an_agency_that_reads_offending_and_risk(login_as, housed):
    page = Page(login_as("police").get("/panels/IOM/tracker"))
    assert _headers(page) == ["Name", "Ref", "RAG", "Status", "Lead agency and officer", "Last engagement",
                              "Next review", "Flags"]


def test_a_chosen_set_is_remembered_and_cannot_include_what_is_withheld(login_as, client, housed, app):
    login_as("probation")
    page = Page(client.get("/panels/IOM/tracker"))
    offered = [i["value"] for i in page.soup.select('input[name="columns"]')]
    assert "accommodation" in offered and "rag" in offered
    form = next(f for f in page.forms if f.action.startswith("/panels/IOM/tracker/columns"))
    resp = client.post(form.action, data={"csrf_token": form.fields.get("csrf_token", ""),
                                          "columns": ["rag", "accommodation", "no_such_column"]})
    assert resp.status_code == 302
    assert _headers(Page(client.get("/panels/IOM/tracker"))) == ["Name", "RAG", "Accommodation"]
    # a new session of the same user keeps the choice
    again = app.test_client()
    from tests.support import login

    login(again, "probation")
    assert _headers(Page(again.get("/panels/IOM/tracker"))) == ["Name", "RAG", "Accommodation"]
    # a column the agency may not read is dropped even if asked for
    login_as("police")
    client.post("/panels/IOM/tracker/columns", data={"columns": ["accommodation", "rag"]})
    assert _headers(Page(client.get("/panels/IOM/tracker"))) == ["Name", "RAG"]
    # and the standard set comes back on request
    client.post("/panels/IOM/tracker/columns", data={"reset": "1"})
    assert "Lead agency and officer" in _headers(Page(client.get("/panels/IOM/tracker")))
