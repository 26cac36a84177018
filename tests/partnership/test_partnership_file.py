"""`flask partnership load FILE` as an administrator uses it: every problem named where it is, nothing
written from an invalid file, the same file twice changes nothing, references to what the service
already holds are accepted."""

from __future__ import annotations

import json

import pytest
import yaml

from auth.models import Agency, User
from core.extensions import db
from panels.models import Panel
from sharing.models import Isa
from tests.support import partnership_data


def _write(tmp_path, data, name="partnership.yaml"):
    path = tmp_path / name
    path.write_text(json.dumps(data, default=str) if name.endswith(".json") else yaml.safe_dump(data))
    return str(path)


def _agency_id(code: str) -> int:
    return db.session.execute(db.select(Agency.id).filter_by(code=code)).scalar_one()


def _counts() -> tuple[int, ...]:
    return tuple(db.session.execute(db.select(db.func.count()).select_from(m)).scalar_one()
                 for m in (Agency, Panel, Isa, User))


@pytest.mark.parametrize("name", ["partnership.yaml", "partnership.json"])
def test_a_valid_file_loads_once_and_again_changes_nothing(app, runner, tmp_path, name):
    path = _write(tmp_path, partnership_data(), name)
    first = runner.invoke(args=["partnership", "load", path])
    assert first.exit_code == 0, first.output
    assert "Partnership loaded: created 6 agencies" in first.output
    again = runner.invoke(args=["partnership", "load", path])
    assert again.exit_code == 0 and "No changes" in again.output
    iom = db.session.execute(db.select(Panel).filter_by(code="IOM")).scalar_one()
    assert (iom.kind, iom.time, iom.chair_agency_id) == ("IOM", "10:00", _agency_id("LACS"))


def _broken() -> dict:
    bad = partnership_data()
    bad["agencies"].append("DWP")
    panel = bad["panels"][0]
    panel.update(schedule="FREQ=HOURLY", time="25:00", chair="NOPE", meeting_minutes="long",
                 review_interval_days={"purple": 3}, shedule="FREQ=MONTHLY")
    bad["panels"][1]["referral_criteria"] = [{"name": "Bad Name"}, {"name": "level", "type": "choice"}]
    isa = bad["isas"][0]
    isa["panels"] = ["IOM", "NOWHERE"]
    isa["grants"]["DWP"] = {"identity": "write"}
    bad["users"][0]["roles"] = ["boss"]
    bad["users"][1]["email"] = "not-an-address"
    bad["users"][2]["agency"] = "GHOST"
    bad["partners"] = []
    bad["population"] = {"religion": {"Any": 5}}
    return bad


EXPECTED = [
    "agencies[6]: must be a mapping",
    "panels[0].chair: agency 'NOPE' is not in the file or the service",
    "panels[0].schedule: not a valid RRULE",
    "panels[0].time: '25:00' is not a time (HH:MM)",
    "panels[0].meeting_minutes: a whole number of minutes from 10 to 600",
    "panels[0].review_interval_days: keys red, amber, green",
    "panels[0].shedule: unknown field",
    "panels[1].referral_criteria[0].name: lower-case letters, digits or _",
    "panels[1].referral_criteria[1]: list the choices",
    "isas[0].panels[1]: panel 'NOWHERE' is not in the file or the service",
    "isas[0].grants.DWP.identity: 'write' must be r or rw",
    "users[0].roles[0]: 'boss' is not one of admin, coordinator",
    "users[1].email: 'not-an-address' is not an email address",
    "users[2].agency: agency 'GHOST' is not in the file or the service",
    "partners: unknown section",
    "population.religion: unknown",
]


def test_an_invalid_file_names_every_problem_and_writes_nothing(app, runner, tmp_path):
    before = _counts()
    result = runner.invoke(args=["partnership", "load", _write(tmp_path, _broken())])
    assert result.exit_code == 1
    lines = [line.strip() for line in result.output.splitlines()]
    assert lines[0] == f"The partnership file has {len(lines) - 1} problem(s); nothing was written:"
    for expected in EXPECTED:
        assert any(line.startswith(expected) for line in lines), (expected, result.output)
    assert len(lines) - 1 == len(EXPECTED), result.output
    assert _counts() == before
    assert "Traceback" not in result.output


@pytest.mark.parametrize(("change", "problem"), [
    (lambda d: d["agencies"][1].update(code="POLICE"), "agencies[1].code: POLICE appears twice"),
    (lambda d: d["agencies"][0].update(code="police"), "agencies[0].code: 'police' must be upper-case"),
    (lambda d: d["agencies"][0].pop("name"), "agencies[0].name: required"),
    (lambda d: d["agencies"][0].update(kind="army"), "agencies[0].kind: 'army' is not one of"),
    (lambda d: d["panels"][0].update(agenda_days_before=True), "panels[0].agenda_days_before: must be a whole number"),
    (lambda d: d["panels"][0].update(review_days={"default": 0}), "panels[0].review_days: keys default"),
    (lambda d: d["panels"][0].pop("schedule"), "panels[0].schedule: required"),
    (lambda d: d["panels"][0].update(bank_holidays="always"), "panels[0].bank_holidays: 'always' is not one of"),
    (lambda d: d["panels"][0].update(inclusion_review_days=0), "panels[0].inclusion_review_days: a whole number"),
    (lambda d: d["panels"][0].update(referral_criteria=[{"name": "a"}, {"name": "a"}]),
     "panels[0].referral_criteria: a appears twice"),
    (lambda d: d["isas"][0].update(expires="2025-12-31"), "isas[0].expires: must be after the start date"),
    (lambda d: d["isas"][0].update(review="2030-01-01"), "isas[0].review: must fall between"),
    (lambda d: d["isas"][0].update(starts="1 April"), "isas[0].starts: '1 April' is not a date (use YYYY-MM-DD)"),
    (lambda d: d["isas"][0].update(status="paused"), "isas[0].status: 'paused' is not one of"),
    (lambda d: d["isas"][0].update(panels=[]), "isas[0].panels: list the panels this agreement covers"),
    (lambda d: d["isas"][0]["grants"].update(DWP={"secrets": "r"}), "isas[0].grants.DWP.secrets: unknown category"),
    (lambda d: d["isas"][1].update(ref="ISA-IOM-TEST"), "isas[1].ref: ISA-IOM-TEST appears twice"),
    (lambda d: d["users"][0].update(password="short"), "users[0].password: Password must be"),
    (lambda d: d["users"][1].update(email=d["users"][0]["email"].upper()),
     "users[1].email: admin@test.example appears twice"),
    (lambda d: d["users"][0].update(roles=[]), "users[0].roles: list one or more of"),
    (lambda d: d.update(region="wales"), "region: 'wales' is not one of"),
    (lambda d: d.update(panels={"IOM": {}}), "panels: must be a list"),
])
def test_each_rule_is_named_where_it_is_broken(app, runner, tmp_path, change, problem):
    data = partnership_data()
    change(data)
    result = runner.invoke(args=["partnership", "load", _write(tmp_path, data)])
    assert result.exit_code == 1
    assert problem in result.output, result.output
    assert _counts() == (0, 0, 0, 0)


def test_a_later_file_may_name_what_the_service_already_holds(app, runner, tmp_path):
    assert runner.invoke(args=["partnership", "load", _write(tmp_path, partnership_data())]).exit_code == 0
    later = {"panels": [{"code": "SGV", "name": "Serious violence", "chair": "POLICE",
                         "schedule": "FREQ=MONTHLY;BYDAY=3TU",
                         "referral_criteria": [{"name": "weapon", "label": "Weapon involved", "type": "bool"}]}],
             "isas": [{"ref": "ISA-SGV", "panels": ["SGV", "IOM"], "starts": "2026-01-01", "expires": "2027-01-01",
                       "grants": {"POLICE": {"identity": "rw"}}}]}
    result = runner.invoke(args=["partnership", "load", _write(tmp_path, later, "later.yaml")])
    assert result.exit_code == 0, result.output
    sgv = db.session.execute(db.select(Panel).filter_by(code="SGV")).scalar_one()
    assert (sgv.kind, sgv.chair_agency_id) == ("SGV", _agency_id("POLICE"))
    assert sgv.referral_criteria == [{"name": "weapon", "label": "Weapon involved", "type": "bool"}]
    isa = db.session.execute(db.select(Isa).filter_by(ref="ISA-SGV")).scalar_one()
    assert (isa.status, isa.title, sorted(p.code for p in isa.panels)) == ("active", "ISA-SGV", ["IOM", "SGV"])


def test_a_file_that_is_not_a_mapping_or_not_yaml_is_refused(app, runner, tmp_path):
    listed = tmp_path / "list.yaml"
    listed.write_text("- one\n- two\n")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    for path, words in ((listed, "the file must be a mapping"), (broken, "not valid YAML or JSON")):
        result = runner.invoke(args=["partnership", "load", str(path)])
        assert result.exit_code == 1 and words in result.output, result.output
