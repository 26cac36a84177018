"""Field comparators that turn a pair of records into discrete agreement levels.

Fellegi-Sunter weighs each field by how often a level ("exact", "typo", "disagree"...)
occurs among true matches (m) versus among different people (u), so comparisons must be
discrete. Records are first turned into column arrays (:class:`Table`) of integer codes
and strings, and all comparators work on whole arrays of pairs at once: scoring hundreds
of thousands of candidate pairs in Python one at a time would be too slow.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rapidfuzz.distance import OSA, JaroWinkler
from rapidfuzz.process import cpdist

from .nicknames import is_known, name_groups
from .normalise import (
    compact_name,
    name_tokens,
    normalise_identifier,
    normalise_name,
    phonetic_key,
    postcode_parts,
)

__all__ = [
    "FIELDS",
    "LEVELS",
    "MISSING",
    "Vocab",
    "NameTable",
    "Table",
    "compare_pairs",
    "name_levels",
    "normalise_gender",
    "TYPO_THRESHOLD",
]

MISSING = "missing"
TYPO_THRESHOLD = 0.92
SIMILAR_THRESHOLD = 0.84
# A shared phonetic code counts only between names that are also alike as strings:
# Metaphone conflates unrelated names (Darren and Tyrone are both TRN, Dean and Tony TN).
PHONETIC_MIN_SIMILARITY = 0.7

GIVEN_LEVELS = ("exact", "nickname", "typo", "phonetic", "similar", "initial", "disagree", MISSING)
FAMILY_LEVELS = (
    "exact", "hyphen_part", "typo", "phonetic", "swapped", "half_swapped", "similar", "disagree", MISSING,
)
DOB_LEVELS = ("exact", "swapped_day_month", "one_digit", "year_off", "disagree", "far", MISSING)
GENDER_LEVELS = ("agree", "disagree", MISSING)
POSTCODE_LEVELS = ("exact", "sector", "typo", "outward", "disagree", MISSING)
# "disagree": both pass the identifier's format and check-character rules, so they name two
# people; "disagree_unchecked": at least one does not (a free-text number, a mistyped
# reference), so the difference is left to the weights EM learns.
ID_LEVELS = ("exact", "typo", "disagree", "disagree_unchecked", MISSING)

FIELDS: tuple[str, ...] = (
    "given_name", "family_name", "date_of_birth", "gender", "postcode", "pnc", "cro", "nomis", "crn",
)
LEVELS: dict[str, tuple[str, ...]] = {
    "given_name": GIVEN_LEVELS,
    "family_name": FAMILY_LEVELS,
    "date_of_birth": DOB_LEVELS,
    "gender": GENDER_LEVELS,
    "postcode": POSTCODE_LEVELS,
    "pnc": ID_LEVELS,
    "cro": ID_LEVELS,
    "nomis": ID_LEVELS,
    "crn": ID_LEVELS,
}
ID_KINDS = ("pnc", "cro", "nomis", "crn")
_G = {name: i for i, name in enumerate(GIVEN_LEVELS)}
_F = {name: i for i, name in enumerate(FAMILY_LEVELS)}
_D = {name: i for i, name in enumerate(DOB_LEVELS)}
_P = {name: i for i, name in enumerate(POSTCODE_LEVELS)}
_I = {name: i for i, name in enumerate(ID_LEVELS)}

_GENDERS = {
    "m": 1, "male": 1, "man": 1, "boy": 1,
    "f": 2, "female": 2, "woman": 2, "girl": 2,
    "x": 3, "other": 3, "non-binary": 3, "nonbinary": 3, "non binary": 3,
}


def normalise_gender(s: str | None) -> int:
    """0 unknown, 1 male, 2 female, 3 other."""
    if not s:
        return 0
    return _GENDERS.get(s.strip().casefold(), 0)


class Vocab:
    """Interns strings as integer codes so equality tests are integer comparisons.

    "" is always -1 (missing). A frozen vocabulary gives unseen strings temporary codes
    that never equal a register code (used when checking one new record).
    """

    def __init__(self) -> None:
        self.codes: dict[str, int] = {}
        self._temp: dict[str, int] = {}
        self.frozen = False

    def __call__(self, s: str) -> int:
        if not s:
            return -1
        c = self.codes.get(s)
        if c is not None:
            return c
        if self.frozen:
            t = self._temp.get(s)
            if t is None:
                if len(self._temp) > 100_000:
                    self._temp.clear()
                t = self._temp[s] = len(self.codes) + 1_000_000_000 + len(self._temp)
            return t
        c = self.codes[s] = len(self.codes)
        return c

    def __len__(self) -> int:
        return len(self.codes)


def _alias_split(alias: str, family: str | None) -> tuple[str | None, str | None]:
    """An alias "Bill Smith" is given "Bill", family "Smith"; a one-word alias is a given name."""
    toks = normalise_name(alias).split(" ")
    if len(toks) == 1:
        return toks[0], family
    return " ".join(toks[:-1]), toks[-1]


@dataclass
class NameTable:
    """Column arrays of name features for a list of (given, family) names."""

    g_first: np.ndarray  # code of the first word of the given name
    g_str: list[str]
    g_phon: np.ndarray
    g_init: np.ndarray  # code of the first letter
    g_is_initial: np.ndarray  # bool: the given name is a single letter
    g_groups: np.ndarray  # (n, 3) nickname group codes, -1 padded
    g_known: np.ndarray  # bool: the given name is a known name (duplicates.matching.nicknames.KNOWN)
    g_whole: np.ndarray  # code of all the given name's words run together ("ca itlin" -> "caitlin")
    f_comp: np.ndarray  # code of the compact family name
    f_str: list[str]
    f_phon: np.ndarray
    f_tok: np.ndarray  # (n, 3) codes of the words of the family name

    @classmethod
    def build(cls, names: Sequence[tuple[str | None, str | None]], vocab: Vocab) -> NameTable:
        n = len(names)
        g_first = np.full(n, -1, np.int64)
        g_phon = np.full(n, -1, np.int64)
        g_init = np.full(n, -1, np.int64)
        g_is_initial = np.zeros(n, bool)
        g_groups = np.full((n, 3), -1, np.int64)
        g_known = np.zeros(n, bool)
        g_whole = np.full(n, -1, np.int64)
        f_comp = np.full(n, -1, np.int64)
        f_phon = np.full(n, -1, np.int64)
        f_tok = np.full((n, 3), -1, np.int64)
        g_str: list[str] = [""] * n
        f_str: list[str] = [""] * n
        for i, (given, family) in enumerate(names):
            gt = name_tokens(given)
            if gt:
                first = gt[0]
                g_str[i] = first
                g_first[i] = vocab(first)
                g_phon[i] = vocab("#" + phonetic_key(first))
                g_init[i] = vocab(first[0])
                g_is_initial[i] = len(first) == 1
                g_known[i] = is_known(first)
                g_whole[i] = vocab("".join(gt))
                for k, grp in enumerate(sorted(name_groups(first))[:3]):
                    g_groups[i, k] = vocab("@" + grp)
            fc = compact_name(family)
            if fc:
                f_str[i] = fc
                f_comp[i] = vocab(fc)
                f_phon[i] = vocab("#" + phonetic_key(family))
                for k, t in enumerate(name_tokens(family)[:3]):
                    f_tok[i, k] = vocab(t)
        return cls(g_first, g_str, g_phon, g_init, g_is_initial, g_groups, g_known, g_whole, f_comp, f_str, f_phon,
                   f_tok)


def _jw(a: list[str], b: list[str]) -> np.ndarray:
    if not a:
        return np.zeros(0)
    return cpdist(a, b, scorer=JaroWinkler.normalized_similarity, workers=1)


def _pick(strs: list[str], idx: np.ndarray) -> list[str]:
    return [strs[i] for i in idx.tolist()]


def _string_level(
    ca: np.ndarray, cb: np.ndarray, sa: list[str], sb: list[str], pa: np.ndarray, pb: np.ndarray
) -> np.ndarray:
    """0 exact, 1 typo (JW >= 0.92), 2 phonetic (same code and JW >= 0.7), 3 similar (JW >= 0.84),
    4 disagree, 5 missing."""
    out = np.full(len(ca), 4, np.int8)
    miss = (ca < 0) | (cb < 0)
    out[miss] = 5
    exact = (ca == cb) & ~miss
    out[exact] = 0
    rest = np.flatnonzero(~miss & ~exact)
    if len(rest):
        sim = _jw(_pick(sa, rest), _pick(sb, rest))
        similar = np.where(sim >= SIMILAR_THRESHOLD, 3, 4)
        phonetic = (pa[rest] == pb[rest]) & (sim >= PHONETIC_MIN_SIMILARITY)
        out[rest] = np.where(sim >= TYPO_THRESHOLD, 1, np.where(phonetic, 2, similar))
    return out


def _any_equal(xa: np.ndarray, xb: np.ndarray) -> np.ndarray:
    """Row-wise: do (n, k) code arrays share any non-negative value?"""
    hit = np.zeros(len(xa), bool)
    for i in range(xa.shape[1]):
        col = xa[:, i : i + 1]
        hit |= ((col == xb) & (col >= 0)).any(axis=1)
    return hit


def _one_edit(a: list[str], b: list[str], min_len: int) -> np.ndarray:
    """Row-wise: one insertion, deletion, substitution or transposition apart (both >= min_len long)."""
    if not a:
        return np.zeros(0, bool)
    dist = cpdist(a, b, scorer=OSA.distance, workers=1)
    long = np.asarray([min(len(x), len(y)) >= min_len for x, y in zip(a, b, strict=True)], bool)
    return (dist <= 1) & long


def _given_edit_distance(gl, sl, nick, na: NameTable, ia, nb: NameTable, ib) -> None:
    """Given names by edit distance and the table of known names, in place.

    One edit apart ("Srgei"/"Sergei", "AJCK"/"Jack") is a typo, whatever Jaro-Winkler says
    of short names, unless both are known names: two different known names (Leo and Lee,
    Darren and Tyrone, Charlotte and Charles) are two names, "different", however alike as
    strings (spelling variants of one name are in the nickname tables' groups).
    """
    known = na.g_known[ia] & nb.g_known[ib] & ~nick & (sl > 0) & (sl < 5)
    weak = np.flatnonzero((sl >= 2) & (sl < 5) & ~nick & ~known & (gl != _G["initial"]))
    if len(weak):
        hit = _one_edit(_pick(na.g_str, ia[weak]), _pick(nb.g_str, ib[weak]), 3)
        gl[weak[hit]] = _G["typo"]
    gl[known] = _G["disagree"]


def name_levels(
    na: NameTable, ia: np.ndarray, nb: NameTable, ib: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Given-name and family-name levels for pairs (na[ia[k]], nb[ib[k]]).

    Names written the other way round (given in the family field and vice versa) give the
    family level "swapped" and a given level from comparing the crossed fields.
    """
    g_first_a, g_first_b = na.g_first[ia], nb.g_first[ib]
    g_str_a, g_str_b = _pick(na.g_str, ia), _pick(nb.g_str, ib)
    sl = _string_level(g_first_a, g_first_b, g_str_a, g_str_b, na.g_phon[ia], nb.g_phon[ib])
    # map 0 exact,1 typo,2 phonetic,3 similar,4 disagree,5 missing -> GIVEN_LEVELS
    gl = np.array([_G["exact"], _G["typo"], _G["phonetic"], _G["similar"], _G["disagree"], _G[MISSING]], np.int8)[sl]
    nick = _any_equal(na.g_groups[ia], nb.g_groups[ib]) & (sl > 0) & (sl < 5)
    gl[nick] = _G["nickname"]
    ini = (
        (sl >= 3) & (sl < 5) & ~nick & (na.g_is_initial[ia] | nb.g_is_initial[ib]) & (na.g_init[ia] == nb.g_init[ib])
    )
    gl[ini] = _G["initial"]
    _given_edit_distance(gl, sl, nick, na, ia, nb, ib)
    # A space slipped into or out of the name ("Ca itlin" / "Caitlin", "Mary Ann" / "Maryann"):
    # the same letters, so a typo, whatever its first words say.
    spaced = (sl >= 2) & (sl < 5) & (na.g_whole[ia] == nb.g_whole[ib]) & (na.g_whole[ia] >= 0)
    gl[spaced] = _G["typo"]

    fa, fb = na.f_comp[ia], nb.f_comp[ib]
    f_str_a, f_str_b = _pick(na.f_str, ia), _pick(nb.f_str, ib)
    fsl = _string_level(fa, fb, f_str_a, f_str_b, na.f_phon[ia], nb.f_phon[ib])
    fl = np.array(
        [_F["exact"], _F["typo"], _F["phonetic"], _F["similar"], _F["disagree"], _F[MISSING]], np.int8
    )[fsl]
    hyph = (fsl > 0) & (fsl < 5) & _any_equal(na.f_tok[ia], nb.f_tok[ib])
    fl[hyph] = _F["hyphen_part"]

    # Swapped names: only worth checking where the straight reading is weak.
    weak = np.flatnonzero((sl >= 3) | (fsl >= 3))
    if len(weak):
        wa, wb = ia[weak], ib[weak]
        s1 = _string_level(
            na.g_first[wa], nb.f_comp[wb], _pick(na.g_str, wa), _pick(nb.f_str, wb), na.g_phon[wa], nb.f_phon[wb]
        )
        s2 = _string_level(
            na.f_comp[wa], nb.g_first[wb], _pick(na.f_str, wa), _pick(nb.g_str, wb), na.f_phon[wa], nb.g_phon[wb]
        )
        straight = np.minimum(sl[weak], 3) + np.minimum(fsl[weak], 3)
        ok = (s1 <= 3) & (s2 <= 3) & (np.minimum(s1, s2) <= 2) & (s1 + s2 < straight)
        if ok.any():
            rows = weak[ok]
            gl[rows] = np.array([_G["exact"], _G["typo"], _G["phonetic"], _G["similar"]], np.int8)[
                np.maximum(s1[ok], s2[ok])
            ]
            fl[rows] = _F["swapped"]
        # One name written in the other field while the other name is wrong or missing
        # ("Natalia Streich" / "Masobn Natalia"): neither straight reading agrees.
        half = (
            ~ok & (np.minimum(s1, s2) == 0) & (sl[weak] >= 3) & (fsl[weak] >= 3) & (sl[weak] < 5) & (fsl[weak] < 5)
        )
        if half.any():
            rows = weak[half]
            other = np.maximum(s1[half], s2[half])
            gl[rows] = np.array(
                [_G["exact"], _G["typo"], _G["phonetic"], _G["similar"], _G["disagree"], _G[MISSING]], np.int8
            )[other]
            fl[rows] = _F["half_swapped"]
    return gl, fl


@dataclass
class Table:
    """Column arrays of every comparison feature for a list of records."""

    n: int
    names: NameTable
    alias_names: NameTable | None
    alias_owner: np.ndarray  # index of the record each alias row belongs to
    has_alias: np.ndarray  # bool per record
    dob_y: np.ndarray
    dob_m: np.ndarray
    dob_d: np.ndarray
    dob_code: np.ndarray
    gender: np.ndarray
    pc_full: np.ndarray
    pc_sector: np.ndarray
    pc_out: np.ndarray
    pc_str: list[str]
    id_code: dict[str, np.ndarray]
    id_str: dict[str, list[str]]
    id_ok: dict[str, np.ndarray]  # bool: passes its format and check-character rules

    @classmethod
    def build(cls, records: Sequence, vocab: Vocab) -> Table:
        n = len(records)
        names = NameTable.build([(r.given_name, r.family_name) for r in records], vocab)
        alias_rows: list[tuple[str | None, str | None]] = []
        owners: list[int] = []
        for i, r in enumerate(records):
            for a in r.aliases or ():
                if normalise_name(a):
                    alias_rows.append(_alias_split(a, r.family_name))
                    owners.append(i)
        alias_names = NameTable.build(alias_rows, vocab) if alias_rows else None
        alias_owner = np.asarray(owners, np.int64)
        has_alias = np.zeros(n, bool)
        has_alias[alias_owner] = True
        dob_y = np.zeros(n, np.int32)
        dob_m = np.zeros(n, np.int32)
        dob_d = np.zeros(n, np.int32)
        gender = np.zeros(n, np.int8)
        pc_full = np.full(n, -1, np.int64)
        pc_sector = np.full(n, -1, np.int64)
        pc_out = np.full(n, -1, np.int64)
        pc_str = [""] * n
        id_code = {k: np.full(n, -1, np.int64) for k in ID_KINDS}
        id_str: dict[str, list[str]] = {k: [""] * n for k in ID_KINDS}
        id_ok = {k: np.zeros(n, bool) for k in ID_KINDS}
        checks = _id_checks()
        for i, r in enumerate(records):
            d = r.date_of_birth
            if isinstance(d, datetime.date):
                dob_y[i], dob_m[i], dob_d[i] = d.year, d.month, d.day
            gender[i] = normalise_gender(r.gender)
            if r.postcode:
                full, sector, out = postcode_parts(r.postcode)
                pc_str[i] = full
                pc_full[i] = vocab("pc:" + full)
                pc_sector[i] = vocab("pc:" + sector) if sector else -1
                pc_out[i] = vocab("pc:" + out) if out else -1
            for k in ID_KINDS:
                v = getattr(r, k)
                if v:
                    s = normalise_identifier(k, v)
                    id_str[k][i] = s
                    id_code[k][i] = vocab(k + ":" + s) if s else -1
                    id_ok[k][i] = checks[k](v)
        dob_code = np.where(dob_y > 0, dob_y * 10000 + dob_m * 100 + dob_d, -1).astype(np.int64)
        return cls(
            n, names, alias_names, alias_owner, has_alias, dob_y, dob_m, dob_d, dob_code, gender,
            pc_full, pc_sector, pc_out, pc_str, id_code, id_str, id_ok,
        )


def _id_checks() -> dict[str, object]:
    """Per identifier kind, value -> does it pass the kind's format and check rules."""
    from cohort import identifiers as ident

    def wrap(check):
        def ok(value: str) -> bool:
            try:
                return check(value) is None
            except Exception:  # noqa: BLE001 - an odd value is simply not a checked identifier
                return False

        return ok

    return {
        "pnc": wrap(ident.validate_pnc), "cro": wrap(ident.validate_cro),
        "nomis": wrap(ident.validate_nomis), "crn": wrap(ident.validate_crn),
    }


def _dob_levels(ta: Table, ia: np.ndarray, tb: Table, ib: np.ndarray) -> np.ndarray:
    ya, ma, da = ta.dob_y[ia], ta.dob_m[ia], ta.dob_d[ia]
    yb, mb, db = tb.dob_y[ib], tb.dob_m[ib], tb.dob_d[ib]
    out = np.full(len(ia), _D["disagree"], np.int8)
    ca, cb = ta.dob_code[ia], tb.dob_code[ib]
    # digits of YYYYMMDD, most significant first
    pw = 10 ** np.arange(7, -1, -1, dtype=np.int64)
    dga = (np.maximum(ca, 0)[:, None] // pw) % 10
    dgb = (np.maximum(cb, 0)[:, None] // pw) % 10
    diff = dga != dgb
    nd = diff.sum(axis=1)
    transposed = np.zeros(len(ia), bool)
    for k in range(7):
        transposed |= diff[:, k] & diff[:, k + 1] & (dga[:, k] == dgb[:, k + 1]) & (dga[:, k + 1] == dgb[:, k])
    one_digit = (nd == 1) | ((nd == 2) & transposed)
    dy = np.abs(ya - yb)
    days = np.abs((ya * 372 + ma * 31 + da) - (yb * 372 + mb * 31 + db))
    out[days > 12 * 372] = _D["far"]
    out[(ma == mb) & (da == db) & ((dy == 1) | (dy == 10))] = _D["year_off"]
    out[one_digit] = _D["one_digit"]
    out[(ya == yb) & (ma == db) & (da == mb) & (ma != da)] = _D["swapped_day_month"]
    out[ca == cb] = _D["exact"]
    out[(ca < 0) | (cb < 0)] = _D[MISSING]
    return out


def _postcode_levels(ta: Table, ia: np.ndarray, tb: Table, ib: np.ndarray) -> np.ndarray:
    fa, fb = ta.pc_full[ia], tb.pc_full[ib]
    out = np.full(len(ia), _P["disagree"], np.int8)
    miss = (fa < 0) | (fb < 0)
    sa, sb = ta.pc_sector[ia], tb.pc_sector[ib]
    oa, ob = ta.pc_out[ia], tb.pc_out[ib]
    out[(oa == ob) & (oa >= 0)] = _P["outward"]
    rest = np.flatnonzero(~miss & (fa != fb) & ~((sa == sb) & (sa >= 0)))
    if len(rest):
        dist = cpdist(_pick(ta.pc_str, ia[rest]), _pick(tb.pc_str, ib[rest]), scorer=OSA.distance, workers=1)
        typo = rest[dist <= 1]
        out[typo] = _P["typo"]
    out[(sa == sb) & (sa >= 0)] = _P["sector"]
    out[fa == fb] = _P["exact"]
    out[miss] = _P[MISSING]
    return out


def _id_levels(kind: str, ta: Table, ia: np.ndarray, tb: Table, ib: np.ndarray) -> np.ndarray:
    ca, cb = ta.id_code[kind][ia], tb.id_code[kind][ib]
    out = np.full(len(ia), _I["disagree"], np.int8)
    miss = (ca < 0) | (cb < 0)
    rest = np.flatnonzero(~miss & (ca != cb))
    if len(rest):
        dist = cpdist(
            _pick(ta.id_str[kind], ia[rest]), _pick(tb.id_str[kind], ib[rest]), scorer=OSA.distance, workers=1
        )
        unchecked = rest[~(ta.id_ok[kind][ia[rest]] & tb.id_ok[kind][ib[rest]])]
        out[unchecked] = _I["disagree_unchecked"]
        out[rest[dist <= 1]] = _I["typo"]
    out[ca == cb] = _I["exact"]
    out[miss] = _I[MISSING]
    return out


def compare_pairs(
    ta: Table, ia: np.ndarray, tb: Table, ib: np.ndarray, name_rank: tuple[np.ndarray, np.ndarray] | None = None
) -> np.ndarray:
    """Level matrix (n_pairs, len(FIELDS)) for pairs (ta[ia[k]], tb[ib[k]]).

    Where either record has aliases, every combination of names is compared and the one
    with the highest ``name_rank[0][given_level] + name_rank[1][family_level]`` (tables of
    approximate weights; default: level order) is kept.
    """
    ia = np.asarray(ia, np.int64)
    ib = np.asarray(ib, np.int64)
    n = len(ia)
    out = np.empty((n, len(FIELDS)), np.int8)
    gl, fl = name_levels(ta.names, ia, tb.names, ib)
    if ta.alias_names is not None or tb.alias_names is not None:
        _apply_aliases(ta, ia, tb, ib, gl, fl, name_rank)
    out[:, 0], out[:, 1] = gl, fl
    out[:, 2] = _dob_levels(ta, ia, tb, ib)
    ga, gb = ta.gender[ia], tb.gender[ib]
    out[:, 3] = np.where((ga == 0) | (gb == 0), 2, np.where(ga == gb, 0, 1))
    out[:, 4] = _postcode_levels(ta, ia, tb, ib)
    for c, kind in enumerate(ID_KINDS, start=5):
        out[:, c] = _id_levels(kind, ta, ia, tb, ib)
    return out


def _default_rank() -> tuple[np.ndarray, np.ndarray]:
    # approximate weights per (given level, family level) index, higher is better
    g = np.array([8, 6, 5, 4, 1, 0, -5, 0], float)
    f = np.array([8, 5, 5, 4, 7, 3, 1, -5, 0], float)
    return (g, f)


def _apply_aliases(
    ta: Table, ia: np.ndarray, tb: Table, ib: np.ndarray, gl: np.ndarray, fl: np.ndarray,
    name_rank: tuple[np.ndarray, np.ndarray] | None,
) -> None:
    rank = _default_rank() if name_rank is None else name_rank
    rows = np.flatnonzero(ta.has_alias[ia] | tb.has_alias[ib])
    if not len(rows):
        return
    best = rank[0][gl[rows]] + rank[1][fl[rows]]
    # combinations: (alias of a or primary) x (alias of b or primary), excluding primary x primary
    pos = {i: k for k, i in enumerate(rows.tolist())}
    a_alias = _alias_index(ta)
    b_alias = _alias_index(tb)
    combos: list[tuple[int, int, int, int, int]] = []  # row, a_is_alias, a_idx, b_is_alias, b_idx
    for r in rows.tolist():
        a, b = int(ia[r]), int(ib[r])
        a_opts = [(0, a)] + [(1, k) for k in a_alias.get(a, ())]
        b_opts = [(0, b)] + [(1, k) for k in b_alias.get(b, ())]
        for aa, ax in a_opts:
            for bb, bx in b_opts:
                if aa or bb:
                    combos.append((r, aa, ax, bb, bx))
    if not combos:
        return
    arr = np.asarray(combos, np.int64)
    for aa in (0, 1):
        for bb in (0, 1):
            sel = (arr[:, 1] == aa) & (arr[:, 3] == bb)
            if not sel.any() or (aa == 0 and bb == 0):
                continue
            sub = arr[sel]
            na = ta.alias_names if aa else ta.names
            nb = tb.alias_names if bb else tb.names
            cg, cf = name_levels(na, sub[:, 2], nb, sub[:, 4])
            score = rank[0][cg] + rank[1][cf]
            for k in range(len(sub)):
                r = int(sub[k, 0])
                p = pos[r]
                if score[k] > best[p]:
                    best[p] = score[k]
                    gl[r], fl[r] = cg[k], cf[k]


def _alias_index(t: Table) -> dict[int, list[int]]:
    idx: dict[int, list[int]] = {}
    for k, owner in enumerate(t.alias_owner.tolist()):
        idx.setdefault(owner, []).append(k)
    return idx
