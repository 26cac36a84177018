"""Erasing from the pages asks first (GOV.UK "are you sure", core.confirm): the page lists
exactly what goes and says it cannot be undone; a GET or a post without confirm=yes changes
nothing; only the confirmed post (with its CSRF token) erases. Retention from the page and a
person's erasure request, as the DPO; nobody else reaches either."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cohort.models import Case, Nominal
from core.extensions import db
from lifecycle.models import Tombstone
from tests.html import Page
from tests.lifecycle.conftest import make_person
from tests.security.test_csrf import WRONG, signed_in, token_in
from tests.support import access_events


def _exit(case: Case, on: str) -> None:
    import datetime as dt

    case.status, case.exited_on, case.exit_reason = "exited", dt.date.fromisoformat(on), "moved away"
    db.session.commit()


def _held() -> tuple[int, int]:
    db.session.rollback()  # a fresh snapshot: another app (strict_app) may have written
    return db.session.scalar(select(func.count(Case.id))), db.session.scalar(select(func.count(Nominal.id)))


def _confirm_form(page: Page):
    (form,) = [f for f in page.forms if f.fields.get("confirm") == "yes"]
    return form


def test_retention_from_the_page_lists_what_goes_and_erases_only_when_confirmed(lifecycle_partnership, login_as):
    due = make_person("IOM", "Rp")        # exited 53 days ago: IOM keeps 30 days
    kept = make_person("IOM", "Rq")       # still active
    _exit(due, "2026-10-01")
    due_id, kept_id = due.id, kept.id
    before = _held()
    dpo = login_as("dpo")

    overview = Page(dpo.get("/retention"))
    assert overview.status == 200 and overview.h1 == ["Retention"]
    assert "IOM: 1 case exited 30 days or more ago" in overview.visible_text()
    erase_link = next(a["href"] for a in overview.soup.find_all("a") if "Erase" in a.get_text())
    assert erase_link == "/retention/erase"

    asked = Page(dpo.get(erase_link))  # GET: the confirmation, nothing erased
    assert asked.status == 200 and asked.h1 == ["Erase 1 case past its retention period?"]
    listed = [" ".join(li.get_text().split()) for li in asked.soup.select(".app-confirm-list li")]
    assert listed[0].startswith("IOM: 1 case (REF-Rp-IOM)")
    recorded = next(line for line in listed if line.startswith("Recorded on those cases: "))
    assert "1 note" in recorded and "1 action," in recorded and "1 engagement," in recorded, recorded
    assert any("1 person no panel would still hold" in line for line in listed)
    assert "cannot be undone" in asked.visible_text()
    assert "REF-Rq-IOM" not in asked.visible_text()  # the case not due is not listed
    assert _held() == before

    # A post without confirm=yes only asks again.
    again = Page(dpo.post(erase_link, data={}))
    assert again.h1 == asked.h1 and _held() == before

    form = _confirm_form(asked)
    assert form.action == "/retention/erase"
    done = dpo.post(form.action, data=form.fields)
    assert done.status_code == 302 and done.headers["Location"].endswith("/retention")
    assert _held() == (before[0] - 1, before[1] - 1)
    assert db.session.get(Case, kept_id) is not None
    assert db.session.execute(select(Tombstone).filter_by(case_id=due_id)).scalar_one().ref == "REF-Rp-IOM"
    logged = access_events(action="erase")
    assert len(logged) == 1 and "erased 1 case(s) (IOM 1)" in logged[0].detail
    assert "Nothing is past its retention period" in Page(dpo.get("/retention")).visible_text()


def test_erasing_a_person_asks_first_and_lists_every_panel(lifecycle_partnership, login_as):
    case = make_person("IOM", "Ea")
    other = make_person("MAPPA", "Ea2", writer="mappa.coord@test.example", nominal=case.nominal)
    stranger = make_person("IOM", "Eb")
    nominal_id, other_id, stranger_id = case.nominal_id, other.id, stranger.id
    before = _held()
    dpo = login_as("dpo")

    found = Page(dpo.post("/subject-access", data={"q": "FamilyEa"}))
    link = next(a["href"] for a in found.soup.find_all("a") if a.get_text(" ", strip=True).startswith("erase"))
    assert link == f"/nominals/{nominal_id}/erase"
    asked = Page(dpo.get(link))
    assert asked.h1 == [f"Erase everything held on nominal {nominal_id}?"]
    text = " ".join(" ".join(li.get_text().split()) for li in asked.soup.select(".app-confirm-list li"))
    assert "IOM: 1 case (REF-Ea-IOM)" in text and "MAPPA: 1 case (REF-Ea2-MAPPA)" in text
    assert "1 person no panel would still hold" in text
    assert "cannot be undone" in asked.visible_text() and "GivenEb" not in asked.visible_text()
    assert _held() == before

    assert Page(dpo.post(link, data={"confirm": "no"})).h1 == asked.h1 and _held() == before
    form = _confirm_form(asked)
    assert dpo.post(form.action, data=form.fields).status_code == 302
    assert _held() == (before[0] - 2, before[1] - 1)
    assert db.session.get(Nominal, nominal_id) is None and db.session.get(Case, other_id) is None
    assert db.session.get(Case, stranger_id) is not None


def test_only_the_dpo_reaches_the_erase_pages(lifecycle_partnership, login_as):
    case = make_person("IOM", "Ec")
    _exit(case, "2026-10-01")
    before = _held()
    for short in ("coord", "admin", "auditor"):
        client = login_as(short)
        for url in ("/retention", "/retention/erase", f"/nominals/{case.nominal_id}/erase"):
            assert client.get(url).status_code in (403, 404, 405), (short, url)
            assert client.post(url, data={"confirm": "yes"}).status_code in (403, 404, 405), (short, url)
        client.post("/sign-out")
    assert _held() == before


def test_the_confirmed_erase_needs_its_csrf_token(lifecycle_partnership, strict_app):
    case = make_person("IOM", "Ed")
    _exit(case, "2026-10-01")
    nominal_id = case.nominal_id
    before = _held()
    client = signed_in(strict_app(WTF_CSRF_ENABLED=True), "dpo")
    asked = client.get("/retention/erase")
    assert asked.status_code == 200
    for url in ("/retention/erase", f"/nominals/{nominal_id}/erase"):
        assert client.post(url, data={"confirm": "yes"}).status_code == 400  # no token
        assert client.post(url, data={"confirm": "yes", "csrf_token": WRONG}).status_code == 400
    assert _held() == before
    token = token_in(asked.get_data(as_text=True))
    assert client.post("/retention/erase", data={"confirm": "yes", "csrf_token": token}).status_code == 302
    assert _held() == (before[0] - 1, before[1] - 1)


@pytest.mark.browser
def test_in_chromium_the_dpo_is_asked_cancels_then_erases(lifecycle_partnership, page_for, engine_name):
    if engine_name != "sqlite":
        pytest.skip("browser tests run once, on SQLite")
    case = make_person("IOM", "Br")
    _exit(case, "2026-10-01")
    before = _held()
    page = page_for("dpo")
    page.goto("/retention")
    page.get_by_role("button", name="Erase what is past retention").click()
    page.wait_for_url("**/retention/erase")
    assert page.get_by_role("heading", level=1).inner_text() == "Erase 1 case past its retention period?"
    items = page.locator(".app-confirm-list li").all_inner_texts()
    assert items[0].startswith("IOM: 1 case (REF-Br-IOM)")
    assert "cannot be undone" in page.locator(".govuk-warning-text").inner_text()
    if os.environ.get("SCREENSHOTS"):
        page.screenshot(path=str(Path(os.environ["SCREENSHOTS"]) / "erase_confirmation.png"), full_page=True)
    page.get_by_role("link", name="Cancel").click()
    page.wait_for_url("**/retention")
    assert _held() == before
    page.goto("/retention/erase")
    page.get_by_role("button", name="Erase 1 case").click()
    page.wait_for_url("**/retention")
    assert "Erased: erased 1 case(s) (IOM 1)" in page.locator(".govuk-notification-banner").inner_text()
    assert _held() == (before[0] - 1, before[1] - 1)
