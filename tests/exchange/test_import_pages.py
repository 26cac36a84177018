"""The import pages: upload -> preview (nothing written) -> confirm -> tracker."""

from __future__ import annotations

import io
import re

import pytest

from cohort.models import Case, Nominal
from core.extensions import db
from sharing.models import AccessEvent
from tests.exchange.test_import_helpers import csv_bytes, synthetic_rows, xlsx_bytes
from tests.support import access_events


@pytest.fixture
def uploads(app, tmp_path, monkeypatch):
    """Keep stored uploads in the test's own folder."""
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    return tmp_path / "uploads"


def counts() -> tuple[int, int]:
    db.session.rollback()
    return (db.session.scalar(db.select(db.func.count(Nominal.id))),
            db.session.scalar(db.select(db.func.count(Case.id))))


def upload(client, data: bytes, name: str = "iom.csv", panel: str = "IOM"):
    return client.post(f"/panels/{panel}/import", data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def preview_url(resp) -> str:
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    location = resp.headers["Location"]
    assert re.fullmatch(r"/panels/IOM/import/[A-Za-z0-9_-]{32}", location), location
    return location


def test_upload_preview_confirm(partnership, login_as, client, uploads):
    login_as("probation")
    page = client.get("/panels/IOM/import")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<title>Import a cohort list to IOM main panel – Manage risk panels</title>" in html
    assert 'enctype="multipart/form-data"' in html and 'type="file"' in html

    rows = synthetic_rows(25)
    url = preview_url(upload(client, csv_bytes(rows)))
    stored = list(uploads.iterdir())
    assert len(stored) == 1 and rows[0]["family_name"].encode() not in stored[0].read_bytes()  # encrypted

    html = client.get(url).get_data(as_text=True)
    assert "Check the import" in html and "govuk-error-summary" not in html
    assert re.search(r"New people\s*</dt>\s*<dd[^>]*>\s*25\s", html)
    assert re.search(r"Updated cases\s*</dt>\s*<dd[^>]*>\s*0\s", html)
    assert "The first 20 rows" in html and rows[19]["ref"] in html and rows[20]["ref"] not in html
    assert "Import 25 rows" in html
    assert counts() == (0, 0)  # the preview writes nothing
    assert "import preview: 25 row(s), 0 problem(s)" in db.session.execute(
        db.select(AccessEvent.detail).filter_by(action="view")).scalar_one()

    resp = client.post(url)
    assert resp.status_code == 302 and resp.headers["Location"] == "/panels/IOM/tracker"
    assert counts() == (25, 25)
    assert not list(uploads.iterdir())  # the upload is deleted once imported
    html = client.get("/panels/IOM/tracker").get_data(as_text=True)
    assert "Imported iom.csv: 25 new case(s) (25 new people" in html and "govuk-notification-banner--success" in html

    # The same token cannot be confirmed twice.
    resp = client.post(url)
    assert resp.status_code == 302 and resp.headers["Location"] == "/panels/IOM/import"
    assert counts() == (25, 25)


def test_preview_lists_every_row_error_and_writes_nothing(partnership, login_as, client, uploads):
    login_as("probation")
    rows = synthetic_rows(6)
    rows[1]["pnc"] = "2001/0012345Z"
    rows[3]["referral_date"] = "12/31/2025"
    rows[5]["cohort_type"] = "sometimes"
    url = preview_url(upload(client, xlsx_bytes(rows), name="iom.xlsx"))
    resp = client.get(url)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "<title>Error: Check the import: iom.xlsx" in html
    assert "3 problems in iom.xlsx: nothing has been imported" in html
    summary = html[html.index("govuk-error-summary"):html.index("Check the import</h1>")]
    # Spreadsheet rows (the column names are row 1), each with the row's own ref, columns in words.
    assert re.search(r"<li>Row 3 \(ref IOM-00002\): PNC ID: [^<]+</li>", summary)
    assert "<li>Row 5 (ref IOM-00004): referral date: &#39;12/31/2025&#39; is not a date" in summary
    assert "<li>Row 7 (ref IOM-00006): cohort type: must be fixed, flex or free" in summary
    assert not re.search(r"<li>[^<]*(referral_date|cohort_type|\brow \d)", summary)
    assert "Import 3 rows" not in html and "Upload a corrected file" in html
    assert client.post(url).status_code == 200  # confirm re-validates and refuses
    assert counts() == (0, 0)


def test_confirm_revalidates_against_the_cohort_as_it_is_now(partnership, login_as, client, uploads, runner,
                                                            tmp_path):
    login_as("probation")
    rows = synthetic_rows(3)
    url = preview_url(upload(client, csv_bytes(rows)))
    assert "Import 3 rows" in client.get(url).get_data(as_text=True)
    # Meanwhile someone else puts the first person on the panel under another ref.
    other = tmp_path / "other.csv"
    other.write_bytes(csv_bytes([rows[0] | {"ref": "OTHER-1"}]))
    assert runner.invoke(args=["cohort", "import", str(other), "--panel", "IOM",
                               "--as", "probation@test.example"]).exit_code == 0
    resp = client.post(url)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "Row 2 (ref IOM-00001): ref: this person (matched on PNC ID) is already on the IOM panel as OTHER-1" in html
    assert counts() == (1, 1)


def test_an_upload_belongs_to_the_user_who_made_it(partnership, login_as, client, uploads, app):
    login_as("probation")
    url = preview_url(upload(client, csv_bytes(synthetic_rows(2))))
    other = app.test_client()
    assert other.post("/sign-in", data={"email": "police@test.example",
                                        "password": "orchid-lantern-42"}).status_code == 302
    resp = other.get(url)
    assert resp.status_code == 302 and resp.headers["Location"] == "/panels/IOM/import"
    assert other.post(url).status_code == 302
    assert counts() == (0, 0)
    assert client.get(url).status_code == 200  # still there for its owner


def test_size_limit_and_file_type(partnership, login_as, client, uploads, app, monkeypatch):
    login_as("probation")
    monkeypatch.setitem(app.config, "MAX_IMPORT_BYTES", 2048)
    resp = upload(client, csv_bytes(synthetic_rows(30)))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "govuk-error-summary" in html
    assert "The selected file must be smaller than 2 KB" in html

    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64)
    html = upload(client, png, name="cohort.csv").get_data(as_text=True)
    assert "The selected file must be a CSV or Excel (.xlsx) spreadsheet" in html
    html = upload(client, png, name="cohort.xlsx").get_data(as_text=True)
    assert "The selected file must be a CSV or Excel (.xlsx) spreadsheet" in html
    html = client.post("/panels/IOM/import", data={}, content_type="multipart/form-data").get_data(as_text=True)
    assert "Select a CSV or Excel (.xlsx) file" in html
    assert not uploads.exists() or not list(uploads.iterdir())


def test_size_message_in_megabytes(partnership, login_as, client, uploads, app, monkeypatch):
    login_as("probation")
    monkeypatch.setitem(app.config, "MAX_IMPORT_BYTES", 1024 * 1024)
    big = csv_bytes(synthetic_rows(6000))
    assert len(big) > 1024 * 1024
    assert "The selected file must be smaller than 1 MB" in upload(client, big).get_data(as_text=True)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "cp1252"])
def test_bom_and_windows_1252_uploads(partnership, login_as, client, uploads, encoding):
    login_as("probation")
    rows = synthetic_rows(1)
    rows[0].update(given_name="Zoë", family_name="O'Brien")
    url = preview_url(upload(client, csv_bytes(rows, encoding=encoding)))
    assert "Zo\u00eb" in client.get(url).get_data(as_text=True)
    assert client.post(url).status_code == 302
    db.session.rollback()
    assert db.session.execute(db.select(Case)).scalar_one().nominal.full_name == "Zoë O'Brien"


def test_who_may_import(partnership, login_as, client, uploads):
    login_as("dwp")  # reads IOM, may not write cases
    assert client.get("/panels/IOM/import").status_code == 403
    assert upload(client, csv_bytes(synthetic_rows(1))).status_code == 403
    refusal = access_events(action="refused")[-1]
    assert "import" in refusal.detail and refusal.user_email == "dwp@test.example"
    login_as("nogrant")
    assert client.get("/panels/IOM/import").status_code == 404
    client.post("/sign-out")
    resp = client.get("/panels/IOM/import")
    assert resp.status_code == 302 and "/sign-in" in resp.headers["Location"]


def test_preview_shows_only_columns_the_user_may_read(partnership, login_as, client, uploads):
    login_as("coord")  # LACS: may not read contact on IOM, so the file is refused, and addresses are not shown
    rows = synthetic_rows(1)
    url = preview_url(upload(client, csv_bytes(rows)))
    html = client.get(url).get_data(as_text=True)
    assert "Row 1 (the column names): address, postcode: LACS may not write contact data on the IOM panel" in html
    assert rows[0]["address"] not in html
    assert counts() == (0, 0)


def test_an_upload_that_has_gone_sends_the_user_back_to_upload_again(partnership, login_as, client, uploads):
    """The preview and the confirmation of an upload that expired (or was never made, or is
    another panel's) both go back to the upload form with the reason, and write nothing."""
    login_as("probation")
    url = preview_url(upload(client, csv_bytes(synthetic_rows(3))))
    other = "/panels/IOM/import/" + "A" * 32
    for method, path in (("get", other), ("post", other), ("get", url.replace("/IOM/", "/MAPPA/"))):
        resp = getattr(client, method)(path)
        assert resp.status_code == 302, (method, path, resp.status_code)
        assert resp.headers["Location"].endswith("/import")
        page = client.get(resp.headers["Location"]).get_data(as_text=True)
        assert "That upload has expired or cannot be found. Upload the file again." in page
    assert counts() == (0, 0)


def test_a_waiting_upload_is_sealed_by_the_services_one_encryption_path(partnership, login_as, client, uploads):
    """The file between preview and confirmation is a keyring value under the "upload" data key
    (versioned and rotated with the others), bound to its token: renamed, it opens for nobody."""
    from sharing.crypto import blob_version

    login_as("probation")
    rows = synthetic_rows(3)
    url = preview_url(upload(client, csv_bytes(rows)))
    (stored,) = uploads.iterdir()
    assert blob_version(stored.read_bytes()) == ("upload", 1)
    assert rows[0]["family_name"].encode() not in stored.read_bytes()
    moved = "B" * 32
    stored.rename(uploads / moved)
    resp = client.get(url.rsplit("/", 1)[0] + "/" + moved)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/import")
