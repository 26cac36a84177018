"""Non-interference: nothing an agency is shown depends on data its agreements withhold.

For each agency, two worlds are built through the real services that differ ONLY in data
that agency may not see: values in the categories its agreements withhold on each panel
(RAG and its rationale, dates that drive flags, addresses, notes, needs, meeting
decisions), and whether the people it sees are also on panels it takes part in none of.
Every page and API read the route inventory lists (plus the filtered, sorted, searched
and exported variants) is fetched as each of the agency's users in both worlds; after
normalising nonces, the two answers must be identical, status and body.

Both worlds make the same writes in the same order, so ids, versions, change counters and
access-log sequence numbers agree; only values and which row a hidden record hangs on
differ.
"""

from __future__ import annotations

import datetime as dt
import difflib
import io
import re

import pytest

from core import clock
from core.extensions import db
from sharing.crypto import CATEGORIES
from tests.security.routes_table import PATHS
from tests.security.two_worlds import DIP, DIP_ISA, fresh_world, load_partnership, panel, policy, user, without_nonces
from tests.support import TEST_PASSWORD, login, partnership_data

# Pages that show no case data, or whose content is by design the caller's own credentials.
NOT_CASE_DATA = {
    "assets", "healthz", "auth.sign_in", "auth.set_up", "auth.totp", "auth.totp_setup", "auth.account",
    "auth.change_password_page", "api.openapi_document", "api.reference_page", "exchange.preview",
}
# The partnership's register of agreements: every agreement, its parties and its dates, read
# in full by design by coordinators, admins and auditors (partnership governance). No case
# data; the worlds differ in an agreement's review date, which the register shows everyone
# who reads it and a dashboard only to the agreement's parties.
AGREEMENT_REGISTER = {"sharing.isas", "sharing.isa", "sharing.isa_edit", "sharing.matrix"}
# The auditor's pages list access events; every agency here holds no auditor.
AUDITOR_ONLY = {"sharing.audit_log", "sharing.audit_log_csv", "sharing.nominal_lookup", "sharing.nominal_log"}

EXTRA_USERS = [
    {"email": "dwp.coord@test.example", "name": "Dee Coordinator", "agency": "DWP", "roles": ["coordinator"],
     "password": TEST_PASSWORD},
]


# agency -> the users whose views are compared
GROUPS = {
    "DWP": ["dwp", "dwp.coord"],
    "HEALTH": ["health"],
    "LACS": ["coord", "analyst"],
    "POLICE": ["police"],
    "NPS": ["probation", "mappa.coord"],
}

IOM_PEOPLE = [("Ivor", "Canary", "2001/0012345A"), ("Jane", "Dough", "2002/0022222B"), ("Kit", "Marlow", None),
              ("Lena", "Oakes", "2003/0033333C"), ("Ivor", "Canary", None)]  # the last: a likely duplicate


def _partnership() -> dict:
    base = partnership_data()
    # IOM reviews inclusion after 30 days, so the overdue flag (drawn from offending dates) can show
    iom = dict(base["panels"][0], inclusion_review_days=30)
    return partnership_data(panels=[iom, *base["panels"][1:], DIP], isas=base["isas"] + [DIP_ISA],
                            users=base["users"] + EXTRA_USERS)


def _load_partnership() -> None:
    load_partnership(_partnership())


def _reset(app, monkeypatch) -> None:
    fresh_world(app, monkeypatch, _partnership())


WRITER = {"IOM": "probation", "MAPPA": "mappa.coord", "DIP": "mappa.coord"}
INTEL_WRITER = {"IOM": "police", "MAPPA": "mappa.coord", "DIP": "mappa.coord"}


def hidden_from(agency_users: list[str]) -> dict[str, set[str]]:
    """panel code -> categories none of these users may read there."""
    out = {}
    for code in ("IOM", "MAPPA", "DIP"):
        readable: set[str] = set()
        for short in agency_users:
            readable |= policy(short).readable(panel(code).id)
        out[code] = set(CATEGORIES) - readable
    return out


def _vary(secret: bool, hide: set[str], category: str, public, when_hidden):
    """The value a world uses: the same in both worlds unless the category is hidden."""
    return when_hidden if secret and category in hide else public


def build(hidden: dict[str, set[str]], secret: bool) -> dict:
    """One world; `secret` flips only what `hidden` names. Returns ids for the URLs."""
    from cohort import services
    from panels.agenda import generate_agenda
    from panels.jobs import take_snapshot
    from panels.models import Meeting

    today = clock.today()
    ids: dict = {}
    iom, h = panel("IOM"), hidden["IOM"]
    writer = policy(WRITER["IOM"])
    cases = []
    for i, (given, family, pnc) in enumerate(IOM_PEOPLE):
        nominal = services.create_nominal(given_name=given, family_name=family,
                                          date_of_birth=dt.date(1980 + i % 4, 2, 3),
                                          pnc=pnc, address=_vary(secret, h, "contact", "1 Public Road",
                                                                 f"{i} Secret Street"),
                                          postcode=_vary(secret, h, "contact", "AB1 2CD", "ZZ9 9ZZ"))
        referral = _vary(secret, h, "offending", dt.date(2026, 11, 10) if i % 2 else dt.date(2025, 1, 5),
                         dt.date(2025, 1, 5) if i % 2 else dt.date(2026, 11, 10))
        case = services.refer(nominal, iom, ref=f"IOM-{i + 1}", policy=writer, status="active",
                              referral_date=referral)
        cases.append(case)
    rags = ["red", "amber", "green", "amber", "green"]
    for i, case in enumerate(cases):
        rag = _vary(secret, h, "risk", rags[i], rags[::-1][i])
        services.change_rag(case, to=rag, rationale=_vary(secret, h, "risk", "public why", f"secret why {i}"),
                            policy=writer)
        services.update_case(case, policy=writer, expected_version=None, changes={
            "risk_level": _vary(secret, h, "risk", "high", "low"),
            "next_review": _vary(secret, h, "risk", today - dt.timedelta(days=3 * i),
                                 today + dt.timedelta(days=30 + i)),
            "lead_officer": _vary(secret, h, "offending", "DC Public", f"DC Secret {i}"),
            "accommodation": _vary(secret, h, "resettlement", "Settled", f"Sofa surfing {i}"),
            "employment": _vary(secret, h, "resettlement", "Employed", "Unemployed"),
        })
        services.add_engagement(case, on=_vary(secret, h, "offending", today - dt.timedelta(days=10 + 100 * i),
                                               today - dt.timedelta(days=300 - 50 * i)),
                                kind="contact", note=_vary(secret, h, "offending", "seen", "secret contact"),
                                policy=writer)
        services.set_need(case, pathway="accommodation", level=_vary(secret, h, "resettlement", "need", "met"),
                          note=_vary(secret, h, "resettlement", "", "secret need"), policy=writer)
        services.set_need(case, pathway="drugs", level=_vary(secret, h, "substance_misuse", "need", "no_need"),
                          note="", policy=writer)
        services.set_need(case, pathway="health", level=_vary(secret, h, "health", "need", "met"),
                          note="", policy=writer)
    # notes in categories that may be hidden: which case each hangs on, and what it says
    for category in ("health", "substance_misuse", "intelligence", "risk", "offending"):
        on = _vary(secret, h, category, cases[0], cases[2])
        by = policy(INTEL_WRITER["IOM"] if category == "intelligence" else WRITER["IOM"])
        services.add_note(on, category=category, body=_vary(secret, h, category, f"public {category}",
                                                             f"secret {category} note"), policy=by)
    services.add_action(cases[1], description=_vary(secret, h, "offending", "public action", "secret action"),
                        owner_agency_id=user("police").agency_id, owner_name="DC Owner",
                        due=_vary(secret, h, "offending", today + dt.timedelta(days=7), today - dt.timedelta(days=2)),
                        policy=writer)
    ids["pairs"] = _duplicate_pairs()
    # people on other panels: a hidden panel's case hangs on an IOM person, or on someone new
    for code in ("MAPPA", "DIP"):
        other, ph = panel(code), hidden[code]
        pw = policy(WRITER[code])
        whole_panel_hidden = "identity" in ph
        if secret and whole_panel_hidden:
            nominal = cases[3].nominal
        else:
            nominal = services.create_nominal(given_name=f"{code.title()}person", family_name="Elsewhere",
                                              date_of_birth=dt.date(1970, 1, 1))
        case = services.refer(nominal, other, ref=f"{code}-1", policy=pw, status="active",
                              referral_date=dt.date(2026, 6, 1))
        services.change_rag(case, to=_vary(secret, ph, "risk", "green", "red"),
                            rationale=_vary(secret, ph, "risk", "public", "secret"), policy=pw)
        if secret and whole_panel_hidden:  # its agreement due for review: the dashboard warns its parties only
            from sharing.models import Isa, isa_panels

            for isa in db.session.execute(db.select(Isa).join(isa_panels).where(isa_panels.c.panel_id == other.id)
                                          ).scalars():
                isa.review = today + dt.timedelta(days=10)
    db.session.flush()
    meeting = db.session.execute(
        db.select(Meeting).where(Meeting.panel_id == iom.id, Meeting.date >= today).order_by(Meeting.date)
    ).scalars().first()
    generate_agenda(meeting)
    for code in ("IOM", "MAPPA", "DIP"):  # the KPI pages draw from these (counts by month)
        take_snapshot(panel(code).id, today.replace(day=1))
    items = sorted(meeting.items, key=lambda it: it.case_id)
    ids.update(meeting=meeting.id, item=items[0].id, items=[it.id for it in items],
               iom_case=cases[0].id, cases=[c.id for c in cases], iom_nominal=cases[0].nominal_id)
    db.session.commit()
    return ids


def _duplicate_pairs() -> list[int]:
    """The analyst's duplicate check, run as the analyst runs it, over the IOM people (the
    same identities in both worlds): the pair pages are compared like every other page."""
    from flask import g

    from cohort.models import DuplicateCandidate
    from duplicates import candidates as dedupe

    g.pop("user", None)  # a request of the other world left its (now deleted) user here
    dedupe.run(policy("analyst"))
    db.session.flush()
    found = list(db.session.execute(db.select(DuplicateCandidate.id).order_by(DuplicateCandidate.id)).scalars())
    assert found, "the worlds hold a likely duplicate: the check must find it"
    return found


def _paths(ids: dict, codes: list[str]) -> list[tuple[str, str]]:
    """(label, path) for every GET the inventory lists, with the case and panel variants."""
    out = []
    for endpoint, (template, method) in PATHS.items():
        if method != "GET" or endpoint in NOT_CASE_DATA | AUDITOR_ONLY | AGREEMENT_REGISTER:
            continue
        if "{" in template and not set(re.findall(r"{(\w+)}", template)) <= {"iom_case", "meeting", "item",
                                                                               "iom_nominal", "pair"}:
            continue
        out.append((endpoint, template.format(**ids, pair=ids["pairs"][0])))
    for case_id in ids["cases"]:
        out += [("case", f"/cases/{case_id}"), ("api case", f"/api/v1/cases/{case_id}")]
    for item_id in ids["items"]:
        out.append(("item", f"/meetings/{ids['meeting']}/items/{item_id}"))
    out += [("duplicate pair", f"/duplicates/{pair_id}") for pair_id in ids["pairs"]]
    for code in codes:
        base = f"/panels/{code}/tracker"
        out += [(f"tracker {q}", f"{base}?{q}") for q in (
            "", "sort=rag", "sort=rag&dir=desc", "rag=red", "flag=review_due", "flag=new_referral",
            "flag=no_engagement_3m", "flag=on_other_panels", "flag=inclusion_review_overdue",
            "sort=last_engagement", "sort=next_review",
            "sort=lead_agency", "q=Ivor", "q=2001/0012345A", "q=Secret Street")]
        out += [(f"api cases {q}", f"/api/v1/panels/{code}/cases?{q}") for q in ("", "rag=red", "status=active")]
        out += [("export csv", f"/panels/{code}/export.csv?purpose=panel_meeting"),
                ("print", f"/panels/{code}/print?purpose=panel_meeting"), ("panel", f"/panels/{code}")]
    out += [("summary print", f"/meetings/{ids['meeting']}/summary/print")]
    out += [("api agenda", f"/api/v1/meetings/{ids['meeting']}/agenda"), ("api overlaps", "/api/v1/overlaps"),
            ("api panels", "/api/v1/panels")]
    return out


# No exceptions: a case's `version` counts only writes to what the viewer reads, and the
# tracker's `since=` token only the viewer's categories and the panels where it reads
# identity (cohort.change_counter); both are compared like everything else.
_DTSTAMP = re.compile(rb"DTSTAMP:[0-9TZ]+")


def _normalised(resp) -> bytes:
    body = resp.get_data()
    if body[:2] == b"PK":  # an xlsx: compare the cells, not the zip's timestamps
        from openpyxl import load_workbook

        book = load_workbook(io.BytesIO(body), read_only=True)
        return repr([list(ws.iter_rows(values_only=True)) for ws in book.worksheets]).encode()
    return _DTSTAMP.sub(b"DTSTAMP", without_nonces(body))


def observe(app, users: list[str], ids: dict) -> dict[tuple, tuple[int, bytes]]:
    from auth.tokens import create_token

    seen = {}
    for short in users:
        token = create_token(user(short))
        db.session.commit()
        client = app.test_client()
        assert login(client, short).status_code == 302

        codes = [p.code for p in (panel(c) for c in ("IOM", "MAPPA", "DIP")) if policy(short).takes_part(p.id)]
        for n, (label, path) in enumerate(_paths(ids, codes)):
            headers = {"Authorization": f"Bearer {token}"} if path.startswith("/api/") else {}
            resp = client.get(path, headers=headers)
            seen[(short, label, n)] = (resp.status_code, _normalised(resp))
    return seen


def _explain(key, a, b) -> str:
    if a[0] != b[0]:
        return f"{key}: status {a[0]} vs {b[0]}"
    diff = difflib.unified_diff(a[1].decode(errors="replace").splitlines(),
                                b[1].decode(errors="replace").splitlines(), lineterm="", n=1)
    return f"{key}:\n" + "\n".join(list(diff)[2:14])


@pytest.mark.parametrize("agency", list(GROUPS))
def test_what_an_agency_sees_does_not_depend_on_what_it_may_not_see(app, agency, monkeypatch):
    _load_partnership()
    users = GROUPS[agency]
    hidden = hidden_from(users)
    worlds = []
    for secret in (False, True):
        _reset(app, monkeypatch)
        ids = build(hidden, secret)
        worlds.append((ids, observe(app, users, ids)))
    (ids_a, seen_a), (ids_b, seen_b) = worlds
    assert seen_a.keys() == seen_b.keys()
    assert all(v[0] < 500 for v in seen_a.values())
    differing = [_explain(k, seen_a[k], seen_b[k]) for k in seen_a if seen_a[k] != seen_b[k]]
    if ids_a != ids_b:  # e.g. agenda items numbered in an order drawn from hidden data
        differing.insert(0, f"ids differ: {ids_a} vs {ids_b}")
    assert differing == [], f"{len(differing)} of {len(seen_a)} views differ:\n\n" + "\n\n".join(differing[:12])
    if "analyst" in users:  # the pair pages were really shown, not refused in both worlds alike
        assert any(k[:2] == ("analyst", "duplicate pair") and v[0] == 200 for k, v in seen_a.items())


def test_the_worlds_really_differ_for_someone_who_may_see(app, monkeypatch):
    """The check has teeth: NPS reads what DWP may not, so NPS's views of the DWP worlds differ."""
    _load_partnership()
    hidden = hidden_from(GROUPS["DWP"])
    seen = []
    for secret in (False, True):
        _reset(app, monkeypatch)
        ids = build(hidden, secret)
        seen.append(observe(app, ["probation"], ids))
    differing = [k for k in seen[0] if seen[0][k] != seen[1][k]]
    labels = {k[1] for k in differing}
    assert {"case", "api case", "tracker sort=rag", "export csv"} <= labels

