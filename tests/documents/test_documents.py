"""Documents on a case, through the pages: upload, list, download, refusals, limits, encryption."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from PIL import Image

from core.extensions import db
from documents.filetypes import DOCX_MAIN
from documents.models import CaseDocument
from sharing.models import AccessEvent
from tests.cohort.test_tracker_helpers import make_case
from tests.security.test_csrf import signed_in, token_in
from tests.security.two_worlds import without_nonces

PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


def image(fmt: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, fmt)
    return out.getvalue()


def docx(main: str = DOCX_MAIN, macro: bool = False, document: bool = True) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml",
                   f'<Types><Override PartName="/word/document.xml" ContentType="{main}"/></Types>')
        if document:
            z.writestr("word/document.xml", "<w:document><w:body><w:p>Risk management plan</w:p></w:body></w:document>")
        if macro:
            z.writestr("word/vbaProject.bin", b"\x00" * 64)
    return out.getvalue()


def errors(html: str) -> str:
    found = re.search(r'govuk-error-summary__list">(.*?)</ul>', html, re.S)
    return re.sub(r"<[^>]+>|\s+", " ", found.group(1)).strip() if found else ""


def post_file(client, case, data: bytes, filename: str, category: str = "health"):
    return client.post(f"/cases/{case.id}/documents/new", content_type="multipart/form-data",
                       data={"file": (io.BytesIO(data), filename), "category": category})


def stored() -> list[CaseDocument]:
    db.session.commit()  # end this session's read snapshot: see what the requests committed
    return list(db.session.execute(db.select(CaseDocument).order_by(CaseDocument.id)).scalars())


@pytest.fixture
def case(partnership):
    c = make_case(partnership, given="Dot", family="Cument")
    db.session.commit()
    return c


@pytest.mark.parametrize(("data", "filename", "kind", "shown"), [
    (PDF, "Risk plan.pdf", "pdf", "Risk plan.pdf"),
    (docx(), "MAPPA referral.docx", "docx", "MAPPA referral.docx"),
    (image("PNG"), "photo.png", "png", "photo.png"),
    (image("JPEG"), "photo.jpeg", "jpeg", "photo.jpg"),
])
def test_upload_list_and_download_each_type(login_as, client, case, data, filename, kind, shown):
    login_as("health")  # HEALTH on IOM: identity r, health rw
    resp = post_file(client, case, data, filename)
    assert resp.status_code == 302 and resp.location.endswith(f"/cases/{case.id}#documents")
    (doc,) = stored()
    assert doc.kind == kind and doc.category == "health" and doc.size == len(data)
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert f'href="/cases/{case.id}/documents/{doc.id}">{shown}</a>' in page
    got = client.get(f"/cases/{case.id}/documents/{doc.id}")
    assert got.status_code == 200 and got.data == data
    assert got.headers["Content-Disposition"].startswith("attachment;") and got.headers["Cache-Control"] == "no-store"
    assert got.headers["Content-Type"].split(";")[0] in ("application/pdf", "image/png", "image/jpeg",
                                                          "application/vnd.openxmlformats-officedocument"
                                                          ".wordprocessingml.document")
    ev = db.session.execute(db.select(AccessEvent).order_by(AccessEvent.seq.desc()).limit(1)).scalar_one()
    assert ev.action == "export" and ev.categories == "health" and ev.case_id == case.id
    assert ev.detail == f"document {doc.id} downloaded ({kind}, {len(data)} bytes)"
    assert shown not in ev.detail


@pytest.mark.parametrize(("data", "filename"), [
    (b"<html><script>alert(1)</script></html>", "report.pdf"),
    (b"MZ\x90\x00" + b"\x00" * 200, "photo.png"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 200, "photo.png"),
    (b"\xff\xd8\xff\xe0" + b"junk" * 50, "photo.jpg"),
    (b"%PDF-1.4 but never ends", "plan.pdf"),
    (docx(macro=True), "plan.docx"),
    (docx(main="application/vnd.ms-word.document.macroEnabled.main+xml"), "plan.docx"),
    (docx(document=False), "plan.docx"),
    (b"PK\x03\x04" + b"\x00" * 300, "plan.docx"),
    (b"GIF89a" + b"\x00" * 100, "photo.png"),
    (b"", "empty.pdf"),
])
def test_a_disguised_or_unsupported_file_is_refused_by_its_content(login_as, client, case, data, filename):
    login_as("health")
    resp = post_file(client, case, data, filename)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "<title>Error: " in html
    assert errors(html) in ("The file must be a PDF, a Word document (.docx), or a PNG or JPEG image",
                            "The selected file is empty", "Select a PDF, Word document (.docx), PNG or JPEG file")
    assert stored() == []


def test_a_real_file_with_the_wrong_name_gets_the_extension_of_what_it_is(login_as, client, case):
    login_as("health")
    assert post_file(client, case, PDF, "../../etc/plan.exe").status_code == 302
    assert post_file(client, case, image("PNG"), "C:\\Users\\x\\<script>alert(1)</script>.jpg").status_code == 302
    assert post_file(client, case, PDF, "\u202egnp.pdf\x00\x1f").status_code == 302
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    names = re.findall(r'/documents/\d+">([^<]*)</a>', page)
    assert names == ["gnp.pdf", "script.png", "plan.pdf"]  # the last path part of "...</script>.jpg"
    assert "<script>alert" not in page


def test_size_limit(login_as, client, case):
    login_as("health")
    big = PDF[:-6] + b"%" + b"x" * (10 * 1024 * 1024) + b"\n%%EOF\n"
    html = post_file(client, case, big, "big.pdf").get_data(as_text=True)
    assert errors(html) == "The selected file must be smaller than 10 MB"
    too_big = post_file(client, case, b"x" * (21 * 1024 * 1024), "huge.pdf")
    assert too_big.status_code == 413 and "Traceback" not in too_big.get_data(as_text=True)
    assert stored() == []


def test_only_categories_the_uploader_may_write_are_offered(login_as, client, case):
    login_as("health")
    form = client.get(f"/cases/{case.id}/documents/new").get_data(as_text=True)
    assert 'value="health"' in form and 'value="intelligence"' not in form
    resp = post_file(client, case, PDF, "plan.pdf", category="intelligence")
    assert resp.status_code == 200 and "Not a valid choice" in resp.get_data(as_text=True) and stored() == []
    login_as("dwp")  # reads identity and resettlement, writes nothing
    assert client.get(f"/cases/{case.id}/documents/new").status_code == 403


def test_a_document_in_a_withheld_category_is_not_listed_and_answers_as_nonexistent(login_as, client, case):
    login_as("health")
    post_file(client, case, PDF, "Health letter.pdf")
    (doc,) = stored()
    login_as("police")  # no health on IOM
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Health letter" not in page and "No documents you may read." in page
    assert "Health letter" not in client.get(f"/cases/{case.id}/chronology").get_data(as_text=True)
    hidden = client.get(f"/cases/{case.id}/documents/{doc.id}")
    missing = client.get(f"/cases/{case.id}/documents/{doc.id + 1000}")
    assert hidden.status_code == missing.status_code == 404
    assert without_nonces(hidden.data) == without_nonces(missing.data)
    refusals = db.session.execute(db.select(AccessEvent).filter_by(action="refused")
                                  .order_by(AccessEvent.seq.desc()).limit(2)).scalars().all()
    assert [r.detail for r in refusals] == ["document: none readable with that number on the case"] * 2
    # the document is on this case only: another case's URL does not reach it
    other = make_case(case_partnership(), given="Other", family="Person")
    login_as("health")
    assert client.get(f"/cases/{other.id}/documents/{doc.id}").status_code == 404


def case_partnership():
    from tests.support import Partnership

    return Partnership()


def test_documents_are_encrypted_at_rest_under_their_category(login_as, client, case):
    login_as("health")
    marker = b"UNIQUE-CLINICAL-MARKER-4711"
    post_file(client, case, PDF[:-6] + marker + b"\n%%EOF\n", "Secret clinic letter.pdf")
    post_file(client, case, image("PNG"), "second.png")
    first, second = stored()
    raw = db.session.execute(db.text("SELECT name_enc, content_enc FROM case_documents WHERE id = :i"),
                             {"i": first.id}).one()
    assert marker not in bytes(raw.content_enc) and b"Secret clinic" not in bytes(raw.name_enc)
    assert bytes(raw.content_enc)[2:8] == b"health"  # the field format: category key, version, nonce, ct
    # bound to its row: the first document's ciphertext copied onto the second does not open
    db.session.execute(db.text("UPDATE case_documents SET content_enc = :c WHERE id = :i"),
                       {"c": bytes(raw.content_enc), "i": second.id})
    db.session.commit()
    resp = client.get(f"/cases/{case.id}/documents/{second.id}")
    assert resp.status_code == 500 and marker not in resp.data


def test_the_upload_form_needs_its_csrf_token(strict_app, partnership, case):
    protected = strict_app(WTF_CSRF_ENABLED=True)
    client = signed_in(protected, "health")
    form = client.get(f"/cases/{case.id}/documents/new").get_data(as_text=True)
    no_token = post_file(client, case, PDF, "plan.pdf")
    assert no_token.status_code == 400 and stored() == []
    ok = client.post(f"/cases/{case.id}/documents/new", content_type="multipart/form-data",
                     data={"file": (io.BytesIO(PDF), "plan.pdf"), "category": "health", "csrf_token": token_in(form)})
    assert ok.status_code == 302, ok.location
    assert len(stored()) == 1, ok.location


def test_an_upload_is_in_the_chronology(login_as, client, case):
    login_as("health")
    post_file(client, case, PDF, "Care plan.pdf")
    html = client.get(f"/cases/{case.id}/chronology?category=health").get_data(as_text=True)
    assert "Document added" in html and "Care plan.pdf" in html and "Download" in html


def test_the_api_lists_readable_documents(login_as, client, case, api_token):
    login_as("health")
    post_file(client, case, PDF, "Clinic letter.pdf")
    (doc,) = stored()
    health = {"Authorization": f"Bearer {api_token('health')}"}
    body = client.get(f"/api/v1/cases/{case.id}/documents", headers=health).get_json()
    assert [(d["id"], d["name"], d["category"], d["kind"]) for d in body["documents"]] == [
        (doc.id, "Clinic letter.pdf", "health", "pdf")]
    police = {"Authorization": f"Bearer {api_token('police')}"}
    assert client.get(f"/api/v1/cases/{case.id}/documents", headers=police).get_json() == {"documents": []}
