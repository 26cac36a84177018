"""Fellegi-Sunter model: m/u probabilities per comparison level, estimated without labels.

There are no labelled duplicates to learn from, so (as Splink does) u-probabilities, how
often a level occurs between two *different* people, come from comparing random pairs of
records (exact agreement is computed exactly from value frequencies), and m-probabilities,
how often it occurs for the *same* person, are estimated by expectation-maximisation over
the candidate pairs. Hand-set priors act as pseudo-counts, so a register of 20 records
gets the prior model and a register of 100,000 gets one fitted to its own data.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np

from .compare import FIELDS, LEVELS, MISSING

log = logging.getLogger(__name__)

__all__ = ["FSModel", "PRIOR_M", "PRIOR_U", "RELATIVES", "log2_odds", "probability", "relatives_adjustment"]

# Prior m (same person) and u (different people) per level, excluding "missing".
PRIOR_M: dict[str, list[float]] = {
    # exact, nickname, typo, phonetic, similar, initial, disagree
    "given_name": [0.86, 0.03, 0.05, 0.015, 0.015, 0.01, 0.02],
    # exact, hyphen_part, typo, phonetic, swapped, half_swapped, similar, disagree
    "family_name": [0.86, 0.02, 0.05, 0.015, 0.01, 0.005, 0.015, 0.025],
    # exact, swapped_day_month, one_digit, year_off, disagree, far
    "date_of_birth": [0.88, 0.02, 0.06, 0.01, 0.025, 0.005],
    # agree, disagree
    "gender": [0.98, 0.02],
    # exact, sector, typo, outward, disagree
    "postcode": [0.6, 0.06, 0.03, 0.06, 0.25],
    # exact, typo, disagree (both checked), disagree_unchecked
    "pnc": [0.93, 0.035, 0.005, 0.03],
    "cro": [0.93, 0.035, 0.005, 0.03],
    "nomis": [0.92, 0.04, 0.01, 0.03],
    "crn": [0.92, 0.04, 0.01, 0.03],
}
PRIOR_U: dict[str, list[float]] = {
    "given_name": [0.01, 0.003, 0.006, 0.004, 0.02, 0.002, 0.955],
    "family_name": [0.002, 0.0003, 0.002, 0.002, 0.00002, 0.0001, 0.01, 0.98358],
    "date_of_birth": [6e-5, 3e-5, 1e-3, 2e-4, 0.4, 0.5987],
    "gender": [0.5, 0.5],
    "postcode": [1e-4, 0.02, 1e-3, 0.08, 0.8989],
    "pnc": [1e-7, 1e-5, 0.9, 0.09999],
    "cro": [1e-7, 1e-5, 0.9, 0.09999],
    "nomis": [1e-7, 1e-5, 0.9, 0.09999],
    "crn": [1e-7, 1e-5, 0.9, 0.09999],
}
# Evidence that can only ever count against a match: whatever EM finds, these m values are
# capped, because conflicting police or prison identifiers (both passing their check rules)
# are strong evidence of two people.
MAX_M: dict[tuple[str, str], float] = {
    ("pnc", "disagree"): 0.002,
    ("cro", "disagree"): 0.005,
    ("nomis", "disagree"): 0.01,
    ("crn", "disagree"): 0.01,
    ("date_of_birth", "far"): 0.01,
}

# Relatives. Fellegi-Sunter assumes that, for two different people, fields agree
# independently; relatives break that: twins share a family name, date of birth and usually
# an address; a father and son may share a whole name and an address; siblings and spouses
# share a family name and an address. Rather than rules, the non-match side of the model is
# a mixture: a random pair of different people is, with a small probability per kind of
# relative, a pair of relatives whose fields follow that kind's pattern. Relatives' shared
# values are written down with the same slips as a duplicate's (so their m applies), what
# they do not share behaves like two strangers' (so u applies). A pattern that relatives
# explain as well as a duplicate does then counts for little, but how much depends on how
# common duplicates are in this register (estimated by EM) against how common relatives are.
# (kind, rate: chance that a nominal's relative of this kind is also in the register,
#  given name shared?, P(date-of-birth level | relatives) or None for "shared, as recorded")
RELATIVES: tuple[tuple[str, float, bool, dict[str, float] | None], ...] = (
    ("possible_twins", 0.02, False, None),
    ("possible_parent_child", 0.01, True, {"far": 0.97, "disagree": 0.03}),
    ("possible_relatives", 0.1, False, {"disagree": 0.8, "far": 0.2}),
)
_AT_HOME = 0.7  # chance that relatives in the register give the same address
_EXACT_G = [LEVELS["given_name"].index(x) for x in ("exact", "nickname")]
_DOB = {x: LEVELS["date_of_birth"].index(x) for x in LEVELS["date_of_birth"]}
_H_FLOOR = 1e-6  # P(level | relatives) for a date-of-birth level that kind hardly gives

M_PSEUDO = 50.0  # prior weight of PRIOR_M, in pairs
U_PSEUDO = 20_000.0  # prior weight of PRIOR_U, in pairs
MIN_P = 1e-9


def relatives_adjustment(
    levels: np.ndarray, w: np.ndarray, m_dob: np.ndarray, n_records: int
) -> tuple[np.ndarray, np.ndarray]:
    """``(adj, kind)`` per pair: ``adj = -log2(u_mixture / u_strangers)`` (<= 0) for the
    level matrix ``levels`` with field weights ``w``, and the index in :data:`RELATIVES` of
    the kind of relative that explains the pair best (-1 where none does noticeably)."""
    gc, fc, dc, pc = (FIELDS.index(f) for f in ("given_name", "family_name", "date_of_birth", "postcode"))
    n_rec = max(n_records, 2)
    g_lv, d_lv = levels[:, gc], levels[:, dc]
    d_missing = d_lv == len(LEVELS["date_of_birth"]) - 1
    p_missing = levels[:, pc] == len(LEVELS["postcode"]) - 1
    # log2 of P(level | relatives) / u for the address: at home (like a duplicate) or not
    home = np.where(p_missing, 0.0, np.log2(_AT_HOME * np.exp2(w[:, pc]) + (1 - _AT_HOME)))
    # log2 u of the date-of-birth level, from m and the weight
    m_d = np.append(m_dob, 1.0)
    log_u_d = np.log2(np.maximum(m_d[d_lv], MIN_P)) - w[:, dc]
    shared = w[:, fc] + home
    log_q = np.empty((len(levels), len(RELATIVES)))
    for k, (_, rate, same_given, dob_h) in enumerate(RELATIVES):
        lq = math.log2(rate / n_rec) + shared
        if same_given:
            lq = lq + w[:, gc]
        else:
            # relatives other than duplicates do not share a given name (or its nickname)
            lq = np.where(np.isin(g_lv, _EXACT_G), -np.inf, lq)
        if dob_h is None:
            lq = lq + w[:, dc]
        else:
            h = np.full(len(LEVELS["date_of_birth"]), _H_FLOOR)
            for lv, pr in dob_h.items():
                h[_DOB[lv]] = pr
            h[-1] = 1.0
            lq = lq + np.where(d_missing, 0.0, np.log2(h[d_lv]) - log_u_d)
        log_q[:, k] = lq
    adj = -np.logaddexp2(0.0, np.logaddexp2.reduce(log_q, axis=1))
    kind = np.where(adj < -0.5, log_q.argmax(axis=1), -1)
    return adj, kind


def _unique_rows(levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of a level matrix and their counts (rows packed into one integer,
    which is far faster than ``np.unique(axis=0)`` on a million pairs)."""
    bits = [max(len(LEVELS[f]) - 1, 1).bit_length() for f in FIELDS]
    shifts = np.cumsum([0, *bits[:-1]])
    packed = np.zeros(len(levels), np.int64)
    for c, sh in enumerate(shifts.tolist()):
        packed |= levels[:, c].astype(np.int64) << sh
    codes, counts = np.unique(packed, return_counts=True)
    out = np.empty((len(codes), len(FIELDS)), levels.dtype)
    for c, (sh, b) in enumerate(zip(shifts.tolist(), bits, strict=True)):
        out[:, c] = (codes >> sh) & ((1 << b) - 1)
    return out, counts


def log2_odds(p: float) -> float:
    p = min(max(p, 1e-300), 1 - 1e-16)
    return math.log2(p / (1 - p))


def probability(log2odds: np.ndarray) -> np.ndarray:
    """Posterior probability from log2 odds, numerically safe."""
    return 1.0 / (1.0 + np.exp2(-np.clip(log2odds, -1000, 1000)))


@dataclass
class FSModel:
    """m and u per field and level, and the prior probability that a random pair matches."""

    m: dict[str, np.ndarray] = field(default_factory=dict)
    u: dict[str, np.ndarray] = field(default_factory=dict)
    lambda_: float = 1e-4  # P(match) for a random pair of records
    lambda_candidates: float = 0.05  # P(match) among blocked candidate pairs
    iterations: int = 0
    matches_per_record: float = 0.0  # expected duplicates per record (scales lambda_ to a register)
    # per relatives cap, the estimated share of two people among the pairs it holds back
    # (duplicates.matching.explain.relatives_shares); a cap not named here always applies
    relatives_share: dict[str, float] = field(default_factory=dict)

    @classmethod
    def prior(cls) -> FSModel:
        return cls(
            m={f: np.asarray(PRIOR_M[f], float) for f in FIELDS},
            u={f: np.asarray(PRIOR_U[f], float) for f in FIELDS},
        )

    # ----- weights --------------------------------------------------------------------
    def weight_table(self) -> list[np.ndarray]:
        """Per field, log2(m/u) per level with 0 for "missing" (appended last)."""
        out = []
        for f in FIELDS:
            w = np.log2(np.maximum(self.m[f], MIN_P) / np.maximum(self.u[f], MIN_P))
            out.append(np.append(w, 0.0))
        return out

    def weights(self, levels: np.ndarray) -> np.ndarray:
        """(n_pairs, n_fields) log2 Bayes factors for a level matrix."""
        tables = self.weight_table()
        w = np.empty(levels.shape, float)
        for c, t in enumerate(tables):
            w[:, c] = t[levels[:, c]]
        return w

    def level_weight(self, f: str, level: str) -> float:
        idx = LEVELS[f].index(level)
        if level == MISSING:
            return 0.0
        return float(np.log2(max(self.m[f][idx], MIN_P) / max(self.u[f][idx], MIN_P)))

    # ----- keeping the parameters between runs ------------------------------------------
    def to_json(self) -> dict:
        """The parameters as plain JSON (stored so that every run scores with the same model)."""
        return {
            "m": {f: [float(x) for x in self.m[f]] for f in FIELDS},
            "u": {f: [float(x) for x in self.u[f]] for f in FIELDS},
            "lambda": float(self.lambda_), "lambda_candidates": float(self.lambda_candidates),
            "iterations": int(self.iterations), "matches_per_record": float(self.matches_per_record),
            "relatives_share": {k: float(v) for k, v in self.relatives_share.items()},
            "levels": {f: list(LEVELS[f]) for f in FIELDS},
        }

    @classmethod
    def from_json(cls, data: dict) -> FSModel | None:
        """The stored model, or None when it was stored for other comparison levels."""
        if data.get("levels") != {f: list(LEVELS[f]) for f in FIELDS}:
            return None
        return cls(
            m={f: np.asarray(data["m"][f], float) for f in FIELDS},
            u={f: np.asarray(data["u"][f], float) for f in FIELDS},
            lambda_=float(data["lambda"]), lambda_candidates=float(data["lambda_candidates"]),
            iterations=int(data.get("iterations", 0)),
            matches_per_record=float(data.get("matches_per_record", 0.0)),
            relatives_share={k: float(v) for k, v in (data.get("relatives_share") or {}).items()},
        )

    def add_confirmed(self, levels: np.ndarray, weight: float) -> None:
        """Pairs an analyst confirmed as one person count as known matches in m.

        ``weight`` is how many matches the EM estimate stands for; each confirmed pair adds
        one observed match to the level it shows (missing levels add nothing).
        """
        if not len(levels):
            return
        for c, f in enumerate(FIELDS):
            k = len(LEVELS[f]) - 1
            col = levels[:, c]
            counts = np.bincount(col[col < k], minlength=k)[:k].astype(float)
            if counts.sum() == 0:
                continue
            m = (self.m[f] * weight + counts) / (weight + counts.sum())
            for (ff, lv), cap in MAX_M.items():
                if ff == f:
                    j = LEVELS[f].index(lv)
                    m[j] = min(m[j], cap)
            self.m[f] = np.maximum(m / m.sum(), MIN_P)

    # ----- estimation -----------------------------------------------------------------
    def set_u(self, random_levels: np.ndarray, exact_u: dict[str, float], n_records: int) -> None:
        """u from the levels of random pairs, with exact agreement given from frequencies."""
        for c, f in enumerate(FIELDS):
            k = len(LEVELS[f]) - 1
            col = random_levels[:, c]
            col = col[col < k]
            counts = np.bincount(col, minlength=k)[:k].astype(float)
            prior = np.asarray(PRIOR_U[f], float)
            u = (counts + U_PSEUDO * prior) / (counts.sum() + U_PSEUDO)
            if f in exact_u:
                # exact agreement: from value frequencies over all pairs, smoothed
                n_pairs = n_records * (n_records - 1)
                ex = (exact_u[f] * n_pairs + U_PSEUDO * prior[0]) / (n_pairs + U_PSEUDO)
                rest = u[1:] / max(u[1:].sum(), MIN_P) * (1 - ex)
                u = np.concatenate([[ex], rest])
            self.u[f] = np.maximum(u, MIN_P)

    def _em(self, levels: np.ndarray, skip: set[int], max_iter: int, tol: float, n_records: int):
        """One EM run with u fixed; fields in ``skip`` are left out of the likelihood.

        Non-matches are strangers or relatives (:func:`relatives_adjustment`), so twins in
        the register are not taken for duplicates whose given name was replaced.
        """
        patterns, counts = _unique_rows(levels)
        counts = counts.astype(float)
        m = {f: self.m[f].copy() for f in FIELDS}
        lam = 0.1
        keep = [c for c in range(len(FIELDS)) if c not in skip]
        wp = np.zeros(len(patterns))
        for _ in range(max_iter):
            wf = np.empty(patterns.shape)
            for c, f in enumerate(FIELDS):
                t = np.append(np.log2(np.maximum(m[f], MIN_P) / np.maximum(self.u[f], MIN_P)), 0.0)
                wf[:, c] = t[patterns[:, c]]
            w = wf[:, keep].sum(axis=1)
            adj, _ = relatives_adjustment(patterns, wf, m["date_of_birth"], n_records)
            post = probability(w + adj + log2_odds(lam))
            wp = counts * post
            new_lam = (wp.sum() + 1.0) / (counts.sum() + 2.0)
            delta = abs(new_lam - lam)
            lam = new_lam
            for c in keep:
                f = FIELDS[c]
                k = len(LEVELS[f]) - 1
                col = patterns[:, c]
                present = col < k
                agg = np.bincount(col[present], weights=wp[present], minlength=k)[:k]
                prior = np.asarray(PRIOR_M[f], float)
                new = (agg + M_PSEUDO * prior) / (agg.sum() + M_PSEUDO)
                for (ff, lv), cap in MAX_M.items():
                    if ff == f:
                        j = LEVELS[f].index(lv)
                        new[j] = min(new[j], cap)
                new = np.maximum(new / new.sum(), MIN_P)
                delta = max(delta, float(np.abs(new - m[f]).max()))
                m[f] = new
            if delta < tol:
                break
        return m, lam, float(wp.sum())

    def fit_m(
        self, rounds: list[tuple[np.ndarray, set[int]]], max_iter: int = 60, tol: float = 1e-5,
        n_records: int = 1_000,
    ) -> list[float]:
        """EM for m with u held fixed, Splink style: one run per blocking key.

        Pairs found by a blocking key agree on that key's fields whatever they are, so in
        the run for that key those fields are left out, and each field's m is the average
        of the runs that did estimate it (weighted by their expected number of matches).
        Returns the match rate estimated in each run.
        """
        acc = {f: np.zeros_like(self.m[f]) for f in FIELDS}
        tot = dict.fromkeys(FIELDS, 0.0)
        lams: list[float] = []
        for levels, skip in rounds:
            if len(levels) == 0:
                lams.append(0.0)
                continue
            m, lam, n_match = self._em(levels, skip, max_iter, tol, n_records)
            lams.append(lam)
            wt = n_match + 1.0
            for c, f in enumerate(FIELDS):
                if c not in skip:
                    acc[f] += wt * m[f]
                    tot[f] += wt
        for f in FIELDS:
            if tot[f] > 0:
                self.m[f] = acc[f] / tot[f]
        self.iterations = len(rounds)
        return lams

    def posterior(self, levels: np.ndarray, skip: set[int], lam: float, n_records: int = 1_000) -> np.ndarray:
        """Match probability of each pair in the candidate space of one blocking key."""
        w = self.weights(levels)
        adj, _ = relatives_adjustment(levels, w, self.m["date_of_birth"], n_records)
        for c in skip:
            w[:, c] = 0.0
        return probability(w.sum(axis=1) + adj + log2_odds(lam))
