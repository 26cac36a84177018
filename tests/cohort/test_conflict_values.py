"""A stale edit shows, for every field of the form, the value a colleague saved beside the
value the user sent — not just "changed lead officer" — and only fields the viewer may read."""

from __future__ import annotations

import pytest

from cohort import services
from core.extensions import db
from tests.cohort.test_case import fresh, version_of
from tests.cohort.test_tracker_helpers import make_case, policy_for
from tests.html import Page


@pytest.fixture
def case(partnership):
    made = make_case(partnership, given="Zoë", family="O'Brien", rag="amber", lead_officer="DC Sharp")
    db.session.commit()
    return made


def _compared(page: Page) -> dict[str, tuple[str, str]]:
    table = next(t for t in page.soup.select("table")
                 if "Saved now, beside what you sent" in t.caption.get_text())
    rows = {}
    for tr in table.select("tbody tr"):
        label = tr.th.get_text(" ", strip=True).replace(" (different)", "")
        theirs, yours = (td.get_text(" ", strip=True) for td in tr.select("td"))
        rows[label] = (theirs, yours)
    return rows


def test_stale_details_edit_shows_the_colleagues_value_beside_yours(login_as, client, case, partnership):
    login_as("coord")
    loaded = version_of(client.get(f"/cases/{case.id}/edit").get_data(as_text=True))
    services.update_case(fresh(case.id), changes={"lead_officer": "DS Colleague", "accommodation": "Hostel"},
                         policy=policy_for(partnership, "coord"), expected_version=None)
    db.session.commit()
    data = {"version": loaded, "status": "active", "lead_agency_id": str(partnership.agencies["NPS"].id),
            "lead_officer": "PO Mine", "cohort_type": "", "mappa_category": "", "risk_level": "",
            "mappa_level": "", "accommodation": "Sofa surfing", "employment": ""}
    page = Page(client.post(f"/cases/{case.id}/edit", data=data))
    assert page.status == 200 and page.h1 == ["Someone else changed this case"]
    rows = _compared(page)
    assert rows["Lead officer"] == ("DS Colleague", "PO Mine")
    assert rows["Accommodation"] == ("Hostel", "Sofa surfing")
    assert rows["Lead agency"][1] == "Test Probation"
    assert fresh(case.id).lead_officer == "DS Colleague"  # nothing of the stale edit was saved
    differing = [tr.th.get_text(" ", strip=True) for tr in page.soup.select("tr.app-conflict-differs")]
    assert "Lead officer (different)" in differing and all("(different)" in d for d in differing)


def test_the_comparison_holds_only_fields_the_viewer_may_read(login_as, client, case, partnership):
    login_as("police")  # POLICE on IOM: no resettlement (accommodation, employment)
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    loaded = version_of(page)
    services.change_rag(fresh(case.id), to="green", rationale="colleague", policy=policy_for(partnership, "probation"))
    db.session.commit()
    page = Page(client.post(f"/cases/{case.id}/rag", data={"rag": "red", "rationale": "mine", "version": loaded}))
    rows = _compared(page)
    assert rows["RAG status"] == ("Green", "Red")
    assert "Accommodation" not in rows and "Employment" not in rows
