"""Meeting, item and agenda pages under category grants (issue 12, holes 2 and 3).

A coordinator whose agency may not read `risk` on a panel must learn nothing of the RAG,
the RAG decisions or their rationale from the meeting page, an item page, the agenda (page,
print, API) — not from values, reasons, order or positions — and may not record a risk
decision. Each "world" pair below is built through the real services and differs only in
data the viewer may not see; the viewer's responses must be the same after normalising
nonces and CSRF tokens.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from core.extensions import db
from tests.security.two_worlds import DIP, DIP_ISA, fresh_world, load_partnership, panel, policy, user, without_nonces
from tests.support import TEST_PASSWORD, login, partnership_data

DEC2 = dt.date(2026, 12, 2)  # the IOM panel's December meeting (first Wednesday)

YOS = {"code": "YOS", "name": "Test Youth Justice", "kind": "youth_justice"}
EXTRA_USERS = [
    {"email": "yos.coord@test.example", "name": "Yan Coordinator", "agency": "YOS", "roles": ["coordinator"],
     "password": TEST_PASSWORD},
    {"email": "dwp.coord@test.example", "name": "Dee Coordinator", "agency": "DWP", "roles": ["coordinator"],
     "password": TEST_PASSWORD},
    {"email": "police.coord@test.example", "name": "Pat Coordinator", "agency": "POLICE",
     "roles": ["coordinator"], "password": TEST_PASSWORD},
]


def _partnership(*, police_risk: str = "rw") -> dict:
    """The test partnership plus YOS (identity + offending rw on IOM, offending r on MAPPA, no
    risk anywhere), coordinators for YOS, DWP and POLICE, and a DIP panel only NPS is party to."""
    base = partnership_data()
    isas = []
    for isa in base["isas"]:
        isa = {**isa, "grants": {**isa["grants"]}}
        if isa["ref"] == "ISA-IOM-TEST":
            isa["grants"]["YOS"] = {"identity": "rw", "offending": "rw"}
            isa["grants"]["POLICE"] = {**isa["grants"]["POLICE"], "risk": police_risk}
        if isa["ref"] == "ISA-MAPPA-TEST":
            isa["grants"]["YOS"] = {"identity": "r", "offending": "r"}
        isas.append(isa)
    return partnership_data(agencies=base["agencies"] + [YOS], panels=base["panels"] + [DIP],
                            isas=isas + [DIP_ISA], users=base["users"] + EXTRA_USERS)


def _load(police_risk: str = "rw") -> None:
    load_partnership(_partnership(police_risk=police_risk))


def _reset(app, monkeypatch) -> None:
    fresh_world(app, monkeypatch, _partnership())


def _meeting(code: str, day: dt.date):
    from panels.models import Meeting

    return db.session.execute(db.select(Meeting).filter_by(panel_id=panel(code).id, date=day)).scalar_one()


# References sort the other way from creation (case id) order, so a reference order is not
# the id order by accident.
PEOPLE = [("Ivor", "Canary", "IOM-40"), ("Jane", "Dough", "IOM-30"), ("Kit", "Marlow", "IOM-20"),
          ("Lena", "Oakes", "IOM-10")]


def build(rags: list[str], decision: tuple[str, str], *, on_dip: bool = False) -> dict:
    """One IOM world: four cases with these RAGs, a published agenda for 2 December, and the
    LACS coordinator's recorded decision on the first item. `on_dip` puts the second person
    on the DIP panel too (a panel the police take no part in)."""
    from cohort import services
    from panels import agenda as agendas
    from panels import meetings as mtg

    police = policy("police")
    cases = []
    for (given, family, ref), rag in zip(PEOPLE, rags, strict=True):
        nominal = services.create_nominal(given_name=given, family_name=family)
        cases.append(services.refer(nominal, panel("IOM"), ref=ref, policy=police, status="active",
                                    referral_date=dt.date(2026, 1, 5), rag=rag,
                                    last_engagement=dt.date(2026, 11, 1), next_review=dt.date(2027, 1, 20)))
    if on_dip:
        services.refer(cases[1].nominal, panel("DIP"), ref="DIP-1", policy=policy("probation"),
                       status="active", referral_date=dt.date(2026, 1, 5))
    # An outstanding action (carried forward on the agenda, issue 14): the same in both worlds.
    from panels.actions import create_action

    create_action(cases[1], text="Carried action text", due=dt.date(2026, 11, 30), policy=police,
                  owner_agency="POLICE")
    db.session.commit()
    meeting = _meeting("IOM", DEC2)
    coord = user("coord")
    agendas.publish(meeting, coord)
    items = {i.case_id: i for i in meeting.items}
    first = items[cases[0].id]
    mtg.record_outcome(meeting, first, user=coord, rag=decision[0], rationale=decision[1], next_review=None,
                       policy=policy("coord"))
    db.session.commit()
    return {"meeting": meeting.id, "items": [items[c.id].id for c in cases], "cases": [c.id for c in cases]}


_CSRF = re.compile(rb'(name="csrf_token"[^>]*value=")[^"]*|(value=")[^"]*("[^>]*name="csrf_token")')


def _normalised(body: bytes) -> bytes:
    body = without_nonces(body)
    return _CSRF.sub(lambda m: (m.group(1) or m.group(2)) + b"T" + (m.group(3) or b""), body)


def _reads(ids: dict) -> list[str]:
    m = ids["meeting"]
    return [f"/meetings/{m}", *(f"/meetings/{m}/items/{i}" for i in ids["items"]),
            f"/meetings/{m}/agenda", f"/meetings/{m}/agenda/print", f"/api/v1/meetings/{m}/agenda",
            f"/meetings/{m}/run", *(f"/meetings/{m}/run?item={i}" for i in ids["items"])]


def observe(app, short: str, ids: dict) -> dict[str, tuple[int, bytes]]:
    """Every meeting and agenda read as one user (pages signed in, the API by token)."""
    from auth.tokens import create_token

    token = create_token(user(short))
    db.session.commit()
    client = app.test_client()
    assert login(client, short).status_code == 302
    seen = {}
    for path in _reads(ids):
        headers = {"Authorization": f"Bearer {token}"} if path.startswith("/api/") else {}
        resp = client.get(path, headers=headers)
        seen[path] = (resp.status_code, _normalised(resp.get_data()))
    return seen


def _differences(a: dict, b: dict) -> list[str]:
    import difflib

    out = []
    for key in a:
        if a[key] != b[key]:
            diff = difflib.unified_diff(a[key][1].decode(errors="replace").splitlines(),
                                        b[key][1].decode(errors="replace").splitlines(), lineterm="", n=0)
            out.append(f"{key} ({a[key][0]} vs {b[key][0]}):\n" + "\n".join(list(diff)[2:10]))
    return out


WORLDS = (
    (["red", "green", "amber", "green"], ("red", "Alpha: escalating threats")),
    (["green", "amber", "green", "red"], ("green", "Beta: settled and engaging")),
)


# -- hole 2 and 3: what a coordinator without risk sees ---------------------------------------

@pytest.mark.parametrize("viewer", ["yos.coord", "dwp.coord"])
def test_meeting_and_agenda_reads_do_not_depend_on_rag(app, monkeypatch, viewer):
    seen = []
    for rags, decision in WORLDS:
        _reset(app, monkeypatch)
        assert not policy(viewer).can(panel("IOM").id, "risk")
        ids = build(rags, decision)
        seen.append(observe(app, viewer, ids))
    assert all(status == 200 for status, _ in seen[0].values()), {k: v[0] for k, v in seen[0].items()}
    problems = _differences(*seen)
    assert not problems, "\n".join(problems)
    agenda = seen[1][f"/meetings/{ids['meeting']}/agenda"][1].decode()
    assert ("Carried action text" in agenda) == (viewer == "yos.coord")  # offending is readable to YOS only
    for path, (_, body) in seen[1].items():
        text = body.decode()
        assert "Beta: settled" not in text and "govuk-tag--red" not in text, path
        assert '"rag"' not in text and "Review due" not in text and "review_due" not in text, path


def test_the_worlds_differ_for_a_risk_reader(app, monkeypatch):
    """The pair above really differs: a coordinator who may read risk sees it."""
    seen = []
    for rags, decision in WORLDS:
        _reset(app, monkeypatch)
        ids = build(rags, decision)
        seen.append(observe(app, "coord", ids))
    assert _differences(*seen)
    page = seen[1][f"/meetings/{ids['meeting']}/items/{ids['items'][0]}"][1].decode()
    assert "Beta: settled and engaging" in page


def test_agenda_order_without_offending_or_risk_is_by_reference(app, monkeypatch):
    _reset(app, monkeypatch)
    ids = build(*WORLDS[0])
    client = app.test_client()
    login(client, "dwp.coord")
    page = client.get(f"/meetings/{ids['meeting']}/agenda").get_data(as_text=True)
    order = [ref for ref in re.findall(r"\((IOM-\d+)\)", page)]
    assert order == sorted(order) == ["IOM-10", "IOM-20", "IOM-30", "IOM-40"]
    assert "New referral" not in page and "Red" not in page
    assert "/up" not in page and "/down" not in page  # no reordering of an order it cannot see


def test_order_for_a_risk_reader_does_not_follow_panels_it_takes_no_part_in(app, monkeypatch):
    """The police read risk and offending on IOM, so see the stored (priority) order; whether a
    person is also on DIP (no police agreement) must not move them up it."""
    seen = []
    for on_dip in (False, True):
        _reset(app, monkeypatch)
        ids = build(["amber", "amber", "amber", "amber"], ("amber", "Same"), on_dip=on_dip)
        seen.append(observe(app, "police.coord", ids))
    problems = _differences(*seen)
    assert not problems, "\n".join(problems)


def test_saving_an_item_does_not_name_its_stored_position(app, monkeypatch):
    """The flash after "save" must not carry the RAG-derived position to a viewer without risk."""
    seen = []
    for rags, decision in WORLDS:
        _reset(app, monkeypatch)
        ids = build(rags, decision)
        client = app.test_client()
        login(client, "yos.coord")
        resp = client.post(f"/meetings/{ids['meeting']}/items/{ids['items'][2]}", data={}, follow_redirects=True)
        assert resp.status_code == 200
        seen.append({"save": (200, _normalised(resp.get_data()))})
    problems = _differences(*seen)
    assert not problems, "\n".join(problems)


# -- writes -------------------------------------------------------------------------------------

def _sitting_day() -> None:
    """Meetings close only on or after the day they sit (issue 14)."""
    from core import clock
    from tests.conftest import clock_at

    clock.set_now(clock_at("2026-12-02T15:00:00"))


def _counts():
    from cohort.models import RagChange
    from panels.models import AgendaItem

    return (db.session.execute(db.select(db.func.count(RagChange.id))).scalar(),
            [(i.rag_decision, i.rationale_enc, i.next_review, i.decided_by_id, i.discussed)
             for i in db.session.execute(db.select(AgendaItem).order_by(AgendaItem.id)).scalars()])


@pytest.mark.parametrize("data", [
    {"outcome-rag": "red", "outcome-rationale": "Threats"},
    {"outcome-rationale": "Only a rationale"},
    {"outcome-next_review": ["1", "2", "2027"]},
    {"outcome-disclosure_considered": "yes", "outcome-disclosure_decision": "Disclose"},
])
def test_outcome_rag_without_risk_write_is_refused_and_writes_nothing(app, monkeypatch, data):
    _reset(app, monkeypatch)
    ids = build(*WORLDS[0])
    before = _counts()
    client = app.test_client()
    login(client, "yos.coord")
    resp = client.post(f"/meetings/{ids['meeting']}/items/{ids['items'][1]}", data=data)
    assert resp.status_code == 403
    db.session.expire_all()
    assert _counts() == before


def test_an_action_needs_offending_write(app, monkeypatch):
    from cohort.models import Action

    _reset(app, monkeypatch)
    ids = build(*WORLDS[0])
    before = db.session.execute(db.select(db.func.count(Action.id))).scalar()
    client = app.test_client()
    login(client, "dwp.coord")
    resp = client.post(f"/meetings/{ids['meeting']}/items/{ids['items'][1]}/actions",
                       data={"action-description": "Home visit", "action-due": ["17", "12", "2026"]})
    assert resp.status_code == 403
    assert db.session.execute(db.select(db.func.count(Action.id))).scalar() == before


def test_closing_needs_risk_write(app, monkeypatch):
    """Closing applies reviews and checks MAPPA-level disclosure decisions (risk data): a
    coordinator who may not write risk cannot close, whatever the cases hold."""
    from panels.models import Meeting

    _reset(app, monkeypatch)
    ids = build(*WORLDS[0])
    client = app.test_client()
    login(client, "yos.coord")
    assert client.post(f"/meetings/{ids['meeting']}/close").status_code == 403
    page = client.get(f"/meetings/{ids['meeting']}").get_data(as_text=True)
    assert "close-meeting" not in page
    db.session.expire_all()
    assert db.session.get(Meeting, ids["meeting"]).status == "published"


def test_close_credits_the_recorder_not_the_closer(app, monkeypatch):
    from cohort.models import Case, RagChange

    _reset(app, monkeypatch)
    ids = build(*WORLDS[1])  # LACS coordinator recorded "green" on the first case
    _sitting_day()
    client = app.test_client()
    login(client, "police.coord")
    assert client.post(f"/meetings/{ids['meeting']}/close", data={"confirm": "yes"}).status_code == 302
    db.session.expire_all()
    change = db.session.execute(db.select(RagChange).filter_by(case_id=ids["cases"][0])).scalar_one()
    assert (change.to_rag, change.user_id, change.source) == ("green", user("coord").id, "meeting")
    assert db.session.get(Case, ids["cases"][0]).updated_by_id == user("coord").id


def test_a_decision_whose_recorder_lost_risk_write_is_not_applied_and_the_close_says_so(app, monkeypatch):
    from cohort.models import Case, RagChange
    from panels import meetings as mtg
    from panels.models import Meeting

    _reset(app, monkeypatch)
    ids = build(*WORLDS[0])
    meeting = db.session.get(Meeting, ids["meeting"])
    second = db.session.get(mtg.AgendaItem, ids["items"][1])
    mtg.record_outcome(meeting, second, user=user("police.coord"), rag="red", rationale="Police view",
                       next_review=None, policy=policy("police.coord"))
    db.session.commit()
    _load(police_risk="r")  # the police agreement is changed: risk becomes read-only
    _sitting_day()
    client = app.test_client()
    login(client, "coord")
    resp = client.post(f"/meetings/{ids['meeting']}/close", data={"confirm": "yes"}, follow_redirects=True)
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    assert "IOM-30: not applied" in page
    db.session.expire_all()
    assert db.session.get(Meeting, ids["meeting"]).status == "closed"
    assert db.session.get(Case, ids["cases"][1]).rag == "green"  # the police decision did not land
    assert db.session.execute(db.select(RagChange).filter_by(case_id=ids["cases"][1])).first() is None
    applied = db.session.execute(db.select(RagChange).filter_by(case_id=ids["cases"][0])).scalar_one()
    assert applied.user_id == user("coord").id


# -- minutes -------------------------------------------------------------------------------------

def test_minutes_read_and_write_follow_the_minutes_grant(app, monkeypatch):
    """Minutes are offending information: readable where offending is readable (read-only
    without offending write), withheld otherwise; written only by a coordinator with
    offending write."""
    from panels import meetings as mtg
    from panels.models import Meeting

    _reset(app, monkeypatch)
    ids = build(*WORLDS[0])
    mappa = _meeting("MAPPA", dt.date(2026, 12, 10))
    mtg.save_minutes(mappa, "MAPPA minutes text", user("mappa.coord"))
    iom = db.session.get(Meeting, ids["meeting"])
    mtg.save_minutes(iom, "IOM minutes text", user("coord"))
    db.session.commit()

    client = app.test_client()
    login(client, "yos.coord")  # offending r on MAPPA: reads, cannot write
    page = client.get(f"/meetings/{mappa.id}").get_data(as_text=True)
    assert "MAPPA minutes text" in page and "Save minutes" not in page
    assert client.post(f"/meetings/{mappa.id}/minutes", data={"minutes-minutes": "x"}).status_code == 403
    page = client.get(f"/meetings/{iom.id}").get_data(as_text=True)  # offending rw on IOM
    assert "IOM minutes text" in page and "Save minutes" in page

    client = app.test_client()
    login(client, "dwp.coord")  # no offending on IOM
    page = client.get(f"/meetings/{iom.id}").get_data(as_text=True)
    assert "IOM minutes text" not in page and "minutes-withheld" in page
    assert client.post(f"/meetings/{iom.id}/minutes", data={"minutes-minutes": "x"}).status_code == 403

    client = app.test_client()
    login(client, "police")  # a practitioner who may read offending on IOM reads the minutes
    assert "IOM minutes text" in client.get(f"/meetings/{iom.id}").get_data(as_text=True)
    db.session.expire_all()
    from sharing.gateway import unsealed

    with unsealed("test"):
        assert db.session.get(Meeting, iom.id).minutes == "IOM minutes text"
        assert db.session.get(Meeting, mappa.id).minutes == "MAPPA minutes text"


# -- referrals (issue 14) ---------------------------------------------------------------------------

def _referral_world(dash: int) -> dict:
    from panels import referrals as refs

    iom = panel("IOM")
    iom.referral_criteria = [{"name": "dash_score", "label": "DASH score", "type": "int"}]
    referral = refs.refer(iom, policy=policy("police"), reason="Threats", criteria={"dash_score": dash},
                          nominal={"given_name": "Vera", "family_name": "Lane"})
    db.session.commit()
    return {"referral": referral.id, "meeting": _meeting("IOM", DEC2).id}


def _observe_referrals(app, short: str, ids: dict) -> dict:
    client = app.test_client()
    assert login(client, short).status_code == 302
    paths = ["/panels/IOM/referrals", f"/referrals/{ids['referral']}", f"/meetings/{ids['meeting']}/agenda"]
    return {p: (client.get(p).status_code, _normalised(client.get(p).get_data())) for p in paths}


def test_referral_pages_do_not_depend_on_the_dash_score_without_risk(app, monkeypatch):
    """YOS coordinates IOM with offending but no risk: the DASH score (risk) of a referral
    must not show, nor change what it is shown (high-risk flag, order, wording)."""
    seen, readers = [], []
    for dash in (3, 22):
        _reset(app, monkeypatch)
        ids = _referral_world(dash)
        seen.append(_observe_referrals(app, "yos.coord", ids))
        readers.append(_observe_referrals(app, "coord", ids))
    assert all(status == 200 for status, _ in seen[0].values()), {k: v[0] for k, v in seen[0].items()}
    problems = _differences(*seen)
    assert not problems, "\n".join(problems)
    assert _differences(*readers)  # the LACS coordinator reads risk: the worlds do differ
    assert "Visible high risk" in readers[1]["/panels/IOM/referrals"][1].decode()


def test_inclusion_reviews_do_not_depend_on_rag(app, monkeypatch):
    """The dashboard's inclusion reviews and a case's inclusion page, for a coordinator without risk."""
    seen = []
    for rags, decision in WORLDS:
        _reset(app, monkeypatch)
        panel("IOM").inclusion_review_days = 90
        ids = build(rags, decision)
        client = app.test_client()
        assert login(client, "yos.coord").status_code == 302
        paths = ["/", f"/cases/{ids['cases'][0]}/inclusion"]
        seen.append({p: (client.get(p).status_code, _normalised(client.get(p).get_data())) for p in paths})
    assert all(status == 200 for status, _ in seen[0].values())
    assert 'id="inclusion-due"' in seen[0]["/"][1].decode()  # referred 5 January: overdue, so listed
    problems = _differences(*seen)
    assert not problems, "\n".join(problems)
