"""The import template: the columns this user may import on the panel, drop-down lists for
coded columns in the Excel version, and a file that imports once filled in."""

from __future__ import annotations

import io

import openpyxl
import pytest

from tests.html import Page


def _workbook(resp):
    assert resp.status_code == 200
    assert resp.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return openpyxl.load_workbook(io.BytesIO(resp.data))


def test_the_excel_template_has_the_users_columns_and_drop_downs(login_as, partnership):
    client = login_as("police")  # POLICE on IOM writes identity, contact, offending, risk, intelligence
    book = _workbook(client.get("/panels/IOM/import-template.xlsx"))
    assert book.sheetnames[0] == "Cohort"
    header = [c.value for c in book["Cohort"][1]]
    assert header[:3] == ["ref", "given_name", "family_name"]
    assert "rag" in header and "lead_agency" in header
    assert "accommodation" not in header and "employment" not in header  # resettlement: not POLICE's to write
    checks = {str(dv.sqref).split(":")[0]: dv for dv in book["Cohort"].data_validations.dataValidation}
    rag = checks[f"{openpyxl.utils.get_column_letter(header.index('rag') + 1)}2"]
    lists = book["Lists"]
    column = rag.formula1.split("!")[1].split(":")[0].replace("$", "")[:-1]
    assert [lists[f"{column}{i}"].value for i in (1, 2, 3)] == ["red", "amber", "green"]
    agency_col = openpyxl.utils.get_column_letter(header.index("lead_agency") + 1)
    agencies = {lists[f"{agency_col}{i}"].value for i in range(1, 10)} - {None}
    assert {"POLICE", "NPS", "DWP"} <= agencies and "SYSTEM" not in agencies
    notes = {row[0]: row[2] for row in book["Columns"].iter_rows(min_row=2, values_only=True)}
    assert notes["ref"].startswith("Required") and "2026-03-31" in notes["date_of_birth"]


def test_the_csv_template_is_the_header_and_probation_sees_its_own_columns(login_as, partnership):
    client = login_as("probation")
    resp = client.get("/panels/IOM/import-template.csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    header = resp.data.decode("utf-8-sig").strip().split(",")
    assert "accommodation" in header and "employment" in header and header[0] == "ref"
    assert len(resp.data.decode("utf-8-sig").strip().splitlines()) == 1


def test_the_template_filled_in_imports(login_as, partnership):
    client = login_as("police")
    book = _workbook(client.get("/panels/IOM/import-template.xlsx"))
    sheet = book["Cohort"]
    header = [c.value for c in sheet[1]]
    row = dict.fromkeys(header, None) | {"ref": "TPL-1", "given_name": "Tempa", "family_name": "Late", "rag": "red"}
    sheet.append([row[h] for h in header])
    out = io.BytesIO()
    book.save(out)
    resp = client.post("/panels/IOM/import", data={"file": (io.BytesIO(out.getvalue()), "filled.xlsx")},
                       content_type="multipart/form-data")
    assert resp.status_code == 302, Page(resp).error_summary
    preview = Page(client.get(resp.headers["Location"]))
    assert "1 row" in preview.visible_text() and "Tempa" in preview.visible_text()


@pytest.mark.parametrize("who", ["dwp", "nogrant"])
def test_no_template_without_the_right_to_import(login_as, partnership, who):
    assert login_as(who).get("/panels/IOM/import-template.xlsx").status_code in (403, 404)


def test_the_import_page_links_both_templates(login_as, partnership):
    page = Page(login_as("police").get("/panels/IOM/import"))
    assert {"/panels/IOM/import-template.xlsx", "/panels/IOM/import-template.csv"} <= set(page.links())
