"""The auditor's access-log pages: filters, paging, CSV export, "who has seen this nominal"."""

from __future__ import annotations

import csv
import io
import re

import pytest

from cohort.services import create_nominal, refer
from core import clock
from core.extensions import db
from sharing import audit
from sharing.models import AccessEvent
from sharing.policy import Policy
from sharing.routes import neutralise
from tests.support import clock_at, login


@pytest.fixture
def logged(partnership):
    """A case on IOM plus a handful of events by different users on different days."""
    nominal = create_nominal(given_name="Loggy", family_name="McLogface")
    case = refer(nominal, partnership.panels["IOM"], ref="IOM-LOG-1", policy=Policy(partnership.user("coord")),
                 status="active")
    db.session.commit()
    police, dwp = partnership.user("police"), partnership.user("dwp")
    clock.set_now(clock_at("2026-11-20T09:00:00"))
    audit.record("view", user=police, panel="IOM", case_id=case.id, categories=["identity", "risk"],
                 purpose="/cases/1")  # names the case only: still about the nominal
    clock.set_now(clock_at("2026-11-21T23:30:00"))
    audit.record("export", user=dwp, panel="IOM", nominal_id=nominal.id, categories=["identity"],
                 purpose="cohort export", detail="=HYPERLINK(\"http://evil.example\")")
    clock.set_now(clock_at("2026-11-22T12:00:00"))
    audit.record("refused", user=dwp, outcome="refused", panel="MAPPA", purpose="/panels/MAPPA/tracker",
                 detail="policy: offending read not granted")
    audit.record("view", user=police, panel="IOM", nominal_id=nominal.id + 1000, purpose="another nominal")
    db.session.commit()
    clock.set_now(clock_at("2026-11-23T10:00:00"))
    return {"nominal_id": nominal.id, "case_id": case.id}


def test_only_auditors(app, partnership):
    for who in ("admin", "coord", "police", "analyst"):
        client = app.test_client()
        assert login(client, who).status_code == 302
        for url in ("/access-log", "/access-log.csv", "/access-log/nominals/1", "/access-log/nominal?nominal_id=1"):
            assert client.get(url).status_code == 403, (who, url)


def _rows(html: str) -> list[str]:
    body = html.split('<tbody class="govuk-table__body">', 1)[1].split("</tbody>", 1)[0]
    return re.findall(r"<tr class=\"govuk-table__row\">(.*?)</tr>", body, re.S)


def test_log_newest_first_and_logged(login_as, logged):
    client = login_as("auditor")
    html = client.get("/access-log").get_data(as_text=True)
    rows = _rows(html)
    assert "/sign-in" in rows[0]  # the auditor's own sign-in
    assert "another nominal" in rows[1] and "Refused" in rows[2] and "cohort export" in rows[3]
    last = db.session.execute(db.select(AccessEvent).order_by(AccessEvent.seq.desc()).limit(1)).scalar_one()
    assert (last.action, last.user_email, last.purpose) == ("view", "auditor@test.example", "access log")
    html = client.get("/access-log").get_data(as_text=True)
    assert "auditor@test.example" in _rows(html)[0]  # the previous look is in the log


FILTERS = [
    ("email=dwp%40test", ["cohort export", "policy: offending read"], ["/cases/1"]),
    ("agency=POLICE", ["/cases/1", "another nominal"], ["cohort export"]),
    ("action=export", ["cohort export"], ["another nominal"]),
    ("outcome=refused", ["policy: offending read"], ["cohort export"]),
    ("panel=MAPPA", ["policy: offending read"], ["cohort export"]),
    ("date_from=21&date_from=11&date_from=2026&date_to=21&date_to=11&date_to=2026", ["cohort export"],
     ["/cases/1", "another nominal"]),
    ("agency=POLICE&panel=MAPPA", [], ["/cases/1", "another nominal", "cohort export"]),
]


def test_filters(login_as, logged):
    client = login_as("auditor")
    for query, expect, absent in FILTERS:
        html = client.get(f"/access-log?{query}").get_data(as_text=True)
        body = "".join(_rows(html)) if "<tbody" in html else ""
        for text in expect:
            assert text in body, (query, text)
        for text in absent:
            assert text not in body, (query, text)


def test_filter_by_nominal_includes_events_naming_its_case(login_as, logged):
    html = login_as("auditor").get(f"/access-log?nominal_id={logged['nominal_id']}").get_data(as_text=True)
    body = "".join(_rows(html))
    assert "/cases/1" in body and "cohort export" in body and "another nominal" not in body


def test_bad_filters_show_errors(login_as, logged):
    resp = login_as("auditor").get("/access-log?nominal_id=abc&date_from=40&date_from=1&date_from=2026")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "govuk-error-summary" in html
    assert "From must be a real date" in html


def test_paging(login_as, partnership):
    police = partnership.user("police")
    for i in range(120):
        audit.record("view", user=police, panel="IOM", nominal_id=5, purpose=f"page test {i:03d}")
    db.session.commit()
    client = login_as("auditor")
    html = client.get("/access-log?agency=POLICE").get_data(as_text=True)
    assert "120 events, page 1 of 3" in html
    assert "page test 119" in _rows(html)[0] and len(_rows(html)) == 50
    assert "page=2" in html and "agency=POLICE" in html
    html = client.get("/access-log?agency=POLICE&page=3").get_data(as_text=True)
    assert len(_rows(html)) == 20 and "page test 000" in _rows(html)[-1]
    assert client.get("/access-log?page=99").status_code == 200


def test_csv_export_is_filtered_neutralised_and_logged(login_as, logged):
    resp = login_as("auditor").get("/access-log.csv?agency=DWP")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert "attachment" in resp.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    assert [r["action"] for r in rows] == ["refused", "export"]
    assert rows[1]["detail"] == "'=HYPERLINK(\"http://evil.example\")"
    assert rows[1]["nominal_id"] == str(logged["nominal_id"])
    last = db.session.execute(db.select(AccessEvent).order_by(AccessEvent.seq.desc()).limit(1)).scalar_one()
    assert last.action == "export" and last.user_email == "auditor@test.example" and "agency=DWP" in last.detail


@pytest.mark.parametrize("value,out", [
    ("=1+1", "'=1+1"), ("+44", "'+44"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"), ("\rx", "'\rx"),
    ("plain", "plain"), ("", ""), (None, ""), (12, "12"),
])
def test_neutralise(value, out):
    assert neutralise(value) == out


def test_who_has_seen_this_nominal(login_as, logged):
    client = login_as("auditor")
    nominal_id = logged["nominal_id"]
    resp = client.get(f"/access-log/nominal?nominal_id={nominal_id}")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/access-log/nominals/{nominal_id}")
    html = client.get(f"/access-log/nominals/{nominal_id}").get_data(as_text=True)
    body = "".join(_rows(html))
    assert "police@test.example" in body and "dwp@test.example" in body and "coord@test.example" in body
    assert "Identity, Risk" in body and "cohort export" in body
    assert "another nominal" not in body and "Loggy" not in html  # no case data, only the log
    last = db.session.execute(db.select(AccessEvent).order_by(AccessEvent.seq.desc()).limit(1)).scalar_one()
    assert (last.action, last.nominal_id, last.user_email) == ("view", nominal_id, "auditor@test.example")
    resp = client.get("/access-log/nominal?nominal_id=x")
    assert resp.status_code == 422 and "govuk-error-summary" in resp.get_data(as_text=True)
