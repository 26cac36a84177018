"""The duplication check in the service: `flask dedupe run --json`, GET /api/v1/duplicates, scope
by policy, rejected pairs never coming back, the "match" access-log event."""

from __future__ import annotations

import json

import pytest

from cohort.models import DuplicateCandidate
from core.extensions import db
from duplicates import candidates, jobs
from sharing.models import AccessEvent
from tests.duplicates.test_dedupe_helpers import (
    MUST_MATCH,
    MUST_NOT_MATCH,
    add_nominal,
    add_user,
    make_background,
    pair_of,
    policy_for,
    remove_nominals,
)
from tests.support import access_events


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def cli_pairs(runner, *args) -> dict:
    result = runner.invoke(args=["dedupe", "run", "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.output.strip().splitlines()[-1])


@pytest.fixture
def register(partnership):
    return make_background()


def judge_both_ways(runner, client, token, variants: dict) -> list[tuple]:
    """Each pair entered in both orders, judged by the CLI and the API; returns the wrong verdicts."""
    wrong = []
    for name, (first, second) in variants.items():
        should = name in MUST_MATCH
        for order in ((first, second), (second, first)):
            a = add_nominal(order[0]).id
            b = add_nominal(order[1]).id
            db.session.commit()
            cli = pair_of(cli_pairs(runner), a, b)
            api = pair_of(client.get("/api/v1/duplicates", headers=bearer(token)).get_json(), a, b)
            for how, found in (("cli", cli), ("api", api)):
                score = found["score"] if found else 0.0
                if (score >= 0.5) != should:
                    wrong.append((name, how, "as given" if order[0] is first else "reversed", score,
                                  found and found["reasons"]))
            remove_nominals([a, b])
    return wrong


def test_every_variant_both_ways_through_the_cli_and_the_api(runner, client, api_token, register):
    """Each hand-made pair, entered in both orders, is judged in the background register."""
    variants = {**MUST_MATCH, **MUST_NOT_MATCH}
    assert judge_both_ways(runner, client, api_token("analyst"), variants) == []


def test_different_pnc_is_not_the_same_person(runner, client, api_token, register):
    variants = {"different PNC": MUST_NOT_MATCH["different PNC"]}
    assert judge_both_ways(runner, client, api_token("analyst"), variants) == []


def test_json_shape_matches_the_contract(runner, client, api_token, register):
    a = add_nominal(MUST_MATCH["nickname Bill/William"][0], ("IOM", "MAPPA"))
    b = add_nominal(MUST_MATCH["nickname Bill/William"][1])
    refs_a = sorted(c.ref for c in a.cases)
    db.session.commit()
    for body in (cli_pairs(runner), client.get("/api/v1/duplicates", headers=bearer(api_token("analyst"))).get_json()):
        assert set(body) == {"pairs"}
        pair = pair_of(body, a.id, b.id)
        assert set(pair) == {"a", "b", "score", "band", "reasons"}  # "band" added by issue 17
        assert all(p["band"] == ("probable" if p["score"] >= 0.5 else "review") for p in body["pairs"])
        assert set(pair["a"]) == {"nominal_id", "refs"} and pair["a"]["nominal_id"] < pair["b"]["nominal_id"]
        assert sorted(pair["a"]["refs"]) == refs_a and len(pair["b"]["refs"]) == 1
        assert 0.5 <= pair["score"] <= 1.0
        assert any("given name: a known nickname" in r for r in pair["reasons"])
        assert all(isinstance(r, str) and ("evidence" in r or "relatives" in r or "twins" in r or "identifier" in r)
                   for r in pair["reasons"])
        scores = [p["score"] for p in body["pairs"]]
        assert scores == sorted(scores, reverse=True)


def test_analyst_without_contact_never_sees_postcode_evidence(runner, client, api_token, register):
    first, second = MUST_MATCH["surname typo"]
    a, b = add_nominal(first).id, add_nominal(second).id
    db.session.commit()
    system = pair_of(cli_pairs(runner), a, b)
    assert any(r.startswith("postcode:") for r in system["reasons"])
    # the test analyst's agency (LACS) has no contact grant on any panel
    api = pair_of(client.get("/api/v1/duplicates", headers=bearer(api_token("analyst"))).get_json(), a, b)
    assert api["score"] >= 0.5 and not any(r.startswith("postcode:") for r in api["reasons"])


def test_cli_table_and_run_as_an_analyst(runner, register):
    first, second = MUST_MATCH["Mohammed/Muhammad"]
    a, b = add_nominal(first).id, add_nominal(second).id
    db.session.commit()
    result = runner.invoke(args=["dedupe", "run"])
    assert result.exit_code == 0, result.output
    assert "nominals compared" in result.output and f"#{a} " in result.output and f"#{b} " in result.output
    as_analyst = cli_pairs(runner, "--as", "analyst@test.example")
    assert pair_of(as_analyst, a, b) is not None
    refused = runner.invoke(args=["dedupe", "run", "--json", "--as", "police@test.example"])
    assert refused.exit_code != 0 and "analyst role" in refused.output
    unknown = runner.invoke(args=["dedupe", "run", "--as", "nobody@test.example"])
    assert unknown.exit_code != 0 and "No active user" in unknown.output


def test_run_stores_open_candidates_and_logs_counts_only(runner, register):
    first, second = MUST_MATCH["Kasia/Katarzyna"]
    a, b = add_nominal(first).id, add_nominal(second).id
    db.session.commit()
    cli_pairs(runner)
    row = db.session.execute(db.select(DuplicateCandidate).filter_by(nominal_a_id=a, nominal_b_id=b)).scalar_one()
    assert row.status == "open" and row.score >= 0.5
    assert {"field", "level", "weight", "text", "contact"} == set(row.evidence[0])
    assert any(e["field"] == "given_name" and e["level"] == "nickname" for e in row.evidence)
    event = db.session.execute(db.select(AccessEvent).filter_by(action="match")
                               .order_by(AccessEvent.seq.desc()).limit(1)).scalar_one()
    assert "compared" in event.detail and "Kasia" not in event.detail and "Nowakowska" not in event.detail
    # a second run updates the same row instead of adding another
    cli_pairs(runner)
    assert db.session.execute(db.select(db.func.count(DuplicateCandidate.id)).filter_by(
        nominal_a_id=a, nominal_b_id=b)).scalar_one() == 1


def test_rejected_pairs_never_come_back(runner, client, login_as, api_token, register):
    first, second = MUST_MATCH["DOB day/month swapped"]
    a, b = add_nominal(first).id, add_nominal(second).id
    db.session.commit()
    assert pair_of(cli_pairs(runner), a, b) is not None
    cand = db.session.execute(db.select(DuplicateCandidate).filter_by(nominal_a_id=a, nominal_b_id=b)).scalar_one()
    cand_id = cand.id
    login_as("analyst")
    resp = client.post(f"/duplicates/{cand_id}", data={"decision": "reject"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(DuplicateCandidate, cand_id).status == "rejected"
    assert pair_of(cli_pairs(runner), a, b) is None
    assert pair_of(cli_pairs(runner, "--min-score", "0"), a, b) is None
    token = api_token("analyst")
    assert pair_of(client.get("/api/v1/duplicates", headers=bearer(token)).get_json(), a, b) is None
    assert db.session.get(DuplicateCandidate, cand_id).status == "rejected"
    assert f'id="pair-{cand_id}"' not in client.get("/duplicates").get_data(as_text=True)
    decided = client.get("/duplicates/decided").get_data(as_text=True)
    assert "Not the same person" in decided and "Hargreaves" in decided
    events = [e.detail for e in access_events(action="match")]
    assert any("rejected (not the same person)" in d for d in events)


@pytest.fixture
def dwp_analyst(partnership):
    # DWP reads identity on IOM only (no grant at all on MAPPA)
    return add_user(partnership, "dwp.analyst@test.example", "DWP", ["analyst"])


def test_analyst_only_gets_pairs_among_nominals_they_may_read(runner, client, login_as, api_token, register,
                                                              dwp_analyst):
    both_iom = [add_nominal(p, ("IOM",)).id for p in MUST_MATCH["surname typo"]]
    both_mappa = [add_nominal(p, ("MAPPA",)).id for p in MUST_MATCH["Mohammed/Muhammad"]]
    mixed = [add_nominal(MUST_MATCH["McDonald/MacDonald"][0], ("IOM",)).id,
             add_nominal(MUST_MATCH["McDonald/MacDonald"][1], ("MAPPA",)).id]
    db.session.commit()

    lacs = client.get("/api/v1/duplicates", headers=bearer(api_token("analyst"))).get_json()
    assert all(pair_of(lacs, *p) for p in (both_iom, both_mappa, mixed))

    dwp = client.get("/api/v1/duplicates", headers=bearer(api_token("dwp.analyst@test.example"))).get_json()
    assert pair_of(dwp, *both_iom) is not None
    assert pair_of(dwp, *both_mappa) is None and pair_of(dwp, *mixed) is None
    mappa_only = set(both_mappa) | {mixed[1]}
    assert not any({p["a"]["nominal_id"], p["b"]["nominal_id"]} & mappa_only for p in dwp["pairs"])

    # stored by the system-wide run: the queue still shows DWP only what it may read
    cli_pairs(runner)
    rows = {tuple(sorted(p)): db.session.execute(db.select(DuplicateCandidate.id).filter_by(
        nominal_a_id=min(p), nominal_b_id=max(p))).scalar_one() for p in (both_iom, both_mappa, mixed)}
    login_as("dwp.analyst@test.example")
    page = client.get("/duplicates").get_data(as_text=True)
    assert f'id="pair-{rows[tuple(sorted(both_iom))]}"' in page
    for hidden in (both_mappa, mixed):
        cid = rows[tuple(sorted(hidden))]
        assert f'id="pair-{cid}"' not in page
        assert client.get(f"/duplicates/{cid}").status_code == 404
        assert client.post(f"/duplicates/{cid}", data={"decision": "reject"}).status_code == 404
    assert "Rahman" not in page and "MacDonald" not in page
    refusal = db.session.execute(db.select(AccessEvent).filter_by(action="refused")
                                 .order_by(AccessEvent.seq.desc()).limit(1)).scalar_one()
    assert "not open or not readable" in refusal.detail


@pytest.mark.parametrize("user", ["police", "coord", "admin", "auditor"])
def test_duplicates_api_needs_the_analyst_role(client, api_token, partnership, user):
    resp = client.get("/api/v1/duplicates", headers=bearer(api_token(user)))
    assert resp.status_code == 403 and "analyst" in resp.get_json()["error"]


def test_duplicates_api_needs_a_token(client, partnership):
    assert client.get("/api/v1/duplicates").status_code == 401


def test_merged_nominals_are_never_compared(runner, register):
    first, second = MUST_MATCH["upper case"]
    a, b = add_nominal(first), add_nominal(second)
    b.merged_into_id = register[0]
    db.session.commit()
    assert pair_of(cli_pairs(runner), a.id, b.id) is None


def test_open_candidates_no_longer_found_are_dropped(runner, register):
    first, second = MUST_MATCH["upper case"]
    a, b = add_nominal(first), add_nominal(second)
    db.session.commit()
    cli_pairs(runner)
    assert db.session.execute(db.select(DuplicateCandidate).filter_by(nominal_a_id=a.id, status="open")).first()
    b.given_name, b.family_name = "Completely", "Different"
    b.date_of_birth = None
    from sharing.blind_index import index_nominal

    index_nominal(b)
    db.session.commit()
    cli_pairs(runner)
    assert db.session.execute(db.select(DuplicateCandidate).filter_by(nominal_a_id=a.id, nominal_b_id=b.id)
                              ).first() is None


def test_possible_duplicates_for_a_referral(register, dwp_analyst):
    first, second = MUST_MATCH["nickname Bill/William"]
    on_iom = add_nominal(first, ("IOM",))
    db.session.commit()
    found = candidates.possible_duplicates(second, policy_for("coord"))
    assert found and found[0]["nominal_id"] == on_iom.id and found[0]["score"] >= 0.5
    assert any("nickname" in r for r in found[0]["reasons"])
    assert candidates.possible_duplicates({"given_name": "Nobody", "family_name": "Atall"}, policy_for("coord")) == []
    # someone only on MAPPA is not offered to an agency that cannot read MAPPA identity
    on_mappa = add_nominal(MUST_MATCH["Kasia/Katarzyna"][0], ("MAPPA",))
    db.session.commit()
    kasia = MUST_MATCH["Kasia/Katarzyna"][1]
    assert [f["nominal_id"] for f in candidates.possible_duplicates(kasia, policy_for("coord"))] == [on_mappa.id]
    assert candidates.possible_duplicates(kasia, policy_for("dwp.analyst@test.example")) == []
    assert candidates.possible_duplicates(kasia, policy_for("admin")) == []


def test_fitted_matcher_is_reused_until_the_register_changes(register):
    scope = candidates.Scope(None, None)
    first, _ = candidates.fitted_matcher(scope)
    again, _ = candidates.fitted_matcher(scope)
    assert again is first
    add_nominal(MUST_MATCH["upper case"][0])
    db.session.commit()
    changed, _ = candidates.fitted_matcher(scope)
    assert changed is not first and len(changed.records) == len(first.records) + 1


def test_nightly_job_runs_once_a_day(register):
    import datetime as dt

    from core import clock

    first, second = MUST_MATCH["O'Brien/OBrien"]
    a, b = add_nominal(first).id, add_nominal(second).id
    db.session.commit()
    now = clock.utcnow()
    assert jobs.nightly_dedupe(now) >= 1
    assert db.session.execute(db.select(DuplicateCandidate).filter_by(nominal_a_id=a, nominal_b_id=b)).first()
    assert jobs.nightly_dedupe(now + dt.timedelta(hours=1)) == 0  # same London day: already done
    event = db.session.execute(db.select(AccessEvent).filter_by(action="match")
                               .order_by(AccessEvent.seq.desc()).limit(1)).scalar_one()
    assert event.user_email == "scheduler@system.invalid"
