"""In Chromium: an XLSX cohort with errors shows every row error and imports nothing; a clean one imports."""

from __future__ import annotations

import re

import pytest

from cohort.models import Case, Nominal
from core.extensions import db
from tests.exchange.test_import_helpers import synthetic_rows, xlsx_bytes

pytestmark = pytest.mark.browser
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def ready(engine_name, partnership, app, tmp_path, monkeypatch):
    if engine_name != "sqlite":
        pytest.skip("browser tests run once, on SQLite")
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    db.session.commit()
    db.session.remove()


def counts() -> tuple[int, int]:
    db.session.remove()
    return (db.session.scalar(db.select(db.func.count(Nominal.id))),
            db.session.scalar(db.select(db.func.count(Case.id))))


def choose_and_upload(page, name: str, data: bytes) -> None:
    page.goto("/panels/IOM/import")
    page.set_input_files("input[type=file]", files=[{"name": name, "mimeType": XLSX, "buffer": data}])
    page.get_by_role("button", name="Upload and check").click()
    page.wait_for_url(re.compile(r"/panels/IOM/import/[A-Za-z0-9_-]{32}$"))


def test_xlsx_with_errors_lists_every_error_and_writes_nothing(page_for, ready):
    rows = synthetic_rows(40)
    rows[2]["pnc"] = "2001/0012345Z"
    rows[17]["date_of_birth"] = "1990-13-01"
    rows[30]["rag"] = "blue"
    rows[38]["lead_agency"] = "NOWHERE"
    page = page_for("probation")
    choose_and_upload(page, "cohort.xlsx", xlsx_bytes(rows))

    assert page.title().startswith("Error: Check the import: cohort.xlsx")
    summary = page.locator(".govuk-error-summary")
    assert summary.get_by_role("heading").inner_text() == "4 problems in cohort.xlsx: nothing has been imported"
    items = summary.locator("li").all_inner_texts()
    assert len(items) == 4
    # Numbered as the spreadsheet shows them (the column names are row 1), with each row's ref.
    assert items[0].startswith("Row 4 (ref IOM-00003): PNC ID: ")
    assert items[1].startswith("Row 19 (ref IOM-00018): date of birth: '1990-13-01' is not a date")
    assert items[2].startswith("Row 32 (ref IOM-00031): RAG: must be red, amber or green")
    assert items[3] == "Row 40 (ref IOM-00039): lead agency: no agency has the code 'NOWHERE'"
    assert page.get_by_role("button", name=re.compile("^Import")).count() == 0
    assert counts() == (0, 0)

    # Corrected, the same list imports and lands on the tracker with a success banner.
    rows[2]["pnc"], rows[17]["date_of_birth"], rows[30]["rag"], rows[38]["lead_agency"] = "", "1990-12-01", "red", ""
    page.get_by_role("link", name="Upload a corrected file").click()
    choose_and_upload(page, "cohort.xlsx", xlsx_bytes(rows))
    # The preview can be checked before confirming: RAG and lead agency in words beside the
    # ref, and every column reachable inside the table's own scroll region, even on a phone.
    table = page.locator(".app-import-table")
    headers = table.locator("thead th").all_inner_texts()
    assert headers[:6] == ["Ref (row)", "What happens", "Given name", "Family name", "RAG", "Lead agency"]
    assert "_" not in " ".join(headers)
    first = table.locator("tbody tr").first.locator("th, td").all_inner_texts()
    assert first[0] == "IOM-00001 (row 2)" and first[4] == rows[0]["rag"].capitalize()
    if rows[0]["lead_agency"]:
        assert first[5].startswith(rows[0]["lead_agency"] + " (")
    page.set_viewport_size({"width": 375, "height": 800})
    region = page.get_by_role("region", name="Rows to import")
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    region.evaluate("el => { el.scrollLeft = el.scrollWidth; }")
    last = table.locator("thead th").last
    box, pane = last.bounding_box(), region.bounding_box()
    assert box["x"] + box["width"] <= pane["x"] + pane["width"] + 1  # the last column scrolled into view
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("button", name="Import 40 rows").click()
    page.wait_for_url(re.compile(r"/panels/IOM/tracker$"))
    assert "Imported cohort.xlsx: 40 new case(s)" in page.locator(".govuk-notification-banner").inner_text()
    assert counts() == (40, 40)
