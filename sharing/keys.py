"""Data-key rotation: new key versions, then every encrypted value re-encrypted in batches.

Safe while the service runs: each batch is its own short transaction, and each value is
swapped with a compare-and-set (UPDATE ... WHERE column = the old ciphertext), so a value a
user changed meanwhile is left alone rather than overwritten. Rows are written through
Core, not the ORM, so a case's optimistic-lock version and updated_at do not move (a
rotation must not turn users' open forms stale).

Safe to kill and re-run: only values whose key version is older than the current one are
touched, so `keys rotate --resume` picks up where a killed run stopped, and also catches
values a worker wrote with the old version in the seconds before it noticed the new one
(workers re-read the current version every Keyring.CURRENT_TTL seconds; old versions
always still decrypt).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import and_

from core import clock
from core.db import immediate_transactions
from core.extensions import db
from sharing.crypto import KEY_NAMES, DecryptionError, Encrypted, blob_version, keyring, registry
from sharing.models import DataKey

BATCH = 500


@dataclass
class RotationResult:
    versions: dict[str, int] = field(default_factory=dict)  # key name -> current version
    checked: int = 0  # rows read
    reencrypted: int = 0  # values re-encrypted
    skipped: int = 0  # values changed by someone else mid-batch (caught by a re-run)
    failed: list[str] = field(default_factory=list)  # values that do not decrypt

    def summary(self) -> str:
        keys = ", ".join(f"{k} v{v}" for k, v in sorted(self.versions.items()))
        text = (f"Rotation complete: {self.reencrypted} value(s) re-encrypted in {self.checked} row(s); "
                f"current keys: {keys}.")
        if self.skipped:
            text += f" {self.skipped} value(s) changed during the run: run `flask keys rotate --resume` again."
        if self.failed:
            text += f" {len(self.failed)} value(s) do not decrypt (tampered or moved): " + ", ".join(self.failed[:10])
        return text


def new_versions(names: tuple[str, ...] | list[str] = KEY_NAMES) -> dict[str, int]:
    """Create the next version of each named data key, committed before any value uses it."""
    ring = keyring()
    made: dict[str, int] = {}
    with immediate_transactions(), db.engine.begin() as conn:
        current = dict(conn.execute(
            db.select(DataKey.name, db.func.max(DataKey.version)).group_by(DataKey.name)
        ).all())
        for name in names:
            version = current.get(name, 0) + 1
            conn.execute(db.insert(DataKey).values(
                name=name, version=version, wrapped=ring.wrap(name, version, AESGCM.generate_key(bit_length=256)),
                created_at=clock.utcnow(),
            ))
            made[name] = version
    ring.refresh_current()
    return made


def current_versions() -> dict[str, int]:
    rows = db.session.execute(db.select(DataKey.name, db.func.max(DataKey.version)).group_by(DataKey.name)).all()
    db.session.commit()
    return dict(rows)


def _models() -> list[tuple[type, list[Encrypted]]]:
    return sorted(registry.items(), key=lambda item: item[0].__tablename__)


def reencrypt(
    only: str | None = None,
    *,
    batch: int = BATCH,
    progress: Callable[[str], None] | None = None,
) -> RotationResult:
    """Re-encrypt every value under an older key version than the current one."""
    ring = keyring()
    ring.refresh_current()
    current = current_versions()
    result = RotationResult(versions={k: v for k, v in current.items() if only is None or k == only})
    for model, descriptors in _models():
        table = model.__table__
        cols = [table.c[d.column] for d in descriptors]
        last_id, rows_done, values_done = 0, 0, 0
        while True:
            with immediate_transactions():
                rows = db.session.execute(
                    db.select(table.c.id, table.c.uid, *cols).where(table.c.id > last_id)
                    .order_by(table.c.id).limit(batch)
                ).all()
                if not rows:
                    db.session.commit()
                    break
                for row in rows:
                    for col in cols:
                        outcome = _rotate_value(table, col, row, current, only)
                        if outcome == "done":
                            values_done += 1
                        elif outcome == "skipped":
                            result.skipped += 1
                        elif outcome == "failed":
                            result.failed.append(f"{table.name}.{col.name} id {row.id}")
                db.session.commit()
            last_id = rows[-1].id
            rows_done += len(rows)
            if progress:
                progress(f"{table.name}: {rows_done} row(s) checked, {values_done} value(s) re-encrypted")
        result.checked += rows_done
        result.reencrypted += values_done
    return result


def _rotate_value(table, col, row, current: dict[str, int], only: str | None) -> str:
    blob = row._mapping[col.name]
    if blob is None:
        return "empty"
    blob = bytes(blob)
    try:
        name, version = blob_version(blob)
    except DecryptionError:
        return "failed"
    if (only is not None and name != only) or version >= current.get(name, 0):
        return "current"
    aad = f"{table.name}.{col.name}.{row.uid}"
    ring = keyring()
    try:
        plaintext = ring.decrypt(blob, aad)
    except DecryptionError:
        return "failed"
    fresh = ring.encrypt(name, plaintext, aad)
    swapped = db.session.execute(
        db.update(table).where(and_(table.c.id == row.id, col == blob)).values({col.name: fresh})
    ).rowcount
    return "done" if swapped == 1 else "skipped"


def rotate(
    only: str | None = None,
    *,
    resume: bool = False,
    batch: int = BATCH,
    progress: Callable[[str], None] | None = None,
) -> RotationResult:
    """New versions of every data key (or just `only`), then re-encrypt what uses older ones."""
    if only is not None and only not in KEY_NAMES:
        raise ValueError(f"unknown key {only!r}: one of {', '.join(KEY_NAMES)}")
    db.session.commit()
    if not resume:
        made = new_versions((only,) if only else KEY_NAMES)
        if progress:
            progress("New key versions: " + ", ".join(f"{k} v{v}" for k, v in sorted(made.items())))
    return reencrypt(only, batch=batch, progress=progress)
