"""The KPI page, its charts, the CSV and GET /api/v1/kpis: gaps not zeros, readable labels."""

from __future__ import annotations

import datetime as dt
import re

from core import clock
from core.extensions import db
from panels import jobs
from tests.support import clock_at


def _cases_and_two_snapshots(make_case):
    """Snapshots for September and December only: October and November are gaps."""
    clock.set_now(clock_at("2026-09-15T10:00"))
    for given, rag in (("Ann", "red"), ("Bob", "amber"), ("Cas", "green")):
        make_case(given=given, rag=rag, referral_date=dt.date(2026, 9, 1))
    clock.set_now(clock_at("2026-10-01T00:30"))
    jobs.take_snapshot(_panel_id("IOM"), dt.date(2026, 9, 1))
    db.session.commit()
    clock.set_now(clock_at("2026-12-04T10:00"))
    jobs.take_snapshot(_panel_id("IOM"), dt.date(2026, 12, 1))
    db.session.commit()


def _panel_id(code):
    from panels.models import Panel

    return db.session.execute(db.select(Panel.id).filter_by(code=code)).scalar_one()


def _api(client, token, query):
    return client.get(f"/api/v1/kpis{query}", headers={"Authorization": f"Bearer {token}"})


def test_months_without_a_snapshot_are_null_never_zero(make_case, partnership, client, api_token):
    _cases_and_two_snapshots(make_case)
    resp = _api(client, api_token("analyst"), "?panel=IOM&from=2026-08&to=2026-12")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    months = {m["month"]: m for m in body["months"]}
    assert list(months) == ["2026-08", "2026-09", "2026-10", "2026-11", "2026-12"]
    for gap in ("2026-08", "2026-10", "2026-11"):
        assert all(months[gap][k] is None for k in ("cohort", "red", "amber", "green", "referrals", "exits"))
    assert (months["2026-09"]["cohort"], months["2026-09"]["red"], months["2026-09"]["referrals"]) == (3, 1, 3)
    assert months["2026-09"]["final"] is True and months["2026-12"]["final"] is False
    assert (months["2026-12"]["cohort"], months["2026-12"]["referrals"]) == (3, 0)
    assert body["withheld"] == [] and body["panels"] == ["IOM"]
    keys = {k["key"]: k for k in body["indicators"]}
    assert keys["ni143"]["label"].startswith("NI 143") and keys["mappa_l3_reviews"]["percent"] is None


def test_the_page_draws_gaps_and_labels_in_words(make_case, partnership, login_as):
    _cases_and_two_snapshots(make_case)
    client = login_as("analyst")
    resp = client.get("/kpis?panel=IOM")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    # the month table: a gap says so and shows no zero
    rows = re.findall(r'<tr class="govuk-table__row"( data-gap="1")?>\s*<th scope="row" class="govuk-table__header">'
                      r'([A-Z][a-z]+ 2026)', page)
    gaps = {month for gap, month in rows if gap}
    assert {"October 2026", "November 2026"} <= gaps and "September 2026" not in gaps
    assert "No data (no snapshot)" in page
    # every chart inline, with its title; the RAG chart has bars; the gap months marked "no data"
    for name in ("cohort", "rag", "flow", "kpis"):
        assert f'id="chart-{name}"' in page
    rag_chart = page[page.index('id="chart-rag"'):page.index("</svg>", page.index('id="chart-rag"'))]
    assert rag_chart.count("<rect") >= 3 + 3 and "Red: 1" in rag_chart and "no data" in rag_chart
    cohort_chart = page[page.index('id="chart-cohort"'):page.index("</svg>", page.index('id="chart-cohort"'))]
    assert "Cohort: 3" in cohort_chart and "<polyline" not in cohort_chart  # two points months apart: no line
    # readable labels, never the raw keys
    for raw in ("ni143", "mappa l3", "mappa_l3_reviews", "prison_probation"):
        assert raw not in re.sub(r'data-kpi="[^"]*"', "", page)
    assert "NI 144: in employment at the end of order or licence" in page


def test_the_svg_download_is_the_same_chart(make_case, partnership, login_as):
    _cases_and_two_snapshots(make_case)
    client = login_as("coord")
    resp = client.get("/kpis/charts/rag.svg?panel=IOM")
    assert resp.status_code == 200 and resp.mimetype == "image/svg+xml"
    assert resp.data.startswith(b"<?xml") and b'xmlns="http://www.w3.org/2000/svg"' in resp.data
    assert b"Red: 1" in resp.data and b"matplotlib" not in resp.data


def test_csv_says_no_data_for_a_gap(make_case, partnership, login_as):
    _cases_and_two_snapshots(make_case)
    text = login_as("coord").get("/kpis.csv?panel=IOM").get_data(as_text=True)
    assert "2026-11-01,no data,no data" in text and "2026-09-01,3,3,0,1,1,1,0" in text


def test_api_refuses_bad_ranges_and_other_roles(partnership, client, api_token):
    token = api_token("analyst")
    for query, status in (("?from=2026-13", 422), ("?to=December", 422), ("?from=0000-01", 422),
                          ("?panel=iom", 422), ("?panel=NOPE", 404), ("?panel=DIP", 404),
                          ("?from=2026-01&to=2026-12", 200), ("", 200)):
        resp = _api(client, token, query)
        assert resp.status_code == status, (query, resp.get_data(as_text=True))
        if status != 200:
            assert "error" in resp.get_json()
    assert _api(client, token, "?from=2026-12&to=2026-01").get_json()["months"] == []
    assert len(_api(client, token, "?from=2000-01&to=2026-12").get_json()["months"]) == 27 * 12
    body = _api(client, token, "").get_json()
    assert len(body["months"]) == 12 and body["to"] == clock.today().strftime("%Y-%m")
    assert _api(client, api_token("police"), "").status_code == 403


def test_series_the_caller_may_not_read_are_withheld(make_case, partnership, client, api_token):
    """LACS reads risk but not offending on MAPPA: RAG counts yes, referrals and exits null and named."""
    clock.set_now(clock_at("2026-12-04T10:00"))
    make_case("MAPPA", given="Lee", rag="red", mappa_level=2, referral_date=dt.date(2026, 12, 1))
    jobs.take_snapshot(_panel_id("MAPPA"), dt.date(2026, 12, 1))
    db.session.commit()
    body = _api(client, api_token("analyst"), "?panel=MAPPA&from=2026-12&to=2026-12").get_json()
    month = body["months"][0]
    assert (month["cohort"], month["red"]) == (1, 1)
    assert month["referrals"] is None and month["exits"] is None and body["withheld"] == ["offending"]
