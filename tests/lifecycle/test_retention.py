"""Exit, retention and erasure, through the API and `flask retention apply`, on both engines.

A case past its panel's retention period is erased: the raw database (every text and binary
column of every table) and a backup made afterwards hold none of its values or ciphertexts;
the access log still verifies with the person pseudonymised; exports made afterwards hold
nothing of them; a restore of a backup made before erases them again.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from flask import g
from sqlalchemy import func, select

from cohort.models import Case, Nominal
from core import clock
from core.extensions import db
from lifecycle.models import Tombstone
from sharing import audit
from sharing.models import AccessEvent, AccessEventNominal
from tests.lifecycle.conftest import ciphertexts_of, make_person, scan_tables
from tests.support import access_events, clock_at

CANARIES = ("GivenQx", "FamilyQx", "1 Qx Street", "OfficerQx", "RationaleQx", "NoteQx", "EngagedQx", "ActionQx",
            "OwnerQx", "left the area Qx")


def _exit(api_token, client, case_id: int, date: str, reason: str = "left the area Qx"):
    token = api_token("coord")
    return client.post(f"/api/v1/cases/{case_id}/exit", json={"reason": reason, "date": date},
                       headers={"Authorization": f"Bearer {token}"})


def _backup_text(runner, path: Path, engine: str) -> bytes:
    result = runner.invoke(args=["backup", str(path)])
    assert result.exit_code == 0, result.output
    if engine == "sqlite":
        return path.read_bytes()
    return subprocess.run(["pg_restore", "--file", "-", str(path)], capture_output=True, check=True).stdout


def test_exit_through_the_api_needs_a_reason_and_a_sane_date(lifecycle_partnership, client, api_token):
    case = make_person("IOM", "Ex")
    assert _exit(api_token, client, case.id, "2026-11-01", reason=" ").status_code == 422
    assert _exit(api_token, client, case.id, "2027-01-01").status_code == 422  # in the future
    assert _exit(api_token, client, case.id, "2025-01-01").status_code == 422  # before the referral
    resp = _exit(api_token, client, case.id, "2026-10-01")
    assert resp.status_code == 200 and resp.get_json()["status"] == "exited"
    assert resp.get_json()["exited_on"] == "2026-10-01"
    assert _exit(api_token, client, case.id, "2026-10-01").status_code == 409
    police = api_token("dwp")
    other = make_person("IOM", "Ey")
    refused = client.post(f"/api/v1/cases/{other.id}/exit", json={"reason": "x"},
                          headers={"Authorization": f"Bearer {police}"})
    assert refused.status_code == 403


def test_exit_on_the_case_page_with_a_date(lifecycle_partnership, login_as):
    case = make_person("IOM", "Pg")
    page = login_as("coord").post(f"/cases/{case.id}/exit", data={"reason": "moved away", "version": case.version,
                                                                  "exited_on": ["2", "11", "2026"]})
    assert page.status_code == 302
    db.session.expire_all()
    exited = db.session.get(Case, case.id)
    assert exited.status == "exited" and exited.exited_on.isoformat() == "2026-11-02"
    future = make_person("IOM", "Ph")
    page = login_as("coord").post(f"/cases/{future.id}/exit", data={"reason": "moved", "version": future.version,
                                                                    "exited_on": ["2", "1", "2027"]})
    assert page.status_code in (200, 422) and "The exit date cannot be in the future" in page.get_data(as_text=True)


def test_dry_run_changes_nothing_and_says_what_commit_would_do(lifecycle_partnership, client, api_token, runner):
    due = make_person("IOM", "Dr")
    make_person("IOM", "Ds")
    assert _exit(api_token, client, due.id, "2026-10-01").status_code == 200  # 53 days ago: IOM keeps 30
    result = runner.invoke(args=["retention", "apply"])
    assert result.exit_code == 0, result.output
    assert "IOM: 1 case(s)" in result.output and "Dry run: 1 case(s) and 1 person(s)" in result.output
    assert db.session.get(Case, due.id) is not None
    assert db.session.execute(select(func.count()).select_from(Tombstone)).scalar_one() == 0


def test_a_case_past_retention_is_erased_everywhere(lifecycle_partnership, client, api_token, runner,
                                                  login_as, engine_name, tmp_path):
    case = make_person("IOM", "Qx")
    kept = make_person("IOM", "Kp")
    recent = make_person("IOM", "Rc")
    case_id, nominal_id, ref = case.id, case.nominal_id, case.ref
    police = login_as("police")
    police.get(f"/cases/{case_id}")  # views to pseudonymise: the case page, a tracker page, an export
    police.get("/panels/IOM/tracker")
    police.get("/panels/IOM/export.csv?purpose=panel_meeting")
    subject = audit.subject_of(nominal_id)
    assert db.session.execute(select(func.count()).select_from(AccessEventNominal)
                              .where(AccessEventNominal.nominal_id == nominal_id)).scalar_one() >= 1
    assert _exit(api_token, client, case_id, "2026-10-01").status_code == 200
    assert _exit(api_token, client, recent.id, "2026-11-20").status_code == 200  # 3 days ago: not yet due
    secrets = ciphertexts_of([case_id], [nominal_id])
    assert len(secrets) >= 10
    assert scan_tables([], secrets)  # the scan finds them before erasure

    result = runner.invoke(args=["retention", "apply", "--commit"])
    assert result.exit_code == 0, result.output
    assert "erased 1 case(s) (IOM 1) and 1 person(s)" in result.output
    assert "1 export(s) not yet recorded destroyed held them (no. 1)" in result.output
    db.session.expire_all()

    assert db.session.get(Case, case_id) is None and db.session.get(Nominal, nominal_id) is None
    assert db.session.get(Case, kept.id) is not None and db.session.get(Case, recent.id) is not None
    stone = db.session.execute(select(Tombstone).filter_by(case_id=case_id)).scalar_one()
    assert (stone.ref, stone.panel.code, stone.exited_on.isoformat()) == (ref, "IOM", "2026-10-01")
    assert scan_tables(list(CANARIES), secrets) == []
    backup = _backup_text(runner, tmp_path / "after.backup", engine_name)
    assert not any(s in backup for s in secrets)
    assert not any(c.encode() in backup for c in CANARIES)

    events = access_events(AccessEvent.case_id == case_id)
    assert events and all(e.nominal_id is None and e.subject for e in events)
    assert db.session.execute(select(func.count()).select_from(AccessEvent)
                              .where(AccessEvent.nominal_id == nominal_id)).scalar_one() == 0
    shown = db.session.execute(select(AccessEventNominal).where(AccessEventNominal.subject == subject)).scalars().all()
    assert shown and all(row.nominal_id is None for row in shown)
    assert db.session.execute(select(AccessEvent).where(AccessEvent.action == "erase")).scalar_one()
    verify = runner.invoke(args=["audit", "verify"])
    assert verify.exit_code == 0, verify.output

    export = login_as("police").get("/panels/IOM/export.csv?purpose=panel_meeting").get_data(as_text=True)
    assert "REF-Kp-IOM" in export and ref not in export and "FamilyQx" not in export
    printed = login_as("police").get("/panels/IOM/print?purpose=panel_meeting").get_data(as_text=True)
    assert "REF-Kp-IOM" in printed and ref not in printed and "FamilyQx" not in printed
    tracker = login_as("police").get("/panels/IOM/tracker").get_data(as_text=True)
    assert "FamilyKp" in tracker and "FamilyQx" not in tracker
    again = runner.invoke(args=["retention", "apply", "--commit"])
    assert again.exit_code == 0 and "IOM: 0 case(s)" in again.output


def test_a_person_on_another_panel_keeps_that_panel(lifecycle_partnership, client, api_token, runner, login_as):
    iom = make_person("IOM", "Tw")
    mappa = make_person("MAPPA", "Tw", writer="mappa.coord@test.example", nominal=iom.nominal)
    iom_id, mappa_id, nominal_id = iom.id, mappa.id, iom.nominal_id
    login_as("police").get("/panels/IOM/tracker")
    login_as("police").get("/panels/MAPPA/tracker")
    assert _exit(api_token, client, iom_id, "2026-10-01").status_code == 200
    result = runner.invoke(args=["retention", "apply", "--commit"])
    assert result.exit_code == 0 and "erased 1 case(s) (IOM 1) and 0 person(s)" in result.output
    db.session.expire_all()
    assert db.session.get(Case, iom_id) is None
    assert db.session.get(Case, mappa_id).nominal is not None
    still = db.session.execute(select(AccessEvent.panel_code).join(
        AccessEventNominal, AccessEventNominal.event_seq == AccessEvent.seq)
        .where(AccessEventNominal.nominal_id == nominal_id)).scalars().all()
    assert still and set(still) == {"MAPPA"}  # the IOM events are pseudonymised, MAPPA's are not
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0


def test_the_nightly_job_erases_what_is_due(lifecycle_partnership, client, api_token):
    from panels.jobs import run_job

    case = make_person("IOM", "Nj")
    case_id = case.id
    assert _exit(api_token, client, case_id, "2026-10-20").status_code == 200  # due on 19 Nov
    g.pop("user", None)
    assert run_job("retention") == 1
    assert run_job("retention") == 0
    db.session.expire_all()
    assert db.session.get(Case, case_id) is None
    run = db.session.execute(select(AccessEvent).where(AccessEvent.action == "erase")).scalar_one()
    assert run.purpose == "retention: scheduler" and "erased 1 case(s)" in run.detail


def test_zero_days_erases_on_the_exit_day(lifecycle_partnership, client, api_token, runner):
    case = make_person("MAPPA", "Zd", writer="mappa.coord@test.example")
    token = api_token("mappa.coord")
    resp = client.post(f"/api/v1/cases/{case.id}/exit", json={"reason": "moved", "date": "2026-11-23"},
                       headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200
    result = runner.invoke(args=["retention", "apply", "--commit"])
    assert "erased 1 case(s) (MAPPA 1)" in result.output


def test_restoring_an_older_backup_erases_again(lifecycle_partnership, client, api_token, runner, tmp_path,
                                                engine_name):
    case = make_person("IOM", "Rs")
    case_id, nominal_id = case.id, case.nominal_id
    assert _exit(api_token, client, case_id, "2026-10-01").status_code == 200
    before = tmp_path / "before.backup"
    assert runner.invoke(args=["backup", str(before)]).exit_code == 0
    assert runner.invoke(args=["retention", "apply", "--commit"]).exit_code == 0
    clock.set_now(clock_at("2026-11-24T10:00:00"))
    g.pop("user", None)  # the API request above ran in this test's app context; a command has no user
    restored = runner.invoke(args=["restore", str(before), "--yes"])
    assert restored.exit_code == 0, restored.output
    assert "Erasures re-applied: 1 case(s), 1 person(s)" in restored.output
    db.session.remove()
    assert db.session.get(Case, case_id) is None and db.session.get(Nominal, nominal_id) is None
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0


def test_a_damaged_journal_line_is_reported_not_applied(lifecycle_partnership, runner, app, tmp_path):
    Path(app.config["ERASURE_JOURNAL_FILE"]).write_text('{"run": 1, "at": "x", "cases": [], "nominals": [], '
                                                        '"mac": "forged"}\n')
    from lifecycle import retention

    total, problems = retention.reapply_journal()
    assert total.cases == 0 and problems and "damaged" in problems[0]
