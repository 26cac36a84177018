"""Hostile uploads: too big, wrong type, zip bombs, bad dates, odd encodings, huge names. Nothing written."""

from __future__ import annotations

import io
import re
import time
import zipfile

import pytest

from tests.security.world import counts, upload
from tests.support import login

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64


def errors(body: str) -> str:
    """The GOV.UK error summary's text (empty when there is none)."""
    found = re.search(r'govuk-error-summary__list">(.*?)</ul>', body, re.S)
    return re.sub(r"<[^>]+>|\s+", " ", found.group(1)).strip() if found else ""


def refused_upload(client, data: bytes, filename: str) -> str:
    """Upload, expect the form back with a clear error; confirm nothing was stored as a preview."""
    resp = upload(client, data=data, filename=filename)
    body = resp.get_data(as_text=True)
    assert resp.status_code in (200, 422), (filename, resp.status_code)
    assert "Traceback" not in body
    message = errors(body)
    assert message, f"no error summary for {filename}"
    return message


def import_through(client, data: bytes, filename: str = "cohort.csv"):
    """Upload and (if the preview allows it) confirm; returns the preview page text."""
    resp = upload(client, data=data, filename=filename)
    assert resp.status_code == 302, errors(resp.get_data(as_text=True))
    preview = client.get(resp.headers["Location"]).get_data(as_text=True)
    client.post(resp.headers["Location"], data={})
    return preview


@pytest.fixture
def coord(app, world):
    client = app.test_client()
    login(client, "coord")
    return client


def test_wrong_types_and_garbage_are_clear_errors(coord):
    before = counts()
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/worksheets/sheet1.xml", "<" + "a" * (20 * 1024 * 1024))
    garbage_zip = b"PK\x03\x04" + b"\x00" * 200
    cases = [(PNG, "cohort.csv"), (PNG, "cohort.xlsx"), (garbage_zip, "cohort.xlsx"), (bomb.getvalue(), "c.xlsx"),
             (b"", "cohort.csv"), (b"\x00\x01\x02" * 100, "cohort.csv")]
    for data, name in cases:
        started = time.monotonic()
        message = refused_upload(coord, data, name)
        assert time.monotonic() - started < 20, name
        assert "Traceback" not in message and len(message) < 500
    assert counts() == before


def test_a_name_that_does_not_match_the_content_is_refused_and_nothing_is_kept(app, coord, tmp_path, monkeypatch):
    """Type-checked by name as well as content: cohort.exe holding a perfectly good CSV, a
    workbook renamed .csv, a CSV renamed .xlsx... each a GOV.UK error summary, nothing kept."""
    from tests.exchange.test_import_helpers import csv_bytes, synthetic_rows, xlsx_bytes

    monkeypatch.setattr(app, "instance_path", str(tmp_path))  # this test's own uploads folder
    stored = tmp_path / "uploads"
    before = counts()
    text, workbook = csv_bytes(synthetic_rows(2)), xlsx_bytes(synthetic_rows(2))
    cases = {
        (text, "cohort.exe"): "(cohort.exe is named as a .exe file: the name must end .csv or .xlsx)",
        (workbook, "cohort.exe"): "(cohort.exe is named as a .exe file: the name must end .csv or .xlsx)",
        (text, "cohort.csv.exe"): "(cohort.csv.exe is named as a .exe file",
        (text, "cohort"): "(cohort has no .csv or .xlsx at the end of its name)",
        (workbook, "cohort.csv"): "(cohort.csv is named .csv but holds a ZIP archive such as an Excel workbook",
        (text, "cohort.xlsx"): "The selected file must be a CSV or Excel (.xlsx) spreadsheet",
        (workbook, "cohort.xlsm"): "macro-enabled workbook: save it as an Excel Workbook (.xlsx), without macros",
        (text, "cohort.html"): "(cohort.html is named as a .html file",
    }
    for (data, name), expected in cases.items():
        resp = upload(coord, data=data, filename=name)
        body = resp.get_data(as_text=True)
        assert resp.status_code == 200, name
        message = errors(body)
        assert message.startswith("The selected file must be a CSV or Excel (.xlsx) spreadsheet"), (name, message)
        assert expected in message, (name, message)
        assert "<title>Error: " in body and 'href="#file"' in body  # the summary links to the field
        assert 'id="file-error"' in body  # and the message is on the field too
    assert not stored.exists() or not list(stored.iterdir())  # no upload kept for a preview
    assert counts() == before

    # The same bytes under the right names go through to the preview.
    for data, name in ((text, "cohort.csv"), (text, "Cohort.TXT"), (workbook, "cohort.xlsx")):
        resp = upload(coord, data=data, filename=name)
        assert resp.status_code == 302 and "/panels/IOM/import/" in resp.headers["Location"], name
    assert counts() == before


def test_the_file_picker_offers_only_accepted_types(coord):
    html = coord.get("/panels/IOM/import").get_data(as_text=True)
    assert re.search(r'<input[^>]*type="file"[^>]*accept="\.csv,\.txt,\.tsv,\.xlsx,text/csv,'
                     r'application/vnd\.openxmlformats-officedocument\.spreadsheetml\.sheet"', html)


def test_malformed_rows_write_nothing(coord):
    before = counts()
    rows = ("ref,given_name,family_name,date_of_birth,referral_date\n"
            "BAD-1,Ann,Ok,31/02/1990,2026-01-01\n"
            "BAD-2,Bob,Ok,1990-13-01,2026-01-01\n"
            "BAD-3,Cy,Ok,yesterday,2026-01-01\n"
            "BAD-4,Di,Ok,1990-01-01,01/01/0000\n"
            "GOOD-1,Ed,Ok,1990-01-01,2026-01-01\n")
    preview = import_through(coord, rows.encode())
    assert re.search(r"row \d+", preview, re.I)
    assert counts() == before  # all or nothing: the good row is not imported either


def test_a_huge_name_is_refused_not_truncated_or_crashing(coord):
    before = counts()
    rows = "ref,given_name,family_name\nLONG-1," + "A" * 10_000 + ",Person\n"
    resp = upload(coord, data=rows.encode(), filename="cohort.csv")
    assert resp.status_code in (200, 302, 422)
    if resp.status_code == 302:
        preview = coord.get(resp.headers["Location"]).get_data(as_text=True)
        assert coord.post(resp.headers["Location"], data={}).status_code in (200, 422)
        assert re.search(r"row \d+", preview, re.I)
    assert counts() == before
    # and through the refer form
    resp = coord.post("/panels/IOM/refer/new", data={"given_name": "A" * 10_000, "family_name": "B", "ref": "L-2"})
    assert resp.status_code in (200, 422) and errors(resp.get_data(as_text=True))
    assert counts() == before


def test_a_bom_and_windows_1252_are_read_correctly(coord):
    from cohort.models import Nominal
    from core.extensions import db

    before = counts()
    bom = "\ufeffref,given_name,family_name\nBOM-1,Zoë,O'Brien\n".encode()
    import_through(coord, bom)
    cp1252 = "ref,given_name,family_name\nWIN-1,Seán,Müller\n".encode("cp1252")
    resp = upload(coord, data=cp1252, filename="cohort.csv")
    if resp.status_code == 302:
        coord.post(resp.headers["Location"], data={})
    else:
        assert errors(resp.get_data(as_text=True))  # refused clearly is fine too; garbling is not
    names = {(n.given_name, n.family_name) for n in db.session.execute(db.select(Nominal)).scalars()}
    assert ("Zoë", "O'Brien") in names
    assert not any(g and ("Ã" in g or "\ufffd" in g) for g, _ in names)
    assert counts()["cases"] in (before["cases"] + 1, before["cases"] + 2)
    if counts()["cases"] == before["cases"] + 2:
        assert ("Seán", "Müller") in names


def test_too_large_files(strict_app, world):
    small = strict_app(MAX_CONTENT_LENGTH=8192, MAX_IMPORT_BYTES=2048)
    client = small.test_client()
    login(client, "coord")
    before = counts()
    over_import_limit = ("ref,given_name\n" + "".join(f"R{n:05d},Name\n" for n in range(300))).encode()
    assert 2048 < len(over_import_limit) < 8192
    resp = upload(client, data=over_import_limit)
    assert resp.status_code in (200, 413, 422)
    assert "smaller than" in errors(resp.get_data(as_text=True)) or resp.status_code == 413
    resp = upload(client, data=b"ref,given_name\n" + b"R1,Name\n" * 5000)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 413
    assert "too large" in body and "Traceback" not in body and "<html" in body
    assert counts() == before
