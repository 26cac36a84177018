"""No shadow lists (issue 16) and the tracker's columns in exports (issue 18), through the pages and CLI.

Every export and print is made for a purpose, is in the export register, and carries inside
itself who made it, when, why and the destroy-by date: a CSV or workbook in a last column on
every row (which the importer reads back and ignores, so the file still round-trips), a workbook
also in its printed page header and document properties, a print as a banner at the top
and the bottom. A bare link asks for the purpose first; a wrong purpose or date is a 422;
the command line records a missing `--purpose` as not stated.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import openpyxl
import pytest

from cohort.models import Action, Case
from core import clock
from core.extensions import db
from exchange.importing import apply_import, plan_import
from exchange.spreadsheet import MARKING_COLUMN, MARKING_PREFIX, read_table
from lifecycle.models import ExportRecord
from sharing.models import AccessEvent
from tests.cohort.test_tracker_helpers import policy_for
from tests.exchange.test_export import import_rows
from tests.exchange.test_import_helpers import synthetic_rows
from tests.security.two_worlds import fresh_world, without_nonces
from tests.support import clock_at, login, partnership_data

WHY = "purpose=panel_meeting"
MARKING = ("Export no. 1 by Pete Probation (NPS) on 23 Nov 2026 10:00 UTC for: Preparing for or running a panel "
           "meeting. Destroy every copy by 23 Dec 2026.")


@pytest.fixture
def cohort(partnership):
    rows = synthetic_rows(4)
    import_rows(partnership, rows)
    return rows


def _records() -> list[ExportRecord]:
    return list(db.session.execute(db.select(ExportRecord).order_by(ExportRecord.id)).scalars())


def test_bare_links_ask_for_the_purpose_first(cohort, login_as, client):
    login_as("probation")
    for fmt, path in (("csv", "/panels/IOM/export.csv"), ("xlsx", "/panels/IOM/export.xlsx"),
                      ("print", "/panels/IOM/print")):
        resp = client.get(path)
        assert resp.status_code == 302 and resp.headers["Location"] == f"/panels/IOM/export?fmt={fmt}", path
        page = client.get(resp.headers["Location"]).get_data(as_text=True)
        assert "Why are you exporting?" in page and "Choose why you are exporting" in page
        assert f'value="{fmt}" checked' in page, fmt
    assert _records() == []
    assert db.session.scalar(db.select(db.func.count(AccessEvent.id)).where(
        AccessEvent.action.in_(("export", "print")))) == 0


@pytest.mark.parametrize("query, words", [
    ("purpose=because", "purpose: one of panel_meeting, case_management"),
    ("destroy_by=2026-12-01", "Choose why you are exporting"),
    ("purpose=panel_meeting&destroy_by=2027-06-01", "Keep a copy for at most 90 days"),
    ("purpose=panel_meeting&destroy_by=2026-11-01", "cannot be in the past"),
    ("purpose=panel_meeting&destroy_by=soon", "destroy_by: must be a date, YYYY-MM-DD"),
])
def test_a_wrong_purpose_or_date_is_refused_with_422(cohort, login_as, client, query, words):
    login_as("probation")
    for path in ("/panels/IOM/export.csv", "/panels/IOM/export.xlsx", "/panels/IOM/print"):
        resp = client.get(f"{path}?{query}")
        assert resp.status_code == 422 and words in resp.get_data(as_text=True), (path, resp.get_data(as_text=True))
    assert _records() == []


def test_csv_carries_its_marking_on_every_row_and_still_round_trips(cohort, partnership, login_as, client):
    login_as("probation")
    resp = client.get(f"/panels/IOM/export.csv?{WHY}")
    assert resp.status_code == 200
    text = resp.data.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 4 and [r["ref"] for r in rows] == [r["ref"] for r in cohort]  # a table: one row a case
    assert {r[MARKING_COLUMN] for r in rows} == {f"{MARKING_PREFIX} {MARKING}"}
    assert list(rows[0])[-1] == MARKING_COLUMN
    rec = _records()[0]
    assert (rec.kind, rec.purpose, rec.rows, rec.destroy_by) == ("csv", "panel_meeting", 4, dt.date(2026, 12, 23))
    event = db.session.execute(db.select(AccessEvent).filter_by(action="export")).scalar_one()
    assert "export no. 1" in event.purpose
    # read back: the marking column is ignored; the unchanged file imports and changes nothing
    headers, table = read_table("export.csv", resp.data)
    assert len(table) == 4 and headers[-1] == MARKING_COLUMN
    before = [(c.id, c.version) for c in db.session.execute(db.select(Case).order_by(Case.id)).scalars()]
    policy = policy_for(partnership, "probation")
    from panels.models import Panel

    iom = db.session.execute(db.select(Panel).filter_by(code="IOM")).scalar_one()
    plan = plan_import(iom, headers, table, policy, filename="export.csv")
    assert plan.errors == [], plan.errors
    result = apply_import(plan, policy)
    db.session.commit()
    assert "0 new case(s)" in result.summary()
    assert [(c.id, c.version) for c in db.session.execute(db.select(Case).order_by(Case.id)).scalars()] == before


def test_xlsx_marking_in_the_sheet_the_printed_header_and_the_properties(cohort, login_as, client):
    login_as("probation")
    data = client.get(f"/panels/IOM/export.xlsx?{WHY}&destroy_by=2026-12-10").data
    book = openpyxl.load_workbook(io.BytesIO(data))
    sheet = book.worksheets[0]
    marking = MARKING.replace("23 Dec 2026", "10 Dec 2026")
    header = [c.value for c in sheet[1]]
    assert header[-1] == MARKING_COLUMN and sheet.max_row == 5
    assert {sheet.cell(r, len(header)).value for r in range(2, 6)} == {f"{MARKING_PREFIX} {marking}"}
    assert marking in sheet.oddHeader.center.text
    assert book.properties.description == marking and book.properties.subject == marking
    headers, table = read_table("export.xlsx", data)
    assert headers[0] == "ref" and len(table) == 4
    assert _records()[0].kind == "xlsx"


def test_print_shows_the_marking_at_the_top_and_the_bottom(cohort, login_as, client):
    login_as("probation")
    page = client.get(f"/panels/IOM/print?{WHY}&destroy_by=2026-12-01").get_data(as_text=True)
    marking = MARKING.replace("Export no.", "Print no.").replace("23 Dec 2026", "1 Dec 2026")
    for where in ("top", "bottom"):
        start = page.index(f'id="export-marking-{where}"')
        assert marking in page[start:start + 600], where
    assert page.index('id="export-marking-top"') < page.index("Current cohort") < page.index(
        'id="export-marking-bottom"')
    rec = _records()[0]
    assert (rec.kind, rec.rows) == ("print", 4)


def test_the_command_line_records_its_purpose(cohort, runner, tmp_path):
    out = tmp_path / "out.xlsx"
    base = ["cohort", "export", "--panel", "IOM", "--as", "probation@test.example", "-o", str(out)]
    wrong = runner.invoke(args=[*base, "--purpose", "curiosity"])
    assert wrong.exit_code == 2 and "'curiosity' is not one of" in wrong.output
    too_long = runner.invoke(args=[*base, "--purpose", "legal_request", "--destroy-by", "2027-09-01"])
    assert too_long.exit_code == 2 and "Keep a copy for at most 90 days" in too_long.output
    assert not out.exists() and _records() == []
    done = runner.invoke(args=[*base, "--purpose", "legal_request", "--destroy-by", "2026-12-05", "--format", "xlsx",
                               "--note", "court order 12"])
    assert done.exit_code == 0, done.output
    assert "export no. 1, destroy by 2026-12-05" in done.output
    rec = _records()[0]
    assert (rec.kind, rec.purpose, rec.purpose_note, rec.rows) == ("xlsx", "legal_request", "court order 12", 4)
    book = openpyxl.load_workbook(out)
    assert "Export no. 1 by Pete Probation (NPS)" in book.properties.description
    sheet = book.worksheets[0]
    assert sheet.cell(2, sheet.max_column).value.startswith(f"{MARKING_PREFIX} Export no. 1 by Pete Probation")


def _prepare(partnership):
    """Lead officer, a review due today, two open actions and a done one on the first case."""
    case = db.session.execute(db.select(Case).order_by(Case.ref)).scalars().first()
    case.lead_officer = "DC Officer Tester"
    case.next_review = clock.today()
    case.panel.inclusion_review_days = 30  # referred more than 30 days ago, never decided: overdue
    case.referral_date = dt.date(2026, 9, 1)
    for status in ("open", "open", "done"):
        db.session.add(Action(case_id=case.id, status=status, due=dt.date(2026, 12, 1), description="Visit"))
    db.session.commit()
    return case


def test_information_columns_as_each_agency_may_read_them(cohort, partnership, login_as, client):
    case = _prepare(partnership)
    login_as("probation")
    headers, rows = read_table("e.csv", client.get(f"/panels/IOM/export.csv?{WHY}").data)
    assert headers[-6:] == ["status", "lead_officer", "next_review", "flags", "open_actions", MARKING_COLUMN]
    row = dict(zip(headers, next(r for r in rows if r[0] == case.ref), strict=True))
    assert row["status"] == "Active" and row["lead_officer"] == "DC Officer Tester"
    assert row["next_review"] == "2026-11-23" and row["open_actions"] == "2"
    assert "Review due" in row["flags"] and "Inclusion review overdue" in row["flags"]
    others = [dict(zip(headers, r, strict=True)) for r in rows if r[0] != case.ref]
    assert {r["open_actions"] for r in others} == {"0"}
    # DWP reads identity and resettlement only: no officer, review, actions, nor flags drawn from them
    login_as("dwp")
    headers, rows = read_table("e.csv", client.get(f"/panels/IOM/export.csv?{WHY}").data)
    assert "lead_officer" not in headers and "next_review" not in headers and "open_actions" not in headers
    assert headers[-3:] == ["status", "flags", MARKING_COLUMN]
    assert all(r[headers.index("flags")] == "" for r in rows)
    # the print shows the same columns
    login_as("probation")
    page = client.get(f"/panels/IOM/print?{WHY}").get_data(as_text=True)
    assert "DC Officer Tester" in page and "Review due" in page and ">Open actions<" in page


# -- two worlds: an agency's export never depends on what its agreements withhold -------

def _world(app, monkeypatch, vary: bool) -> dict[str, bytes]:
    from cohort import services
    from sharing.policy import Policy
    from tests.security.two_worlds import panel, user

    fresh_world(app, monkeypatch, partnership_data())
    clock.set_now(clock_at("2026-11-23T10:00:00"))
    writer = Policy(user("probation"))
    for i in range(3):
        # identity and resettlement (what DWP reads) the same; offending, risk and contact differ
        nominal = services.create_nominal(given_name=f"Given{i}", family_name="Same", address=(
            f"{i} Secret Street" if vary else f"{i} Other Road"), postcode="NG7 3AB" if vary else "NG1 1AA")
        case = services.refer(
            nominal, panel("IOM"), ref=f"IOM-{i}", policy=writer, status="active",
            referral_date=dt.date(2026, 11, 20) if vary else dt.date(2025, 1, 5),
            rag="red" if vary else "green", risk_level="high" if vary else "low",
            lead_officer="DC Varied" if vary else "DS Other", next_review=dt.date(2026, 11, 1) if vary else None,
            last_engagement=None if vary else dt.date(2026, 11, 20), accommodation="Settled", employment="None")
        if vary:
            db.session.add(Action(case_id=case.id, status="open", due=dt.date(2026, 12, 1), description="x"))
    db.session.commit()
    seen = {}
    for short in ("dwp", "probation"):
        client = app.test_client()
        assert login(client, short).status_code == 302
        csv_body = client.get(f"/panels/IOM/export.csv?{WHY}").data
        book = openpyxl.load_workbook(io.BytesIO(client.get(f"/panels/IOM/export.xlsx?{WHY}").data))
        cells = [[c.value for c in row] for row in book.worksheets[0].iter_rows()]
        printed = without_nonces(client.get(f"/panels/IOM/print?{WHY}").data)
        seen[short] = (csv_body, cells, book.properties.description, printed)
    return seen


def test_an_export_for_an_agency_is_the_same_in_worlds_differing_only_in_what_it_may_not_read(app, monkeypatch):
    a, b = _world(app, monkeypatch, False), _world(app, monkeypatch, True)
    for i, what in enumerate(("csv", "xlsx cells", "xlsx properties", "print")):
        assert a["dwp"][i] == b["dwp"][i], what
    # the check has teeth: probation, which reads all of it, sees the worlds differ
    assert a["probation"][0] != b["probation"][0] and a["probation"][3] != b["probation"][3]


def test_the_contracts_command_without_a_purpose_still_exports_recorded_as_not_stated(cohort, runner, tmp_path):
    """CONTRACT.md's `cohort export --panel --as --format -o` names no purpose: scripts keep working,
    the register says 'not stated' (the DPO's list shows it) and the file is marked all the same."""
    out = tmp_path / "out.csv"
    done = runner.invoke(args=["cohort", "export", "--panel", "IOM", "--as", "probation@test.example",
                               "--format", "csv", "-o", str(out)])
    assert done.exit_code == 0, done.output
    assert "purpose as not stated" in done.output
    rec = _records()[0]
    assert (rec.kind, rec.purpose, rec.rows) == ("csv", "not_stated", 4)
    assert all(line.endswith(",marking") or MARKING_PREFIX in line
               for line in out.read_text(encoding="utf-8-sig").splitlines())
