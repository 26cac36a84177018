"""Cross-panel people search through its page: fuzzy names, nicknames, aliases, identifiers,
grouping by person, the viewer's panels only, the log, and no search term in URLs or logs."""

from __future__ import annotations

import http.cookiejar
import logging
import re
import urllib.parse
import urllib.request

import pytest

from core.extensions import db
from sharing.models import AccessEvent
from tests.cohort.test_tracker_helpers import make_case
from tests.support import TEST_PASSWORD


def names(html: str) -> list[str]:
    return re.findall(r'<h3 class="govuk-summary-card__title">([^<]*)</h3>', html)


@pytest.fixture
def people(partnership):
    william = make_case(partnership, given="William", family="Smith", ref="IOM-W",
                        identity={"pnc": "2001/0012345A", "aliases": ["Johnny Boy"]})
    make_case(partnership, panel="MAPPA", nominal=william.nominal, ref="MAPPA-W")
    make_case(partnership, given="Wilma", family="Smythe", ref="IOM-X")
    make_case(partnership, given="Ivy", family="Chronos", ref="IOM-I")
    make_case(partnership, panel="MAPPA", given="Maud", family="Hidden", ref="MAPPA-M",
              identity={"cro": "123456/08A"})
    db.session.commit()
    return william


def search(client, q: str):
    return client.post("/search", data={"q": q})


def test_a_name_with_a_typo_a_nickname_or_an_alias_finds_the_person(login_as, client, people):
    login_as("police")
    assert names(search(client, "William Smith").get_data(as_text=True))[0] == "William Smith"
    assert "William Smith" in names(search(client, "Wiliam Smiht").get_data(as_text=True))
    assert "William Smith" in names(search(client, "Bill Smith").get_data(as_text=True))
    alias = search(client, "Johnny Boy").get_data(as_text=True)
    assert names(alias) == ["William Smith"] and "alias Johnny Boy" in alias
    assert names(search(client, "Chronos").get_data(as_text=True)) == ["Ivy Chronos"]
    assert names(search(client, "Nobody Atall").get_data(as_text=True)) == []


def test_an_identifier_matches_exactly_through_the_blind_index(login_as, client, people):
    login_as("police")
    html = search(client, "2001/0012345a").get_data(as_text=True)
    assert names(html) == ["William Smith"] and "Matched on</dt><dd class=\"govuk-summary-list__value\">PNC ID" in html
    assert names(search(client, "2001/0012346A").get_data(as_text=True)) == []


def test_results_are_grouped_by_person_with_each_visible_panel(login_as, client, people):
    login_as("police")  # identity on IOM and MAPPA
    html = search(client, "William Smith").get_data(as_text=True)
    card = html.split("app-search-result", 2)[1]
    assert "IOM main panel case IOM-W" in card and "MAPPA panel case MAPPA-W" in card
    assert names(html).count("William Smith") == 1
    assert "1 person found" not in html or names(html) == ["William Smith"]


def test_a_person_only_on_a_panel_the_viewer_cannot_see_is_not_found(login_as, client, people):
    login_as("dwp")  # identity on IOM only
    html = search(client, "William Smith").get_data(as_text=True)
    assert names(html) == ["William Smith"] and "MAPPA" not in html.split("<main", 1)[1]
    assert names(search(client, "Maud Hidden").get_data(as_text=True)) == []
    assert names(search(client, "123456/08A").get_data(as_text=True)) == []
    login_as("police")
    assert names(search(client, "Maud Hidden").get_data(as_text=True)) == ["Maud Hidden"]


def test_every_search_is_logged_without_the_term(login_as, client, people):
    login_as("police")
    search(client, "Johnny Boy")
    ev = db.session.execute(db.select(AccessEvent).filter_by(action="search").order_by(AccessEvent.seq.desc())
                            .limit(1)).scalar_one()
    assert ev.user_email == "police@test.example" and ev.categories == "identity"
    assert ev.detail == f"people search: 1 person(s): nominals {people.nominal_id}"
    assert "Johnny" not in ev.detail and "Johnny" not in ev.purpose


def test_bad_input_re_renders_with_the_error_summary(login_as, client, people):
    login_as("police")
    html = search(client, " ").get_data(as_text=True)
    assert "govuk-error-summary" in html and "Enter a name, an alias or an identifier" in html
    assert "<title>Error: " in html


def test_the_header_offers_search_to_case_roles_only(login_as, client, people):
    login_as("police")
    assert 'id="header-search"' in client.get("/").get_data(as_text=True)
    login_as("admin")
    assert 'id="header-search"' not in client.get("/").get_data(as_text=True)
    assert client.get("/search").status_code == 403


def test_the_search_term_is_in_no_url_and_no_log_line(app, live_server, people, caplog):
    """Over real HTTP: the form posts, so werkzeug's request log and the app's logs never see the term."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

    def post(path: str, data: dict):
        return opener.open(live_server.url + path, urllib.parse.urlencode(data).encode())

    caplog.set_level(logging.DEBUG)
    post("/sign-in", {"email": "police@test.example", "password": TEST_PASSWORD})
    page = opener.open(live_server.url + "/search").read().decode()
    assert 'method="post"' in page
    body = post("/search", {"q": "Johnny Boy"}).read().decode()
    assert "William Smith" in body
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "/search" in logged  # the request was logged ...
    assert "Johnny" not in logged and "johnny" not in logged.lower()  # ... but not what was searched for


def test_a_search_term_in_a_request_line_is_redacted_in_the_json_logs():
    """The tracker's own search is a GET (?q=...): the JSON log formatter never writes the term."""
    from core.logs import JsonFormatter

    record = logging.LogRecord("werkzeug", logging.INFO, __file__, 1,
                               '127.0.0.1 - - "GET /panels/IOM/tracker?rag=red&q=Ivor%20Canary&page=2 HTTP/1.1" 200 -',
                               None, None)
    line = JsonFormatter().format(record)
    assert "Ivor" not in line and "q=[redacted]&page=2" in line and "rag=red" in line


def test_the_api_searches_by_post(client, people, api_token):
    headers = {"Authorization": f"Bearer {api_token('police')}"}
    body = client.post("/api/v1/search", json={"q": "Bill Smith"}, headers=headers).get_json()
    assert [p["name"] for p in body["people"]][0] == "William Smith" and body["too_many"] is False
    first = body["people"][0]
    assert first["identifiers"] == {"PNC ID": "2001/0012345A"}
    assert [c["panel"] for c in first["cases"]] == ["IOM", "MAPPA"]
    dwp = {"Authorization": f"Bearer {api_token('dwp')}"}
    assert client.post("/api/v1/search", json={"q": "Maud Hidden"}, headers=dwp).get_json()["people"] == []
    assert client.post("/api/v1/search", json={"q": " "}, headers=headers).status_code == 422
    admin = {"Authorization": f"Bearer {api_token('admin')}"}
    assert client.post("/api/v1/search", json={"q": "Bill Smith"}, headers=admin).status_code == 403
