"""Confirming a pair (merge), the admin's unmerge, and the queue's decisions through the pages."""

from __future__ import annotations

import datetime as dt

import pytest

from cohort import services
from cohort.models import Case, CaseEvent, DuplicateCandidate, Merge, Nominal
from core import clock
from core.extensions import db
from duplicates import merging
from sharing.models import AccessEvent
from tests.duplicates.test_dedupe_helpers import D, add_nominal, add_user, policy_for
from tests.support import access_events

NOMINAL_COLUMNS = [c.name for c in Nominal.__table__.columns if c.name.endswith("_enc") or c.name.startswith("bi_")]


def snapshot(nominal_ids: list[int]) -> dict:
    """Every stored value of the nominals and of their cases (except versions and timestamps)."""
    db.session.expire_all()
    out = {}
    for nid in nominal_ids:
        n = db.session.get(Nominal, nid)
        out[("nominal", nid)] = {c: getattr(n, c) for c in [*NOMINAL_COLUMNS, "merged_into_id"]}
    cases = db.session.execute(db.select(Case).where(Case.nominal_id.in_(nominal_ids))).unique().scalars()
    for c in cases:
        out[("case", c.id)] = (c.nominal_id, c.panel_id, c.status, c.exit_reason_enc, c.exited_on)
    return out


def candidate(a: Nominal, b: Nominal, score: float = 0.97) -> DuplicateCandidate:
    lo, hi = sorted((a.id, b.id))
    row = DuplicateCandidate(nominal_a_id=lo, nominal_b_id=hi, score=score, status="open", found_at=clock.utcnow(),
                             evidence=[{"field": "given_name", "level": "nickname", "weight": 4.2,
                                        "text": "given name: a known nickname or spelling variant (e.g. "
                                                "Bill/William), moderate evidence for"}])
    db.session.add(row)
    db.session.flush()
    return row


@pytest.fixture
def people(partnership):
    """William (IOM, with history) and Bill (IOM and MAPPA, other identifiers): one person twice."""
    kept = add_nominal({"given_name": "William", "family_name": "Hargreaves", "date_of_birth": D(1984, 3, 12),
                        "pnc": "2003/0456789E", "aliases": ["Billy H"]}, ("IOM",))
    iom = kept.cases[0]
    services.change_rag(iom, to="red", rationale="Arrested", policy=policy_for("coord"))
    services.add_engagement(iom, on=D(2026, 11, 1), kind="contact", note="Seen at home", policy=policy_for("coord"))
    merged = add_nominal({"given_name": "Bill", "family_name": "Hargreaves", "date_of_birth": D(1984, 3, 12),
                          "crn": "X123456", "nomis": "A1234BC", "postcode": "LS6 3QT", "aliases": ["Billy H"]},
                         ("IOM", "MAPPA"))
    cand = candidate(kept, merged)
    db.session.commit()
    return {"kept": kept.id, "merged": merged.id, "candidate": cand.id, "kept_iom": iom.id,
            "merged_iom": next(c.id for c in merged.cases if c.panel.code == "IOM"),
            "merged_mappa": next(c.id for c in merged.cases if c.panel.code == "MAPPA")}


def merge_through_the_page(client, login_as, people, keep: int):
    login_as("analyst")
    cid = people["candidate"]
    data = {f"pair-{cid}-keep": str(keep), "decision": "merge", "confirm": "yes"}
    return client.post(f"/duplicates/{cid}", data=data)


def test_merge_moves_cases_and_fills_identifiers(client, login_as, people):
    resp = merge_through_the_page(client, login_as, people, people["kept"])
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/duplicates")
    db.session.expire_all()
    kept, merged = db.session.get(Nominal, people["kept"]), db.session.get(Nominal, people["merged"])
    assert merged.merged_into_id == kept.id
    assert all(getattr(merged, c) is None for c in NOMINAL_COLUMNS if c.startswith("bi_"))
    assert kept.pnc == "2003/0456789E" and kept.crn == "X123456" and kept.nomis == "A1234BC"
    assert kept.postcode == "LS6 3QT" and kept.given_name == "William"
    assert kept.aliases == ["Billy H", "Bill Hargreaves"]
    assert kept.bi_crn is not None and kept.bi_nomis is not None
    # MAPPA moved; both had IOM: both cases kept, the merged one exited and left with the pointer
    mappa = db.session.get(Case, people["merged_mappa"])
    assert mappa.nominal_id == kept.id and mappa.status == "active"
    dup = db.session.get(Case, people["merged_iom"])
    assert dup.nominal_id == merged.id and dup.status == "exited"
    assert dup.exit_reason == f"merged into case {people['kept_iom']}" and dup.exited_on == clock.today()
    iom = db.session.get(Case, people["kept_iom"])
    assert iom.nominal_id == kept.id and iom.status == "active" and iom.rag == "red"
    cand = db.session.get(DuplicateCandidate, people["candidate"])
    assert cand.status == "merged" and cand.decided_by_id is not None
    row = db.session.execute(db.select(Merge)).scalar_one()
    assert row.kept_id == kept.id and row.merged_id == merged.id and row.candidate_id == cand.id
    assert row.moved["cases"] == [{"id": mappa.id, "from": merged.id, "to": kept.id}]
    assert [e["id"] for e in row.moved["exits"]] == [dup.id]
    assert row.moved["filled"] == ["nomis", "crn", "postcode"]
    assert set(row.moved["kept_columns"]) == {"nomis", "crn", "postcode", "aliases"}
    # history on every case touched, and the access log
    for case_id in (iom.id, mappa.id, dup.id):
        kinds = db.session.execute(db.select(CaseEvent.kind).filter_by(case_id=case_id)).scalars().all()
        assert "merged" in kinds
    events = access_events(action="merge")
    assert {e.case_id for e in events} >= {iom.id, mappa.id, dup.id}
    assert any(f"nominal {merged.id} merged into nominal {kept.id}" in e.detail for e in events)
    assert all("Hargreaves" not in e.detail for e in events)


def test_merge_history_on_both_case_pages_and_the_decided_tab(client, login_as, people):
    merge_through_the_page(client, login_as, people, people["kept"])
    decided = client.get("/duplicates/decided").get_data(as_text=True)
    assert 'id="merge-history"' in decided and "William Hargreaves" in decided and "Bill Hargreaves" in decided
    assert "1 case(s) moved, 1 duplicate case(s) exited" in decided
    login_as("police")  # reads offending on IOM and MAPPA
    for case_id in (people["kept_iom"], people["merged_mappa"], people["merged_iom"]):
        page = client.get(f"/cases/{case_id}").get_data(as_text=True)
        assert "Records merged" in page and "merge 1" in page  # the chronology's title (issue 15)
    page = client.get(f"/cases/{people['merged_iom']}").get_data(as_text=True)
    assert f"merged into case {people['kept_iom']}" in page


def test_unmerge_restores_exactly(client, login_as, people):
    ids = [people["kept"], people["merged"]]
    before = snapshot(ids)
    merge_through_the_page(client, login_as, people, people["merged"])  # keep the other one this time
    assert snapshot(ids) != before
    row = db.session.execute(db.select(Merge)).scalar_one()
    login_as("admin")
    listing = client.get("/duplicates/merges").get_data(as_text=True)
    assert f"/duplicates/merges/{row.id}/undo" in listing and "Hargreaves" not in listing  # pseudonyms only
    assert "Hargreaves" not in client.get(f"/duplicates/merges/{row.id}/undo").get_data(as_text=True)
    resp = client.post(f"/duplicates/merges/{row.id}/undo")
    assert resp.status_code == 302
    assert snapshot(ids) == before
    db.session.expire_all()
    assert db.session.get(Nominal, people["kept"]).aliases == ["Billy H"]
    assert db.session.get(DuplicateCandidate, people["candidate"]).status == "open"
    row = db.session.get(Merge, row.id)
    assert row.undone_at is not None and row.undone_by_id is not None
    events = access_events(action="unmerge")
    assert events and any(f"merge {row.id} undone" in e.detail for e in events)
    kinds = db.session.execute(db.select(CaseEvent.kind).filter_by(case_id=people["kept_iom"])).scalars().all()
    assert "unmerged" in kinds
    # the pair is back in the analysts' queue; undoing twice is refused
    assert client.post(f"/duplicates/merges/{row.id}/undo").status_code == 200
    assert db.session.execute(db.select(db.func.count(AccessEvent.id)).filter_by(action="unmerge")).scalar_one() \
        == len(events)
    login_as("analyst")
    assert f'id="pair-{people["candidate"]}"' in client.get("/duplicates").get_data(as_text=True)


def test_unmerge_is_for_admins_only(client, login_as, people):
    merge_through_the_page(client, login_as, people, people["kept"])
    row_id = db.session.execute(db.select(Merge.id)).scalar_one()
    for user in ("analyst", "coord", "auditor"):
        login_as(user)
        assert client.get("/duplicates/merges").status_code == 403
        assert client.post(f"/duplicates/merges/{row_id}/undo").status_code == 403
    assert db.session.get(Merge, row_id).undone_at is None
    refused = access_events(action="refused")
    assert any("needs one of admin" in e.detail for e in refused)
    login_as("admin")
    assert client.get(f"/duplicates/{people['candidate']}").status_code == 403  # admins see no case data
    assert client.get("/duplicates").headers["Location"].endswith("/duplicates/merges")


def test_a_later_merge_must_be_undone_first(client, login_as, people):
    merge_through_the_page(client, login_as, people, people["kept"])
    third = add_nominal({"given_name": "Will", "family_name": "Hargreaves", "date_of_birth": D(1984, 3, 12)},
                        ("MAPPA",))
    kept = db.session.get(Nominal, people["kept"])
    cand = candidate(kept, third)
    db.session.commit()
    merging.merge(cand, kept.id, policy_for("analyst"))
    db.session.commit()
    first, second = db.session.execute(db.select(Merge).order_by(Merge.id)).scalars().all()
    login_as("admin")
    page = client.get(f"/duplicates/merges/{first.id}/undo").get_data(as_text=True)
    assert f"Undo merge {second.id} first" in page
    client.post(f"/duplicates/merges/{first.id}/undo")
    assert db.session.get(Merge, first.id).undone_at is None
    assert client.post(f"/duplicates/merges/{second.id}/undo").status_code == 302
    assert client.post(f"/duplicates/merges/{first.id}/undo").status_code == 302
    db.session.expire_all()
    assert db.session.get(Nominal, people["kept"]).aliases == ["Billy H"]
    assert db.session.get(Nominal, third.id).merged_into_id is None


def test_the_live_case_is_kept_when_the_kept_record_had_exited(partnership):
    kept = add_nominal({"given_name": "Sean", "family_name": "O'Brien"}, ("IOM",))
    services.exit_case(kept.cases[0], reason="Moved away", policy=policy_for("coord"))
    merged = add_nominal({"given_name": "Sean", "family_name": "OBrien"}, ("IOM",))
    old_case, live_case = kept.cases[0].id, merged.cases[0].id
    cand = candidate(kept, merged)
    db.session.commit()
    before = snapshot([kept.id, merged.id])
    row = merging.merge(cand, kept.id, policy_for("analyst"))
    db.session.commit()
    db.session.expire_all()
    live, old = db.session.get(Case, live_case), db.session.get(Case, old_case)
    assert live.nominal_id == kept.id and live.status == "active"
    assert old.nominal_id == merged.id and old.status == "exited" and old.exit_reason == "Moved away"
    merging.unmerge(row, policy_for("admin").user)
    db.session.commit()
    assert snapshot([kept.id, merged.id]) == before


def test_merging_asks_first_and_says_which_record_is_kept(client, login_as, people):
    from tests.html import Page

    login_as("analyst")
    cid = people["candidate"]
    keep = db.session.get(DuplicateCandidate, cid).nominal_a_id
    page = Page(client.post(f"/duplicates/{cid}", data={f"pair-{cid}-keep": str(keep), "decision": "merge"}))
    assert page.status == 200 and page.h1 == ["Merge these two records?"]
    assert "record is kept" in page.visible_text() and "An administrator can undo the merge" in page.visible_text()
    assert db.session.execute(db.select(Merge)).first() is None  # nothing merged yet
    (form,) = [f for f in page.forms if f.fields.get("confirm") == "yes"]
    assert form.fields[f"pair-{cid}-keep"] == str(keep) and form.fields["decision"] == "merge"
    assert client.post(form.action, data=form.fields).status_code == 302
    assert db.session.execute(db.select(Merge)).scalar_one().kept_id == keep


def test_merge_needs_a_choice_and_is_never_automatic(client, login_as, people):
    login_as("analyst")
    cid = people["candidate"]
    resp = client.post(f"/duplicates/{cid}", data={"decision": "merge"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "Choose which record to keep" in body and "govuk-error-summary" in body
    resp = client.post(f"/duplicates/{cid}", data={f"pair-{cid}-keep": "999999", "decision": "merge"})
    assert resp.status_code == 200 and "govuk-error-summary" in resp.get_data(as_text=True)
    resp = client.post(f"/duplicates/{cid}", data={"decision": "explode"})
    assert resp.status_code == 200
    assert db.session.execute(db.select(Merge)).first() is None
    assert db.session.get(DuplicateCandidate, cid).status == "open"


def test_merge_refused_without_identity_on_both(partnership, people):
    add_user(partnership, "dwp.analyst@test.example", "DWP", ["analyst"])
    cand = db.session.get(DuplicateCandidate, people["candidate"])
    mappa_only = add_nominal({"given_name": "Mappa", "family_name": "Only"}, ("MAPPA",))
    other = candidate(db.session.get(Nominal, people["kept"]), mappa_only)
    db.session.commit()
    with pytest.raises(merging.MergeError):
        merging.merge(other, people["kept"], policy_for("dwp.analyst@test.example"))
    with pytest.raises(merging.MergeError):
        merging.merge(cand, people["kept"], policy_for("coord"))  # not an analyst
    assert db.session.execute(db.select(Merge)).first() is None


def test_skip_moves_a_pair_to_the_end(client, login_as, partnership, people):
    a = add_nominal({"given_name": "Callum", "family_name": "McDonald"})
    b = add_nominal({"given_name": "Callum", "family_name": "MacDonald"})
    second = candidate(a, b, score=0.6)
    db.session.commit()
    login_as("analyst")
    page = client.get("/duplicates").get_data(as_text=True)
    assert page.index(f'id="pair-{people["candidate"]}"') < page.index(f'id="pair-{second.id}"')
    clock.set_now(clock.to_london(clock.utcnow() + dt.timedelta(minutes=1)))
    resp = client.post(f"/duplicates/{people['candidate']}", data={"decision": "skip"})
    assert resp.status_code == 302
    page = client.get("/duplicates").get_data(as_text=True)
    assert page.index(f'id="pair-{second.id}"') < page.index(f'id="pair-{people["candidate"]}"')
    assert db.session.get(DuplicateCandidate, people["candidate"]).status == "open"
    assert "skipped" in page


def test_queue_shows_both_records_side_by_side_with_evidence(client, login_as, people):
    login_as("analyst")
    resp = client.get("/duplicates")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "<title>Possible duplicates" in page
    assert "William Hargreaves" in page and "Bill Hargreaves" in page and "X123456" in page
    assert "given name: a known nickname or spelling variant (e.g. Bill/William), moderate evidence for" in page
    assert "Postcode" not in page and "LS6 3QT" not in page  # the analyst's agency has no contact grant
    assert "Same person: merge" in page and "Not the same person" in page and "Skip for now" in page
    view = db.session.execute(db.select(AccessEvent).filter_by(action="view")
                              .order_by(AccessEvent.seq.desc()).limit(1)).scalar_one()
    assert str(people["kept"]) in view.detail and "duplicate queue" in view.detail
    for user in ("police", "coord", "auditor"):
        login_as(user)
        assert client.get("/duplicates").status_code == 403


def test_run_from_the_queue_page(client, login_as, partnership):
    add_nominal({"given_name": "William", "family_name": "Hargreaves", "date_of_birth": D(1984, 3, 12)})
    add_nominal({"given_name": "Bill", "family_name": "Hargreaves", "date_of_birth": D(1984, 3, 12)})
    db.session.commit()
    login_as("analyst")
    resp = client.post("/duplicates/run", follow_redirects=True)
    assert "Duplicate check run" in resp.get_data(as_text=True)
    assert db.session.execute(db.select(AccessEvent).filter_by(action="match")).first() is not None
