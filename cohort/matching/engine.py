"""Public API of the duplicate matcher: find the same person entered twice.

Pure Python and numpy: no Flask, no database. The caller turns nominals into
:class:`Record` values, builds a :class:`Matcher`, calls :meth:`Matcher.fit` once, then
asks for :meth:`Matcher.pairs` (the cross-panel duplication check) or
:meth:`Matcher.match_one` (the "possible duplicate" warning when a referral is entered).
Scores are posterior probabilities that two records are the same person; every score comes
with the evidence behind it, in words an analyst can check.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from .blocking import DEFAULT_MAX_BLOCK, KEY_FIELDS, BlockIndex
from .compare import FIELDS, ID_KINDS, ID_LEVELS, LEVELS, MISSING, Table, Vocab, compare_pairs
from .model import PRIOR_U, RELATIVES, FSModel, log2_odds, probability, relatives_adjustment

log = logging.getLogger(__name__)

__all__ = ["Record", "Evidence", "Pair", "Matcher", "find_duplicates"]
_ID_CONFLICT_LOG2ODDS = log2_odds(0.2)  # a pair with conflicting identifiers scores at most 0.2


@dataclass(frozen=True)
class Record:
    """One nominal as the matcher sees it; ``id`` is the nominal id."""

    id: int
    given_name: str | None = None
    family_name: str | None = None
    aliases: tuple[str, ...] = ()
    date_of_birth: datetime.date | None = None
    gender: str | None = None
    pnc: str | None = None
    cro: str | None = None
    nomis: str | None = None
    crn: str | None = None
    postcode: str | None = None


@dataclass
class Evidence:
    """One piece of evidence for or against a match; ``weight`` is a log2 Bayes factor."""

    field: str
    level: str
    weight: float
    text: str


@dataclass
class Pair:
    """Two records (``a`` < ``b``), the probability they are one person, and why."""

    a: int
    b: int
    score: float
    evidence: list[Evidence] = field(default_factory=list)

    def reasons(self) -> list[str]:
        """The evidence in words, strongest first."""
        return [e.text for e in self.evidence]


_LABEL = {
    "given_name": "given name", "family_name": "family name", "date_of_birth": "date of birth",
    "gender": "gender", "postcode": "postcode", "pnc": "PNC ID", "cro": "CRO number",
    "nomis": "NOMIS number", "crn": "CRN",
}
_NAME_WORDS = {
    "exact": "the same", "nickname": "a known nickname or spelling variant (e.g. Bill/William)",
    "typo": "a small spelling difference", "phonetic": "sounds the same, spelt differently",
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
        "year_off": "same day and month, year differs by 1 or 10", "disagree": "different",
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


def strength(weight: float) -> str:
    """Plain words for the size of a log2 Bayes factor."""
    a = abs(weight)
    if a < 0.5:
        return "no real evidence either way"
    word = "very weak" if a < 1 else "weak" if a < 3 else "moderate" if a < 6 else "strong" if a < 10 else "very strong"
    return f"{word} evidence {'for' if weight > 0 else 'against'}"


def _text(f: str, level: str, weight: float) -> str:
    words = _WORDS.get(f, _ID_WORDS).get(level, level)
    return f"{_LABEL[f]}: {words}, {strength(weight)}"


_GIVEN_EXACT = LEVELS["given_name"].index("exact")
_FAMILY_EXACT = LEVELS["family_name"].index("exact")
_FAMILY_SWAPPED = LEVELS["family_name"].index("swapped")
_ID_EXACT = ID_LEVELS.index("exact")
_TF_PSEUDO = 200.0
_TF_MIN = 1e-4
# See cohort.matching.model.RELATIVES: the kinds of relative the model allows for.
_RELATIVE_TEXT = {
    "possible_twins": (
        "same family name and date of birth but different given names: could be twins, so the shared "
        "family name, date of birth and address count for less"
    ),
    "possible_parent_child": (
        "same name and address but born far apart: could be a parent and child with the same name, so "
        "the shared name and address count for less"
    ),
    "possible_relatives": (
        "same family name and address but different given names and dates of birth: could be relatives "
        "(e.g. siblings), so the shared family name and address count for less"
    ),
}
_COL = {f: i for i, f in enumerate(FIELDS)}


class Matcher:
    """Finds pairs of records that are probably the same person.

    Build it from the register, call :meth:`fit` once (EM estimation of the model from the
    register itself), then call :meth:`pairs`, :meth:`match_one` or :meth:`explain`.
    """

    def __init__(
        self,
        records: Iterable[Record],
        max_block: int = DEFAULT_MAX_BLOCK,
        *,
        candidates: tuple[np.ndarray, dict[str, np.ndarray]] | None = None,
        n_register: int | None = None,
        sample: Iterable[int] | None = None,
    ):
        """``records`` is the register, or with ``candidates`` only part of it:

        - ``candidates``: pairs found outside the matcher (the service finds them through
          keyed hashes of the same blocking keys, without decrypting anyone): an (n, 2)
          array of record ids and, per key type, the rows of that array it found;
        - ``n_register``: how many records the whole register holds;
        - ``sample``: ids of records that are a random sample of the register, from which
          u-probabilities and value frequencies are estimated (default: all records).
        """
        self.records: list[Record] = list(records)
        self.ids = np.asarray([r.id for r in self.records], np.int64)
        self._pos = {int(r.id): i for i, r in enumerate(self.records)}
        self.n_register = max(int(n_register or 0), len(self.records))
        self.vocab = Vocab()
        self.table = Table.build(self.records, self.vocab)
        self.vocab.frozen = True
        self.max_block = max_block
        self._index: BlockIndex | None = None
        self._given = candidates
        if sample is None:
            self._bg = np.arange(len(self.records))
        else:
            self._bg = np.asarray(sorted({self._pos[int(i)] for i in sample if int(i) in self._pos}), np.int64)
        self.model = FSModel.prior()
        self._fitted = False
        self._cand: np.ndarray | None = None
        self._levels: np.ndarray | None = None
        bg = self._bg
        self._tf = {
            "given_name": self._counts(self.table.names.g_first[bg]),
            "family_name": self._counts(self.table.names.f_comp[bg]),
            # every holder of an identifier shares its blocking key, so all records count
            **{k: self._counts(self.table.id_code[k]) for k in ID_KINDS},
        }

    @property
    def index(self) -> BlockIndex:
        """Blocking index over the records (built when first needed)."""
        if self._index is None:
            self._index = BlockIndex(self.records, max_block=self.max_block)
        return self._index

    def _candidate_pairs(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        if self._given is None:
            return self.index.candidate_pairs()
        pairs, rows = self._given
        pairs = np.asarray(pairs, np.int64).reshape(-1, 2)
        pos = np.asarray([[self._pos[int(a)], self._pos[int(b)]] for a, b in pairs.tolist()], np.int64)
        return pos.reshape(-1, 2), {k: np.asarray(v, np.int64) for k, v in rows.items() if len(v)}

    # ----- fitting -----------------------------------------------------------------------
    @staticmethod
    def _counts(codes: np.ndarray) -> tuple[dict[int, int], int]:
        present = codes[codes >= 0]
        vals, cnt = np.unique(present, return_counts=True)
        return dict(zip(vals.tolist(), cnt.tolist(), strict=True)), len(present)

    @staticmethod
    def _exact_u(codes: np.ndarray) -> float:
        present = codes[codes >= 0]
        n = len(present)
        if n < 2:
            return 0.0
        _, cnt = np.unique(present, return_counts=True)
        return float((cnt * (cnt - 1)).sum() / (n * (n - 1)))

    def fit(self) -> Matcher:
        """Estimate u from random pairs and m by EM over the blocked candidate pairs."""
        if self._fitted:
            return self
        n = self.n_register
        t, bg = self.table, self._bg
        self._cand, by_key = self._candidate_pairs()
        self._levels = compare_pairs(t, self._cand[:, 0], t, self._cand[:, 1])
        total = n * (n - 1) // 2
        nb = len(bg)
        if nb >= 2:
            if nb * (nb - 1) // 2 <= 200_000:
                ia, ib = np.triu_indices(nb, 1)
            else:
                rng = np.random.default_rng(20240601)
                ia = rng.integers(0, nb, 200_000)
                ib = (ia + rng.integers(1, nb, 200_000)) % nb
            rand_levels = compare_pairs(t, bg[ia], t, bg[ib])
            exact = {
                "given_name": self._exact_u(t.names.g_first[bg]),
                "family_name": self._exact_u(t.names.f_comp[bg]),
                "date_of_birth": self._exact_u(t.dob_code[bg]),
                "postcode": self._exact_u(t.pc_full[bg]),
                **{k: self._exact_u(t.id_code[k][bg]) for k in ("pnc", "cro", "nomis", "crn")},
            }
            self.model.set_u(rand_levels, exact, nb)
        rounds = [
            (self._levels[rows], {_COL[f] for f in KEY_FIELDS[kt]}) for kt, rows in by_key.items()
        ]
        lams = self.model.fit_m(rounds, n_records=n)
        # expected number of true matches among the candidates, each pair judged in the
        # candidate space of the first key that found it
        expected = 0.0
        seen = np.zeros(len(self._cand), bool)
        for (levels, skip), lam_k, rows in zip(rounds, lams, by_key.values(), strict=True):
            new = ~seen[rows]
            if new.any():
                expected += float(self.model.posterior(levels[new], skip, lam_k, n).sum())
                seen[rows] = True
        n_cand = len(self._cand)
        self.model.lambda_candidates = expected / max(n_cand, 1)
        lam = expected / max(total, 1)
        self.model.lambda_ = float(min(max(lam, 1e-10), 0.5))
        self._fitted = True
        log.info(
            "matcher fitted: %d records, %d candidate pairs, lambda=%.3g, %d EM iterations",
            n, n_cand, self.model.lambda_, self.model.iterations,
        )
        return self

    # ----- scoring -----------------------------------------------------------------------
    def _tf_weight(self, f: str, codes: np.ndarray) -> np.ndarray:
        counts, n = self._tf[f]
        c = np.asarray([counts.get(x, 0) for x in codes.tolist()], float)
        u_exact = self.model.u[f][0]
        freq = np.maximum((c + _TF_PSEUDO * u_exact) / (n + _TF_PSEUDO), _TF_MIN)
        return np.log2(self.model.m[f][0] / freq)

    def _id_weight(self, kind: str, codes: np.ndarray, extra: int) -> np.ndarray:
        """Weight of an identifier agreeing exactly, per value.

        An identifier is issued to one person, so the register's own frequencies overstate
        how often two *different* people share one: every duplicate in it is a repeated
        identifier. Only holders beyond the pair itself count as sharing (a placeholder
        like X000000 on fifty records counts for little); otherwise the prior collision
        rate applies. ``extra`` is 1 when one of the pair is not in the register.
        """
        counts, n = self._tf[kind]
        c = np.asarray([counts.get(x, 0) for x in codes.tolist()], float) + extra
        u = np.maximum((c - 2) / max(n, 1), PRIOR_U[kind][0])
        return np.log2(self.model.m[kind][0] / u)

    def _codes(self, t: Table, idx: np.ndarray) -> dict[str, np.ndarray]:
        """Value codes (for term-frequency weights) of records ``idx`` of table ``t``."""
        return {
            "given_name": t.names.g_first[idx], "family_name": t.names.f_comp[idx],
            **{k: t.id_code[k][idx] for k in ID_KINDS},
        }

    def _weights(self, levels: np.ndarray, codes: dict[str, np.ndarray], extra: int = 0):
        """Field weights (with term-frequency adjustment) and the relatives adjustment.

        Returns ``(w, adj, kind)``: ``adj`` is ``-log2(u_mixture / u_independent)`` per
        pair and ``kind`` the index in ``_RELATIVES`` of the kind that explains the pair
        best (-1 where relatives explain it no better than strangers).
        """
        w = self.model.weights(levels)
        for f, exact in (("given_name", _GIVEN_EXACT), ("family_name", _FAMILY_EXACT)):
            c = _COL[f]
            rows = np.flatnonzero(levels[:, c] == exact)
            if len(rows):
                w[rows, c] = self._tf_weight(f, codes[f][rows])
        for k in ID_KINDS:
            c = _COL[k]
            rows = np.flatnonzero(levels[:, c] == _ID_EXACT)
            if len(rows):
                w[rows, c] = self._id_weight(k, codes[k][rows], extra)
        # swapped names are worth no more than the family name agreeing exactly would be
        fcol = _COL["family_name"]
        rows = np.flatnonzero(levels[:, fcol] == _FAMILY_SWAPPED)
        if len(rows):
            w[rows, fcol] = np.minimum(w[rows, fcol], self._tf_weight("family_name", codes["family_name"][rows]))
        adj, kind = relatives_adjustment(levels, w, self.model.m["date_of_birth"], self.n_register)
        return w, adj, kind

    def _score(self, levels, codes, extra: int = 0):
        w, adj, kind = self._weights(levels, codes, extra)
        total = w.sum(axis=1) + adj + log2_odds(self.model.lambda_)
        # A PNC, CRO, NOMIS number or CRN belongs to one person: two records carrying
        # different ones (not a one-character slip) are two people, however alike the
        # names. Such pairs stay reviewable but never reach the "same person" verdict.
        id_cols = [_COL[k] for k in ID_KINDS]
        # ("disagree" is only given where both pass their format and check-character rules)
        conflict = (levels[:, id_cols] == ID_LEVELS.index("disagree")).any(axis=1)
        capped = np.minimum(total, _ID_CONFLICT_LOG2ODDS)
        id_adj = np.where(conflict, capped - total, 0.0)
        total = np.where(conflict, capped, total)
        return probability(total), w, adj, kind, id_adj

    def _evidence(self, lv: np.ndarray, w: np.ndarray, adj: float, kind: int, id_adj: float) -> list[Evidence]:
        ev: list[Evidence] = []
        for c, f in enumerate(FIELDS):
            level = LEVELS[f][int(lv[c])]
            if level == MISSING:
                continue
            ev.append(Evidence(f, level, round(float(w[c]), 3), _text(f, level, float(w[c]))))
        if kind >= 0 and adj < 0:
            name = RELATIVES[kind][0]
            text = f"{_RELATIVE_TEXT[name]}: {strength(adj)}"
            ev.append(Evidence("household", name, round(float(adj), 3), text))
        if id_adj < 0:
            ids = [f for f in ID_KINDS if LEVELS[f][int(lv[_COL[f]])] == "disagree"]
            text = (
                f"different {', '.join(i.upper() for i in ids)}: an identifier belongs to one person, "
                "so this pair is at most a possible match for review"
            )
            ev.append(Evidence("identifiers", "conflict", round(float(id_adj), 3), text))
        ev.sort(key=lambda e: (-abs(e.weight), e.field))
        return ev

    def _pairs_from(self, ids_a, ids_b, levels, codes, min_score, exclude, limit=None, extra: int = 0):
        p, w, adj, kind, id_adj = self._score(levels, codes, extra)
        keep = np.flatnonzero(p >= min_score)
        lo = np.minimum(ids_a[keep], ids_b[keep])
        hi = np.maximum(ids_a[keep], ids_b[keep])
        order = np.lexsort((hi, lo, -p[keep]))
        out: list[Pair] = []
        for k in order.tolist():
            a, b = int(lo[k]), int(hi[k])
            if a == b or (exclude and frozenset((a, b)) in exclude):
                continue
            r = int(keep[k])
            ev = self._evidence(levels[r], w[r], float(adj[r]), int(kind[r]), float(id_adj[r]))
            out.append(Pair(a, b, float(p[r]), ev))
            if limit is not None and len(out) >= limit:
                break
        return out

    def pairs(self, min_score: float = 0.1, exclude: set[frozenset[int]] | frozenset = frozenset()) -> list[Pair]:
        """Candidate pairs scoring at least ``min_score``, best first.

        Pairs are scored independently: if A~B and B~C, A~C is listed only if it scores by
        itself. ``exclude`` holds pairs an analyst has already judged (``frozenset({a, b})``).
        """
        self.fit()
        assert self._cand is not None and self._levels is not None
        ia, ib = self._cand[:, 0], self._cand[:, 1]
        return self._pairs_from(
            self.ids[ia], self.ids[ib], self._levels, self._codes(self.table, ia), min_score, exclude
        )

    def match_one(self, record: Record, min_score: float = 0.5, limit: int = 5) -> list[Pair]:
        """Possible duplicates of one (new) record in the fitted register, best first."""
        self.fit()
        cands = self.index.candidates_for(record)
        if record.id in self._pos:
            cands = cands[cands != self._pos[record.id]]
        if not len(cands):
            return []
        q = Table.build([record], self.vocab)
        qa = np.zeros(len(cands), np.int64)
        levels = compare_pairs(q, qa, self.table, cands)
        ids_a = np.full(len(cands), record.id, np.int64)
        return self._pairs_from(
            ids_a, self.ids[cands], levels, self._codes(self.table, cands), min_score, frozenset(), limit,
            extra=0 if record.id in self._pos else 1,
        )

    def match_against(
        self, record: Record, others: Iterable[Record], min_score: float = 0.5, limit: int = 5
    ) -> list[Pair]:
        """Score one (new) record against given records with the fitted model, best first.

        For callers that found the candidates themselves (the service looks them up
        through keyed hashes of the blocking keys and decrypts only those).
        """
        self.fit()
        others = [o for o in others if o.id != record.id]
        if not others:
            return []
        ot = Table.build(others, self.vocab)
        q = Table.build([record], self.vocab)
        ib = np.arange(len(others))
        qa = np.zeros(len(others), np.int64)
        levels = compare_pairs(q, qa, ot, ib)
        ids_b = np.asarray([o.id for o in others], np.int64)
        ids_a = np.full(len(others), record.id, np.int64)
        return self._pairs_from(ids_a, ids_b, levels, self._codes(ot, ib), min_score, frozenset(), limit, extra=1)

    def explain(self, a: Record, b: Record) -> Pair:
        """Score and evidence for any two records (whether or not blocking would pair them)."""
        self.fit()
        t = Table.build([a, b], self.vocab)
        levels = compare_pairs(t, np.array([0]), t, np.array([1]))
        extra = 0 if (a.id in self._pos and b.id in self._pos) else 1
        codes = self._codes(t, np.array([0]))
        pairs = self._pairs_from(np.array([a.id]), np.array([b.id]), levels, codes, -1.0, frozenset(), extra=extra)
        if pairs:
            return pairs[0]
        p, w, adj, kind, id_adj = self._score(levels, codes, extra)
        ev = self._evidence(levels[0], w[0], float(adj[0]), int(kind[0]), float(id_adj[0]))
        return Pair(min(a.id, b.id), max(a.id, b.id), float(p[0]), ev)


def find_duplicates(
    records: Iterable[Record], min_score: float = 0.1, exclude: set[frozenset[int]] | frozenset = frozenset()
) -> list[Pair]:
    """Convenience: fit a :class:`Matcher` on ``records`` and return its :meth:`~Matcher.pairs`."""
    return Matcher(records).fit().pairs(min_score=min_score, exclude=exclude)
