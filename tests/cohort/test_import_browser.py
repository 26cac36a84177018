"""In Chromium: an XLSX cohort with errors shows every row error and imports nothing; a clean one imports."""

from __future__ import annotations

import re

import pytest

from cohort.models import Case, Nominal
from core.extensions import db
from tests.cohort.test_import_helpers import synthetic_rows, xlsx_bytes

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
    assert items[0].startswith("row 4: pnc: ")
    assert items[1].startswith("row 19: date_of_birth: '1990-13-01' is not a date")
    assert items[2].startswith("row 32: rag: must be red, amber or green")
    assert items[3] == "row 40: lead_agency: no agency has the code 'NOWHERE'"
    assert page.get_by_role("button", name=re.compile("^Import")).count() == 0
    assert counts() == (0, 0)

    # Corrected, the same list imports and lands on the tracker with a success banner.
    rows[2]["pnc"], rows[17]["date_of_birth"], rows[30]["rag"], rows[38]["lead_agency"] = "", "1990-12-01", "red", ""
    page.get_by_role("link", name="Upload a corrected file").click()
    choose_and_upload(page, "cohort.xlsx", xlsx_bytes(rows))
    page.get_by_role("button", name="Import 40 rows").click()
    page.wait_for_url(re.compile(r"/panels/IOM/tracker$"))
    assert "Imported cohort.xlsx: 40 new case(s)" in page.locator(".govuk-notification-banner").inner_text()
    assert counts() == (40, 40)
