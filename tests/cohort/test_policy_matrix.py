"""The policy matrix: a canary in every category, read through every surface by every user.

Each panel has one case carrying a unique canary string in each category. For every test
user the canary of a category must appear exactly when the agency's grant on that panel
allows it (and the surface shows that kind of data), and nowhere once the agreement has
expired or been suspended. Expected access is computed from the partnership file itself,
not from the policy object under test.
"""

from __future__ import annotations

import datetime as dt

import pytest

from cohort import services
from cohort.models import Note
from core import clock
from core.extensions import db
from sharing.models import Isa
from tests.support import clock_at, login, partnership_data

USERS = ("admin", "coord", "mappa.coord", "police", "probation", "dwp", "health", "analyst", "auditor", "nogrant")
CASE_ROLES = {"coordinator", "practitioner", "analyst"}
CATS = ("identity", "contact", "offending", "risk", "resettlement", "health", "substance_misuse", "intelligence")
# which categories' canaries each surface can show at all
SURFACES = {
    "api_list": {"identity", "contact", "offending", "resettlement"},
    "api_case": set(CATS),
    "tracker": {"identity", "offending"},
    "case_page": set(CATS),
    "search": {"identity", "offending"},  # the matching rows, as the tracker shows them
}


def canary(panel: str, category: str) -> str:
    return f"Cnry{category.replace('_', '')}{panel}x"


def expected_grants() -> dict[str, dict[str, set[str]]]:
    """user -> panel -> readable categories, straight from the partnership file."""
    data = partnership_data()
    agency_of = {u["email"].split("@")[0]: (u["agency"], set(u["roles"])) for u in data["users"]}
    out: dict[str, dict[str, set[str]]] = {}
    for user, (agency, roles) in agency_of.items():
        out[user] = {}
        for isa in data["isas"]:
            for panel in isa["panels"]:
                cats = set(isa["grants"].get(agency, {})) if roles & CASE_ROLES else set()
                if cats:
                    out[user].setdefault(panel, set()).update(cats)
    return out


@pytest.fixture
def seeded(partnership):
    from sharing.policy import Policy

    cases = {}
    for code, writer in (("IOM", "coord"), ("MAPPA", "mappa.coord")):
        pol = Policy(partnership.user(writer))
        nominal = services.create_nominal(given_name=canary(code, "identity"), family_name="Canary",
                                          address=canary(code, "contact"))
        case = services.refer(nominal, partnership.panels[code], ref=f"CANARY-{code}", policy=pol)
        case.lead_officer = canary(code, "offending")
        case.accommodation = canary(code, "resettlement")
        case.rag = "amber"
        db.session.flush()
        services.change_rag(case, to="red", rationale=canary(code, "risk"), policy=pol)
        for category in ("health", "substance_misuse", "intelligence"):
            note = Note(case_id=case.id, category=category, at=clock.utcnow())
            note.body = canary(code, category)
            db.session.add(note)
        cases[code] = case.id
    db.session.commit()
    return cases


def surfaces(client, token: str, short: str, code: str, case_id: int) -> dict[str, tuple[int, str]]:
    """Every surface's (status, text) for one user and one panel."""
    h = {"Authorization": f"Bearer {token}"}
    out = {}
    resp = client.get(f"/api/v1/panels/{code}/cases", headers=h)
    out["api_list"] = (resp.status_code, resp.get_data(as_text=True))
    resp = client.get(f"/api/v1/cases/{case_id}", headers=h)
    out["api_case"] = (resp.status_code, resp.get_data(as_text=True))
    resp = client.get(f"/panels/{code}/tracker")
    out["tracker"] = (resp.status_code, resp.get_data(as_text=True))
    resp = client.get(f"/cases/{case_id}")
    out["case_page"] = (resp.status_code, resp.get_data(as_text=True))
    resp = client.get(f"/panels/{code}/tracker", query_string={"q": canary(code, "identity")})
    body = resp.get_data(as_text=True)
    # the search answer is the results region only (the search box echoes the query back)
    region = body.split('id="tracker-results"', 1)[-1].split("</table>", 1)[0] if resp.status_code == 200 else body
    region = region.split(">", 1)[-1]
    out["search"] = (resp.status_code, region)
    return out


# Where a panel's agreement lapsed (expired, suspended), its own pages say so with a 403 that
# names the agreement (issue 18); a case's pages stay a plain 404.
PANEL_SURFACES = ("api_list", "tracker", "search")


def _shown_on(surface: str, readable: set[str]) -> set[str]:
    """The categories a surface shows this viewer: the tracker's columns follow what it may
    read (resettlement columns come in only where neither offending nor risk is readable)."""
    shown = set(SURFACES[surface])
    if surface in ("tracker", "search") and "resettlement" in readable and not {"offending", "risk"} & readable:
        shown.add("resettlement")
    return shown


def check_user(client, api_token, short: str, seeded: dict, readable_by_panel: dict[str, set[str]],
               lapsed: tuple[str, ...] = ()) -> list[str]:
    problems = []
    assert login(client, short).status_code == 302
    token = api_token(short)
    for code, case_id in seeded.items():
        readable = readable_by_panel.get(code, set())
        for surface, (status, text) in surfaces(client, token, short, code, case_id).items():
            if not readable:
                expected = 403 if code in lapsed and surface in PANEL_SURFACES else 404
                if status != expected:
                    problems.append(f"{short} {code} {surface}: status {status}, expected {expected}")
            elif status != 200:
                problems.append(f"{short} {code} {surface}: status {status}, expected 200")
            for category in CATS:
                for panel in seeded:
                    shown = canary(panel, category) in text
                    should = panel == code and category in readable and category in _shown_on(surface, readable)
                    if shown != should:
                        problems.append(f"{short} {code} {surface}: {category} canary of {panel} "
                                        f"{'shown' if shown else 'missing'}")
    client.post("/sign-out")
    return problems


def test_every_category_through_every_surface_for_every_user(client, api_token, seeded):
    grants = expected_grants()
    problems = []
    for short in USERS:
        problems += check_user(client, api_token, short, seeded, grants[short])
    assert problems == []


def test_nothing_once_the_agreements_expire_at_london_midnight(client, api_token, seeded):
    grants = expected_grants()
    tokens = {short: api_token(short) for short in ("police", "probation", "dwp")}
    # 23:59 on the day before expiry (BST): still shared
    clock.set_now(clock_at("2027-03-30T23:59:00"))
    resp = client.get(f"/api/v1/cases/{seeded['IOM']}", headers={"Authorization": f"Bearer {tokens['police']}"})
    assert resp.status_code == 200 and canary("IOM", "identity") in resp.get_data(as_text=True)
    # 00:30 London on the expiry date is still 23:30 UTC the day before: expired all the same
    clock.set_now(clock_at("2027-03-31T00:30:00"))
    assert clock.utcnow().date() == dt.date(2027, 3, 30)
    problems = []
    for short in ("police", "probation", "dwp", "coord"):
        parties = tuple(code for code in seeded if grants[short].get(code))
        problems += check_user(client, api_token, short, seeded, {}, lapsed=parties)
    assert problems == []
    assert grants["police"]  # the expectation above is "nothing", not "nothing to begin with"


def test_nothing_once_an_agreement_is_suspended(client, api_token, seeded):
    isa = db.session.execute(db.select(Isa).filter_by(ref="ISA-IOM-TEST")).scalar_one()
    isa.status = "suspended"
    db.session.commit()
    grants = expected_grants()
    problems = []
    for short in ("police", "probation", "dwp", "health"):
        without_iom = {k: v for k, v in grants[short].items() if k != "IOM"}
        problems += check_user(client, api_token, short, seeded, without_iom, lapsed=("IOM",))
    assert problems == []
