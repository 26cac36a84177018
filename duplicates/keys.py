"""Blocking through the blind indexes: the matcher's blocking keys as truncated keyed hashes.

The duplicate check compares only pairs of nominals that share a blocking key (an
identifier, the date of birth, sound-alike or nearly equal names, a name with the postcode:
duplicates.matching.blocking). Each key is stored here as an HMAC-SHA256 under a key derived
for its kind alone (like the blind indexes, sharing.blind_index), truncated to TOKEN_BITS,
so candidate pairs are found from integers without decrypting anyone; only the nominals in
those pairs (and a small random sample from which the model learns how often values agree
by chance) are decrypted and compared.

Truncation: a token has 2^20 (about a million) values per kind, so on a large register a
token is shared by unrelated keys and does not by itself pin down a value (with 100,000
nominals the busiest kind holds about 400,000 keys); on a small register tokens are
rarely shared, and what they reveal to someone holding the database without the keys is
which nominals share some blocking value, as the 16-bit blind indexes already do. A
collision only adds a candidate pair, which the comparison then rejects.

ISA rule: a kind is used only where the viewer may read every category it is built from;
keys that include the postcode (contact) pair only nominals whose contact details the
viewer may read.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from cohort.models import Nominal, NominalBlockKey
from core.bulk import copy_rows
from core.extensions import db
from duplicates.matching.blocking import DEFAULT_MAX_BLOCK, KEY_MAX_BLOCK, KEY_TYPES, BlockIndex, record_keys
from sharing.blind_index import keyed_token, register_indexer
from sharing.crypto import keyring

TOKEN_BITS = 20
# The categories each kind of key is built from.
KIND_CATEGORIES: dict[str, tuple[str, ...]] = {
    "id": ("identity",),
    "dob": ("identity",),
    "family_year": ("identity",),
    "names": ("identity",),
    "name_edits": ("identity",),
    "nickname_family": ("identity",),
    "given_dob": ("identity",),
    "given_postcode": ("identity", "contact"),
    "family_postcode": ("identity", "contact"),
}
assert set(KIND_CATEGORIES) == set(KEY_TYPES), "every blocking key type needs its categories"
CONTACT_KINDS = frozenset(k for k, cats in KIND_CATEGORIES.items() if "contact" in cats)


def _keys() -> dict[str, bytes]:
    ring = keyring()
    return {kind: ring.index_key(f"block:{kind}") for kind in KEY_TYPES}


def tokens(record) -> list[tuple[str, int]]:
    """(kind, token) for every blocking key of a matcher Record, without repeats."""
    out: set[tuple[str, int]] = set()
    secrets = _keys()
    for kind, keys in record_keys(record).items():
        if not keys:
            continue
        secret = secrets[kind]
        for key in set(keys):
            out.add((kind, keyed_token(secret, key, TOKEN_BITS)))
    return sorted(out)


def nominal_tokens(nominal) -> list[tuple[str, int]]:
    """Tokens of a nominal (decrypted here, in memory only); none for a merged-away pointer."""
    from duplicates.candidates import to_record

    if getattr(nominal, "merged_into_id", None) is not None:
        return []
    return tokens(to_record(nominal))


@register_indexer
def index_block_keys(nominal) -> None:
    """Recompute a nominal's stored tokens (run by sharing.blind_index.index_nominal, which
    this module registers it with, so that sharing does not import the duplicates feature).

    A new nominal gets them through the ORM when it is added to the session; one the
    importer inserts in bulk (never added) has them written by :func:`insert_pending`.
    """
    wanted = nominal_tokens(nominal)
    if inspect(nominal).transient:
        nominal._pending_block_keys = wanted  # rows made when it is flushed (or bulk-inserted)
        return
    have = {(k.kind, k.token): k for k in nominal.block_keys}
    if set(have) == set(wanted):
        return
    keep = [have[t] for t in wanted if t in have]
    new = [NominalBlockKey(kind=kind, token=token) for kind, token in wanted if (kind, token) not in have]
    nominal.block_keys = keep + new


@event.listens_for(Session, "before_flush")
def _new_nominals(session, _context, _instances) -> None:
    for obj in session.new:
        if isinstance(obj, Nominal) and getattr(obj, "_pending_block_keys", None) is not None:
            obj.block_keys = [NominalBlockKey(kind=k, token=t) for k, t in obj._pending_block_keys]
            obj._pending_block_keys = None


def insert_pending(nominals: Iterable, ids: dict[str, int]) -> int:
    """Write the tokens of bulk-inserted nominals (``ids``: uid -> new id); returns rows."""
    rows = [
        (ids[n.uid], kind, token)
        for n in nominals
        for kind, token in getattr(n, "_pending_block_keys", None) or ()
    ]
    if not rows:
        return 0
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":  # about 16 rows a person: COPY (core.bulk)
        copy_rows(connection, NominalBlockKey.__tablename__, ("nominal_id", "kind", "token"), rows)
    else:  # a plain executemany: the ORM's bulk path costs 10x as much for these tiny rows
        connection.exec_driver_sql(
            f"INSERT INTO {NominalBlockKey.__tablename__} (nominal_id, kind, token) VALUES (?, ?, ?)", rows)
    return len(rows)


def reindex(everyone: bool = False, batch: int = 500) -> int:
    """Compute the tokens of live nominals that have none (all of them with ``everyone``:
    after the blocking keys or the normalisation change). Returns how many were indexed;
    the caller commits."""
    from duplicates.candidates import _load

    stmt = db.select(Nominal.id).where(Nominal.merged_into_id.is_(None)).order_by(Nominal.id)
    if not everyone:
        stmt = stmt.where(~db.select(NominalBlockKey.nominal_id)
                          .where(NominalBlockKey.nominal_id == Nominal.id).exists())
    ids = list(db.session.execute(stmt).scalars())
    for start in range(0, len(ids), batch):
        for nominal in _load(ids[start : start + batch]):
            index_block_keys(nominal)
        db.session.flush()
    return len(ids)


# -- candidate pairs from stored tokens ------------------------------------------------------

def allowed_kinds(identity: bool = True, contact: bool = True) -> tuple[str, ...]:
    """Kinds whose categories are all readable."""
    readable = {c for c, ok in (("identity", identity), ("contact", contact)) if ok}
    return tuple(k for k in KEY_TYPES if set(KIND_CATEGORIES[k]) <= readable)


def stored_tokens(nominal_ids: list[int], contact_ids: set[int] | None):
    """(nominal ids, kinds, tokens) arrays of the stored tokens of ``nominal_ids``.

    ``contact_ids``: nominals whose contact details may be read (None: all); postcode kinds
    of the others are left out.
    """
    wanted = set(nominal_ids)
    nid: list[int] = []
    kinds: list[str] = []
    toks: list[int] = []
    stmt = db.select(NominalBlockKey.nominal_id, NominalBlockKey.kind, NominalBlockKey.token)
    for n, kind, token in db.session.execute(stmt):
        if n not in wanted:
            continue
        if kind in CONTACT_KINDS and contact_ids is not None and n not in contact_ids:
            continue
        nid.append(n)
        kinds.append(kind)
        toks.append(token)
    return np.asarray(nid, np.int64), kinds, np.asarray(toks, np.int64)


def candidate_pairs(
    nominal_ids: list[int], contact_ids: set[int] | None, max_block: int = DEFAULT_MAX_BLOCK
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Pairs of nominal ids sharing a stored token (blocks over ``max_block`` skipped), and
    per kind the rows of that array it found, as duplicates.matching.Matcher takes them."""
    ids = np.asarray(sorted(set(nominal_ids)), np.int64)
    nid, kinds, toks = stored_tokens(ids.tolist(), contact_ids)
    pos = np.searchsorted(ids, nid)
    per_kind: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    kind_arr = np.asarray(kinds, dtype=object)
    for kind in KEY_TYPES:
        sel = kind_arr == kind if len(kind_arr) else np.zeros(0, bool)
        per_kind[kind] = (toks[sel], pos[sel])
    index = BlockIndex.from_codes(len(ids), per_kind, max_block=max_block)
    pairs, rows = index.candidate_pairs()
    return ids[pairs] if len(pairs) else np.zeros((0, 2), np.int64), rows


def nominals_sharing(record, max_block: int = DEFAULT_MAX_BLOCK) -> dict[int, set[str]]:
    """Live nominals sharing a token with a record that is not stored (the referral check),
    with the kinds of key shared; tokens held by more than ``max_block`` are skipped."""
    mine = tokens(record)
    if not mine:
        return {}
    wanted = set(mine)
    values = sorted({t for _k, t in mine})
    holders: dict[tuple[str, int], list[int]] = {}
    for start in range(0, len(values), 500):
        chunk = values[start : start + 500]
        stmt = (
            db.select(NominalBlockKey.nominal_id, NominalBlockKey.kind, NominalBlockKey.token)
            .join(Nominal, Nominal.id == NominalBlockKey.nominal_id)
            .where(NominalBlockKey.token.in_(chunk), Nominal.merged_into_id.is_(None))
        )
        for n, kind, token in db.session.execute(stmt):
            if (kind, token) in wanted:
                holders.setdefault((kind, token), []).append(n)
    found: dict[int, set[str]] = {}
    for (kind, _token), ns in holders.items():
        if len(ns) <= min(max_block, KEY_MAX_BLOCK.get(kind, max_block)):
            for n in ns:
                found.setdefault(n, set()).add(kind)
    return found
