"""Candidate generation: only records sharing a blocking key are ever compared.

Comparing every pair of 100,000 records is 5 billion comparisons; blocking on keys that a
duplicate is very likely to share with its original (an identifier, the date of birth,
sound-alike names) brings that down to a few hundred thousand. Several independent keys
are used so that a duplicate with one corrupted field is still found through another.
Blocks larger than ``max_block`` (placeholder dates, very common names) are skipped and
logged: they would cost more than they find.
"""

from __future__ import annotations

import datetime
import logging
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import repeat

import numpy as np

from .nicknames import name_groups
from .normalise import compact_name, normalise_identifier, normalise_name, normalise_postcode, phonetic_key

log = logging.getLogger(__name__)

__all__ = ["BlockIndex", "record_keys", "KEY_TYPES", "KEY_FIELDS", "DEFAULT_MAX_BLOCK"]

KEY_TYPES = (
    "id", "dob", "family_year", "names", "name_edits", "nickname_family", "given_dob", "given_postcode",
    "family_postcode",
)
# The comparison fields every pair found by a key type agrees on (or nearly): EM leaves
# them out when estimating from that key's pairs.
KEY_FIELDS: dict[str, tuple[str, ...]] = {
    "id": ("pnc", "cro", "nomis", "crn"),
    "dob": ("date_of_birth",),
    "family_year": ("family_name", "date_of_birth"),
    "names": ("given_name", "family_name"),
    "name_edits": ("given_name", "family_name"),
    "nickname_family": ("given_name", "family_name"),
    "given_dob": ("given_name", "date_of_birth"),
    "given_postcode": ("given_name", "postcode"),
    "family_postcode": ("family_name", "postcode"),
}
DEFAULT_MAX_BLOCK = 200
# Loose keys pair more unrelated records, so their blocks are capped lower (common names
# are found through the phonetic keys anyway).
KEY_MAX_BLOCK = {"name_edits": 30}


def _affixes(s: str) -> set[str]:
    """The first and the last three letters: a name with one typo (or a few close
    together) still has one of them intact."""
    if len(s) <= 3:
        return {s} if s else set()
    return {s[:3] + "<", s[-3:] + ">"}


def _name_variants(r) -> list[tuple[str, str]]:
    out = [(r.given_name or "", r.family_name or "")]
    for a in r.aliases or ():
        toks = normalise_name(a).split(" ")
        if not toks or not toks[0]:
            continue
        out.append((toks[0], r.family_name or "") if len(toks) == 1 else (toks[0], toks[-1]))
    return out


def record_keys(r) -> dict[str, list[str]]:
    """Blocking keys of one record, by key type (a record may have several per type)."""
    keys: dict[str, list[str]] = {k: [] for k in KEY_TYPES}
    for kind in ("pnc", "cro", "nomis", "crn"):
        v = getattr(r, kind)
        if v:
            s = normalise_identifier(kind, v)
            if s:
                keys["id"].append(f"{kind}:{s}")
    pc = normalise_postcode(r.postcode) if r.postcode else ""
    d = r.date_of_birth
    year = ""
    if isinstance(d, datetime.date):
        year = str(d.year)
        # day and month in either order, so a swapped day/month shares the block
        lo, hi = sorted((d.month, d.day))
        keys["dob"].append(f"{d.year}-{lo}-{hi}")
    for given, family in _name_variants(r):
        g = normalise_name(given).split(" ")[0] if given else ""
        pg = phonetic_key(g) if g else ""
        pf = phonetic_key(family) if family else ""
        ftoks = pf.split(" ") if pf else []
        cf = compact_name(family) if family else ""
        gd, fd = _affixes(g.replace("-", "")), _affixes(cf)
        if gd and fd:
            # a typo in each name, either way round ("Jhon Smiht" / "Smith John"): the
            # start or the end of each name is still intact
            keys["name_edits"].extend(f"{a}|{b}" if a <= b else f"{b}|{a}" for a in gd for b in fd)
        if year:
            for t in {pf, *ftoks} - {""}:
                keys["family_year"].append(f"{t}|{year}")
            if pg and isinstance(d, datetime.date):
                keys["given_dob"].append(f"{pg}|{d.month}-{d.day}")
        if pg and pf:
            # sorted, so that given/family written the other way round share the key
            a, b = sorted((pg, pf))
            keys["names"].append(f"{a}|{b}")
        if pc and pg:
            keys["given_postcode"].append(f"{pg}|{pc}")
            keys["given_postcode"].extend(f"~{v}|{pc}" for v in gd)
        if pc:
            for t in {pf, *ftoks} - {""}:
                keys["family_postcode"].append(f"{t}|{pc}")
            keys["family_postcode"].extend(f"~{v}|{pc}" for v in fd)
        if g and pf:
            for grp in name_groups(g):
                keys["nickname_family"].append(f"{grp}|{pf}")
    return keys


@dataclass
class _KeyIndex:
    sorted_codes: np.ndarray  # 64-bit hashes of the keys, sorted
    sorted_recs: np.ndarray

    def lookup(self, key: str, max_block: int) -> np.ndarray | None:
        c = _code(key)
        lo = np.searchsorted(self.sorted_codes, c, "left")
        hi = np.searchsorted(self.sorted_codes, c, "right")
        if hi == lo or hi - lo > max_block:
            return None
        return self.sorted_recs[lo:hi]


def _code(key: str) -> int:
    # Keys are held as 64-bit hashes, not strings (a register of 100,000 has millions of
    # keys). Stable within the process, which is all an in-memory index needs; a collision
    # only adds candidate pairs that the comparison then rejects.
    return hash(key)


class BlockIndex:
    """Key -> record positions, for every key type, held as sorted arrays."""

    def __init__(self, records: Sequence, max_block: int = DEFAULT_MAX_BLOCK):
        self.n = len(records)
        self.max_block = max_block
        self.index: dict[str, _KeyIndex] = {}
        self.skipped: dict[str, int] = {}
        per_type: dict[str, tuple[array, array]] = {k: (array("q"), array("q")) for k in KEY_TYPES}
        for i, r in enumerate(records):
            for kt, ks in record_keys(r).items():
                if not ks:
                    continue
                codes_l, recs_l = per_type[kt]
                before = len(codes_l)
                codes_l.extend({_code(k) for k in ks})
                recs_l.extend(repeat(i, len(codes_l) - before))
        for kt, (codes_l, recs_l) in per_type.items():
            codes = np.frombuffer(codes_l, np.int64) if len(codes_l) else np.zeros(0, np.int64)
            recs = np.frombuffer(recs_l, np.int64) if len(recs_l) else np.zeros(0, np.int64)
            order = np.lexsort((recs, codes))
            self.index[kt] = _KeyIndex(codes[order], recs[order])
            per_type[kt] = (array("q"), array("q"))

    @classmethod
    def from_codes(
        cls, n: int, per_type: dict[str, tuple[np.ndarray, np.ndarray]], max_block: int = DEFAULT_MAX_BLOCK
    ) -> BlockIndex:
        """An index from precomputed integer keys: per key type, (codes, record positions).

        The service passes keyed hashes of the keys it stored, so candidate pairs are found
        without the records themselves.
        """
        self = cls.__new__(cls)
        self.n = n
        self.max_block = max_block
        self.index = {}
        self.skipped = {}
        for kt in KEY_TYPES:
            codes, recs = per_type.get(kt, (np.zeros(0, np.int64), np.zeros(0, np.int64)))
            codes = np.asarray(codes, np.int64)
            recs = np.asarray(recs, np.int64)
            order = np.lexsort((recs, codes))
            self.index[kt] = _KeyIndex(codes[order], recs[order])
        return self

    def _cap(self, kt: str) -> int:
        """Largest block used for a key type: loose keys (affixes) get a smaller cap."""
        return min(self.max_block, KEY_MAX_BLOCK.get(kt, self.max_block))

    def candidate_pairs(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Unique record-position pairs (n, 2) with a < b sharing at least one key, and
        for each key type the positions (rows of that array) of the pairs it found."""
        per_type: dict[str, np.ndarray] = {}
        n = max(self.n, 1)
        for kt, ki in self.index.items():
            codes, recs = ki.sorted_codes, ki.sorted_recs
            if len(codes) < 2:
                continue
            starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
            sizes = np.diff(np.r_[starts, len(codes)])
            big = sizes > self._cap(kt)
            if big.any():
                self.skipped[kt] = int(big.sum())
                log.info(
                    "blocking: skipped %d %s blocks larger than %d records (largest %d)",
                    int(big.sum()), kt, self.max_block, int(sizes.max()),
                )
            keep_group = (sizes >= 2) & ~big
            if not keep_group.any():
                continue
            row_keep = np.repeat(keep_group, sizes)
            c, r = codes[row_keep], recs[row_keep]
            maxsize = int(sizes[keep_group].max())
            chunks: list[np.ndarray] = []
            for d in range(1, maxsize):
                same = c[d:] == c[:-d]
                if not same.any():
                    break
                a, b = r[:-d][same], r[d:][same]
                lo, hi = np.minimum(a, b), np.maximum(a, b)
                ok = lo != hi
                chunks.append(lo[ok] * n + hi[ok])
            if chunks:
                per_type[kt] = np.unique(np.concatenate(chunks))
        if not per_type:
            return np.zeros((0, 2), np.int64), {}
        flat = np.unique(np.concatenate(list(per_type.values())))
        rows = {kt: np.searchsorted(flat, v) for kt, v in per_type.items()}
        return np.stack([flat // n, flat % n], axis=1), rows

    def candidates_for(self, record) -> np.ndarray:
        """Record positions sharing a key with a record that is not in the register."""
        found: list[np.ndarray] = []
        for kt, ks in record_keys(record).items():
            ki = self.index[kt]
            for key in ks:
                hit = ki.lookup(key, self._cap(kt))
                if hit is not None and len(hit):
                    found.append(hit)
        if not found:
            return np.zeros(0, np.int64)
        return np.unique(np.concatenate(found))
