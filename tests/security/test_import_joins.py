"""Issue 12, hole 1: an import (or a referral) joins only people the importer may see.

"May see" (cohort.services.visible_nominal_ids): the person has a case -- live or exited --
on a panel where the importer's agency takes part and may read `identity` under an
agreement in force. An identifier match against anyone else must behave exactly like no
match: same preview, same counts, same errors, same resulting case; a new person is
created and the duplicate check (under the analyst's policy) finds the pair later.

Every world here makes the same writes in the same order, so ids, versions and access-log
sequence numbers agree; the worlds differ only in which identifiers the people the
importer may not see hold. The importer is the LACS coordinator: IOM identity rw, MAPPA
identity r, no agreement on DIP.
"""

from __future__ import annotations

import datetime as dt
import difflib
import io
import re

import pytest

from cohort.identifiers import make_pnc
from core.extensions import db
from tests.security.two_worlds import DIP, DIP_ISA, fresh_world, panel, user
from tests.support import access_events, login, partnership_data

IMPORTER = "coord"
PNC = make_pnc(2005, 43210)  # the PNC the file carries
REFER_PNC = make_pnc(2007, 65432)  # the PNC the referral form carries
ELSEWHERE = (make_pnc(2006, 56789), make_pnc(2008, 77777), make_pnc(2009, 88888))  # nobody's business


REF_AND_PNC = f"ref,pnc\nIOM-NEW,{PNC}\n".encode()
NAMED = f"ref,given_name,family_name,pnc\nIOM-NEW,Newgiven,Newfamily,{PNC}\n".encode()


# -- worlds -------------------------------------------------------------------------------

def _reset(app, monkeypatch) -> None:
    base = partnership_data()
    fresh_world(app, monkeypatch, partnership_data(panels=base["panels"] + [DIP], isas=base["isas"] + [DIP_ISA]))


def _refer(code: str, writer: str, ref: str, **identity):
    from cohort import services
    from sharing.policy import Policy

    nominal = services.create_nominal(**identity)
    return services.refer(nominal, panel(code), ref=ref, policy=Policy(user(writer)), status="active",
                          referral_date=dt.date(2026, 6, 1))


def build(app, monkeypatch, holder: str | None) -> dict[str, int]:
    """One world. `holder` says who holds PNC and REFER_PNC: "DIP" (people on DIP only, whom
    the importer may not see), "MAPPA" (a MAPPA person it may see), "MAPPA-exited" (the same,
    case exited), or None (nobody). The same people exist in every world."""
    from cohort import services
    from sharing.policy import Policy

    _reset(app, monkeypatch)
    dip_pncs = (PNC, REFER_PNC) if holder == "DIP" else ELSEWHERE[:2]
    mappa_pnc = PNC if holder and holder.startswith("MAPPA") else ELSEWHERE[2]
    _refer("IOM", "coord", "IOM-1", given_name="Iris", family_name="Public", date_of_birth=dt.date(1988, 8, 8))
    dip = [_refer("DIP", "mappa.coord", f"DIP-{i + 1}", given_name=f"Dipcanary{i}", family_name="Hiddenperson",
                  date_of_birth=dt.date(1971, 3, 4 + i), address=f"{i} Hidden Lane", postcode="ZZ9 9ZZ", pnc=pnc)
           for i, pnc in enumerate(dip_pncs)]
    mappa = _refer("MAPPA", "mappa.coord", "MAPPA-1", given_name="Mona", family_name="Seen",
                   date_of_birth=dt.date(1979, 9, 9), pnc=mappa_pnc)
    if holder == "MAPPA-exited":
        services.exit_case(mappa, reason="order ended", policy=Policy(user("mappa.coord")))
    db.session.commit()
    return {"dip": dip[0].nominal_id, "dip_referral": dip[1].nominal_id, "mappa": mappa.nominal_id}


# -- observing ------------------------------------------------------------------------------

_VARIES = re.compile(rb'nonce="[^"]*"|nonce-[A-Za-z0-9+/=_-]+|/import/[A-Za-z0-9_-]{32}|'
                     rb'name="csrf_token"[^>]*value="[^"]*"')


def _normalised(resp) -> tuple[int, str | None, bytes]:
    return resp.status_code, resp.headers.get("Location"), _VARIES.sub(b"~", resp.get_data())


def _upload(client, data: bytes):
    return client.post("/panels/IOM/import", data={"file": (io.BytesIO(data), "cohort.csv")},
                       content_type="multipart/form-data")


def _case_id(ref: str) -> int | None:
    from cohort.models import Case

    db.session.commit()  # see what the requests committed
    return db.session.execute(db.select(Case.id).filter_by(ref=ref, panel_id=panel("IOM").id)).scalar()


def _api_token() -> str:
    from auth.tokens import create_token

    token = create_token(user(IMPORTER))
    db.session.commit()
    return token


def _new_case_views(app, seen: dict, ref: str = "IOM-NEW") -> None:
    case_id = _case_id(ref)
    seen[f"{ref} id"] = case_id
    client = app.test_client()
    assert login(client, IMPORTER).status_code == 302
    seen[f"{ref} page"] = _normalised(client.get(f"/cases/{case_id}"))
    seen["tracker"] = _normalised(client.get("/panels/IOM/tracker"))
    api = app.test_client()
    seen[f"{ref} api"] = _normalised(api.get(f"/api/v1/cases/{case_id}",
                                             headers={"Authorization": f"Bearer {_api_token()}"}))


def observe_pages(app) -> dict:
    """Everything the importer is shown: previews, the import, the new case, a referral."""
    seen: dict = {}
    client = app.test_client()
    assert login(client, IMPORTER).status_code == 302
    preview = _upload(client, REF_AND_PNC).headers["Location"]
    seen["ref+pnc preview"] = _normalised(client.get(preview))
    seen["ref+pnc confirm"] = _normalised(client.post(preview))
    preview = _upload(client, NAMED).headers["Location"]
    seen["named preview"] = _normalised(client.get(preview))
    seen["named confirm"] = _normalised(client.post(preview, follow_redirects=True))
    _new_case_views(app, seen)
    referral = {"given_name": "Rhea", "family_name": "Referred", "pnc": REFER_PNC, "ref": "IOM-REF",
                "lead_agency_id": ""}
    seen["refer new"] = _normalised(client.post("/panels/IOM/refer/new", data=referral))
    _new_case_views(app, seen, "IOM-REF")
    return seen


def observe_cli(app, tmp_path) -> dict:
    """What `flask cohort import` tells the importer, and the case it leaves."""
    seen: dict = {}
    runner = app.test_cli_runner()
    for name, data in (("ref-pnc.csv", REF_AND_PNC), ("named.csv", NAMED)):
        path = tmp_path / name
        path.write_bytes(data)
        for dry in (True, False):
            args = ["cohort", "import", str(path), "--panel", "IOM", "--as", f"{IMPORTER}@test.example"]
            result = runner.invoke(args=args + (["--dry-run"] if dry else []))
            seen[f"{name} dry={dry}"] = (result.exit_code, result.output)
    _new_case_views(app, seen)
    return seen


def assert_same(one: dict, other: dict) -> None:
    assert one.keys() == other.keys()
    for key in one:
        if one[key] != other[key]:
            a, b = (repr(v) if not isinstance(v, tuple) or not isinstance(v[-1], bytes)
                    else v[-1].decode(errors="replace") for v in (one[key], other[key]))
            diff = "\n".join(list(difflib.unified_diff(a.splitlines(), b.splitlines(), lineterm=""))[:60])
            pytest.fail(f"{key}: differs between the worlds\n{one[key][:2]} vs {other[key][:2]}\n{diff}")


# -- the tests -----------------------------------------------------------------------------

def test_a_person_the_importer_may_not_see_is_as_if_nobody_held_the_pnc(app, monkeypatch):
    hidden = build(app, monkeypatch, "DIP")
    with_hidden = observe_pages(app)
    build(app, monkeypatch, None)
    with_nobody = observe_pages(app)

    assert_same(with_hidden, with_nobody)
    page = with_hidden["named preview"][2].decode()
    assert "New person" in page and "Joins existing person" not in page
    assert "Dipcanary" not in repr(with_hidden) and "Hidden Lane" not in repr(with_hidden)
    assert "DIP" not in with_hidden["IOM-NEW page"][2].decode()

    # A new person was made; the hidden one is untouched and the duplicate check finds the pair.
    build(app, monkeypatch, "DIP")
    observe_pages(app)
    _assert_new_person_paired(hidden["dip"], "IOM-NEW")
    _assert_new_person_paired(hidden["dip_referral"], "IOM-REF")


def _assert_new_person_paired(hidden_nominal_id: int, ref: str) -> None:
    from cohort.models import Case
    from duplicates import candidates as dedupe

    case = db.session.get(Case, _case_id(ref))
    assert case.nominal_id != hidden_nominal_id
    pairs = {frozenset((p.a, p.b)) for p in dedupe.run(None).pairs}
    assert frozenset((case.nominal_id, hidden_nominal_id)) in pairs


def test_the_command_line_import_is_the_same_whoever_holds_the_pnc_unseen(app, monkeypatch, tmp_path):
    hidden = build(app, monkeypatch, "DIP")
    with_hidden = observe_cli(app, tmp_path)
    build(app, monkeypatch, None)
    with_nobody = observe_cli(app, tmp_path)

    assert_same(with_hidden, with_nobody)
    assert with_hidden["ref-pnc.csv dry=False"][0] == 1
    assert "1 new case(s) (1 new people, 0 joined" in with_hidden["named.csv dry=False"][1]
    build(app, monkeypatch, "DIP")
    observe_cli(app, tmp_path)
    _assert_new_person_paired(hidden["dip"], "IOM-NEW")


@pytest.mark.parametrize("holder", ["MAPPA", "MAPPA-exited"])
def test_a_person_the_importer_may_see_is_joined_and_logged(app, monkeypatch, holder):
    from cohort.models import Case
    from sharing.models import AccessEvent

    ids = build(app, monkeypatch, holder)
    client = app.test_client()
    assert login(client, IMPORTER).status_code == 302
    preview = _upload(client, REF_AND_PNC).headers["Location"]
    html = client.get(preview).get_data(as_text=True)
    assert "Joins existing person (PNC ID)" in html, html
    assert client.post(preview).status_code == 302

    case = db.session.get(Case, _case_id("IOM-NEW"))
    assert case.nominal_id == ids["mappa"]
    events = db.session.execute(db.select(AccessEvent).where(AccessEvent.user_email == f"{IMPORTER}@test.example")
                                .order_by(AccessEvent.seq)).scalars().all()
    shown = [e for e in events if e.detail.startswith("import preview")]
    imported = [e for e in events if e.action == "import"]
    assert shown and imported
    for event in (shown[0], imported[0]):
        assert _names(event, ids["mappa"]), (event.nominal_id, event.detail)


def test_the_command_line_joins_a_person_the_importer_may_see(app, monkeypatch, tmp_path):
    from cohort.models import Case

    ids = build(app, monkeypatch, "MAPPA")
    path = tmp_path / "ref-pnc.csv"
    path.write_bytes(REF_AND_PNC)
    result = app.test_cli_runner().invoke(args=["cohort", "import", str(path), "--panel", "IOM",
                                                "--as", f"{IMPORTER}@test.example"])
    assert result.exit_code == 0, result.output
    assert "1 new case(s) (0 new people, 1 joined" in result.output
    assert db.session.get(Case, _case_id("IOM-NEW")).nominal_id == ids["mappa"]


def test_the_access_log_never_names_the_unseen_person_to_the_importer(app, monkeypatch):
    from cohort.models import Case
    from sharing.models import AccessEvent

    ids = build(app, monkeypatch, "DIP")
    observe_pages(app)
    events = db.session.execute(db.select(AccessEvent).where(AccessEvent.user_email == f"{IMPORTER}@test.example")
                                ).scalars().all()
    assert events and not any(_names(e, ids["dip"]) or _names(e, ids["dip_referral"]) for e in events)
    made = db.session.get(Case, _case_id("IOM-NEW")).nominal_id
    assert any(_names(e, made) for e in events if e.action == "import")


def _names(event, nominal_id: int) -> bool:
    """Does the access event record this nominal (its own column, or the list of ids)?"""
    if event.nominal_id == nominal_id:
        return True
    listed = getattr(event, "nominal_ids", None)
    if listed:
        return nominal_id in _ids(listed)
    found = re.search(r"; nominals ([\d,-]+)$", event.detail or "")
    return found is not None and nominal_id in _ids(found.group(1))


def _ids(value) -> set[int]:
    """Ids from a list, or from the detail's runs ("3-5,9")."""
    if not isinstance(value, str):
        return {int(v) for v in value}
    out: set[int] = set()
    for run in value.split(","):
        low, _, high = run.partition("-")
        out.update(range(int(low), int(high or low) + 1))
    return out


def test_refer_will_not_join_a_person_the_referrer_may_not_see(app, monkeypatch):
    """The service itself refuses, whatever a caller passes it (the pages look people up
    through visible_nominals, so they never offer such a person)."""
    from cohort import services
    from cohort.models import Nominal
    from sharing.policy import Policy

    ids = build(app, monkeypatch, "DIP")
    coord = Policy(user(IMPORTER))
    with pytest.raises(services.Refused):
        services.refer(db.session.get(Nominal, ids["dip"]), panel("IOM"), ref="IOM-X", policy=coord)
    assert services.visible_nominal_ids({ids["dip"], ids["mappa"]}, coord) == {ids["mappa"]}
    case = services.refer(db.session.get(Nominal, ids["mappa"]), panel("IOM"), ref="IOM-Y", policy=coord)
    assert case.nominal_id == ids["mappa"]


def test_a_long_list_of_nominals_is_logged_whole_over_several_events(app, monkeypatch):
    from exchange.importing import record_nominals
    from sharing import audit

    build(app, monkeypatch, None)
    scattered = list(range(1, 6000, 2))  # no runs: 3,000 ids, too many for one event's detail
    record_nominals("import", scattered + [7001, 7002, 7003], user=user(IMPORTER), panel=panel("IOM"),
                    detail="3003 row(s)")
    db.session.commit()
    events = access_events(action="import")
    assert len(events) > 1 and all(len(e.detail) <= 4000 for e in events)
    assert events[0].detail.startswith(f"3003 row(s) (part 1 of {len(events)}); nominals 1,3,5,")
    logged = set().union(*(_ids(re.search(r"; nominals ([\d,-]+)$", e.detail).group(1)) for e in events))
    assert logged == set(scattered) | {7001, 7002, 7003}
    assert "7001-7003" in events[-1].detail
    assert audit.verify().ok
