"""The live tracker: rows as the viewer may see them, filters, sorting, search, paging, polling."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from cohort.models import Case
from core.extensions import db
from sharing.models import AccessEvent, Isa, IsaGrant
from tests.cohort.test_tracker_helpers import make_case, policy_for
from tests.support import login


def events(action: str | None = None) -> list[AccessEvent]:
    stmt = db.select(AccessEvent).order_by(AccessEvent.seq)
    if action:
        stmt = stmt.filter_by(action=action)
    return db.session.execute(stmt).scalars().all()


def rows_of(html: str) -> list[str]:
    body = html.split('<tbody class="govuk-table__body">', 1)[1].split("</tbody>", 1)[0]
    return re.findall(r'<a class="govuk-link" href="/cases/\d+">([^<]*)</a>', body)


def drop_grant(agency: str, category: str, isa_ref: str = "ISA-IOM-TEST") -> None:
    isa = db.session.execute(db.select(Isa).filter_by(ref=isa_ref)).scalar_one()
    for grant in list(isa.grants):
        if grant.agency.code == agency and grant.category == category:
            db.session.delete(grant)
    db.session.commit()
    assert not db.session.execute(
        db.select(IsaGrant).join(IsaGrant.agency).where(IsaGrant.category == category, IsaGrant.isa_id == isa.id)
        .filter_by(code=agency)
    ).first()


@pytest.fixture
def cohort(partnership):
    a = make_case(partnership, given="Zoë", family="O'Brien", rag="red", lead_officer="DC Sharp",
                  lead_agency_id=partnership.agencies["POLICE"].id, last_engagement=dt.date(2026, 11, 1),
                  identity={"pnc": "2001/0012345A"}, next_review=dt.date(2026, 12, 15))  # reviewed: next not yet due
    b = make_case(partnership, given="Nguyễn Thị", family="Lan", rag="amber", last_engagement=dt.date(2026, 7, 1),
                  lead_agency_id=partnership.agencies["NPS"].id, next_review=dt.date(2026, 11, 20))
    c = make_case(partnership, given="Piotr", family="Wojciechowski-Kaczmarek", rag="green",
                  last_engagement=dt.date(2026, 4, 1), status="referred", referral_date=dt.date(2026, 11, 10))
    d = make_case(partnership, given="Sam", family="Exited", status="active")
    d.status = "exited"
    make_case(partnership, "MAPPA", nominal=a.nominal)  # Zoë is on MAPPA too
    db.session.commit()
    return {"zoe": a, "lan": b, "piotr": c, "sam": d}


def test_tracker_shows_every_case_with_names_rag_and_flags(login_as, client, cohort):
    login_as("coord")
    resp = client.get("/panels/IOM/tracker")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "<title>IOM main panel: live tracker – Manage risk panels</title>" in html
    assert sorted(rows_of(html)) == sorted(["Zoë O&#39;Brien", "Nguyễn Thị Lan", "Piotr Wojciechowski-Kaczmarek",
                                            "Sam Exited"])
    # default order: red, amber, green, none
    assert rows_of(html)[:3] == ["Zoë O&#39;Brien", "Nguyễn Thị Lan", "Piotr Wojciechowski-Kaczmarek"]
    assert 'govuk-tag govuk-tag--red">Red' in html and "govuk-tag--orange" in html
    assert "On other panels: MAPPA" in html
    assert "No engagement 3+ months" in html  # Lan: July
    assert "No engagement 6+ months" in html  # Piotr: April
    assert "Review due" in html and "New referral" in html
    assert "DC Sharp" in html
    assert 'hx-get="/panels/IOM/tracker/rows?since=' in html and 'hx-trigger="every 10s"' in html
    assert 'aria-live="polite"' in html and "Last refreshed at 10:00:00" in html
    assert "app/tracker.mjs" in html
    # counts at the top: one of each colour, one without
    # the counts are of the live cohort, as the KPI snapshots count it: Sam (exited, no RAG) is not among them
    assert re.search(r">1</span> red", html) and re.search(r">0</span> no RAG", html)
    view = events("view")[-1]
    assert view.panel_code == "IOM" and view.user_email == "coord@test.example"
    for case in cohort.values():
        assert str(case.id) in view.detail


def test_panel_not_taken_part_in_is_404_and_logged(login_as, client, cohort):
    login_as("nogrant")
    assert client.get("/panels/IOM/tracker").status_code == 404
    refused = events("refused")[-1]
    assert refused.user_email == "nogrant@test.example" and refused.panel_code == "IOM"
    assert client.get("/panels/NOPE/tracker").status_code == 404
    assert client.get("/panels/IOM/tracker/rows").status_code == 404


def test_admin_sees_no_case_data(login_as, client, cohort):
    login_as("admin")
    resp = client.get("/panels/IOM/tracker")
    assert resp.status_code == 404
    assert "O&#39;Brien" not in resp.get_data(as_text=True)


def test_withheld_columns_and_ignored_filters_for_dwp(login_as, client, cohort):
    login_as("dwp")
    html = client.get("/panels/IOM/tracker").get_data(as_text=True)
    withheld = "contact details, offending, risk, health, substance misuse, intelligence"
    assert f"Withheld: {withheld} — not shared with DWP" in html
    assert "Withheld" in html and "govuk-tag--red" not in html and "DC Sharp" not in html
    assert "No engagement" not in html and "Review due" not in html
    assert 'name="rag"' not in html  # no RAG filter offered
    # a RAG filter or sort would reveal the RAG through the rows: both ignored
    filtered = client.get("/panels/IOM/tracker?rag=red").get_data(as_text=True)
    assert len(rows_of(filtered)) == 4 and "Filter on RAG ignored" in filtered
    by_rag = rows_of(client.get("/panels/IOM/tracker?sort=rag&dir=desc").get_data(as_text=True))
    by_ref = rows_of(client.get("/panels/IOM/tracker?sort=ref").get_data(as_text=True))
    assert by_rag == by_ref


@pytest.mark.parametrize(
    "query, expected",
    [
        ("rag=red", ["zoe"]),
        ("status=referred", ["piotr"]),
        ("status=exited", ["sam"]),
        ("lead_agency=NPS", ["lan"]),
        ("flag=new_referral", ["piotr"]),
        ("flag=no_engagement_3m", ["lan", "piotr"]),  # Sam is exited: never flagged
        ("flag=no_engagement_6m", ["piotr"]),
        ("flag=review_due", ["lan"]),
        ("flag=on_other_panels", ["zoe"]),
        ("rag=green&status=referred", ["piotr"]),
    ],
)
def test_filters(login_as, client, cohort, query, expected):
    login_as("coord")
    names = {"zoe": "Zoë O&#39;Brien", "lan": "Nguyễn Thị Lan", "piotr": "Piotr Wojciechowski-Kaczmarek",
             "sam": "Sam Exited"}
    html = client.get(f"/panels/IOM/tracker?{query}").get_data(as_text=True)
    wanted = sorted(names[k] for k in expected)
    assert sorted(rows_of(html)) == wanted


def test_sorting_on_the_server(login_as, client, cohort):
    login_as("coord")
    asc = rows_of(client.get("/panels/IOM/tracker?sort=last_engagement&dir=asc").get_data(as_text=True))
    assert asc == ["Sam Exited", "Piotr Wojciechowski-Kaczmarek", "Nguyễn Thị Lan", "Zoë O&#39;Brien"]
    desc = client.get("/panels/IOM/tracker?sort=last_engagement&dir=desc").get_data(as_text=True)
    assert rows_of(desc) == ["Zoë O&#39;Brien", "Nguyễn Thị Lan", "Piotr Wojciechowski-Kaczmarek", "Sam Exited"]
    assert 'aria-sort="descending"' in desc
    by_lead = rows_of(client.get("/panels/IOM/tracker?sort=lead_agency").get_data(as_text=True))
    assert by_lead[-2:] == ["Nguyễn Thị Lan", "Zoë O&#39;Brien"]  # unset first, then NPS, POLICE


def test_paging_fifty_at_a_time(login_as, client, partnership):
    from cohort import services

    pol = policy_for(partnership, "coord")
    for i in range(120):
        nominal = services.create_nominal(given_name=f"Person{i:03d}", family_name="Paged")
        db.session.add(Case(nominal_id=nominal.id, panel_id=partnership.panels["IOM"].id, ref=f"P{i:03d}",
                            status="active"))
    db.session.commit()
    assert pol.takes_part(partnership.panels["IOM"].id)
    login_as("coord")
    first = client.get("/panels/IOM/tracker?sort=ref").get_data(as_text=True)
    assert len(rows_of(first)) == 50 and "120 cases" in first
    assert "govuk-pagination" in first and "page=3" in first
    third = client.get("/panels/IOM/tracker?sort=ref&page=3").get_data(as_text=True)
    assert len(rows_of(third)) == 20 and rows_of(third)[0] == "Person100 Paged"
    beyond = client.get("/panels/IOM/tracker?sort=ref&page=99").get_data(as_text=True)
    assert rows_of(beyond) == rows_of(third)


@pytest.mark.parametrize(
    "q, expected",
    [
        ("2001/0012345A", ["Zoë O&#39;Brien"]),
        ("01/12345a", ["Zoë O&#39;Brien"]),      # the same PNC written short
        ("zoe", ["Zoë O&#39;Brien"]),             # exact through the blind index, diacritics folded
        ("OBrien zoë", ["Zoë O&#39;Brien"]),
        ("nguyen thi", ["Nguyễn Thị Lan"]),
        ("Wojciechowski Kaczmarek", ["Piotr Wojciechowski-Kaczmarek"]),
        ("Zoe O'Brian", ["Zoë O&#39;Brien"]),     # fuzzy: a misspelling
        ("Wojciekowski", ["Piotr Wojciechowski-Kaczmarek"]),
        ("Nobody Atall", []),
    ],
)
def test_search(login_as, client, cohort, q, expected):
    login_as("police")
    before = len(events("search"))
    html = client.get("/panels/IOM/tracker", query_string={"q": q}).get_data(as_text=True)
    assert (rows_of(html) if expected else []) == expected
    if not expected:
        assert "No cases on this panel match your search" in html
    searches = events("search")
    assert len(searches) == before + 1 and q not in searches[-1].detail


def test_search_without_identity_grant_is_empty_either_way(login_as, client, cohort):
    drop_grant("DWP", "identity")
    login_as("dwp")
    exists = client.get("/panels/IOM/tracker", query_string={"q": "2001/0012345A"}).get_data(as_text=True)
    absent = client.get("/panels/IOM/tracker", query_string={"q": "1999/0099999Z"}).get_data(as_text=True)
    strip = lambda h: re.sub(r'Last refreshed at [\d:]+|hx-get="[^"]*"|nonce="[^"]+"', "", h)  # noqa: E731
    assert strip(exists.split('id="tracker-results"')[1]) == strip(absent.split('id="tracker-results"')[1])
    assert "0 cases match your search" in exists
    assert "Zoë" not in exists and "O&#39;Brien" not in exists
    assert [e.user_email for e in events("search")[-2:]] == ["dwp@test.example"] * 2
    # without identity every name is a pseudonym
    html = client.get("/panels/IOM/tracker").get_data(as_text=True)
    assert all(name.startswith("Nominal ") for name in rows_of(html))


def test_polling_answers_204_until_something_changes(login_as, client, cohort, partnership):
    from cohort import services

    login_as("coord")
    html = client.get("/panels/IOM/tracker").get_data(as_text=True)
    rows_url = re.search(r'hx-get="([^"]+)"', html).group(1).replace("&amp;", "&")
    seen = len(events())
    poll = client.get(rows_url, headers={"HX-Request": "true"})
    assert poll.status_code == 204 and poll.data == b""
    assert len(events()) == seen  # a 204 poll logs nothing
    case = db.session.get(Case, cohort["lan"].id)
    services.change_rag(case, to="red", rationale="Arrested again", policy=policy_for(partnership, "police"))
    db.session.commit()
    seen = len(events())
    poll = client.get(rows_url, headers={"HX-Request": "true"})
    fragment = poll.get_data(as_text=True)
    assert poll.status_code == 200
    assert fragment.startswith('<div id="tracker-results"') and "<html" not in fragment
    assert 'hx-swap-oob="innerHTML"' in fragment and "Last refreshed at" in fragment
    assert fragment.count("govuk-tag--red\">Red") == 2
    new_url = re.search(r'hx-get="([^"]+)"', fragment).group(1).replace("&amp;", "&")
    assert new_url != rows_url
    logged = events()[seen:]
    assert [e.action for e in logged] == ["view"] and str(cohort["lan"].id) in logged[0].detail
    assert client.get(new_url).status_code == 204


def test_poll_keeps_the_query(login_as, client, cohort):
    login_as("coord")
    html = client.get("/panels/IOM/tracker?status=referred&sort=ref").get_data(as_text=True)
    rows_url = re.search(r'hx-get="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert "status=referred" in rows_url and "sort=ref" in rows_url
    fragment = client.get(rows_url.replace("since=", "since=old")).get_data(as_text=True)
    assert rows_of(fragment) == ["Piotr Wojciechowski-Kaczmarek"]


def test_poll_signed_out_is_401_not_a_redirect(client, cohort):
    resp = client.get("/panels/IOM/tracker/rows?since=x", headers={"HX-Request": "true"})
    assert resp.status_code == 401
    assert client.get("/panels/IOM/tracker").status_code == 302


def test_hostile_names_are_inert(login_as, client, partnership):
    make_case(partnership, given="<script>alert(1)</script>", family='"><img src=x onerror=alert(2)>')
    login_as("coord")
    html = client.get("/panels/IOM/tracker").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


# -- the page cache (cohort.page_cache): a hit must be exactly what this viewer would draw now --

def test_a_drawn_tracker_is_never_handed_to_an_agency_with_other_grants(app, cohort):
    coord, dwp = app.test_client(), app.test_client()
    assert login(coord, "coord").status_code == 302 and login(dwp, "dwp").status_code == 302
    for _ in range(2):  # the second round is served from the cache
        named = coord.get("/panels/IOM/tracker").get_data(as_text=True)
        withheld = dwp.get("/panels/IOM/tracker").get_data(as_text=True)
        assert "Zoë O&#39;Brien" in rows_of(named) and "DC Sharp" in named
        assert "DC Sharp" not in withheld and "govuk-tag--red" not in withheld and "No engagement" not in withheld
        assert "Withheld" in withheld
    assert app.extensions["cohort_page_cache"].hits >= 2


def test_every_view_is_logged_even_when_served_from_the_cache(login_as, client, cohort):
    login_as("coord")
    before = len(events("view"))
    for _ in range(3):
        client.get("/panels/IOM/tracker?sort=ref")
    views = events("view")[before:]
    assert len(views) == 3 and all(str(cohort["lan"].id) in v.detail for v in views)


def test_a_case_opened_on_another_panel_shows_at_once(login_as, client, cohort, partnership):
    login_as("coord")
    html = client.get("/panels/IOM/tracker?status=active").get_data(as_text=True)
    rows_url = re.search(r'hx-get="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert html.count("On other panels: MAPPA") == 1  # Zoë only
    make_case(partnership, "MAPPA", nominal=cohort["lan"].nominal)  # Lan referred to MAPPA: changes no IOM case
    poll = client.get(rows_url, headers={"HX-Request": "true"})
    assert poll.status_code == 200 and poll.get_data(as_text=True).count("On other panels: MAPPA") == 2
    again = client.get("/panels/IOM/tracker?status=active").get_data(as_text=True)
    assert again.count("On other panels: MAPPA") == 2


def test_a_changed_case_is_drawn_again_not_served_stale(login_as, client, cohort, partnership):
    from cohort import services

    login_as("coord")
    assert 'govuk-tag--red">Red' not in client.get("/panels/IOM/tracker?status=referred").get_data(as_text=True)
    case = db.session.get(Case, cohort["piotr"].id)
    services.change_rag(case, to="red", rationale="Breached licence", policy=policy_for(partnership, "police"))
    db.session.commit()
    assert 'govuk-tag--red">Red' in client.get("/panels/IOM/tracker?status=referred").get_data(as_text=True)


def _nonces(resp) -> tuple[str, set[str]]:
    header = re.search(r"'nonce-([^']+)'", resp.headers["Content-Security-Policy"]).group(1)
    return header, set(re.findall(r'nonce="([^"]+)"', resp.get_data(as_text=True)))


def test_a_reload_served_whole_from_the_cache_has_a_fresh_nonce_and_time(app, login_as, client, cohort):
    from core import clock

    login_as("coord")
    first = client.get("/panels/IOM/tracker")
    hits = app.extensions["cohort_page_cache"].hits
    clock.set_now(clock.utcnow().replace(tzinfo=dt.UTC) + dt.timedelta(seconds=7))
    second = client.get("/panels/IOM/tracker")
    assert app.extensions["cohort_page_cache"].hits == hits + 2  # the table and the whole page
    (n1, in_page1), (n2, in_page2) = _nonces(first), _nonces(second)
    assert in_page1 == {n1} and in_page2 == {n2} and n1 != n2  # every script carries this response's nonce
    times = [re.search(r"Last refreshed at ([\d:]+)", r.get_data(as_text=True)).group(1) for r in (first, second)]
    assert times[0] != times[1] and "refreshed-" not in second.get_data(as_text=True)
    strip = lambda r: re.sub(r'nonce="[^"]+"|Last refreshed at [\d:]+', "", r.get_data(as_text=True))  # noqa: E731
    assert strip(first) == strip(second)


def test_a_whole_page_is_only_served_to_the_session_it_was_drawn_for(app, cohort):
    coord, analyst = app.test_client(), app.test_client()  # one agency (LACS), the same grants
    assert login(coord, "coord").status_code == 302 and login(analyst, "analyst").status_code == 302
    for _ in range(2):
        mine = coord.get("/panels/IOM/tracker").get_data(as_text=True)
        theirs = analyst.get("/panels/IOM/tracker").get_data(as_text=True)
        assert "Cora Coordinator" in mine and "Ann Analyst" not in mine and "Refer someone" in mine
        assert "Ann Analyst" in theirs and "Cora Coordinator" not in theirs and "Refer someone" not in theirs
        assert rows_of(mine) == rows_of(theirs)


def test_a_message_waiting_for_the_tracker_is_shown_once(login_as, client, cohort):
    login_as("coord")
    client.get("/panels/IOM/tracker")  # the page is in the cache
    with client.session_transaction() as sess:
        sess["_flashes"] = [("success", "Referral saved")]
    assert "Referral saved" in client.get("/panels/IOM/tracker").get_data(as_text=True)
    assert "Referral saved" not in client.get("/panels/IOM/tracker").get_data(as_text=True)


def test_empty_panels_with_equal_tokens_never_share_a_page(login_as, client, partnership):
    from auth.models import Agency

    isa = db.session.execute(db.select(Isa).filter_by(ref="ISA-MAPPA-TEST")).scalar_one()
    lacs = db.session.execute(db.select(Agency).filter_by(code="LACS")).scalar_one()
    for category in ("offending", "resettlement"):  # LACS now reads the same categories on both panels
        db.session.add(IsaGrant(isa_id=isa.id, agency_id=lacs.id, category=category, access="r"))
    db.session.commit()
    login_as("coord")
    iom = client.get("/panels/IOM/tracker").get_data(as_text=True)
    mappa = client.get("/panels/MAPPA/tracker").get_data(as_text=True)  # both empty: equal change tokens
    assert "/panels/IOM/tracker/rows" in iom.split('id="tracker-results"')[1]
    assert "/panels/MAPPA/tracker/rows" in mappa.split('id="tracker-results"')[1]
    assert "/panels/IOM/" not in mappa.split('id="tracker-results"')[1]


def test_the_default_order_is_read_off_its_index_not_sorted(login_as, client, cohort, engine_name):
    """cohort.models.RAG_ORDER must stay the expression ix_cases_panel_rag_order indexes."""
    if engine_name != "sqlite":
        pytest.skip("the plan is checked on SQLite (PostgreSQL picks by table statistics)")
    from sqlalchemy import event

    seen: list[tuple[str, tuple]] = []

    def capture(_conn, _cursor, statement, parameters, _context, _many):
        if "ORDER BY CASE" in statement:
            seen.append((statement, parameters))

    login_as("coord")
    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        client.get("/panels/IOM/tracker")
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    assert seen, "the tracker did not order by RAG"
    statement, parameters = seen[0]
    plan = db.session.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
    details = " | ".join(row[-1] for row in plan)
    assert "ix_cases_panel_rag_order" in details and "TEMP B-TREE" not in details, details


def test_a_poll_after_a_change_reads_the_change_token_once(login_as, client, cohort, partnership):
    from sqlalchemy import event

    from cohort import services

    login_as("coord")
    html = client.get("/panels/IOM/tracker").get_data(as_text=True)
    rows_url = re.search(r'hx-get="([^"]+)"', html).group(1).replace("&amp;", "&")
    case = db.session.get(Case, cohort["lan"].id)
    services.change_rag(case, to="red", rationale="Arrested again", policy=policy_for(partnership, "police"))
    db.session.commit()
    reads: list[str] = []

    def capture(_conn, _cursor, statement, _parameters, _context, _many):
        if "FROM tracker_changes" in statement:
            reads.append(statement)

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        assert client.get(rows_url, headers={"HX-Request": "true"}).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    assert len(reads) == 1
