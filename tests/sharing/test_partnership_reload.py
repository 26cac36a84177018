"""Reloading the partnership file keeps what the service decided; signatories in either shape."""

from __future__ import annotations

from core.extensions import db
from partnership.loading import load
from sharing.models import Isa
from tests.support import partnership_data


def _isa(ref: str) -> Isa:
    return db.session.execute(db.select(Isa).filter_by(ref=ref)).scalar_one()


def test_reload_keeps_a_suspension_unless_the_file_names_a_status(partnership):
    _isa("ISA-MAPPA-TEST").status = "suspended"
    db.session.commit()
    result = load(partnership_data())
    db.session.commit()
    assert _isa("ISA-MAPPA-TEST").status == "suspended" and not result.changed
    data = partnership_data()
    data["isas"][1]["status"] = "active"
    load(data)
    db.session.commit()
    assert _isa("ISA-MAPPA-TEST").status == "active"


def test_signatories_as_list_or_string(partnership):
    data = partnership_data()
    data["isas"][0]["signatories"] = ["Chief Constable", "Director of Public Health"]
    data["isas"][1]["signatories"] = "Head of Probation"
    load(data)
    db.session.commit()
    assert _isa("ISA-IOM-TEST").signatories == "Chief Constable\nDirector of Public Health"
    assert _isa("ISA-MAPPA-TEST").signatories == "Head of Probation"


def test_verify_prints_the_last_event(runner, partnership):
    from sharing import audit

    audit.record("admin", purpose="test", detail="one event")
    db.session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and "Last event 1: " in result.output


def test_a_password_changed_in_the_file_shuts_out_sessions_and_tokens(app, runner, partnership, api_token, tmp_path):
    import json

    from tests.support import login

    browser = app.test_client()
    assert login(browser, "police").status_code == 302
    token = api_token("police")
    other = api_token("dwp")
    data = partnership_data()
    police = next(u for u in data["users"] if u["email"] == "police@test.example")
    police["password"] = "a-brand-new-passphrase-77"
    path = tmp_path / "partnership.json"
    path.write_text(json.dumps(data, default=str))
    result = runner.invoke(args=["partnership", "load", str(path)])
    assert result.exit_code == 0, result.output
    assert app.test_client().get("/api/v1/panels", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert browser.get("/panels/IOM/tracker").status_code == 302  # signed out
    assert app.test_client().get("/api/v1/panels", headers={"Authorization": f"Bearer {other}"}).status_code == 200
    assert login(app.test_client(), "police", "a-brand-new-passphrase-77").status_code == 302
