"""No N+1 queries on the pages a panel lives on: the number of SQL statements a page runs
must not grow with the cohort (tracker, API page, agenda, meeting) or with a case's history
(case page). Each test draws the page for a small world and for a larger one, as the same
viewer, and compares the counts."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from core.extensions import db
from sharing.policy import Policy

_refs = itertools.count(1)
WRITER = "police"


def _policy(partnership, short: str = WRITER) -> Policy:
    return Policy(partnership.user(short))


def _add_cases(partnership, n: int, *, panel: str = "IOM") -> list:
    """n cases with a RAG, an engagement, a need, an action and a note each."""
    from cohort import services

    pol = _policy(partnership)
    cases = []
    for i in range(n):
        nominal = services.create_nominal(given_name=f"Given{i}", family_name=f"Family{next(_refs)}",
                                          pnc=f"2001/{next(_refs):07d}A")
        case = services.refer(nominal, partnership.panels[panel], ref=f"Q{next(_refs):05d}", policy=pol,
                              status="active", referral_date=dt.date(2026, 1, 5))
        db.session.flush()
        services.change_rag(case, to=("red", "amber", "green")[i % 3], rationale="initial", policy=pol)
        _add_history(case, partnership, 1)
        cases.append(case)
    db.session.commit()
    return cases


def _add_history(case, partnership, n: int) -> None:
    from cohort import services

    police, probation = _policy(partnership), _policy(partnership, "probation")
    for i in range(n):
        services.add_engagement(case, on=dt.date(2026, 10, 1) + dt.timedelta(days=i), kind="office_visit",
                                note=f"seen {i}", policy=probation)
        services.add_note(case, category="offending", body=f"note {i}", policy=police)
        services.add_action(case, description=f"action {i}", owner_agency_id=partnership.agencies["NPS"].id,
                            owner_name="", due=dt.date(2026, 12, 1), policy=police)
    db.session.commit()


def _statements(count_queries, client, url: str) -> int:
    with count_queries() as seen:
        resp = client.get(url)
    assert resp.status_code == 200, (url, resp.status_code)
    return seen.count


def _drawn(count_queries, client, app, url: str) -> int:
    """Statements to draw the page afresh: a first request warms what is cached between
    requests (the agency list, sign-in bookkeeping), then the page cache is emptied."""
    client.get(url)
    app.extensions.pop("cohort_page_cache", None)
    return _statements(count_queries, client, url)


@pytest.mark.parametrize("viewer", ["coord", "police", "dwp"])
def test_tracker_page_queries_do_not_grow_with_the_cohort(partnership, login_as, client, count_queries, app,
                                                          viewer):
    _add_cases(partnership, 2)
    login_as(viewer)
    small = _drawn(count_queries, client, app, "/panels/IOM/tracker")
    _add_cases(partnership, 12)
    large = _drawn(count_queries, client, app, "/panels/IOM/tracker")
    assert large == small, f"{viewer}: {small} statements for 2 cases, {large} for 14"


def test_api_case_page_queries_do_not_grow_with_the_cohort(partnership, client, count_queries, api_token):
    _add_cases(partnership, 2)
    headers = {"Authorization": f"Bearer {api_token('police')}"}

    def count() -> int:
        client.get("/api/v1/panels/IOM/cases", headers=headers)
        with count_queries() as seen:
            resp = client.get("/api/v1/panels/IOM/cases", headers=headers)
        assert resp.status_code == 200
        return seen.count

    small = count()
    _add_cases(partnership, 12)
    large = count()
    assert large == small, f"{small} statements for 2 cases, {large} for 14"


def test_case_page_queries_do_not_grow_with_its_history(partnership, login_as, client, count_queries):
    (case,) = _add_cases(partnership, 1)
    login_as("probation")
    url = f"/cases/{case.id}"
    client.get(url)
    small = _statements(count_queries, client, url)
    _add_history(db.session.merge(case), partnership, 10)
    large = _statements(count_queries, client, url)
    assert large == small, f"{small} statements with 1 of each, {large} with 11"


def _next_meeting(partnership):
    from panels.models import Meeting

    return db.session.execute(
        db.select(Meeting).filter(Meeting.panel_id == partnership.panels["IOM"].id,
                                  Meeting.date >= dt.date(2026, 11, 23)).order_by(Meeting.date)
    ).scalars().first()


@pytest.mark.parametrize("page", ["agenda", "meeting"])
def test_agenda_and_meeting_pages_queries_do_not_grow_with_the_cohort(partnership, login_as, client,
                                                                      count_queries, page):
    _add_cases(partnership, 2)
    meeting = _next_meeting(partnership)
    assert meeting is not None, "the partnership's schedule made no IOM meeting"
    url = f"/meetings/{meeting.id}" + ("/agenda" if page == "agenda" else "")
    login_as("coord")
    client.get(url)
    small = _statements(count_queries, client, url)
    _add_cases(partnership, 12)
    client.get(url)  # a draft agenda may be refreshed on first sight of the new cases
    large = _statements(count_queries, client, url)
    assert large == small, f"{page}: {small} statements for 2 cases, {large} for 14"


@pytest.mark.parametrize("query", ["", "?flag=inclusion_review_overdue&sort=lead_agency&dir=desc"])
def test_tracker_page_with_every_column_runs_the_same_statements_for_any_number_of_rows(
        partnership, login_as, client, count_queries, app, query):
    """Every column the viewer reads (lead officer, accommodation and employment are
    ciphertexts), on a panel that reviews inclusion (the overdue flag reads the decisions):
    still one statement for the rows and their counts, one for their other panels, one for
    their inclusion decisions, however many rows the page shows."""
    from cohort import tracker_columns
    from partnership.loading import load
    from tests.cohort.test_tracker_helpers import policy_for
    from tests.support import partnership_data

    data = partnership_data()
    data["panels"][0] = {**data["panels"][0], "inclusion_review_days": 90}
    load(data)
    viewer = policy_for(partnership, "probation").user
    tracker_columns.remember(viewer, "IOM", [c.key for c in tracker_columns.COLUMNS])
    db.session.commit()
    url = "/panels/IOM/tracker" + query
    _add_cases(partnership, 2)
    login_as("probation")
    small = _drawn(count_queries, client, app, url)
    _add_cases(partnership, 12)
    large = _drawn(count_queries, client, app, url)
    assert large == small, f"{small} statements for 2 cases, {large} for 14"
    page = client.get(url).get_data(as_text=True)
    assert page.count('<tr class="govuk-table__row">') == 15  # the header and every case, each row drawn
    assert page.count("Inclusion review overdue</strong>") == 14  # referred in January, never decided
    app.extensions.pop("cohort_page_cache", None)
    with count_queries() as seen:
        client.get(url)
    rows = [s for s in seen.statements if "FROM cases" in s and "tracker_changes" not in s]
    assert len(rows) <= 2, rows  # the page with its counts, and the rows' other panels
