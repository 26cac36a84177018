"""`flask keys rotate` killed after its first batches: every value still decrypts, `--resume` finishes."""

from __future__ import annotations

from collections import Counter

import pytest

from core.extensions import db
from sharing.crypto import blob_version, keyring, registry
from sharing.models import DataKey
from tests.faults.scratch import soak_setting

pytestmark = pytest.mark.slow
ROWS = 600
KILL_AFTER_BATCHES = 3


def read_all(scratch_db) -> tuple[dict[tuple[str, str, int], str], Counter]:
    """Every encrypted value, decrypted: {(table, column, id): plaintext}, and Counter of (key, version)."""
    values, versions = {}, Counter()
    with scratch_db.app().app_context():
        ring = keyring()
        for model, descriptors in registry.items():
            table = model.__table__
            cols = [table.c[d.column] for d in descriptors]
            for row in db.session.execute(db.select(table.c.id, table.c.uid, *cols)):
                for col in cols:
                    blob = row._mapping[col.name]
                    if blob is None:
                        continue
                    aad = f"{table.name}.{col.name}.{row.uid}"
                    values[(table.name, col.name, row.id)] = ring.decrypt(bytes(blob), aad)
                    versions[blob_version(bytes(blob))] += 1
        db.session.remove()
    return values, versions


def newest(scratch_db) -> dict[str, int]:
    with scratch_db.app().app_context():
        rows = db.session.execute(db.select(DataKey.name, db.func.max(DataKey.version)).group_by(DataKey.name)).all()
        db.session.remove()
    return dict(rows)


def test_rotation_killed_after_first_batches_then_resumed(scratch):
    target = scratch(cohort=ROWS)
    plain, versions = read_all(target)
    assert len(plain) > 5 * ROWS and {v for _, v in versions} == {1}

    child = target.start(target.command("keys", "rotate", "--batch", "100"))
    batches = 0
    for line in child.stdout:
        if "row(s) checked" in line:
            batches += 1
            if batches == int(soak_setting("ROTATE_BATCHES", KILL_AFTER_BATCHES)):
                break
    target.kill(child)
    assert child.returncode == -9, f"rotation was not killed part-way (exit {child.returncode})"
    target.dispose()

    # Killed half-way: old and new key versions are mixed, and every single value still decrypts to what it was.
    mid, versions = read_all(target)
    assert mid == plain
    assert newest(target) == dict.fromkeys(newest(target), 2)
    found = {v for _, v in versions}
    assert found == {1, 2}, f"expected a mix of key versions after the kill, found {sorted(found)}"

    done = target.flask("keys", "rotate", "--resume")
    assert "Rotation complete" in done.stdout and "do not decrypt" not in done.stdout

    after, versions = read_all(target)
    assert after == plain
    current = newest(target)
    assert current == dict.fromkeys(current, 2), "--resume must not make new key versions"
    stale = {k: n for k, n in versions.items() if k[1] != current[k[0]]}
    assert not stale, f"values still under an old key version: {stale}"
    assert "Access log intact" in target.flask("audit", "verify").stdout
