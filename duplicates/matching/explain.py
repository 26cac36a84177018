"""The evidence behind a score, in words an analyst can check against the two records,
and the rules that keep a pair below the verdict ("caps").

Every sentence is built from the comparison levels of the pair, so it can only say what the
levels show: "same postcode" only where both postcodes are present and equal, "born more
than 12 years apart" only where both dates exist and are that far apart. A value missing
from either record is "not known": it is named as such and weighs nothing either way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .compare import FIELDS, ID_KINDS, ID_LEVELS, LEVELS, MISSING
from .model import RELATIVES, log2_odds

__all__ = ["Evidence", "CAPS", "MAX_RELATIVES_SHARE", "REVIEW_CAP_LOG2ODDS", "TWIN_PAIRS_PER_PERSON", "cap_ceilings",
           "relatives_shares", "review_caps", "twins_pattern", "twins_share", "evidence", "strength"]

_COL = {f: i for i, f in enumerate(FIELDS)}


@dataclass
class Evidence:
    """One piece of evidence for or against a match; ``weight`` is a log2 Bayes factor."""

    field: str
    level: str
    weight: float
    text: str
    contact: bool = False  # the words name the postcode (shown only where contact is readable)


# -- caps: patterns that stay "possibly - needs review" whatever the weights say ---------------

# (code, highest probability a capped pair may reach)
CAPS: tuple[tuple[str, float], ...] = (
    ("identifier_conflict", 0.2),
    ("twins_no_identifier", 0.3),
    ("dob_unknown_no_identifier", 0.4),
)
REVIEW_CAP_LOG2ODDS = np.asarray([log2_odds(p) for _, p in CAPS])
_G = {x: i for i, x in enumerate(LEVELS["given_name"])}
_F = {x: i for i, x in enumerate(LEVELS["family_name"])}
_D = {x: i for i, x in enumerate(LEVELS["date_of_birth"])}
_P = {x: i for i, x in enumerate(LEVELS["postcode"])}
_ID = {x: i for i, x in enumerate(ID_LEVELS)}
_GIVEN_DIFFERENT = [_G[x] for x in ("phonetic", "similar", "disagree")]
_GIVEN_SAME = [_G[x] for x in ("exact", "nickname", "typo")]
_FAMILY_SAME = [_F[x] for x in ("exact", "hyphen_part", "typo", "phonetic")]


def _id_cols() -> list[int]:
    return [_COL[k] for k in ID_KINDS]


def review_caps(levels: np.ndarray, relatives: bool = True, lifted: frozenset[str] = frozenset()) -> np.ndarray:
    """Per pair, the index in :data:`CAPS` of the first cap that applies, or -1.

    - two identifiers of one kind that both pass their check rules and differ: two people;
    - twins: same family name and date of birth, different given names, and no identifier
      agreeing (twins at one address share everything else);
    - a date of birth not known on either record and no identifier agreeing: a same-named
      father and son at one address cannot be told apart from one person.

    ``relatives=False`` keeps only the identifier rule (for registers known to hold no
    relatives); ``lifted`` names relatives caps this register's own figures show to be
    unneeded (:func:`relatives_shares`).
    """
    ids = levels[:, _id_cols()]
    # "agrees": the same, or one character apart (a slip in a long reference, not another person's)
    id_agrees = ((ids == _ID["exact"]) | (ids == _ID["typo"])).any(axis=1)
    conflict = (ids == _ID["disagree"]).any(axis=1)
    if not relatives:
        return np.where(conflict, 0, -1)
    g, f, d = levels[:, _COL["given_name"]], levels[:, _COL["family_name"]], levels[:, _COL["date_of_birth"]]
    twins = np.isin(g, _GIVEN_DIFFERENT) & np.isin(f, _FAMILY_SAME) & (d == _D["exact"]) & ~id_agrees
    dob_unknown = (d == _D[MISSING]) & ~id_agrees
    if "twins_no_identifier" in lifted:
        twins[:] = False
    if "dob_unknown_no_identifier" in lifted:
        dob_unknown[:] = False
    out = np.full(len(levels), -1, np.int64)
    for k, hit in reversed(list(enumerate((conflict, twins, dob_unknown)))):
        out[hit] = k
    return out


# A relatives cap is lifted only where the register's own figures say that fewer than this
# share of the pairs it would hold back are two people: its verdicts are then still at least
# 97% right (issue 17's calibration target for the "probably the same person" band).
MAX_RELATIVES_SHARE = 0.03
_MIN_PAIRS = 30  # fewer pairs in a stratum than this: too few to judge, the cap stays
_DOB_NEAR = [_D[x] for x in ("swapped_day_month", "one_digit", "year_off")]


def relatives_shares(levels: np.ndarray, dob_missing_rate: float) -> dict[str, float]:
    """Per relatives cap, the estimated share of two different people among the pairs of
    this register (candidate pairs' ``levels``) that the cap is about; 1.0 where too few.

    A date of birth not known, at one address (same postcode, same whole name): the share
    of duplicates lacking a date of birth on either side (from ``dob_missing_rate``, the
    share of records lacking one, or from pairs an identifier shows to be one person,
    whichever is larger) and the duplicates there with a known date of birth say how many
    pairs should lack one; what is beyond that are same-named relatives (fathers and sons).
    A register whose duplicates often lost the date of birth and that holds no such excess
    (FEBRL) lifts the cap; one with same-named fathers and sons at one address keeps it.

    The twins cap is judged separately, once the model is fitted (:func:`twins_share`); it
    is 1.0 (the cap applies in full) here.
    """
    g, f = levels[:, _COL["given_name"]], levels[:, _COL["family_name"]]
    d, p = levels[:, _COL["date_of_birth"]], levels[:, _COL["postcode"]]
    home = np.isin(f, _FAMILY_SAME) & (p == _P["exact"])
    g_same = np.isin(g, _GIVEN_SAME)
    near, exact = np.isin(d, _DOB_NEAR), d == _D["exact"]
    out = {"twins_no_identifier": 1.0, "dob_unknown_no_identifier": 1.0}
    known = int((home & g_same & (near | exact)).sum())
    unknown = int((home & g_same & (d == _D[MISSING])).sum())
    # how often a duplicate lacks a date of birth on either side: as if records lacked it at
    # random, or as pairs an identifier shows to be one person lack it (a duplicate is often
    # the poorer record); the larger reading, as either may understate it
    r = 1.0 - (1.0 - min(max(dob_missing_rate, 0.0), 0.99)) ** 2
    same_id = (levels[:, _id_cols()] == _ID["exact"]).any(axis=1)
    if int(same_id.sum()) >= 3 * _MIN_PAIRS:
        r = max(r, float((d[same_id] == _D[MISSING]).mean()))
    r = min(r, 0.99)
    if known >= _MIN_PAIRS and unknown >= _MIN_PAIRS:
        expected = known * r / (1.0 - r)
        out["dob_unknown_no_identifier"] = float(max(0.0, 1.0 - expected / unknown))
    return out


# Twin births bound how many twin pairs a register can hold. About 1.6% of maternities in the
# UK are multiple births, nearly all twins (ONS, births in England and Wales: 15-16 per 1,000
# maternities since 2000), so about 3.1% of people are a twin and a register of N people holds
# at most 0.016 N pairs of twins, even if every co-twin is in it too (fewer in practice).
TWIN_PAIRS_PER_PERSON = 0.016
_TWINS = [c for c, _ in CAPS].index("twins_no_identifier")


def twins_pattern(levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(pattern, id_agrees)`` per pair: the twins pattern (same family name and date of
    birth, another given name) and an identifier agreeing (the same or one character apart)."""
    g, f, d = levels[:, _COL["given_name"]], levels[:, _COL["family_name"]], levels[:, _COL["date_of_birth"]]
    ids = levels[:, _id_cols()]
    id_agrees = ((ids == _ID["exact"]) | (ids == _ID["typo"])).any(axis=1)
    return np.isin(g, _GIVEN_DIFFERENT) & np.isin(f, _FAMILY_SAME) & (d == _D["exact"]), id_agrees


def twins_share(levels: np.ndarray, raw_p: np.ndarray, n_register: int) -> tuple[float, dict[str, float]]:
    """The highest share of twins among the pairs the twins cap holds back in this register,
    and the figures behind it (``pairs`` held back, ``twin_births``, ``with_identifier``: pairs
    with the pattern an identifier joins, ``explained_by_identifiers``).

    ``levels`` are the candidate pairs' comparison levels, ``raw_p`` their scores before any
    cap (0 for pairs another cap holds), those of pairs an identifier joins as if no
    identifier were recorded. The pairs held back are those with the twins pattern and no
    identifier agreeing that would otherwise be verdicts (``raw_p >= 0.5``). Two figures
    bound how many of them can be twins:

    - twin births: at most :data:`TWIN_PAIRS_PER_PERSON` of the register's people;
    - identifiers: twins never share one, so pairs with the pattern whose identifier agrees
      (and that would be verdicts without it) are duplicates recorded with another given
      name; with the share of duplicates whose identifier agrees (pairs with the same whole
      name and date of birth, nearly all duplicates) they say how many such duplicates have
      no identifier agreeing, and only what is beyond that can be twins (the way
      :func:`relatives_shares` judges a missing date of birth).

    The share is 1.0 (the cap applies in full) when fewer than 30 pairs are held back.
    """
    g, f, d = levels[:, _COL["given_name"]], levels[:, _COL["family_name"]], levels[:, _COL["date_of_birth"]]
    pattern, id_agrees = twins_pattern(levels)
    held = int((pattern & ~id_agrees & (raw_p >= 0.5)).sum())
    births = TWIN_PAIRS_PER_PERSON * max(int(n_register), 1)
    twins = min(float(held), births)
    explained = 0.0
    with_id = int((pattern & id_agrees & (raw_p >= 0.5)).sum())
    sure = np.isin(g, _GIVEN_SAME) & np.isin(f, _FAMILY_SAME) & (d == _D["exact"])
    if with_id >= _MIN_PAIRS and int(sure.sum()) >= 3 * _MIN_PAIRS:
        r = float(id_agrees[sure].mean())
        if r > 0:
            explained = with_id * (1.0 - min(r, 0.99)) / r
            twins = min(twins, max(0.0, held - explained))
    figures = {"pairs": float(held), "twin_births": round(births, 1), "with_identifier": float(with_id),
               "explained_by_identifiers": round(explained, 1)}
    if held < _MIN_PAIRS:
        return 1.0, figures
    return float(twins / held), figures


def cap_ceilings(shares: dict[str, float]) -> np.ndarray:
    """Highest log2 odds a pair may reach under each cap of :data:`CAPS`, for a register
    whose relatives shares are ``shares``: the twins cap lets a pair reach one less the
    share of twins among the pairs it holds back (no more than that share can be twins),
    and never less than its own level in :data:`CAPS`."""
    out = REVIEW_CAP_LOG2ODDS.copy()
    share = min(max(float(shares.get("twins_no_identifier", 1.0)), 0.0), 1.0)
    out[_TWINS] = max(out[_TWINS], log2_odds(1.0 - share))
    return out


# -- words ------------------------------------------------------------------------------------

_LABEL = {
    "given_name": "given name", "family_name": "family name", "date_of_birth": "date of birth",
    "gender": "gender", "postcode": "postcode", "pnc": "PNC ID", "cro": "CRO number",
    "nomis": "NOMIS number", "crn": "CRN",
}
_NAME_WORDS = {
    "exact": "the same", "nickname": "a known nickname, spelling variant or transliteration (e.g. Bill/William)",
    "typo": "a small spelling difference",
    "phonetic": "spelt differently but alike in sound and spelling (counts only a little)",
    "similar": "similar but not the same", "initial": "only the initial matches",
    "hyphen_part": "one part of a double-barrelled name matches",
    "swapped": "given and family names are the other way round",
    "half_swapped": "one name is written in the other field (given name as family name or the other way)",
    "disagree": "different",
}
_WORDS: dict[str, dict[str, str]] = {
    "given_name": _NAME_WORDS,
    "family_name": _NAME_WORDS,
    "date_of_birth": {
        "exact": "the same", "swapped_day_month": "day and month swapped",
        "one_digit": "one digit different (or two adjacent digits transposed)",
        "year_off": "same day and month, year differs by 1 or 10", "disagree": "different, less than 12 years apart",
        "far": "more than 12 years apart",
    },
    "gender": {"agree": "the same", "disagree": "different"},
    "postcode": {
        "exact": "the same", "sector": "same postcode sector", "typo": "one character different",
        "outward": "same postcode district", "disagree": "different",
    },
}
_ID_WORDS = {
    "exact": "the same", "typo": "one character different", "disagree": "different",
    "disagree_unchecked": "different (one of them fails the identifier's format or check rules)",
}
# fields whose absence is worth saying: the analyst sees why they did not count
_SAY_MISSING = ("given_name", "family_name", "date_of_birth", "postcode")


def strength(weight: float) -> str:
    """Plain words for the size of a log2 Bayes factor."""
    a = abs(weight)
    if a < 0.5:
        return "no real evidence either way"
    word = "very weak" if a < 1 else "weak" if a < 3 else "moderate" if a < 6 else "strong" if a < 10 else "very strong"
    return f"{word} evidence {'for' if weight > 0 else 'against'}"


def field_text(f: str, level: str, weight: float) -> str:
    if level == MISSING:
        return f"{_LABEL[f]}: not known (missing from one or both records), no evidence either way"
    words = _WORDS.get(f, _ID_WORDS).get(level, level)
    return f"{_LABEL[f]}: {words}, {strength(weight)}"


def _facts(lv: np.ndarray) -> dict[str, bool]:
    """What the levels establish (and nothing more)."""
    g, f, d, p = (int(lv[_COL[x]]) for x in ("given_name", "family_name", "date_of_birth", "postcode"))
    return {
        "given_same": g in _GIVEN_SAME, "given_different": g in _GIVEN_DIFFERENT, "given_exact": g == _G["exact"],
        "family_same": f in _FAMILY_SAME, "family_exact": f == _F["exact"],
        "dob_same": d == _D["exact"], "dob_far": d == _D["far"],
        "dob_unknown": d == _D[MISSING], "dob_different": d in (_D["disagree"], _D["far"]),
        "postcode_same": p == _P["exact"],
    }


def household_text(kind: str, lv: np.ndarray) -> str:
    """Why relatives could explain the pair, naming only what the two records show ("same"
    only for an exact agreement, "similar" for a slip or variant)."""
    t = _facts(lv)
    family = "same family name" if t["family_exact"] else "similar family names"
    name = "same name" if t["family_exact"] and t["given_exact"] else "same or similar names"
    if kind == "possible_twins" and t["family_same"] and t["dob_same"] and t["given_different"]:
        return f"{family}, same date of birth, different given names: could be twins"
    if kind == "possible_parent_child" and t["given_same"] and t["family_same"]:
        if t["dob_far"]:
            return f"{name} but born more than 12 years apart: could be a parent and child with the same name"
        if t["dob_unknown"]:
            return f"{name}, date of birth not known: could be a parent and child with the same name"
    if kind == "possible_relatives" and t["family_same"] and t["given_different"] and t["dob_different"]:
        return f"{family} but different given names and dates of birth: could be relatives (e.g. siblings)"
    shared = [w for w, k in (("family name", "family_exact"), ("date of birth", "dob_same")) if t[k]]
    what = f" (the same {' and '.join(shared)})" if shared else ""
    return f"relatives can share details{what}: could be relatives rather than one person"


def cap_text(cap: int, lv: np.ndarray, twins: float = 1.0) -> str:
    """Why the cap ``cap`` took some of the pair's score; ``twins`` is the highest share of
    twins among the pairs the twins cap holds back in this register (:func:`twins_share`)."""
    code = CAPS[cap][0]
    if code == "identifier_conflict":
        ids = [k for k in ID_KINDS if LEVELS[k][int(lv[_COL[k]])] == "disagree"]
        names = ", ".join(_LABEL[k] for k in ids)
        return (f"different {names}: an identifier belongs to one person, "
                "so this pair is at most a possible match for review")
    if code == "twins_no_identifier":
        family = "same family name" if int(lv[_COL["family_name"]]) == _F["exact"] else "similar family names"
        said = f"{family}, same date of birth, different given names and no identifier in common: could be twins"
        ceiling = 1.0 - twins
        if ceiling <= CAPS[cap][1]:
            return f"{said}, so this pair is at most a possible match for review"
        few = (f"; this register holds more such pairs than twins can explain (twin births and the identifiers "
               f"of such pairs allow at most {twins:.0%} of them to be twins)")
        if ceiling < 0.5:
            return f"{said}{few}, so this pair is at most a possible match for review"
        return f"{said}{few}, so this pair counts as at most {ceiling:.0%} likely one person"
    return ("date of birth not known and no identifier in common: a same-named relative cannot be ruled out, "
            "so this pair is at most a possible match for review")


def evidence(
    lv: np.ndarray, w: np.ndarray, adj: float, kind: int, cap: int, cap_adj: float, twins: float = 1.0
) -> list[Evidence]:
    """The evidence for one pair, strongest first (missing values last, with weight 0);
    ``twins`` as for :func:`cap_text`."""
    ev: list[Evidence] = []
    for c, f in enumerate(FIELDS):
        level = LEVELS[f][int(lv[c])]
        if level == MISSING:
            if f in _SAY_MISSING:
                ev.append(Evidence(f, MISSING, 0.0, field_text(f, MISSING, 0.0)))
            continue
        ev.append(Evidence(f, level, round(float(w[c]), 3), field_text(f, level, float(w[c]))))
    if kind >= 0 and adj < 0:
        name = RELATIVES[kind][0]
        text = f"{household_text(name, lv)}, so the shared details count for less: {strength(adj)}"
        ev.append(Evidence("household", name, round(float(adj), 3), text))
    if cap >= 0 and cap_adj < 0:
        ev.append(Evidence("verdict", CAPS[cap][0], round(float(cap_adj), 3), cap_text(cap, lv, twins)))
    ev.sort(key=lambda e: (e.level == MISSING, -abs(e.weight), e.field))
    return ev
