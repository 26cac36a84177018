"""Blocking through the blind indexes: stored keyed hashes of the blocking keys, kept up to
date wherever a nominal's identity changes, used by the duplicate check so that only
nominals in candidate pairs are decrypted, and only under the ISA categories."""

from __future__ import annotations

import pytest

from cohort.models import Nominal, NominalBlockKey
from core.extensions import db
from duplicates import candidates, keys
from duplicates.matching import Matcher, Record
from duplicates.matching.blocking import BlockIndex
from tests.duplicates.test_dedupe_helpers import (
    MUST_MATCH,
    D,
    add_nominal,
    add_user,
    make_background,
    person,
    policy_for,
)

from .conftest import background


def stored(nominal_id: int) -> set[tuple[str, int]]:
    rows = db.session.execute(
        db.select(NominalBlockKey.kind, NominalBlockKey.token).where(NominalBlockKey.nominal_id == nominal_id)
    )
    return set(rows.all())


# -- the pure matcher with candidates found outside it ----------------------------------------

def test_matcher_with_given_candidates_and_sample_agrees_with_the_plain_matcher():
    a = Record(id=1, given_name="William", family_name="Hargreaves", date_of_birth=D(1984, 3, 12), postcode="LS6 3QT")
    b = Record(id=2, given_name="Bill", family_name="Hargraves", date_of_birth=D(1984, 3, 12), postcode="LS6 3QT")
    records = [*background(), a, b]
    plain = Matcher(records).fit()
    pairs, rows = BlockIndex(records).candidate_pairs()
    ids = plain.ids[pairs]
    given = Matcher(records, candidates=(ids, rows)).fit()
    assert [(p.a, p.b, round(p.score, 9)) for p in given.pairs(0.1)] == [
        (p.a, p.b, round(p.score, 9)) for p in plain.pairs(0.1)
    ]
    # only the records in pairs plus a sample decrypted: the verdict on the pair holds
    in_pairs = set(ids.ravel().tolist())
    sample = [r.id for r in records[::2]]
    part = [r for r in records if r.id in in_pairs or r.id in set(sample)]
    partial = Matcher(part, candidates=(ids, rows), n_register=len(records), sample=sample).fit()
    found = {(p.a, p.b): p.score for p in partial.pairs(0.5)}
    assert found.get((1, 2), 0) >= 0.5
    assert set(found) == {(p.a, p.b) for p in plain.pairs(0.5)}
    assert partial.match_against(b, [a])[0].score >= 0.5


# -- stored tokens, kept up to date --------------------------------------------------------

def test_tokens_are_stored_and_follow_identity_changes(partnership):
    from sharing.blind_index import index_nominal

    n = add_nominal(person("William", "Hargreaves", D(1984, 3, 12)))
    db.session.commit()
    first = stored(n.id)
    kinds = {k for k, _t in first}
    assert {"dob", "names", "name_edits", "family_year", "given_postcode"} <= kinds
    assert all(0 <= t < 2**keys.TOKEN_BITS for _k, t in first)
    assert first == set(keys.nominal_tokens(n))

    n.given_name = "Jack"
    index_nominal(n)
    db.session.commit()
    second = stored(n.id)
    assert second != first and second == set(keys.nominal_tokens(n))
    assert {t for k, t in first if k == "dob"} == {t for k, t in second if k == "dob"}


def test_tokens_are_keyed_not_plain_hashes(partnership):
    import hashlib

    rec = Record(id=1, given_name="William", family_name="Hargreaves", date_of_birth=D(1984, 3, 12))
    dob = [t for k, t in keys.tokens(rec) if k == "dob"]
    plain = int.from_bytes(hashlib.sha256(b"1984-3-12").digest()[:4], "big") >> (32 - keys.TOKEN_BITS)
    assert dob and plain not in dob


def test_merge_and_unmerge_keep_the_tokens(partnership):
    from cohort.models import DuplicateCandidate
    from core import clock
    from duplicates import merging

    a = add_nominal(person("William", "Hargreaves", D(1984, 3, 12), pnc="2003/0456789E"))
    b = add_nominal(person("Bill", "Hargraves", D(1984, 3, 12)))
    db.session.commit()
    before_b = stored(b.id)
    cand = DuplicateCandidate(nominal_a_id=a.id, nominal_b_id=b.id, score=0.9, status="open",
                              found_at=clock.utcnow(), evidence=[])
    db.session.add(cand)
    db.session.flush()
    row = merging.merge(cand, a.id, policy_for("analyst"))
    db.session.commit()
    assert stored(b.id) == set()  # a merged-away pointer is never a candidate
    kept = db.session.get(Nominal, a.id)
    assert stored(a.id) == set(keys.nominal_tokens(kept))
    assert any(k == "names" for k, _t in stored(a.id))
    merging.unmerge(row, policy_for("admin").user)
    db.session.commit()
    assert stored(b.id) == before_b


def test_import_writes_tokens_of_new_people(partnership, runner, tmp_path):
    from tests.exchange.test_import_helpers import csv_bytes, synthetic_rows

    path = tmp_path / "iom.csv"
    path.write_bytes(csv_bytes(synthetic_rows(5)))
    result = runner.invoke(args=["cohort", "import", str(path), "--panel", "IOM", "--as", "probation@test.example"])
    assert result.exit_code == 0, result.output
    db.session.rollback()
    nominals = list(db.session.execute(db.select(Nominal)).scalars())
    assert len(nominals) == 5
    for n in nominals:
        assert stored(n.id) and stored(n.id) == set(keys.nominal_tokens(n))


# -- the check decrypts only what it compares, under the ISAs --------------------------------

@pytest.fixture
def register(partnership):
    return make_background()


def test_only_nominals_in_candidate_pairs_are_decrypted(register, monkeypatch):
    monkeypatch.setattr(candidates, "SAMPLE", 0)
    decrypted: list[int] = []
    real = candidates.to_record

    def spy(nominal, **kw):
        decrypted.append(nominal.id)
        return real(nominal, **kw)

    monkeypatch.setattr(candidates, "to_record", spy)
    first, second = MUST_MATCH["nickname Bill/William"]
    a, b = add_nominal(first).id, add_nominal(second).id
    loner = add_nominal(person("Zebedee", "Quackenbush", D(1931, 7, 30), postcode="ZE3 9XX")).id
    db.session.commit()
    decrypted.clear()  # (making the nominals computed their tokens)
    result = candidates.run(None, min_score=0.5, store=False)
    assert (a, b) in {(p.a, p.b) for p in result.pairs}
    assert a in decrypted and b in decrypted and loner not in decrypted
    assert result.decrypted == len(set(decrypted)) < result.compared


def test_postcode_keys_only_where_contact_is_readable(register):
    # the same given name and postcode, nothing else in common: only a postcode key pairs them
    x = add_nominal(person("Xavier", "Quinton", D(1980, 1, 1), postcode="LS6 3QT")).id
    y = add_nominal(person("Xavier", "Blackwood", D(1990, 5, 5), postcode="LS6 3QT")).id
    db.session.commit()
    ids = candidates._nominal_ids_in(candidates.Scope(None, None))
    with_contact, rows = keys.candidate_pairs(ids, None)
    assert (x, y) in {tuple(p) for p in with_contact.tolist()}
    kinds = {k for k, r in rows.items() if any(tuple(with_contact[i]) == (x, y) for i in r.tolist())}
    assert kinds <= keys.CONTACT_KINDS
    without, _ = keys.candidate_pairs(ids, set())
    assert (x, y) not in {tuple(p) for p in without.tolist()}


def test_analyst_without_contact_grant_never_blocks_on_postcodes(register, partnership):
    add_user(partnership, "dwp.analyst@test.example", "DWP", ["analyst"])  # identity only, on IOM
    x = add_nominal(person("Xavier", "Quinton", D(1980, 1, 1), postcode="LS6 3QT")).id
    y = add_nominal(person("Xavier", "Blackwood", D(1990, 5, 5), postcode="LS6 3QT")).id
    db.session.commit()
    dwp = candidates.fitted(candidates.Scope.of(policy_for("dwp.analyst@test.example"))).matcher
    full = candidates.fitted(candidates.Scope(None, None)).matcher
    pairs_of = lambda m: {tuple(p) for p in m.ids[m._cand].tolist()}  # noqa: E731
    assert (x, y) in pairs_of(full)
    assert (x, y) not in pairs_of(dwp)
    assert all(r.postcode is None for r in dwp.records)


def test_referral_check_decrypts_only_nominals_sharing_a_token(register, monkeypatch):
    first, second = MUST_MATCH["nickname Bill/William"]
    on_iom = add_nominal(first).id
    db.session.commit()
    candidates.fitted(candidates.Scope(None, None))  # the model, fitted beforehand (nightly, cached)
    loaded: list[int] = []
    real = candidates._load

    def spy(ids):
        out = real(ids)
        loaded.extend(n.id for n in out)
        return out

    monkeypatch.setattr(candidates, "_load", spy)
    found = candidates.possible_duplicates(second, policy_for("coord"))
    assert found and found[0]["nominal_id"] == on_iom
    assert on_iom in loaded and len(loaded) < 20  # not the 200 others


def test_reindex_restores_missing_tokens_and_the_check_backfills(partnership, runner):
    first, second = MUST_MATCH["nickname Bill/William"]
    a, b = add_nominal(first).id, add_nominal(second).id
    db.session.commit()
    want = stored(a)
    db.session.execute(db.delete(NominalBlockKey))  # as for nominals recorded before the tokens
    db.session.commit()
    result = runner.invoke(args=["dedupe", "reindex"])
    assert result.exit_code == 0, result.output
    assert "Blocking keys of 2 nominal(s) recomputed." in result.output
    db.session.rollback()
    assert stored(a) == want
    assert "0 nominal(s)" in runner.invoke(args=["dedupe", "reindex"]).output
    assert "2 nominal(s)" in runner.invoke(args=["dedupe", "reindex", "--all"]).output
    db.session.execute(db.delete(NominalBlockKey).where(NominalBlockKey.nominal_id == b))
    db.session.commit()
    pairs = candidates.run(None, min_score=0.5, store=False).pairs
    assert (a, b) in {(p.a, p.b) for p in pairs}
    assert stored(b)
