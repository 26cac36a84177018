"""`flask cohort import` / `flask cohort export`: all-or-nothing imports under the access policy."""

from __future__ import annotations

import datetime as dt

import pytest

from cohort.identifiers import make_pnc
from cohort.models import Case, CaseEvent, Nominal, RagChange
from core.extensions import db
from sharing.models import AccessEvent
from tests.exchange.test_import_helpers import csv_bytes, synthetic_rows, xlsx_bytes

IOM_WRITER = "probation"  # NPS may write every category a cohort file holds on IOM


def counts() -> tuple[int, int, int]:
    db.session.rollback()  # see what the command committed
    return (
        db.session.scalar(db.select(db.func.count(Nominal.id))),
        db.session.scalar(db.select(db.func.count(Case.id))),
        db.session.scalar(db.select(db.func.count(RagChange.id))),
    )


def run_import(runner, path, *, panel: str = "IOM", user: str = IOM_WRITER, dry_run: bool = False):
    args = ["cohort", "import", str(path), "--panel", panel, "--as", f"{user}@test.example"]
    return runner.invoke(args=args + (["--dry-run"] if dry_run else []))


def write(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def case_by_ref(ref: str) -> Case:
    db.session.rollback()
    return db.session.execute(db.select(Case).filter_by(ref=ref)).scalar_one()


def test_bad_rows_in_the_middle_of_10000_write_nothing_and_every_error_is_printed(partnership, runner, tmp_path):
    # Something already recorded, so "nothing written" is measured against real data.
    assert run_import(runner, write(tmp_path, "first.csv", csv_bytes(synthetic_rows(3, start=90_001)))).exit_code == 0
    before = counts()
    assert before == (3, 3, 3)

    rows = synthetic_rows(10_000)
    rows[4_999]["pnc"] = rows[4_999]["pnc"][:-1] + ("B" if rows[4_999]["pnc"][-1] != "B" else "C")  # wrong check
    rows[5_000]["date_of_birth"] = "31/02/1990"
    rows[5_001]["rag"] = "purple"
    result = run_import(runner, write(tmp_path, "big.csv", csv_bytes(rows)))

    assert result.exit_code == 1, result.output
    # CONTRACT.md's `row N: column: problem`, the header being row 1 (list index 4999 is row 5001),
    # each line ending with the row's own ref.
    lines = result.output.splitlines()
    assert any(ln.startswith("row 5001: pnc: ") and ln.endswith("(ref IOM-05000)") for ln in lines), result.output
    assert "row 5002: date_of_birth: '31/02/1990' is not a date" in result.output
    assert "(ref IOM-05001)" in result.output
    assert "row 5003: rag: must be red, amber or green (not 'purple') (ref IOM-05002)" in result.output
    assert "3 problem(s) in big.csv; nothing was imported" in result.output
    assert counts() == before
    assert db.session.scalar(db.select(db.func.count(AccessEvent.id)).filter_by(action="import")) == 1


def test_import_creates_people_and_cases_and_logs_one_event(partnership, runner, tmp_path):
    rows = synthetic_rows(30)
    rows[0].update(date_of_birth="1990-03-14", referral_date="02/01/2026", last_engagement="2026-11-20")
    rows[1].update(date_of_birth="14/03/1991", referral_date="2026-01-03", last_engagement="20/11/2026")
    result = run_import(runner, write(tmp_path, "iom.csv", csv_bytes(rows)))
    assert result.exit_code == 0, result.output
    assert "Imported iom.csv onto IOM: 30 new case(s) (30 new people, 0 joined" in result.output
    assert counts() == (30, 30, 30)

    first, second = case_by_ref(rows[0]["ref"]), case_by_ref(rows[1]["ref"])
    assert first.nominal.date_of_birth == dt.date(1990, 3, 14) and first.referral_date == dt.date(2026, 1, 2)
    assert second.nominal.date_of_birth == dt.date(1991, 3, 14) and second.referral_date == dt.date(2026, 1, 3)
    assert first.last_engagement == second.last_engagement == dt.date(2026, 11, 20)
    assert first.status == "active" and first.lead_agency.code == rows[0]["lead_agency"]
    assert first.nominal.pnc == rows[0]["pnc"] and first.accommodation == "Settled"

    change = db.session.execute(db.select(RagChange).filter_by(case_id=first.id)).scalar_one()
    assert change.source == "import" and change.rationale == "Imported from iom.csv" and change.to_rag == rows[0]["rag"]
    assert db.session.execute(db.select(CaseEvent).filter_by(case_id=first.id)).scalar_one().kind == "imported"

    event = db.session.execute(db.select(AccessEvent).filter_by(action="import")).scalar_one()
    assert event.user_email == "probation@test.example" and event.panel_code == "IOM"
    assert "30 row(s)" in event.detail and "30 new case(s)" in event.detail
    for row in rows:  # counts only: no names or identifiers in the log
        assert row["family_name"] not in event.detail and row["pnc"] not in event.detail


def test_a_list_of_several_batches_lands_row_for_row_and_ordinary_writes_carry_on(partnership, runner, tmp_path):
    """More rows than one bulk batch (PostgreSQL: ids from the sequence and COPY): every case
    holds its own row's person, history and RAG, and the ids the import took do not collide
    with the next record the service writes in the ordinary way."""
    from exchange.importing import BATCH

    rows = synthetic_rows(2 * BATCH + 37)
    rows[-1]["pnc"] = ""  # an empty identifier is NULL, not an empty ciphertext
    result = run_import(runner, write(tmp_path, "iom.csv", csv_bytes(rows)))
    assert result.exit_code == 0, result.output
    assert counts() == (len(rows), len(rows), len(rows))

    cases = {c.ref: c for c in db.session.execute(db.select(Case)).scalars()}
    events = dict(db.session.execute(db.select(CaseEvent.case_id, CaseEvent.kind)).all())
    rags = dict(db.session.execute(db.select(RagChange.case_id, RagChange.to_rag)).all())
    for row in rows:
        case = cases[row["ref"]]
        assert case.nominal.family_name == row["family_name"] and case.nominal.crn == (row["crn"] or None)
        assert case.nominal.pnc == (row["pnc"] or None) and case.employment == row["employment"]
        assert events[case.id] == "imported" and rags[case.id] == row["rag"] == case.rag
    assert cases[rows[-1]["ref"]].nominal.pnc_enc is None and cases[rows[-1]["ref"]].nominal.bi_pnc is None

    # The next person and case written through the ORM get fresh ids.
    person = Nominal(given_name="Ordinary", family_name="Write")
    db.session.add(person)
    db.session.flush()
    case = Case(nominal_id=person.id, panel_id=cases[rows[0]["ref"]].panel_id, ref="ORM-1", status="active")
    db.session.add(case)
    db.session.commit()
    assert person.id > max(c.nominal_id for c in cases.values()) and case.id > max(c.id for c in cases.values())


def test_a_failed_bulk_write_raises_what_an_insert_would(partnership):
    """PostgreSQL writes in bulk with COPY, around SQLAlchemy: its errors still arrive as
    SQLAlchemy's (IntegrityError here), so error handlers treat them alike on both engines."""
    from sqlalchemy.exc import IntegrityError

    from core import clock
    from exchange.importing import _bulk_insert

    orphan = CaseEvent(case_id=999_999, at=clock.utcnow(), user_id=None, kind="imported")
    with pytest.raises(IntegrityError):
        _bulk_insert(CaseEvent, [orphan])
    db.session.rollback()
    assert counts() == (0, 0, 0)


def test_invalid_pnc_check_character_is_refused(partnership, runner, tmp_path):
    rows = synthetic_rows(2)
    good = make_pnc(2001, 12345)
    rows[1]["pnc"] = good[:-1] + ("A" if good[-1] != "A" else "B")
    result = run_import(runner, write(tmp_path, "bad.csv", csv_bytes(rows)))
    assert result.exit_code == 1
    assert "row 3: pnc: " in result.output and "(ref IOM-00002)" in result.output and "check" in result.output.lower()
    assert counts() == (0, 0, 0)


def test_dry_run_reports_and_writes_nothing(partnership, runner, tmp_path):
    result = run_import(runner, write(tmp_path, "iom.csv", csv_bytes(synthetic_rows(5))), dry_run=True)
    assert result.exit_code == 0, result.output
    assert "Dry run: 5 row(s) are valid and would give 5 new case(s)" in result.output
    assert counts() == (0, 0, 0)


def test_exact_identifier_joins_an_existing_person_on_another_panel(partnership, runner, tmp_path):
    iom = synthetic_rows(3)
    assert run_import(runner, write(tmp_path, "iom.csv", csv_bytes(iom))).exit_code == 0
    # MAPPA's list knows the same person by PNC only, with the name keyed differently.
    columns = ("ref", "given_name", "family_name", "pnc", "rag", "mappa_category", "mappa_level")
    mappa = [{"ref": "M-1", "given_name": "Sean", "family_name": "OBrien", "pnc": iom[0]["pnc"].lower(),
              "rag": "red", "mappa_category": "2", "mappa_level": "3"}]
    result = run_import(runner, write(tmp_path, "mappa.csv", csv_bytes(mappa, columns)), panel="MAPPA",
                        user="mappa.coord")
    assert result.exit_code == 0, result.output
    assert "1 new case(s) (0 new people, 1 joined" in result.output

    iom_case, mappa_case = case_by_ref(iom[0]["ref"]), case_by_ref("M-1")
    assert mappa_case.nominal_id == iom_case.nominal_id
    assert len(iom_case.nominal.cases) == 2
    # Another panel's list adds to the person but does not overwrite their recorded name.
    assert mappa_case.nominal.given_name == iom[0]["given_name"]
    assert mappa_case.mappa_level == 3 and mappa_case.rag == "red"


def test_a_name_only_match_does_not_join(partnership, runner, tmp_path):
    iom = synthetic_rows(1)
    assert run_import(runner, write(tmp_path, "iom.csv", csv_bytes(iom))).exit_code == 0
    columns = ("ref", "given_name", "family_name", "date_of_birth", "gender")
    same_name = [{c: iom[0][c] for c in columns[1:]} | {"ref": "M-9"}]
    result = run_import(runner, write(tmp_path, "mappa.csv", csv_bytes(same_name, columns)), panel="MAPPA",
                        user="mappa.coord")
    assert result.exit_code == 0, result.output
    assert "1 new case(s) (1 new people, 0 joined" in result.output
    assert case_by_ref("M-9").nominal_id != case_by_ref(iom[0]["ref"]).nominal_id
    assert counts()[0] == 2


def test_reimporting_the_same_file_is_idempotent(partnership, runner, tmp_path):
    rows = synthetic_rows(25)
    path = write(tmp_path, "iom.xlsx", xlsx_bytes(rows))
    assert run_import(runner, path).exit_code == 0
    before = counts()
    versions = dict(db.session.execute(db.select(Case.ref, Case.version)).all())

    result = run_import(runner, path)
    assert result.exit_code == 0, result.output
    assert "0 new case(s)" in result.output and "25 updated case(s) (25 unchanged)" in result.output
    assert counts() == before
    assert dict(db.session.execute(db.select(Case.ref, Case.version)).all()) == versions

    # A changed RAG in the list is a history row, not a new case.
    rows[3]["rag"] = {"red": "green", "amber": "red", "green": "amber"}[rows[3]["rag"]]
    rows[4]["employment"] = "Full-time work"
    assert run_import(runner, write(tmp_path, "iom2.csv", csv_bytes(rows))).exit_code == 0
    assert counts() == (before[0], before[1], before[2] + 1)
    assert case_by_ref(rows[3]["ref"]).rag == rows[3]["rag"]
    assert case_by_ref(rows[4]["ref"]).employment == "Full-time work"


def test_categories_the_user_may_not_write_are_errors_naming_them(partnership, runner, tmp_path):
    # LACS (coord) may write identity, offending, risk and resettlement on IOM, but only... not contact.
    result = run_import(runner, write(tmp_path, "iom.csv", csv_bytes(synthetic_rows(2))), user="coord")
    assert result.exit_code == 1
    assert ("row 1: address, postcode: LACS may not write contact data on the IOM panel"
            in result.output)
    # DWP may write nothing: every category it may neither write nor read is named. Identity and
    # resettlement it may read, so those columns alone would be accepted where unchanged
    # (tests/api/test_round_trip.py); without offending write the file is refused anyway.
    result = run_import(runner, write(tmp_path, "iom.csv", csv_bytes(synthetic_rows(2))), user="dwp")
    assert result.exit_code == 1
    for category in ("offending data", "contact data", "risk data"):
        assert f"DWP may not write {category}" in result.output
    assert "identity" not in result.output and "resettlement" not in result.output
    assert counts() == (0, 0, 0)


def test_rows_that_cannot_be_resolved_are_errors(partnership, runner, tmp_path):
    first = synthetic_rows(2)
    assert run_import(runner, write(tmp_path, "iom.csv", csv_bytes(first))).exit_code == 0
    columns = ("ref", "given_name", "family_name", "pnc", "crn", "lead_agency")
    rows = [
        # same person as an existing case but a new ref: already on the panel
        {"ref": "NEW-1", "family_name": "X", "pnc": first[0]["pnc"]},
        # ref of case 1 but the PNC of case 2's person
        {"ref": first[0]["ref"], "pnc": first[1]["pnc"]},
        # a new person with no name
        {"ref": "NEW-2", "crn": "D123456"},
        {"ref": "NEW-3", "family_name": "Y", "lead_agency": "NOPE"},
    ]
    result = run_import(runner, write(tmp_path, "more.csv", csv_bytes(rows, columns)))
    assert result.exit_code == 1
    out = result.output
    ref = first[0]["ref"]
    assert f"row 2: ref: this person (matched on PNC ID) is already on the IOM panel as {ref} (ref NEW-1)" in out
    assert f"row 3: ref: case {ref} is a different person" in out
    assert "row 4: family_name: enter a given name or family name" in out
    assert "row 5: lead_agency: no agency has the code 'NOPE'" in out
    assert counts() == (2, 2, 2)


def test_unknown_user_panel_and_unreadable_file(partnership, runner, tmp_path):
    path = write(tmp_path, "iom.csv", csv_bytes(synthetic_rows(1)))
    assert "no active user" in run_import(runner, path, user="nobody").output
    assert "no panel with the code NOPE" in run_import(runner, path, panel="NOPE").output
    png = write(tmp_path, "list.csv", b"\x89PNG\r\n\x1a\n" + bytes(200))
    result = run_import(runner, png)
    assert result.exit_code == 1 and "list.csv: not a CSV or XLSX file" in result.output
    renamed = run_import(runner, write(tmp_path, "list.exe", csv_bytes(synthetic_rows(1))))
    assert renamed.exit_code == 1
    assert "list.exe: not a CSV or XLSX file (list.exe is named as a .exe file" in renamed.output
    assert counts() == (0, 0, 0)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "cp1252"])
def test_bom_and_windows_1252_files(partnership, runner, tmp_path, encoding):
    rows = synthetic_rows(2)
    rows[0].update(given_name="Zoë", family_name="O'Brien")
    rows[1].update(given_name="Seán", family_name="Ó Briain")
    result = run_import(runner, write(tmp_path, "iom.csv", csv_bytes(rows, encoding=encoding)))
    assert result.exit_code == 0, result.output
    assert case_by_ref(rows[0]["ref"]).nominal.full_name == "Zoë O'Brien"
    assert case_by_ref(rows[1]["ref"]).nominal.full_name == "Seán Ó Briain"


def test_cli_export_as_dwp_leaves_out_withheld_columns(partnership, runner, tmp_path):
    assert run_import(runner, write(tmp_path, "iom.csv", csv_bytes(synthetic_rows(4)))).exit_code == 0
    out = tmp_path / "dwp.csv"
    result = runner.invoke(args=["cohort", "export", "--panel", "IOM", "--as", "dwp@test.example",
                                 "--format", "csv", "--purpose", "case_management", "-o", str(out)])
    assert result.exit_code == 0, result.output
    header = out.read_bytes().decode("utf-8-sig").splitlines()[0]
    assert header == ("ref,given_name,family_name,aliases,date_of_birth,gender,pnc,cro,nomis,crn,"
                      "accommodation,employment,ethnicity,status,flags,marking")
    db.session.rollback()
    event = db.session.execute(db.select(AccessEvent).filter_by(action="export")).scalar_one()
    assert event.user_email == "dwp@test.example" and "4 case(s)" in event.detail

    result = runner.invoke(args=["cohort", "export", "--panel", "IOM", "--as", "nogrant@test.example",
                                 "--format", "xlsx", "--purpose", "case_management", "-o", str(tmp_path / "x.xlsx")])
    assert result.exit_code == 1 and "does not take part" in result.output
    assert not (tmp_path / "x.xlsx").exists()


def test_an_exited_person_back_on_the_list_is_re_referred(partnership, runner, tmp_path):
    from cohort import services
    from tests.cohort.test_tracker_helpers import policy_for

    rows = synthetic_rows(2)
    assert run_import(runner, write(tmp_path, "iom.csv", csv_bytes(rows))).exit_code == 0
    for ref in (rows[0]["ref"], rows[1]["ref"]):
        services.exit_case(case_by_ref(ref), reason="Order ended", policy=policy_for(partnership, "probation"))
    db.session.commit()

    # Row 1 under its old ref; row 2's person (same PNC) under a new ref.
    again = [rows[0], rows[1] | {"ref": "IOM-NEW-2"}]
    result = run_import(runner, write(tmp_path, "again.csv", csv_bytes(again)))
    assert result.exit_code == 0, result.output
    assert "0 new case(s)" in result.output and "2 updated case(s)" in result.output
    first, second = case_by_ref(rows[0]["ref"]), case_by_ref("IOM-NEW-2")
    assert first.status == second.status == "active" and first.exited_on is None and second.exit_reason is None
    assert counts()[:2] == (2, 2)
    kinds = db.session.execute(db.select(CaseEvent.kind).filter_by(case_id=second.id)).scalars().all()
    assert "re-referred" in kinds


def test_an_imported_case_is_due_for_review_by_the_panels_rule(partnership, runner, tmp_path):
    """A case an import brings, or brings back, gets its first review one of the panel's
    intervals after its referral, as a referral made on the pages does: without it the case
    was never "review due" and never reached an agenda for review."""
    import datetime as dt

    from cohort import services
    from panels.models import Panel
    from tests.cohort.test_tracker_helpers import policy_for

    rows = synthetic_rows(2)
    assert run_import(runner, write(tmp_path, "iom.csv", csv_bytes(rows))).exit_code == 0
    iom = db.session.execute(db.select(Panel).filter_by(code="IOM")).scalar_one()
    case = case_by_ref(rows[0]["ref"])
    due = case.referral_date + dt.timedelta(days=iom.interval_for(case.rag, case.mappa_level, case.mappa_category))
    assert case.next_review == due

    services.exit_case(case, reason="Order ended", policy=policy_for(partnership, "probation"))
    case.next_review = None
    db.session.commit()
    again = [rows[0] | {"referral_date": "2026-11-02"}]
    assert run_import(runner, write(tmp_path, "again.csv", csv_bytes(again))).exit_code == 0
    case = case_by_ref(rows[0]["ref"])
    assert case.status == "active" and case.referral_date == dt.date(2026, 11, 2)
    assert case.next_review == dt.date(2026, 11, 2) + dt.timedelta(
        days=iom.interval_for(case.rag, case.mappa_level, case.mappa_category))
