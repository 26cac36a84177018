"""Keyed, truncated blind indexes for exact look-ups without decrypting every row.

Values are normalised first (the same normalisation the duplicate matcher uses), then
HMAC-SHA256 under a key derived for that index alone, truncated to INDEX_BITS. Truncation
follows CipherSweet's rule of thumb: with fewer bits than the population's log2, each
index value is shared by several people, so an index alone does not single anyone out;
look-ups decrypt the few candidates to confirm.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable

from sharing.crypto import keyring
from sharing.gateway import unsealing

INDEX_BITS = 16
INDEXES = ("pnc", "cro", "nomis", "crn", "dob", "given", "family", "given_phon", "family_phon")
IDENTIFIER_INDEXES = ("pnc", "cro", "nomis", "crn")
NAME_INDEXES = ("given", "family")

# Further keyed indexes a feature keeps of every identity written (the duplicates feature's
# blocking keys, duplicates.keys); registered by that feature so sharing never imports it.
_EXTRA_INDEXERS: list[Callable[[object], None]] = []


def register_indexer(indexer: Callable[[object], None]) -> Callable[[object], None]:
    """Have ``indexer(nominal)`` run whenever a nominal's blind indexes are recomputed."""
    if indexer not in _EXTRA_INDEXERS:
        _EXTRA_INDEXERS.append(indexer)
    return indexer


def _normalisers():
    from duplicates.matching import normalise as n

    return n


def normalised(name: str, value) -> str | None:
    """The normalised text an index is computed over (None when there is nothing to index)."""
    if value is None or value == "":
        return None
    n = _normalisers()
    if name in ("pnc", "cro", "nomis", "crn"):
        out = n.normalise_identifier(name, str(value))
    elif name == "dob":
        out = value.isoformat() if hasattr(value, "isoformat") else str(value)
    elif name in ("given", "family"):
        out = n.normalise_name(str(value))
    elif name in ("given_phon", "family_phon"):
        out = n.phonetic_key(str(value))
    else:
        raise KeyError(name)
    return out or None


def keyed_token(key: bytes, text: str, bits: int) -> int:
    """HMAC-SHA256 of `text` under `key`, truncated to its first `bits` bits (at most 32): the
    one builder of every keyed look-up value (these blind indexes, the duplicate check's
    blocking keys, the name-search tokens)."""
    digest = hmac.digest(key, text.encode("utf-8"), "sha256")
    return int.from_bytes(digest[:4], "big") >> (32 - bits)


def blind_index(name: str, value) -> int | None:
    text = normalised(name, value)
    if text is None:
        return None
    return keyed_token(keyring().index_key(name), text, INDEX_BITS)


def index_conditions(model, q: str, names: Iterable[str] = (), kinds: Iterable[str] = NAME_INDEXES) -> list:
    """SQL conditions matching `model`'s ``bi_<index>`` columns: `q` as each identifier, and
    each of `names` (phrases of the query, nickname variants...) under each of `kinds`.

    The one builder of blind-index look-ups (the tracker's search and the people search
    both use it), so a query is normalised and hashed the same way as what was stored.
    Repeats are dropped; an empty list means nothing to look up.
    """
    wanted: dict[tuple[str, int], None] = {}
    for kind in IDENTIFIER_INDEXES:
        value = blind_index(kind, q)
        if value is not None:
            wanted[(kind, value)] = None
    kinds = tuple(kinds)
    for name in names:
        for kind in kinds:
            value = blind_index(kind, name)
            if value is not None:
                wanted[(kind, value)] = None
    return [getattr(model, f"bi_{kind}") == value for kind, value in wanted]


@unsealing("blind indexes of an identity being written")
def index_nominal(nominal) -> None:
    """Recompute every blind index of a nominal from its (decrypted) identity fields."""
    nominal.bi_pnc = blind_index("pnc", nominal.pnc)
    nominal.bi_cro = blind_index("cro", nominal.cro)
    nominal.bi_nomis = blind_index("nomis", nominal.nomis)
    nominal.bi_crn = blind_index("crn", nominal.crn)
    nominal.bi_dob = blind_index("dob", nominal.date_of_birth)
    nominal.bi_given = blind_index("given", nominal.given_name)
    nominal.bi_family = blind_index("family", nominal.family_name)
    nominal.bi_given_phon = blind_index("given_phon", nominal.given_name)
    nominal.bi_family_phon = blind_index("family_phon", nominal.family_name)
    for indexer in _EXTRA_INDEXERS:  # e.g. the duplicate matcher's blocking keys, keyed hashes too
        indexer(nominal)
