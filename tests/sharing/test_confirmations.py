"""Drastic actions ask first (the GOV.UK confirmation page, not a browser dialog), and a
partner whose agreement lapsed is told why instead of "Page not found"."""

from __future__ import annotations

from core.extensions import db
from sharing.models import Isa
from tests.html import Page


def _isa(ref: str) -> Isa:
    db.session.expire_all()
    return db.session.execute(db.select(Isa).filter_by(ref=ref)).scalar_one()


def _confirm_form(page: Page):
    (form,) = [f for f in page.forms if f.fields.get("confirm") == "yes"]
    return form


def test_suspending_an_agreement_asks_first_then_partners_are_told(login_as, partnership, app):
    admin = login_as("admin")
    isa = _isa("ISA-IOM-TEST")
    page = Page(admin.post(f"/agreements/{isa.id}/status", data={"action": "suspend"}))
    assert page.status == 200
    assert page.h1 == ["Suspend sharing under ISA-IOM-TEST?"]
    assert "stops seeing and changing case data on IOM" in page.visible_text()
    assert "DWP" in page.visible_text() and "POLICE" in page.visible_text()
    assert _isa("ISA-IOM-TEST").status == "active"  # nothing happened yet
    form = _confirm_form(page)
    assert form.action == f"/agreements/{isa.id}/status" and form.fields["action"] == "suspend"
    assert admin.post(form.action, data=form.fields).status_code == 302
    assert _isa("ISA-IOM-TEST").status == "suspended"

    police = app.test_client()
    from tests.support import login

    login(police, "police")
    told = Page(police.get("/panels/IOM/tracker"))
    assert told.status == 403
    assert "Sharing on IOM under agreement ISA-IOM-TEST is suspended since 23 November 2026. " \
           "Ask the panel coordinator." in told.visible_text()
    # an agency that was never party learns nothing new: the same 404 as a panel that does not exist
    nogrant = app.test_client()
    login(nogrant, "nogrant")
    never_party = Page(nogrant.get("/panels/IOM/tracker"))
    no_such_panel = Page(nogrant.get("/panels/XYZ/tracker"))
    assert never_party.status == no_such_panel.status == 404
    assert never_party.visible_text() == no_such_panel.visible_text()


def test_ending_an_agreement_warns_that_it_cannot_be_undone(login_as, partnership):
    admin = login_as("admin")
    isa = _isa("ISA-MAPPA-TEST")
    page = Page(admin.post(f"/agreements/{isa.id}/status", data={"action": "end"}))
    assert page.h1 == ["End ISA-MAPPA-TEST?"]
    assert "Ending an agreement cannot be undone." in page.visible_text()
    assert _isa("ISA-MAPPA-TEST").status == "active"
    # Cancel goes back to the agreement, changing nothing
    cancel = next(a["href"] for a in page.soup.find_all("a") if a.get_text(strip=True) == "Cancel")
    assert cancel == f"/agreements/{isa.id}" and admin.get(cancel).status_code == 200


def test_disabling_an_account_asks_first(login_as, partnership):
    from auth.models import User

    admin = login_as("admin")
    target = db.session.execute(db.select(User).filter_by(email="police@test.example")).scalar_one()
    page = Page(admin.post(f"/admin/users/{target.id}/status", data={"action": "disable"}))
    assert page.h1 == ["Disable Paula Police’s account?"]
    db.session.expire_all()
    assert db.session.get(User, target.id).active is True
    form = _confirm_form(page)
    assert admin.post(form.action, data=form.fields).status_code == 302
    db.session.expire_all()
    assert db.session.get(User, target.id).active is False
    # enabling again is not drastic: it happens at once
    assert admin.post(f"/admin/users/{target.id}/status", data={"action": "enable"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(User, target.id).active is True
