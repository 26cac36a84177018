"""One-word people search through the page and the API: a given name, a family name, a
nickname, an alias (a street name), a middle name and a one-typo word reach the person
through the search's name-word tokens, without decrypting everyone; people imported in bulk
(outside the ORM) have their tokens written in the import's transaction; people without tokens
(recorded before the index) are indexed by the first search, or by the migration's backfill;
candidates are ranked so a crowd of near names does not push out the exact one."""

from __future__ import annotations

import pytest

from cohort.models import Nominal
from core.extensions import db
from search import index, queries
from search.models import NameToken
from tests.cohort.test_tracker_helpers import make_case
from tests.exchange.test_import_helpers import csv_bytes, synthetic_rows
from tests.exchange.test_import_pages import preview_url, upload, uploads  # noqa: F401 (uploads: a fixture)
from tests.search.test_people_search import names, search


@pytest.fixture
def crowd(partnership):
    make_case(partnership, given="Mary Jane", family="Wojciechowski", ref="IOM-MJ",
              identity={"aliases": ["Smudger", "The Duke of Peckham"]})
    make_case(partnership, given="William", family="Smith", ref="IOM-WS", identity={"aliases": ["Johnny Boy"]})
    make_case(partnership, given="Ivy", family="Chronos", ref="IOM-IC")
    make_case(partnership, panel="MAPPA", given="Maud", family="Hidden", ref="MAPPA-M",
              identity={"aliases": ["Nightowl"]})
    db.session.commit()


@pytest.mark.parametrize(("q", "found", "matched"), [
    ("Smudger", ["Mary Jane Wojciechowski"], "alias Smudger"),  # a street name kept as an alias
    ("smudgr", ["Mary Jane Wojciechowski"], "alias Smudger"),  # ... with a letter missing
    ("Peckham", ["Mary Jane Wojciechowski"], "alias The Duke of Peckham"),  # one word of a longer alias
    ("Jane", ["Mary Jane Wojciechowski"], "name"),  # a middle word of a given name
    ("Wojciechowsky", ["Mary Jane Wojciechowski"], "name"),  # a family name with one letter wrong
    ("William", ["William Smith"], "name"),
    ("Bill", ["William Smith"], "name"),  # a nickname of the given name
    ("Smiht", ["William Smith"], "name"),  # two letters swapped
    ("Johnny", ["William Smith"], "alias Johnny Boy"),
    ("Chronos", ["Ivy Chronos"], "name"),
    ("Zebedee", [], ""),
])
def test_a_one_word_query_reaches_names_and_aliases(login_as, client, crowd, q, found, matched):
    login_as("police")  # identity on IOM and MAPPA
    html = search(client, q).get_data(as_text=True)
    assert names(html) == found
    if matched:
        assert f'Matched on</dt><dd class="govuk-summary-list__value">{matched}' in html


def test_a_one_word_alias_on_a_panel_the_viewer_cannot_see_finds_no_one(login_as, client, crowd, api_token):
    login_as("dwp")  # identity on IOM only
    assert names(search(client, "Nightowl").get_data(as_text=True)) == []
    assert names(search(client, "Maud").get_data(as_text=True)) == []
    dwp = {"Authorization": f"Bearer {api_token('dwp')}"}
    assert client.post("/api/v1/search", json={"q": "Nightowl"}, headers=dwp).get_json()["people"] == []
    police = {"Authorization": f"Bearer {api_token('police')}"}
    body = client.post("/api/v1/search", json={"q": "Nightowl"}, headers=police).get_json()
    assert [(p["name"], p["matched"], [c["panel"] for c in p["cases"]]) for p in body["people"]] == [
        ("Maud Hidden", "alias Nightowl", ["MAPPA"])]


def test_tokens_follow_the_identity_as_it_changes(login_as, client, crowd, partnership):
    """A rectified family name (lifecycle.rectification, through sharing.blind_index.index_nominal)."""
    from lifecycle.rectification import rectify
    from sharing.gateway import unsealed

    login_as("police")
    assert names(search(client, "Wojciechowski").get_data(as_text=True)) == ["Mary Jane Wojciechowski"]
    with unsealed("test: find the person to correct"):
        mary = next(n for n in db.session.execute(db.select(Nominal)).scalars() if n.given_name == "Mary Jane")
    rectify(mary, field="family_name", value="Kowalska", reason="married name", user=partnership.user("police"))
    db.session.commit()
    assert names(search(client, "Kowalska").get_data(as_text=True)) == ["Mary Jane Kowalska"]
    assert names(search(client, "Wojciechowski").get_data(as_text=True)) == []
    assert names(search(client, "Smudger").get_data(as_text=True)) == ["Mary Jane Kowalska"]


def test_people_without_tokens_are_indexed_by_the_first_search(login_as, client, crowd):
    """As after the migration (the table starts empty) or a bulk import: no marker, no rows."""
    db.session.execute(db.delete(NameToken))
    db.session.commit()
    login_as("police")
    assert names(search(client, "Smudger").get_data(as_text=True)) == ["Mary Jane Wojciechowski"]
    db.session.rollback()
    markers = db.session.scalar(db.select(db.func.count()).select_from(NameToken)
                                .where(NameToken.kind == index.VERSION))
    assert markers == 4  # everyone in the viewer's scope, once
    assert index.index_missing(db.select(Nominal.id)) == 0  # and not again


def test_people_imported_in_bulk_are_found_by_one_word(partnership, login_as, client, uploads):  # noqa: F811
    rows = synthetic_rows(30)
    rows[7]["aliases"] = "Tinker"
    login_as("probation")
    assert client.post(preview_url(upload(client, csv_bytes(rows)))).status_code == 302
    db.session.rollback()
    markers = db.select(db.func.count()).select_from(NameToken).where(NameToken.kind == index.VERSION)
    assert db.session.scalar(markers) == 30  # written with the bulk insert's transaction, not left to a search
    html = search(client, "Tinker").get_data(as_text=True)
    assert len(names(html)) == 1 and "alias Tinker" in html
    given = rows[7]["given_name"]
    assert any(n.startswith(given) for n in names(search(client, rows[7]["family_name"]).get_data(as_text=True)))


def test_the_best_ranked_candidates_are_decrypted_first(login_as, client, partnership, monkeypatch):
    """Twelve people recorded first have aliases that share the query's first letters; with
    room for three candidates the exact alias is still among them (ranked by what each
    shares with the query, not by id)."""
    for i in range(12):
        make_case(partnership, given="Ann", family=f"Crowd{chr(97 + i)}", ref=f"IOM-C{i}", commit=False,
                  identity={"aliases": [f"Sparky{chr(97 + i)}"]})
    make_case(partnership, given="Ann", family="Target", ref="IOM-EXACT", identity={"aliases": ["Sparky"]})
    monkeypatch.setattr(queries, "MAX_CANDIDATES", 3)
    login_as("police")
    html = search(client, "Sparky").get_data(as_text=True)
    assert names(html)[0] == "Ann Target"


def test_exact_index_matches_that_match_more_of_the_query_come_first(login_as, client, partnership, monkeypatch):
    """Twelve Williams recorded first match the given-name index only; William Smith matches
    both: with room for three candidates he is among them."""
    for i in range(12):
        make_case(partnership, given="William", family=f"Other{chr(97 + i)}", ref=f"IOM-W{i}", commit=False)
    make_case(partnership, given="William", family="Smith", ref="IOM-WS")
    monkeypatch.setattr(queries, "MAX_CANDIDATES", 3)
    login_as("police")
    assert names(search(client, "William Smith").get_data(as_text=True))[0] == "William Smith"


def test_the_migration_backfills_everyone_alive(app, crowd):
    """search.index.backfill, as the migration creating the table runs it on its connection."""
    db.session.execute(db.delete(NameToken))
    db.session.commit()
    with db.engine.begin() as connection:
        assert index.backfill(connection) == 4
    markers = db.select(db.func.count()).select_from(NameToken).where(NameToken.kind == index.VERSION)
    assert db.session.scalar(markers) == 4
    assert index.index_missing(db.select(Nominal.id)) == 0
