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
from .compare import FIELDS, ID_KINDS, ID_LEVELS, LEVELS, Table, Vocab, compare_pairs
from .explain import (
    CAPS,
    MAX_RELATIVES_SHARE,
    Evidence,
    cap_ceilings,
    evidence,
    relatives_shares,
    review_caps,
    twins_pattern,
    twins_share,
)
from .model import PRIOR_U, FSModel, log2_odds, probability, relatives_adjustment

log = logging.getLogger(__name__)

__all__ = ["Record", "Evidence", "Pair", "Matcher", "find_duplicates"]


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
class Pair:
    """Two records (``a`` < ``b``), the probability they are one person, and why."""

    a: int
    b: int
    score: float
    evidence: list[Evidence] = field(default_factory=list)

    def reasons(self) -> list[str]:
        """The evidence in words, strongest first."""
        return [e.text for e in self.evidence]


_GIVEN_EXACT = LEVELS["given_name"].index("exact")
_FAMILY_EXACT = LEVELS["family_name"].index("exact")
_FAMILY_SWAPPED = LEVELS["family_name"].index("swapped")
_FAMILY_CROSSED = [_FAMILY_SWAPPED, LEVELS["family_name"].index("half_swapped")]
_ID_EXACT = ID_LEVELS.index("exact")
_TF_PSEUDO = 200.0
_PHONETIC_MAX_WEIGHT = 1.5  # log2 Bayes factor: "weak evidence for"
_TF_MIN = 1e-4
_COL = {f: i for i, f in enumerate(FIELDS)}
_TWINS_CAP = [c for c, _ in CAPS].index("twins_no_identifier")


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
        relatives_rules: bool = True,
    ):
        """``records`` is the register, or with ``candidates`` only part of it:

        - ``candidates``: pairs found outside the matcher (the service finds them through
          keyed hashes of the same blocking keys, without decrypting anyone): an (n, 2)
          array of record ids and, per key type, the rows of that array it found;
        - ``n_register``: how many records the whole register holds;
        - ``sample``: ids of records that are a random sample of the register, from which
          u-probabilities and value frequencies are estimated (default: all records);
        - ``relatives_rules``: keep twins and pairs without a date of birth below the verdict
          unless an identifier agrees (:func:`duplicates.matching.explain.review_caps`). Always on
          in the service; off only to measure a register known to hold no relatives.
        """
        self.records: list[Record] = list(records)
        self.ids = np.asarray([r.id for r in self.records], np.int64)
        self._pos = {int(r.id): i for i, r in enumerate(self.records)}
        self.n_register = max(int(n_register or 0), len(self.records))
        self.vocab = Vocab()
        self.table = Table.build(self.records, self.vocab)
        self.vocab.frozen = True
        self.max_block = max_block
        self.relatives_rules = relatives_rules
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
        # what the twins cap was judged on (explain.twins_share); empty with a stored model
        self.twins_figures: dict[str, float] = {}
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

    def fit(self, model: FSModel | None = None, confirmed: np.ndarray | None = None) -> Matcher:
        """Estimate u from random pairs and m by EM over the blocked candidate pairs.

        ``model``: parameters kept from an earlier fit (the service stores them, so every run
        scores with the same model until someone retrains it); only the prior match rate is
        scaled to this register's size. ``confirmed``: comparison levels of pairs analysts
        confirmed as one person, counted as known matches when estimating m.
        """
        if self._fitted:
            return self
        n = self.n_register
        t = self.table
        self._cand, by_key = self._candidate_pairs()
        self._levels = compare_pairs(t, self._cand[:, 0], t, self._cand[:, 1])
        if model is not None:
            self.model = FSModel.from_json(model.to_json())
            lam = 2.0 * model.matches_per_record / max(n - 1, 1)
            self.model.lambda_ = float(min(max(lam, 1e-10), 0.5))
        else:
            self._estimate(by_key, confirmed)
        self._fitted = True
        log.info(
            "matcher fitted: %d records, %d candidate pairs, lambda=%.3g, %d EM iterations",
            n, len(self._cand), self.model.lambda_, self.model.iterations,
        )
        return self

    def _estimate(self, by_key: dict[str, np.ndarray], confirmed: np.ndarray | None) -> None:
        """u from random pairs of the sample, m by EM (plus confirmed pairs), the match rate."""
        n = self.n_register
        t, bg = self.table, self._bg
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
        if confirmed is not None and len(confirmed):
            self.model.add_confirmed(np.asarray(confirmed, np.int8).reshape(-1, len(FIELDS)), max(expected, 1.0))
        missing_dob = float((t.dob_code[bg] < 0).mean()) if nb else 0.0
        self.model.relatives_share = relatives_shares(self._levels, missing_dob)
        n_cand = len(self._cand)
        self.model.lambda_candidates = expected / max(n_cand, 1)
        self.model.matches_per_record = expected / max(n, 1)
        lam = expected / max(total, 1)
        self.model.lambda_ = float(min(max(lam, 1e-10), 0.5))
        self._judge_twins()

    def _judge_twins(self) -> None:
        """The twins cap judged on the register (:func:`~.explain.twins_share`): the pairs it
        would hold back are scored without caps, and the share of them twins can be is kept
        with the model (so a stored model scores alike until it is retrained)."""
        assert self._cand is not None and self._levels is not None
        pattern, id_agrees = twins_pattern(self._levels)
        held = review_caps(self._levels) == _TWINS_CAP  # (not those a conflicting identifier holds)
        rows = np.flatnonzero(held | (pattern & id_agrees))
        raw = np.zeros(len(self._levels))
        if len(rows):
            ia, ib = self._cand[rows, 0], self._cand[rows, 1]
            w, adj, _ = self._weights(self._levels[rows], self._codes(self.table, ia, self.table, ib))
            # a pair an identifier joins: scored as if no identifier were recorded, to be
            # counted like the pairs without one that the cap would hold back
            w[np.ix_(id_agrees[rows], [_COL[k] for k in ID_KINDS])] = 0.0
            raw[rows] = probability(w.sum(axis=1) + adj + log2_odds(self.model.lambda_))
        share, figures = twins_share(self._levels, raw, self.n_register)
        self.model.relatives_share["twins_no_identifier"] = share
        self.twins_figures = figures
        log.info("twins cap: %s, at most %.0f%% twins", figures, 100 * share)

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

    def _codes(self, t: Table, idx: np.ndarray, tb: Table | None = None, idx_b: np.ndarray | None = None):
        """Value codes (for term-frequency weights) of records ``idx`` of table ``t``, and
        the names of the other side of each pair (records ``idx_b`` of ``tb``)."""
        out = {
            "given_name": t.names.g_first[idx], "family_name": t.names.f_comp[idx],
            **{k: t.id_code[k][idx] for k in ID_KINDS},
        }
        if tb is not None and idx_b is not None:
            out["given_name_b"], out["family_name_b"] = tb.names.g_first[idx_b], tb.names.f_comp[idx_b]
        return out

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
        # a shared phonetic code is weak evidence at most, whatever EM makes of it
        for f in ("given_name", "family_name"):
            c = _COL[f]
            rows = np.flatnonzero(levels[:, c] == LEVELS[f].index("phonetic"))
            if len(rows):
                w[rows, c] = np.minimum(w[rows, c], _PHONETIC_MAX_WEIGHT)
        self._swapped_weights(levels, w, codes)
        adj, kind = relatives_adjustment(levels, w, self.model.m["date_of_birth"], self.n_register)
        return w, adj, kind

    def _swapped_weights(self, levels: np.ndarray, w: np.ndarray, codes: dict[str, np.ndarray]) -> None:
        """Names written the other way round are worth no more than the commoner reading.

        "Catherine Johnson" and "Johnson Catherine": "Johnson" is rare as a given name and
        "Catherine" rare as a family name, so weighing each name by its frequency in the
        field it was written in would make a common name look rare. Each name is weighed by
        the higher of its frequencies in either record's field, in place.
        """
        fcol, gcol = _COL["family_name"], _COL["given_name"]
        rows = np.flatnonzero(np.isin(levels[:, fcol], _FAMILY_CROSSED))
        if not len(rows):
            return
        fam = [self._tf_weight("family_name", codes[k][rows]) for k in ("family_name", "family_name_b") if k in codes]
        w[rows, fcol] = np.minimum(w[rows, fcol], np.minimum.reduce(fam))
        exact = rows[levels[rows, gcol] == _GIVEN_EXACT]
        if len(exact):
            giv = [self._tf_weight("given_name", codes[k][exact]) for k in ("given_name", "given_name_b") if k in codes]
            w[exact, gcol] = np.minimum(w[exact, gcol], np.minimum.reduce(giv))

    def _score(self, levels, codes, extra: int = 0):
        w, adj, kind = self._weights(levels, codes, extra)
        total = w.sum(axis=1) + adj + log2_odds(self.model.lambda_)
        cap = review_caps(levels, self.relatives_rules, self.lifted_caps)
        ceilings = cap_ceilings(self.model.relatives_share)
        capped = np.minimum(total, np.where(cap >= 0, ceilings[np.maximum(cap, 0)], np.inf))
        cap_adj = capped - total  # <= 0: how much a cap took off
        return probability(capped), w, adj, kind, np.where(cap_adj < 0, cap, -1), cap_adj

    @property
    def lifted_caps(self) -> frozenset[str]:
        """Relatives caps this register's own figures show to be unneeded (fewer than
        MAX_RELATIVES_SHARE of the pairs they hold back are two people)."""
        return frozenset(k for k, v in self.model.relatives_share.items() if v < MAX_RELATIVES_SHARE)

    @property
    def twins_share(self) -> float:
        """The highest share of twins among the pairs the twins cap holds back here (1.0: the
        cap applies in full; below 1.0 a pair may reach one less this share; lifted below
        MAX_RELATIVES_SHARE). A model stored before it was judged keeps the cap in full."""
        return float(self.model.relatives_share.get("twins_no_identifier", 1.0))

    def _evidence(self, lv: np.ndarray, w: np.ndarray, adj: float, kind: int, cap: int, cap_adj: float):
        return evidence(lv, w, adj, kind, cap, cap_adj, self.twins_share)

    def _pairs_from(self, ids_a, ids_b, levels, codes, min_score, exclude, limit=None, extra: int = 0):
        p, w, adj, kind, cap, cap_adj = self._score(levels, codes, extra)
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
            ev = self._evidence(levels[r], w[r], float(adj[r]), int(kind[r]), int(cap[r]), float(cap_adj[r]))
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
            self.ids[ia], self.ids[ib], self._levels, self._codes(self.table, ia, self.table, ib), min_score, exclude
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
            ids_a, self.ids[cands], levels, self._codes(self.table, cands, q, qa), min_score, frozenset(), limit,
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
        codes = self._codes(ot, ib, q, qa)
        return self._pairs_from(ids_a, ids_b, levels, codes, min_score, frozenset(), limit, extra=1)

    def explain(self, a: Record, b: Record) -> Pair:
        """Score and evidence for any two records (whether or not blocking would pair them)."""
        self.fit()
        t = Table.build([a, b], self.vocab)
        levels = compare_pairs(t, np.array([0]), t, np.array([1]))
        extra = 0 if (a.id in self._pos and b.id in self._pos) else 1
        codes = self._codes(t, np.array([0]), t, np.array([1]))
        pairs = self._pairs_from(np.array([a.id]), np.array([b.id]), levels, codes, -1.0, frozenset(), extra=extra)
        if pairs:
            return pairs[0]
        p, w, adj, kind, cap, cap_adj = self._score(levels, codes, extra)
        ev = self._evidence(levels[0], w[0], float(adj[0]), int(kind[0]), int(cap[0]), float(cap_adj[0]))
        return Pair(min(a.id, b.id), max(a.id, b.id), float(p[0]), ev)


def find_duplicates(
    records: Iterable[Record], min_score: float = 0.1, exclude: set[frozenset[int]] | frozenset = frozenset()
) -> list[Pair]:
    """Convenience: fit a :class:`Matcher` on ``records`` and return its :meth:`~Matcher.pairs`."""
    return Matcher(records).fit().pairs(min_score=min_score, exclude=exclude)
