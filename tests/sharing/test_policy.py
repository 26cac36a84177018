"""The access policy: every agency x category x panel grant, roles, the London day boundary,
suspension mid-session and agreements that combine.

Expected access is computed from the partnership file (tests.support.partnership_data),
not from the policy under test.
"""

from __future__ import annotations

import datetime as dt

import pytest

from core import clock
from core.extensions import db
from partnership.loading import load
from sharing.crypto import CATEGORIES
from sharing.models import Isa
from sharing.policy import Policy
from tests.support import clock_at, login, partnership_data

USERS = ("admin", "coord", "mappa.coord", "police", "probation", "dwp", "health", "analyst", "auditor", "nogrant")
CASE_ROLES = {"coordinator", "practitioner", "analyst"}
WRITE_ROLES = {"coordinator", "practitioner"}


def expected() -> dict[tuple[str, str, str], str]:
    """(user, panel, category) -> "" | "r" | "rw" as the user may use it, from the file alone."""
    data = partnership_data()
    users = {u["email"].split("@")[0]: u for u in data["users"]}
    panels = [p["code"] for p in data["panels"]]
    out = {}
    for short, u in users.items():
        roles = set(u["roles"])
        for panel in panels:
            for cat in CATEGORIES:
                grant = ""
                for isa in data["isas"]:
                    if panel in isa["panels"]:
                        g = isa["grants"].get(u["agency"], {}).get(cat, "")
                        if g == "rw" or (g == "r" and grant == ""):
                            grant = g
                if not roles & CASE_ROLES:
                    grant = ""
                elif grant == "rw" and not roles & WRITE_ROLES:
                    grant = "r"
                out[(short, panel, cat)] = grant
    return out


def test_every_grant_exactly(partnership):
    want = expected()
    assert len(want) == len(USERS) * 2 * len(CATEGORIES)
    for short in USERS:
        policy = Policy(partnership.user(short))
        for code, panel in partnership.panels.items():
            for cat in CATEGORIES:
                grant = want[(short, code, cat)]
                assert policy.can(panel.id, cat, "read") is (grant != ""), (short, code, cat)
                assert policy.can(panel.id, cat, "write") is (grant == "rw"), (short, code, cat)
            assert policy.readable(panel.id) == {c for c in CATEGORIES if want[(short, code, c)]}
            assert policy.withheld(panel.id) == [c for c in CATEGORIES if not want[(short, code, c)]]
            assert policy.takes_part(panel.id) is any(want[(short, code, c)] for c in CATEGORIES)


def test_spot_checks_of_the_matrix(partnership):
    """A few grants written out by hand, so a mistake in expected() cannot hide one in the policy."""
    iom, mappa = partnership.panels["IOM"].id, partnership.panels["MAPPA"].id
    dwp = Policy(partnership.user("dwp"))
    assert dwp.can(iom, "identity") and not dwp.can(iom, "identity", "write")
    assert not dwp.can(iom, "contact") and not dwp.takes_part(mappa)
    assert "Withheld: contact details" in dwp.withheld_message(iom) and "ISA-IOM-TEST" in dwp.withheld_message(iom)
    police = Policy(partnership.user("police"))
    assert police.can(mappa, "risk", "write") and not police.can(mappa, "intelligence")
    analyst = Policy(partnership.user("analyst"))
    assert analyst.can(iom, "risk") and not analyst.can(iom, "risk", "write")
    for short in ("admin", "auditor", "nogrant"):
        assert Policy(partnership.user(short)).panel_ids() == []


def test_roles_admin_and_auditor_alone_see_nothing(partnership):
    admin = partnership.user("admin")  # LACS, whose agency has grants on both panels
    iom = partnership.panels["IOM"].id
    assert Policy(admin).readable(iom) == set()
    admin.roles = ["admin", "coordinator"]
    db.session.flush()
    assert Policy(admin).can(iom, "risk", "write")  # the coordinator role brings the agency's grants


def test_inactive_user_sees_nothing(partnership):
    user = partnership.user("police")
    user.active = False
    assert Policy(user).panel_ids() == []


@pytest.mark.parametrize("season,day", [("GMT", dt.date(2027, 1, 20)), ("BST", dt.date(2027, 7, 20))])
def test_expiry_day_boundary_in_london(partnership, season, day):
    """expires=D shares until 23:59:59 London time on D-1 and not from 00:00 on D."""
    isa = db.session.execute(db.select(Isa).filter_by(ref="ISA-IOM-TEST")).scalar_one()
    isa.review = None
    isa.expires = day
    db.session.commit()
    police, iom = partnership.user("police"), partnership.panels["IOM"].id
    before = day - dt.timedelta(days=1)
    clock.set_now(clock_at(f"{before.isoformat()}T23:59:59"))
    assert Policy(police).can(iom, "identity")
    clock.set_now(clock_at(f"{day.isoformat()}T00:00:00"))
    assert not Policy(police).can(iom, "identity")
    if season == "BST":
        # 23:30 UTC on D-1 is already 00:30 on D in London: no access, though UTC says D-1.
        clock.set_now(dt.datetime.combine(before, dt.time(23, 30), tzinfo=dt.UTC))
        assert clock.utcnow().date() == before
        assert not Policy(police).can(iom, "identity")
    else:
        clock.set_now(dt.datetime.combine(before, dt.time(23, 30), tzinfo=dt.UTC))
        assert Policy(police).can(iom, "identity")


def test_start_day_boundary(partnership):
    isa = db.session.execute(db.select(Isa).filter_by(ref="ISA-IOM-TEST")).scalar_one()
    isa.starts = dt.date(2026, 12, 1)
    db.session.commit()
    police, iom = partnership.user("police"), partnership.panels["IOM"].id
    clock.set_now(clock_at("2026-11-30T23:59:59"))
    assert not Policy(police).can(iom, "identity")
    clock.set_now(clock_at("2026-12-01T00:00:00"))
    assert Policy(police).can(iom, "identity")


def test_agreements_covering_one_panel_combine(app):
    data = partnership_data()
    data["isas"].append({
        "ref": "ISA-IOM-HEALTH", "panels": ["IOM"], "starts": "2026-01-01", "expires": "2027-01-31",
        "grants": {"DWP": {"health": "r", "identity": "rw"}, "HEALTH": {"identity": "r"}},
    })
    clock.set_now(clock_at("2026-11-23T10:00:00"))
    load(data)
    db.session.commit()
    from tests.support import Partnership

    p = Partnership()
    iom = p.panels["IOM"].id
    dwp = Policy(p.user("dwp"))
    assert dwp.readable(iom) == {"identity", "resettlement", "health"}
    assert dwp.can(iom, "identity", "write")  # the wider grant wins
    assert sorted(dwp.isa_refs(iom)) == ["ISA-IOM-HEALTH", "ISA-IOM-TEST"]
    health = Policy(p.user("health"))
    assert health.can(iom, "health", "write") and not health.can(iom, "identity", "write")
    # When the second agreement expires only the first one's grants remain.
    clock.set_now(clock_at("2027-01-31T00:00:00"))
    dwp = Policy(p.user("dwp"))
    assert dwp.readable(iom) == {"identity", "resettlement"} and not dwp.can(iom, "identity", "write")


@pytest.mark.parametrize("status", ["suspended", "ended", "draft"])
def test_only_active_agreements_share(partnership, status):
    isa = db.session.execute(db.select(Isa).filter_by(ref="ISA-MAPPA-TEST")).scalar_one()
    isa.status = status
    db.session.commit()
    police = Policy(partnership.user("police"))
    assert not police.takes_part(partnership.panels["MAPPA"].id)
    assert police.takes_part(partnership.panels["IOM"].id)


def test_suspension_mid_session(app, partnership):
    """A signed-in user loses access on the very next request after an agreement is suspended."""
    from cohort.services import create_nominal, refer

    nominal = create_nominal(given_name="Suspendia", family_name="Testcase")
    case = refer(nominal, partnership.panels["MAPPA"], ref="M-1", policy=Policy(partnership.user("mappa.coord")),
                 status="active")
    db.session.commit()
    case_id = case.id
    isa_id = db.session.execute(db.select(Isa.id).filter_by(ref="ISA-MAPPA-TEST")).scalar_one()
    police, admin = app.test_client(), app.test_client()
    assert login(police, "police").status_code == 302
    resp = police.get(f"/cases/{case_id}")
    assert resp.status_code == 200 and "Suspendia" in resp.get_data(as_text=True)

    assert login(admin, "admin").status_code == 302
    assert admin.post(f"/agreements/{isa_id}/status", data={"action": "suspend", "confirm": "yes"}).status_code == 302

    resp = police.get(f"/cases/{case_id}")  # the same session, the next request
    assert resp.status_code in (403, 404)
    assert "Suspendia" not in resp.get_data(as_text=True)

    assert admin.post(f"/agreements/{isa_id}/status", data={"action": "activate"}).status_code == 302
    assert police.get(f"/cases/{case_id}").status_code == 200
