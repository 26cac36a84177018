"""`flask keys rotate`: new key versions, every value re-encrypted, old versions still read."""

from __future__ import annotations

import pytest

from cohort.models import Case, Nominal, Note
from cohort.services import add_note, change_rag, create_nominal, refer
from core.extensions import db
from sharing.crypto import blob_version, keyring, registry
from sharing.keys import current_versions, rotate
from sharing.policy import Policy


@pytest.fixture
def cohort(partnership):
    """Ten nominals on IOM, with notes in two categories and a RAG change each."""
    policy = Policy(partnership.user("probation"))
    for i in range(10):
        nominal = create_nominal(given_name=f"Rota{i}", family_name="Keyson", pnc=f"2001/00{i:05d}A",
                                 address=f"{i} Rotation Road")
        case = refer(nominal, partnership.panels["IOM"], ref=f"K-{i}", policy=policy, status="active",
                     accommodation="Hostel")
        add_note(case, category="health", body=f"health note {i}", policy=policy)
        add_note(case, category="substance_misuse", body=f"drugs note {i}", policy=policy)
        change_rag(case, to="amber", rationale=f"rationale {i}", policy=policy)
    db.session.commit()
    return policy


def _all_blobs():
    """(model, column, name, version) for every non-empty encrypted value in the database."""
    out = []
    for model, descriptors in registry.items():
        table = model.__table__
        for d in descriptors:
            for (blob,) in db.session.execute(db.select(table.c[d.column]).where(table.c[d.column].is_not(None))):
                name, version = blob_version(blob)
                out.append((table.name, d.column, name, version))
    return out


def _plain() -> dict:
    return {
        "names": sorted(n.full_name for n in db.session.execute(db.select(Nominal)).scalars()),
        "pncs": sorted(n.pnc for n in db.session.execute(db.select(Nominal)).scalars()),
        "notes": sorted(n.body for n in db.session.execute(db.select(Note)).scalars()),
        "accommodation": sorted(c.accommodation for c in db.session.execute(db.select(Case)).scalars()),
    }


def test_rotate_reencrypts_everything(runner, cohort):
    before = _plain()
    versions_before = current_versions()
    case_versions = {c.id: (c.version, c.updated_at) for c in db.session.execute(db.select(Case)).scalars()}
    result = runner.invoke(args=["keys", "rotate", "--batch", "3"])
    assert result.exit_code == 0, result.output
    assert "Rotation complete" in result.output and "nominals: 10 row(s) checked" in result.output
    after = current_versions()
    assert all(after[name] == versions_before[name] + 1 for name in versions_before)
    db.session.expire_all()
    blobs = _all_blobs()
    assert len(blobs) > 60
    stale = [b for b in blobs if b[3] != after[b[2]]]
    assert stale == []
    assert _plain() == before
    # A rotation is not an edit: case versions and timestamps stay put, so nobody's open form goes stale.
    assert {c.id: (c.version, c.updated_at) for c in db.session.execute(db.select(Case)).scalars()} == case_versions
    # Running again with --resume finds nothing left to do.
    result = runner.invoke(args=["keys", "rotate", "--resume"])
    assert result.exit_code == 0 and "Rotation complete: 0 value(s) re-encrypted" in result.output


def test_rotate_only_one_key(runner, cohort):
    versions_before = current_versions()
    result = runner.invoke(args=["keys", "rotate", "--only", "health"])
    assert result.exit_code == 0, result.output
    after = current_versions()
    assert after["health"] == versions_before["health"] + 1
    assert {k: v for k, v in after.items() if k != "health"} == {
        k: v for k, v in versions_before.items() if k != "health"}
    db.session.expire_all()
    for _table, _col, name, version in _all_blobs():
        assert version == after[name]
    assert "re-encrypted" in result.output
    bad = runner.invoke(args=["keys", "rotate", "--only", "nonsense"])
    assert bad.exit_code == 2 and "Unknown key" in bad.output


def test_old_version_written_during_rotation_still_reads(app, cohort):
    """A worker that has not yet noticed the new version writes with the old one: it still reads,
    and `keys rotate --resume` brings it to the current version."""
    ring = keyring()
    old = current_versions()["identity"]
    late_ids = []

    def progress(message: str) -> None:
        # Once the nominals table is done (tables go in name order), a "stale worker" writes a
        # nominal with the old key: this pass has gone by, so the row keeps the old version.
        if message.startswith("notes:") and not late_ids:
            saved = dict(ring._current), ring._current_read
            ring._current = {**ring._current, "identity": old}
            ring._current_read = float("inf")
            try:
                late = create_nominal(given_name="Latecomer", family_name="Oldkey", pnc="2001/0099999Z")
                db.session.commit()
                late_ids.append(late.id)
            finally:
                ring._current, ring._current_read = saved

    result = rotate(progress=progress)
    assert late_ids and result.reencrypted > 0
    db.session.expire_all()
    late = db.session.get(Nominal, late_ids[0])
    assert blob_version(late.given_name_enc) == ("identity", old)
    assert late.full_name == "Latecomer Oldkey" and late.pnc == "2001/0099999Z"
    rotate(resume=True)
    db.session.expire_all()
    late = db.session.get(Nominal, late_ids[0])
    assert blob_version(late.given_name_enc) == ("identity", old + 1)
    assert late.full_name == "Latecomer Oldkey"


def test_value_changed_mid_batch_is_not_overwritten(app, cohort):
    """The compare-and-set: a value replaced by a user between read and write is left as the user wrote it."""
    from sharing import keys

    nominal = db.session.execute(db.select(Nominal).order_by(Nominal.id).limit(1)).scalar_one()
    nominal_id = nominal.id
    table = Nominal.__table__
    db.session.commit()
    keys.new_versions(("identity",))
    row = db.session.execute(db.select(table.c.id, table.c.uid, table.c.given_name_enc)
                             .where(table.c.id == nominal_id)).one()
    # A user renames the person after the batch read the row...
    nominal = db.session.get(Nominal, nominal_id)
    nominal.given_name = "Renamed"
    db.session.flush()
    outcome = keys._rotate_value(table, table.c.given_name_enc, row, current_versions(), None)
    db.session.commit()
    assert outcome == "skipped"
    db.session.expire_all()
    assert db.session.get(Nominal, nominal_id).given_name == "Renamed"


def test_rotation_survives_a_kill_between_batches(app, cohort):
    """A run that stops after its first batch leaves a consistent database; --resume finishes it."""
    from sharing import keys

    class Killed(Exception):
        pass

    def killer(message: str) -> None:
        raise Killed(message)

    with pytest.raises(Killed):
        rotate(batch=4, progress=lambda m: killer(m) if m.startswith("nominals:") else None)
    db.session.rollback()
    current = current_versions()
    mixed = {version == current[name] for _t, _c, name, version in _all_blobs()}
    assert mixed == {True, False}  # part done
    names = sorted(n.full_name for n in db.session.execute(db.select(Nominal)).scalars())
    assert names == sorted(f"Rota{i} Keyson" for i in range(10))
    keys.rotate(resume=True)
    db.session.expire_all()
    assert all(version == current[name] for _t, _c, name, version in _all_blobs())
