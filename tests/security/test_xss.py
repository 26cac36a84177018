"""Stored and reflected script injection: every free-text field is shown escaped, exports stay text."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import openpyxl
from markupsafe import escape

from core.extensions import db
from tests.security.world import policy_for, upload, user
from tests.support import login

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
TEMPLATE = "{{7*7}}"
JS = "javascript:alert(1)"
PAYLOADS = (SCRIPT, IMG, JS, TEMPLATE)
CSV, XLSX = "/panels/IOM/export.csv?purpose=panel_meeting", "/panels/IOM/export.xlsx?purpose=panel_meeting"


def payload(tag: str) -> str:
    """One string carrying every attack, marked so a test can find it: 'Zq<tag>...'."""
    return f"Zq{tag}{SCRIPT}{IMG}{TEMPLATE}"


def assert_escaped(body: str, value: str) -> None:
    """The raw markup is nowhere in the page; the escaped text is there; no template ran."""
    assert SCRIPT not in body
    assert "<img src=x" not in body
    assert str(escape(value)) in body, f"{value!r} not shown (escaped) in the page"
    marker = value.split(SCRIPT)[0]
    assert f"{marker}&lt;" in body
    assert not re.search(r"""(href|src|action)\s*=\s*["']?\s*javascript:""", body, re.I)


def get(client, path: str) -> str:
    resp = client.get(path)
    assert resp.status_code == 200, (path, resp.status_code)
    return resp.get_data(as_text=True)


def test_case_fields_are_escaped_everywhere_they_show(app, world):
    from cohort import services
    from cohort.models import Case

    coord = app.test_client()
    login(coord, "coord")
    case = db.session.get(Case, world["iom_case"])
    cid = case.id
    # through the pages: RAG rationale, a note
    rationale, note = payload("rationale"), payload("note")
    resp = coord.post(f"/cases/{cid}/rag", data={"rag": "amber", "rationale": rationale, "version": case.version})
    assert resp.status_code == 302
    db.session.expire_all()
    resp = coord.post(f"/cases/{cid}/notes/new", data={"category": "offending", "body": note,
                                                         "version": db.session.get(Case, cid).version})
    assert resp.status_code == 302
    # through the services: engagement note, action, lead officer (dates are not the point here)
    db.session.expire_all()
    case = db.session.get(Case, cid)
    pol = policy_for("coord")
    engagement, action = payload("engagement"), payload("action")
    services.add_engagement(case, on=dt.date(2026, 11, 20), kind="contact", note=engagement, policy=pol)
    services.add_action(case, description=action, owner_agency_id=user("police").agency_id, owner_name=payload("owner"),
                        due=dt.date(2026, 11, 1), policy=pol)
    case.lead_officer = payload("officer")
    db.session.commit()
    body = get(coord, f"/cases/{cid}")
    for value in (rationale, note, engagement, action, payload("officer")):
        assert_escaped(body, value)
    # the dashboard lists overdue actions
    assert_escaped(get(coord, "/"), action)
    # the exit reason, through the page
    version = db.session.get(Case, cid).version
    reason = payload("exit")
    assert coord.post(f"/cases/{cid}/exit", data={"reason": reason, "version": version}).status_code == 302
    assert_escaped(get(coord, f"/cases/{cid}"), reason)


def test_names_from_the_refer_form_and_an_import_are_escaped(app, world):
    from cohort.models import Case, Nominal

    coord = app.test_client()
    login(coord, "coord")
    given, family = payload("given"), payload("family")
    resp = coord.post("/panels/IOM/refer/new", data={"given_name": given, "family_name": family, "ref": "XSS-1",
                                                     "lead_agency_id": ""})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    case_id = int(resp.headers["Location"].rstrip("/").split("/")[-1])
    # aliases and a name through an import
    alias, imported = payload("alias"), payload("imported")
    out = io.StringIO()
    csv.writer(out).writerows([["ref", "given_name", "family_name", "aliases"], ["IMP-1", imported, "Person",
                                                                                 f"{alias};second"]])
    resp = upload(coord, data=out.getvalue().encode())
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    preview = get(coord, resp.headers["Location"])
    assert_escaped(preview, imported)
    assert coord.post(resp.headers["Location"], data={}).status_code == 302
    imported_case = db.session.execute(
        db.select(Case).join(Nominal).where(Case.ref == "IMP-1")).scalar_one()
    for page in (f"/cases/{case_id}", "/panels/IOM/tracker", "/panels/IOM/tracker?q=Zqgiven",
                 "/panels/IOM/print?purpose=panel_meeting",
                 "/panels/IOM/refer?q=Zqgiven"):
        assert_escaped(get(coord, page), given)
    assert_escaped(get(coord, f"/cases/{imported_case.id}"), alias)
    assert_escaped(get(coord, "/panels/IOM/tracker"), imported)
    # the polled fragment too
    assert_escaped(get(coord, "/panels/IOM/tracker/rows"), given)
    # exports: the text as it is (no HTML in a spreadsheet), never a formula
    csv_text = coord.get("/panels/IOM/export.csv?purpose=panel_meeting").get_data(as_text=True)
    cells = [c for row in csv.reader(io.StringIO(csv_text)) for c in row]
    assert given in cells and family in cells
    xlsx = openpyxl.load_workbook(io.BytesIO(coord.get(XLSX).data))
    values = [c.value for ws in xlsx.worksheets for r in ws.iter_rows() for c in r]
    assert given in values


def test_formula_names_are_neutralised_in_exports(app, world):
    from cohort import services

    formula = '=HYPERLINK("http://evil.example","click")'
    from tests.security.world import new_case

    new_case("IOM", "+SUM(1)", given_name=formula, family_name="@cmd", date_of_birth=dt.date(1990, 1, 1))
    db.session.commit()
    assert services  # (services made the case through the real path)
    coord = app.test_client()
    login(coord, "coord")
    rows = list(csv.reader(io.StringIO(coord.get(CSV).get_data(as_text=True))))
    cells = [c for row in rows for c in row]
    assert "'" + formula in cells and formula not in cells
    assert "'@cmd" in cells and "'+SUM(1)" in cells
    wb = openpyxl.load_workbook(io.BytesIO(coord.get(XLSX).data))
    cells = [c for ws in wb.worksheets for r in ws.iter_rows() for c in r]
    risky = [c for c in cells if str(c.value).startswith(("=", "+", "@"))]
    assert {c.value for c in risky} >= {formula, "+SUM(1)", "@cmd"}
    assert all(c.data_type == "s" and c.quotePrefix for c in risky)  # text, and stays text when edited
    assert not any(c.data_type == "f" for c in cells)  # stored as text, never as a formula


def test_meeting_minutes_and_outcome_rationale_are_escaped(app, world):
    from panels import meetings
    from panels.models import AgendaItem, Meeting

    meeting = db.session.get(Meeting, world["meeting"])
    item = db.session.get(AgendaItem, world["item"])
    minutes, rationale = payload("minutes"), payload("outcome")
    meetings.save_minutes(meeting, minutes, user("coord"))
    meetings.record_outcome(meeting, item, user=user("coord"), rag="red", rationale=rationale,
                            next_review=dt.date(2027, 1, 6), disclosure_decision=payload("disclosure"))
    db.session.commit()
    coord = app.test_client()
    login(coord, "coord")
    page = get(coord, f"/meetings/{meeting.id}")
    assert_escaped(page, minutes)
    assert_escaped(get(coord, f"/meetings/{meeting.id}/items/{item.id}"), rationale)


def test_agency_user_and_agreement_text_is_escaped(app, world):
    from auth import services as auth_services
    from sharing import services as isa_services
    from sharing.models import Isa

    agency_name, user_name = payload("agency"), payload("user")
    agency = auth_services.create_agency("XSSAG", agency_name, "other")
    new = auth_services.create_user(auth_services.UserData(
        email="xss@test.example", name=user_name, agency_id=agency.id, roles={"practitioner"}))
    title, purpose = payload("title"), payload("purpose")
    iom = db.session.execute(db.select(Isa).filter_by(ref="ISA-IOM-TEST")).scalar_one()
    isa = isa_services.create_isa(isa_services.IsaData(
        ref="ISA-XSS", title=title, purpose=purpose, panel_ids=[p.id for p in iom.panels], starts=dt.date(2026, 1, 1),
        review=None, expires=dt.date(2027, 1, 1), signatories=payload("signatory"),
        grants={(agency.id, "identity"): "r"}))
    db.session.commit()
    admin = app.test_client()
    login(admin, "admin")
    assert_escaped(get(admin, "/admin/agencies"), agency_name)
    assert_escaped(get(admin, f"/admin/agencies/{agency.id}"), agency_name)
    assert_escaped(get(admin, "/admin/users"), user_name)
    assert_escaped(get(admin, f"/admin/users/{new.id}"), user_name)
    assert_escaped(get(admin, "/agreements"), title)
    page = get(admin, f"/agreements/{isa.id}")
    assert_escaped(page, title)
    assert_escaped(page, purpose)


def test_reflected_query_strings_are_not_echoed_raw(app, world):
    coord = app.test_client()
    login(coord, "coord")
    attack = SCRIPT + IMG
    for path in ("/panels/IOM/tracker?q=", "/panels/IOM/tracker?rag=", "/panels/IOM/tracker?lead_agency=",
                 "/panels/IOM/tracker?sort=", "/panels/IOM/tracker?flag=", "/panels/IOM/tracker/rows?q=",
                 "/panels/IOM/refer?q=", "/kpis?panel=", f"/panels/{'x'}/tracker?q="):
        resp = coord.get(path + attack)
        body = resp.get_data(as_text=True)
        assert resp.status_code < 500, path
        assert SCRIPT not in body and "<img src=x" not in body, path
    # the panel code itself, in the path
    resp = coord.get("/panels/%3Cscript%3Ealert(1)%3C%2Fscript%3E/tracker")
    assert resp.status_code == 404 and SCRIPT not in resp.get_data(as_text=True)
    auditor = app.test_client()
    login(auditor, "auditor")
    for path in ("/access-log?email=", "/access-log?panel=", "/access-log?action=", "/access-log/nominal?nominal_id="):
        resp = auditor.get(path + attack)
        assert resp.status_code < 500 and SCRIPT not in resp.get_data(as_text=True), path


def test_next_parameter_cannot_send_anyone_elsewhere(app):
    from core import clock
    from partnership.loading import load
    from tests.support import clock_at, partnership_data

    clock.set_now(clock_at("2026-11-23T10:00:00"))
    load(partnership_data())
    db.session.commit()
    for target in (JS, "https://evil.example/", "//evil.example", "/\\evil.example", "\\\\evil.example",
                   "/%2F%2Fevil.example", "java\tscript:alert(1)", SCRIPT):
        client = app.test_client()
        page = client.get("/sign-in", query_string={"next": target}).get_data(as_text=True)
        assert SCRIPT not in page and 'href="javascript' not in page
        resp = client.post("/sign-in", query_string={"next": target},
                           data={"email": "police@test.example", "password": "orchid-lantern-42"})
        assert resp.status_code == 302
        location = resp.headers["Location"]
        from urllib.parse import urlsplit

        parts = urlsplit(location)
        assert location.startswith("/") and not location.startswith("//") and not parts.netloc, location
        assert "\\" not in location and "evil" not in parts.path.replace("%2F", "")[:2], location
        assert "javascript" not in location.lower()


def test_access_log_csv_neutralises_what_an_attacker_can_type(app, world):
    """A signed-out attacker chooses the e-mail of a failed sign-in; a signed-in one chooses URL parts."""
    formula = "=2+5+cmd|'calc'!A0"
    anon = app.test_client()
    anon.post("/sign-in", data={"email": "=cmd@evil.example", "password": "x"})
    anon.post("/sign-in", data={"email": "+cmd@evil.example", "password": "x"})
    police = app.test_client()
    login(police, "police")
    police.get("/panels/" + formula + "/tracker")
    police.get("/panels/-2+3/tracker")
    auditor = app.test_client()
    login(auditor, "auditor")
    resp = auditor.get("/access-log.csv")
    assert resp.status_code == 200
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True))))
    cells = [c for row in rows[1:] for c in row]
    assert all(not c or c[0] not in "=+-@\t\r" for c in cells), [c for c in cells if c and c[0] in "=+-@"]
    assert "'" + formula in cells
    assert any(c in ("'=cmd@evil.example", "'+cmd@evil.example") for c in cells)
    # and the log page shows what an attacker typed as text
    police.get("/panels/" + SCRIPT.replace("/", "") + "/tracker")
    assert "<script>alert(1)<script>" not in get(auditor, "/access-log")
