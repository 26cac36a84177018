"""`flask audit pseudonymise`: access-log events written before the log carried subject
pseudonyms name a person by number only, and the chain covers that number, so erasure could
not drop it ("N event(s) ... keep the erased record's number"). The command gives each its
keyed pseudonym, seals the chain again from the first such event (refused unless the whole
log verifies), and moves the head checkpoint; `audit verify` passes before and after, and
erasure then leaves no number behind. Through the CLI, on both engines."""

from __future__ import annotations

from flask import g
from sqlalchemy import text

from auth.models import User
from core.extensions import db
from sharing import audit
from sharing.models import AccessEvent
from tests.lifecycle.conftest import lifecycle_partnership, make_person  # noqa: F401 (a fixture)
from tests.support import access_events

LEFT_OVER = "keep the erased record's number"


def _legacy_events(monkeypatch, nominal_id: int, n: int = 3) -> None:
    """Events as the log wrote them before subjects: the chain over the nominal's number."""
    police = db.session.execute(db.select(User).filter_by(email="police@test.example")).scalar_one()
    with monkeypatch.context() as patched:
        patched.setattr(audit, "subject_of", lambda _nominal_id: "")
        for i in range(n):
            audit.record("view", user=police, panel="MAPPA", nominal_id=nominal_id, categories=["identity"],
                         purpose="before subjects", detail=f"legacy {i}")
            db.session.commit()
    # and an ordinary event after them, which the new seal must carry along
    audit.record("view", user=police, panel="MAPPA", nominal_id=nominal_id, purpose="test", detail="after")
    db.session.commit()


def _cli(runner, *args: str):
    db.session.commit()
    db.session.expire_all()
    g.pop("user", None)  # a command line has no signed-in user (a request in this test left one)
    return runner.invoke(args=list(args))


def _events_naming(nominal_id: int) -> list[AccessEvent]:
    db.session.expire_all()
    return access_events(nominal_id=nominal_id)


def _exit_and_erase(runner, client, api_token, case_id: int) -> str:
    resp = client.post(f"/api/v1/cases/{case_id}/exit", json={"reason": "moved", "date": "2026-11-23"},
                       headers={"Authorization": f"Bearer {api_token('mappa.coord')}"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    result = runner.invoke(args=["retention", "apply", "--commit"])
    assert result.exit_code == 0, result.output
    return result.output


def test_pseudonymised_then_erasure_leaves_no_number(lifecycle_partnership, runner, client, api_token,  # noqa: F811
                                                     monkeypatch):
    case = make_person("MAPPA", "Lg", writer="mappa.coord@test.example")
    case_id, nominal_id = case.id, case.nominal_id
    _legacy_events(monkeypatch, nominal_id)
    assert audit.legacy_count() == 3
    assert _cli(runner, "audit", "verify").exit_code == 0  # a valid chain, in the old form

    result = _cli(runner, "audit", "pseudonymise")
    assert result.exit_code == 0, result.output
    assert "3 access-log event(s) written before the log carried pseudonyms now carry one" in result.output
    assert "Events still naming a person by number only: 0" in result.output
    legacy = [e for e in _events_naming(nominal_id) if e.purpose == "before subjects"]
    assert len(legacy) == 3 and {e.subject for e in legacy} == {audit.subject_of(nominal_id)}
    sealed = _cli(runner, "audit", "verify")
    assert sealed.exit_code == 0, sealed.output
    assert "matches" in sealed.output  # the head checkpoint moved to the new head
    admin = db.session.execute(db.select(AccessEvent).filter_by(purpose="audit pseudonymise")).scalar_one()
    assert admin.action == "admin" and "sealed again" in admin.detail

    erased = _exit_and_erase(runner, client, api_token, case_id)
    assert "erased 1 case(s) (MAPPA 1)" in erased and LEFT_OVER not in erased
    assert _events_naming(nominal_id) == []
    assert _cli(runner, "audit", "verify").exit_code == 0


def test_events_of_a_person_already_erased_lose_the_number(lifecycle_partnership, runner, client,  # noqa: F811
                                                           api_token, monkeypatch):
    case = make_person("MAPPA", "Le", writer="mappa.coord@test.example")
    case_id, nominal_id = case.id, case.nominal_id
    _legacy_events(monkeypatch, nominal_id, n=2)
    erased = _exit_and_erase(runner, client, api_token, case_id)
    assert f"2 event(s) written before the log carried pseudonyms {LEFT_OVER}" in erased
    assert len(_events_naming(nominal_id)) == 2

    result = _cli(runner, "audit", "pseudonymise")
    assert result.exit_code == 0, result.output
    assert "(2 of an erased person lost the number too)" in result.output
    assert _events_naming(nominal_id) == []
    assert _cli(runner, "audit", "verify").exit_code == 0


def test_refused_when_the_log_does_not_verify(lifecycle_partnership, runner, monkeypatch):  # noqa: F811
    case = make_person("MAPPA", "Lt", writer="mappa.coord@test.example")
    _legacy_events(monkeypatch, case.nominal_id)
    first = db.session.execute(db.select(db.func.min(AccessEvent.seq)).where(
        AccessEvent.purpose == "before subjects")).scalar_one()
    db.session.execute(text("UPDATE access_events SET detail = 'rewritten' WHERE seq = :s"), {"s": first - 1})
    db.session.commit()
    before = db.session.execute(db.select(AccessEvent.seq, AccessEvent.hash).order_by(AccessEvent.seq)).all()

    result = _cli(runner, "audit", "pseudonymise")
    assert result.exit_code == 1
    assert "Refused: the access log does not verify" in result.output and "nothing was changed" in result.output
    assert db.session.execute(db.select(AccessEvent.seq, AccessEvent.hash).order_by(AccessEvent.seq)).all() == before
    assert audit.legacy_count() == 3
    assert _cli(runner, "audit", "verify").exit_code == 1  # still reported, not papered over


def test_nothing_to_do_changes_nothing(lifecycle_partnership, runner):  # noqa: F811
    make_person("MAPPA", "Ln", writer="mappa.coord@test.example")
    before = db.session.execute(db.select(AccessEvent.seq, AccessEvent.hash).order_by(AccessEvent.seq)).all()
    result = _cli(runner, "audit", "pseudonymise")
    assert result.exit_code == 0 and "nothing to do" in result.output
    assert db.session.execute(db.select(AccessEvent.seq, AccessEvent.hash).order_by(AccessEvent.seq)).all() == before
    assert _cli(runner, "audit", "verify").exit_code == 0
