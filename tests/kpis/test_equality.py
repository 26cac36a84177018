"""Equality monitoring through the page and GET /api/v1/kpis/equality, under the sharing rules.

Who may see it: coordinators and analysts of an agency that reads identity on the panel.
The figures are aggregates, but they are drawn from identity, and the sharing invariant
allows nothing an agency is shown to depend on data its agreements withhold; the
two-worlds test below holds it to that.
"""

from __future__ import annotations

import datetime as dt

import pytest

from core import clock
from core.extensions import db
from sharing.crypto import CATEGORIES
from tests.html import Page
from tests.security.two_worlds import fresh_world, without_nonces
from tests.support import TEST_PASSWORD, access_events, clock_at, login, partnership_data

POPULATION = {"ethnicity": {"White British": 800, "Asian or Asian British": 100,
                            "Black, Black British, Caribbean or African": 50, "White: Other White": 50},
              "gender": {"Male": 490, "Female": 510},
              "age_band": {"18 to 24": 110, "25 to 34": 140, "35 to 44": 130, "55 to 64": 120}}
RISK_ONLY = {
    "agencies": [{"code": "RISKCO", "name": "Risk Only Agency", "kind": "other"}],
    "isas": [{"ref": "ISA-RISK-ONLY", "panels": ["IOM"], "starts": "2026-01-01", "expires": "2027-03-31",
              "grants": {"RISKCO": {"risk": "r"}}}],
    "users": [{"email": "riskonly@test.example", "name": "Rita Riskonly", "agency": "RISKCO", "roles": ["analyst"],
               "password": TEST_PASSWORD}],
}


def _data(**extra) -> dict:
    base = partnership_data()
    return partnership_data(agencies=base["agencies"] + RISK_ONLY["agencies"], isas=base["isas"] + RISK_ONLY["isas"],
                            users=base["users"] + RISK_ONLY["users"], population=POPULATION, **extra)


@pytest.fixture
def equality_partnership(app, partnership):
    from partnership.loading import load

    load(_data())
    db.session.commit()
    return partnership


PEOPLE = ([("White British", "Male", 1990)] * 12 + [("Asian or Asian British: Pakistani", "Male", 2001)] * 6
          + [("Black, Black British, Caribbean or African: African", "Female", 1985)] * 2
          + [("Not stated", "Male", 1970)] * 5 + [(None, None, None)])


def _cohort(people=PEOPLE, *, vary: bool = False):
    """Cases on IOM; `vary` changes every identity value and nothing else."""
    from cohort import services
    from sharing.policy import Policy
    from tests.security.two_worlds import user

    writer = Policy(user("police"))
    iom = _panel("IOM")
    for i, (ethnicity, gender, year) in enumerate(people):
        if vary:
            ethnicity, gender, year = "White: Irish", "Female", 1960
        nominal = services.create_nominal(given_name=f"P{i}", family_name="Tester", ethnicity=ethnicity,
                                          gender=gender, date_of_birth=dt.date(year, 6, 1) if year else None)
        services.refer(nominal, iom, ref=f"IOM-{i + 1}", policy=writer, status="active",
                       referral_date=dt.date(2026, 10, 1))
    db.session.commit()


def _panel(code):
    from panels.models import Panel

    return db.session.execute(db.select(Panel).filter_by(code=code)).scalar_one()


def _get(client, token, query="?panel=IOM"):
    return client.get(f"/api/v1/kpis/equality{query}", headers={"Authorization": f"Bearer {token}"})


@pytest.mark.parametrize("rounding", [False, True], ids=["exact", "rounded"])
def test_counts_suppressed_with_ratios(app, equality_partnership, client, api_token, monkeypatch, rounding):
    """Exact counts with primary and secondary suppression (CONTRACT.md); with EQUALITY_ROUNDING,
    every shown count and the total randomly rounded to a multiple of 5 (equality.suppression)."""
    monkeypatch.setitem(app.config, "EQUALITY_ROUNDING", rounding)
    near = near_rounded if rounding else (lambda figure, count: figure == count)
    clock.set_now(clock_at("2026-12-04T10:00"))
    _cohort()
    resp = _get(client, api_token("analyst"))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["rounded_to"] == (5 if rounding else 1) and body["withheld"] is False
    assert near(body["total"], 26) and body["panel"] == "IOM" and body["month"] == "2026-12"
    eth = body["by"]["ethnicity"]
    assert near(eth["White British"], 12) and near(eth["Asian or Asian British"], 6)
    assert eth["Black, Black British, Caribbean or African"] == "<5" and eth["White: Other White"] == "<5"
    assert eth["Not stated"] == "*" or (isinstance(eth["Not stated"], int) and eth["Not stated"] >= 5)
    assert sum(1 for v in eth.values() if isinstance(v, str)) >= 2
    gender = body["by"]["gender"]
    assert near(gender["Male"], 23) and (gender["Female"], gender["Other"], gender["Not stated"]) == ("<5",) * 3
    ages = body["by"]["age_band"]
    assert near(ages["35 to 44"], 14) and near(ages["25 to 34"], 6) and ages["55 to 64"] == 5
    assert ages["Not stated"] == "<5"
    # the ratio, from the published figures: White British of those stated (or of all) against 800 of 1,000
    white = body["ratio"]["White British"]
    n1 = body["total"] - (eth["Not stated"] if isinstance(eth["Not stated"], int) else 0)
    assert white["ratio"] == round((eth["White British"] / n1) / 0.8, 2)
    assert white["low"] < white["ratio"] < white["high"]
    asian = body["ratio"]["Asian or Asian British"]
    assert asian["ratio"] > 1 and asian["low"] > 0
    assert body["ratio"]["Black, Black British, Caribbean or African"]["ratio"] is None  # would reveal the count
    assert body["ratios"]["ethnicity"] == body["ratio"] and body["bases"]["ethnicity"] == body["basis"]
    # gender and age band against their baselines too
    male = body["ratios"]["gender"]["Male"]
    assert body["bases"]["gender"] == "all"  # "Not stated" is "<5": shares are of everyone
    assert male["ratio"] == round((gender["Male"] / body["total"]) / 0.49, 2) and male["low"] < male["ratio"]
    assert body["ratios"]["gender"]["Female"]["ratio"] is None
    middle = body["ratios"]["age_band"]["35 to 44"]
    assert middle["ratio"] == round((ages["35 to 44"] / body["total"]) / (130 / 500), 2) and middle["high"] > 1
    assert body["ratios"]["age_band"]["18 to 24"]["ratio"] is None  # none in the cohort: "<5", no ratio


def near_rounded(figure, count: int) -> bool:
    """A published figure for `count`: a multiple of 5 within 4 of it."""
    return isinstance(figure, int) and figure % 5 == 0 and abs(figure - count) < 5


def test_the_page_for_analysts_and_coordinators(equality_partnership, login_as):
    from sharing.models import AccessEvent

    clock.set_now(clock_at("2026-12-04T10:00"))
    _cohort()
    resp = login_as("coord").get("/kpis/equality?panel=IOM")
    page = resp.get_data(as_text=True)
    assert '<strong id="equality-total">26</strong>' in page
    assert "Asian or Asian British" in page and "Every other count is exact" in page
    # "P1" in the words shown, not in a random token of the markup (a CSRF token held it once)
    assert "&lt;5" in page and "Reading the ratios" in page and "P1" not in Page(resp).visible_text()
    event = next(iter(access_events(AccessEvent.detail.like("equality%"))), None)
    assert event is not None and event.categories == "identity" and event.panel_code == "IOM"


def test_refused_without_identity_read_and_to_other_roles(equality_partnership, client, api_token):
    clock.set_now(clock_at("2026-12-04T10:00"))
    _cohort()
    assert _get(client, api_token("riskonly")).status_code == 403
    assert _get(client, api_token("police")).status_code == 403  # a practitioner
    assert _get(client, api_token("analyst"), "?panel=NOPE").status_code == 404
    assert _get(client, api_token("analyst"), "").status_code == 422
    assert _get(client, api_token("analyst"), "?panel=IOM&month=2027-01").status_code == 422
    c = client
    assert login(c, "riskonly").status_code == 302
    page = c.get("/kpis/equality").get_data(as_text=True)
    assert 'id="no-panels"' in page
    assert c.get("/kpis/equality?panel=IOM").status_code == 404


def test_population_section_is_validated(app, partnership):
    from partnership.loading import PartnershipError, load

    bad = {"population": {"ethnicity": {"White British": 10, "White": 20, "Martian": 3},
                          "gender": {"Man": 4}, "age_band": {"18 to 24": -1}, "religion": {"x": 1}}}
    with pytest.raises(PartnershipError) as err:
        load(bad)
    text = str(err.value)
    for words in ("population.ethnicity.White: overlaps White British", "Martian: not an ONS 2021",
                  "population.gender.Man: must be one of", "population.age_band.18 to 24: must be a whole number",
                  "population.religion: unknown"):
        assert words in text, text


def _observe(app, shorts):
    from auth.tokens import create_token
    from tests.security.two_worlds import user

    seen = {}
    for short in shorts:
        token = create_token(user(short))
        db.session.commit()
        client = app.test_client()
        assert login(client, short).status_code == 302
        for path in ("/kpis/equality", "/kpis/equality?panel=IOM", "/api/v1/kpis/equality?panel=IOM",
                     "/kpis", "/kpis?panel=IOM", "/api/v1/kpis?panel=IOM"):
            headers = {"Authorization": f"Bearer {token}"} if path.startswith("/api/") else {}
            resp = client.get(path, headers=headers)
            seen[(short, path)] = (resp.status_code, without_nonces(resp.get_data()))
    return seen


def _world(app, monkeypatch, vary):
    from panels import jobs

    fresh_world(app, monkeypatch, _data())
    clock.set_now(clock_at("2026-12-04T10:00"))
    _cohort(vary=vary)
    jobs.take_snapshot(_panel("IOM").id, dt.date(2026, 12, 1))
    db.session.commit()
    return _observe(app, ["riskonly", "analyst"])


def test_two_worlds_differing_in_identity_look_the_same_without_identity_read(app, monkeypatch):
    a, b = _world(app, monkeypatch, False), _world(app, monkeypatch, True)
    riskonly = [k for k in a if k[0] == "riskonly"]
    assert all(a[k] == b[k] for k in riskonly), [k for k in riskonly if a[k] != b[k]]
    assert a[("riskonly", "/api/v1/kpis?panel=IOM")][0] == 200  # it does see the KPI counts it may read
    # the check has teeth: the analyst, who reads identity, sees the worlds differ
    assert a[("analyst", "/api/v1/kpis/equality?panel=IOM")] != b[("analyst", "/api/v1/kpis/equality?panel=IOM")]
    assert "identity" in CATEGORIES
