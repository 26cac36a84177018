"""Issue 16: "a case overdue for inclusion review is flagged everywhere it is shown": the
tracker's rows (and its flag filter) and the case page, by panels.inclusion's rule, and only
for viewers who read offending on the panel (the dates it is drawn from)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from core.extensions import db
from partnership.loading import load
from tests.cohort.test_tracker_helpers import make_case, policy_for
from tests.support import partnership_data

FLAG = "Inclusion review overdue"
JUNE = dt.date(2026, 6, 1)  # today is 23 November 2026: more than 90 days ago


def _reviews_every(days: int | None) -> None:
    data = partnership_data()
    data["panels"][0] = {**data["panels"][0], "inclusion_review_days": days}
    load(data)
    db.session.commit()


@pytest.fixture
def cases(partnership):
    """IOM reviews inclusion every 90 days. June: overdue. Kept: referred in June, but a
    decision to keep was recorded today. November: not due. Exited: needs no decision."""
    from panels import inclusion

    _reviews_every(90)
    c = {"june": make_case(partnership, given="Jun", family="Overdue", rag="green", referral_date=JUNE),
         "kept": make_case(partnership, given="Kay", family="Kept", rag="green", referral_date=JUNE),
         "nov": make_case(partnership, given="Nov", family="Recent", rag="green", referral_date=dt.date(2026, 11, 1)),
         "gone": make_case(partnership, given="Ex", family="Ited", referral_date=JUNE)}
    inclusion.record(c["kept"], decision="keep", reason="Still meets the criteria", policy=policy_for(partnership,
                                                                                                       "coord"))
    c["gone"].status = "exited"
    db.session.commit()
    return c


def row_of(html: str, case_id: int) -> str:
    """The tracker row (<tr>...</tr>) linking to the case."""
    body = html.split('<tbody class="govuk-table__body">', 1)[1].split("</tbody>", 1)[0]
    for row in body.split("<tr")[1:]:
        if f'href="/cases/{case_id}"' in row:
            return row
    raise AssertionError(f"no row for case {case_id}")


def names_of(html: str) -> list[str]:
    if '<tbody class="govuk-table__body">' not in html:
        return []
    body = html.split('<tbody class="govuk-table__body">', 1)[1].split("</tbody>", 1)[0]
    return re.findall(r'<a class="govuk-link" href="/cases/\d+">([^<]*)</a>', body)


def test_tracker_rows_and_case_page_flag_the_overdue_case_only(cases, login_as, client):
    login_as("coord")
    html = client.get("/panels/IOM/tracker").get_data(as_text=True)
    assert FLAG in row_of(html, cases["june"].id)
    assert 'govuk-tag--red">Inclusion review overdue</strong>' in row_of(html, cases["june"].id)
    for other in ("kept", "nov", "gone"):
        assert FLAG not in row_of(html, cases[other].id), other
    assert FLAG in client.get(f"/cases/{cases['june'].id}").get_data(as_text=True)
    for other in ("kept", "nov", "gone"):
        assert FLAG not in client.get(f"/cases/{cases[other].id}").get_data(as_text=True), other


def test_the_flag_filters_the_tracker(cases, login_as, client):
    login_as("coord")
    page = client.get("/panels/IOM/tracker").get_data(as_text=True)
    assert '<option value="inclusion_review_overdue">Inclusion review overdue</option>' in page
    html = client.get("/panels/IOM/tracker?flag=inclusion_review_overdue").get_data(as_text=True)
    assert names_of(html) == ["Jun Overdue"]


def test_the_flag_follows_a_decision_recorded_later(cases, partnership, login_as, client):
    from panels import inclusion

    login_as("coord")
    assert FLAG in row_of(client.get("/panels/IOM/tracker").get_data(as_text=True), cases["june"].id)
    june = db.session.merge(cases["june"])
    inclusion.record(june, decision="keep", reason="Reviewed", policy=policy_for(partnership, "coord"))
    db.session.commit()
    # the change token moved (a decision counts as a write to the case's offending data)
    assert FLAG not in row_of(client.get("/panels/IOM/tracker").get_data(as_text=True), june.id)
    assert FLAG not in client.get(f"/cases/{june.id}").get_data(as_text=True)


def test_no_flag_for_a_viewer_without_offending(cases, login_as, client):
    login_as("dwp")  # identity and resettlement only on IOM
    html = client.get("/panels/IOM/tracker").get_data(as_text=True)
    assert FLAG not in html and 'value="inclusion_review_overdue"' not in html
    ignored = client.get("/panels/IOM/tracker?flag=inclusion_review_overdue").get_data(as_text=True)
    assert "Filter on flag ignored" in ignored and FLAG not in ignored
    assert sorted(names_of(ignored)) == sorted(names_of(html))  # the filter did not narrow anything
    assert FLAG not in client.get(f"/cases/{cases['june'].id}").get_data(as_text=True)


def test_no_flag_on_a_panel_that_does_not_review_inclusion(cases, login_as, client):
    _reviews_every(None)
    login_as("coord")
    assert FLAG not in client.get("/panels/IOM/tracker").get_data(as_text=True).split("<tbody", 1)[1]
    assert FLAG not in client.get(f"/cases/{cases['june'].id}").get_data(as_text=True)
    assert names_of(client.get("/panels/IOM/tracker?flag=inclusion_review_overdue").get_data(as_text=True)) == []
