"""The cross-panel duplication check: the matcher run over the nominals a viewer may read.

The record-linkage engine (duplicates.matching) knows nothing of the database or the policy;
this module decides which nominals it sees (identity readable under the policy, never
merged-away pointers, postcode only where contact is readable), keeps the analyst's
verdicts (a rejected pair is never proposed again), stores open candidates for the queue
and logs each run as a "match" event (counts only, no personal data in the log).

Blocking goes through the blind indexes (duplicates.keys): candidate pairs come from
stored keyed hashes of the blocking keys, so only the nominals in a pair, and a random
sample from which the model learns how often values agree by chance, are decrypted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import event
from sqlalchemy.orm import Session

from cohort.models import Case, DedupeModel, DuplicateCandidate, Nominal
from core import clock
from core.extensions import db
from duplicates import keys
from duplicates.matching import Matcher, Pair, Record
from duplicates.matching.compare import FIELDS, LEVELS, MISSING
from duplicates.matching.model import FSModel
from panels.models import Panel
from sharing import audit
from sharing.gateway import reveal, unsealing
from sharing.policy import Policy
from sharing.pseudonym import pseudonym

OPEN, REJECTED, MERGED = "open", "rejected", "merged"
PROBABLE = 0.5  # CONTRACT.md: at 0.5 or more the pair is "probably the same person"
REVIEW = 0.1  # below the verdict, down to this: "possibly - needs review"
PROBABLE_BAND, REVIEW_BAND = "probable", "review"


def band(score: float) -> str:
    """The analyst's two bands: "probable" (the verdict) or "review" (possibly: needs review)."""
    return PROBABLE_BAND if score >= PROBABLE else REVIEW_BAND


# Calibrated ranges shown instead of a percentage (a score is never shown as "100%").
CHANCES = ((0.99, "99% or more"), (0.9, "90% to 99%"), (0.7, "70% to 90%"), (0.5, "50% to 70%"),
           (0.3, "30% to 50%"), (0.1, "10% to 30%"), (0.0, "under 10%"))


def chance(score: float) -> str:
    """The estimated chance that the two records are one person, as a range."""
    return next(words for floor, words in CHANCES if score >= floor)
QUEUE_PAGE = 20


# -- scope: which nominals a viewer may run the check over --------------------------------

@dataclass
class Scope:
    """What a run may see: identity-readable panels, contact-readable panels (None: everything)."""

    identity_panels: frozenset[int] | None
    contact_panels: frozenset[int] | None

    @classmethod
    def of(cls, policy: Policy | None) -> Scope:
        if policy is None:
            return cls(None, None)
        ids = policy.panel_ids()
        return cls(frozenset(p for p in ids if policy.can(p, "identity")),
                   frozenset(p for p in ids if policy.can(p, "contact")))

    @property
    def everything(self) -> bool:
        return self.identity_panels is None

    def sees_identity(self, panel_ids) -> bool:
        return self.everything or bool(self.identity_panels & set(panel_ids))

    def sees_contact(self, panel_ids) -> bool:
        return self.contact_panels is None or bool(self.contact_panels & set(panel_ids))

    def key(self) -> tuple:
        if self.everything:
            return ("all",)
        return (tuple(sorted(self.identity_panels)), tuple(sorted(self.contact_panels)))


@dataclass
class CaseInfo:
    id: int
    panel_id: int
    panel_code: str
    ref: str
    status: str


def cases_by_nominal(nominal_ids=None) -> dict[int, list[CaseInfo]]:
    """Every case (any status) of the given nominals (all when None), by nominal id."""
    stmt = (db.select(Case.id, Case.nominal_id, Case.panel_id, Panel.code, Case.ref, Case.status)
            .join(Panel, Panel.id == Case.panel_id).order_by(Panel.code, Case.ref))
    if nominal_ids is not None:
        ids = list(nominal_ids)
        if not ids:
            return {}
        stmt = stmt.where(Case.nominal_id.in_(ids))
    out: dict[int, list[CaseInfo]] = {}
    for cid, nid, pid, code, ref, status in db.session.execute(stmt):
        out.setdefault(nid, []).append(CaseInfo(cid, pid, code, ref, status))
    return out


def _nominal_ids_in(scope: Scope) -> list[int]:
    """Live nominals whose identity the scope may read (ids only: nothing decrypted)."""
    stmt = db.select(Nominal.id).where(Nominal.merged_into_id.is_(None)).order_by(Nominal.id)
    if not scope.everything:
        if not scope.identity_panels:
            return []
        stmt = stmt.where(Nominal.id.in_(
            db.select(Case.nominal_id).where(Case.panel_id.in_(sorted(scope.identity_panels)))
        ))
    return list(db.session.execute(stmt).scalars())


def _load(ids) -> list[Nominal]:
    """Nominals by id, in id order (in chunks: SQLite caps the parameters of one query)."""
    ids = sorted(set(ids))
    out: list[Nominal] = []
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        out.extend(db.session.execute(db.select(Nominal).where(Nominal.id.in_(chunk))).scalars())
    out.sort(key=lambda n: n.id)
    return out


@unsealing("the duplicate check, within the analyst's scope")
def to_record(nominal: Nominal, *, with_postcode: bool = True) -> Record:
    """The matcher's view of a nominal (decrypted here, never stored in clear)."""
    return Record(
        id=nominal.id,
        given_name=nominal.given_name,
        family_name=nominal.family_name,
        aliases=tuple(nominal.aliases or ()),
        date_of_birth=nominal.date_of_birth,
        gender=nominal.gender,
        pnc=nominal.pnc,
        cro=nominal.cro,
        nomis=nominal.nomis,
        crn=nominal.crn,
        postcode=nominal.postcode if with_postcode else None,
    )


SAMPLE = 2_000  # nominals decrypted at random to learn how often values agree by chance


@dataclass
class Fitted:
    """A matcher fitted for a scope, and what it was fitted over."""

    matcher: Matcher
    nominal_ids: list[int]  # every live nominal in the scope
    decrypted: int  # how many of them were decrypted (those in candidate pairs and the sample)


def _sample(ids: list[int]) -> list[int]:
    if len(ids) <= SAMPLE:
        return list(ids)
    rng = np.random.default_rng(20240601)
    return sorted(rng.choice(np.asarray(ids, np.int64), SAMPLE, replace=False).tolist())


def _matcher(scope: Scope) -> tuple[Matcher, list[int], int]:
    """Blocking through the blind indexes: candidate pairs from the stored keyed hashes of
    the blocking keys (duplicates.keys); only nominals in a pair, plus a random sample
    for the model's u-probabilities and value frequencies, are decrypted."""
    keys.reindex()  # nominals recorded before their tokens were (normally none)
    ids = _nominal_ids_in(scope)
    cases = cases_by_nominal()  # one query for the whole register, not an IN list of thousands
    panels = {nid: [c.panel_id for c in cs] for nid, cs in cases.items()}
    contact_ids = None if scope.contact_panels is None else {
        n for n in ids if scope.sees_contact(panels.get(n, []))
    }
    pairs, rows = keys.candidate_pairs(ids, contact_ids)
    sample = _sample(ids)
    nominals = _load(set(pairs.ravel().tolist()) | set(sample))
    records = [to_record(n, with_postcode=contact_ids is None or n.id in contact_ids) for n in nominals]
    return Matcher(records, candidates=(pairs, rows), n_register=len(ids), sample=sample), ids, len(records)


def _fit(scope: Scope, row: DedupeModel) -> Fitted:
    """The scope's matcher, scoring with the stored model ``row``."""
    matcher, ids, decrypted = _matcher(scope)
    return Fitted(matcher.fit(model=FSModel.from_json(row.params)), ids, decrypted)


# -- the model kept between runs ------------------------------------------------------------

def confirmed_levels() -> tuple[np.ndarray, str]:
    """Comparison levels of every pair analysts confirmed (merged, not undone), read from
    the evidence stored with the pair (nothing decrypted), and a key naming that set."""
    rows = list(db.session.execute(
        db.select(DuplicateCandidate.id, DuplicateCandidate.evidence)
        .where(DuplicateCandidate.status == MERGED).order_by(DuplicateCandidate.id)))
    levels = []
    for _id, evidence in rows:
        seen = {e.get("field"): e.get("level") for e in evidence or []}
        levels.append([LEVELS[f].index(seen[f]) if seen.get(f) in LEVELS[f] else LEVELS[f].index(MISSING)
                       for f in FIELDS])
    key = hashlib.sha256(",".join(str(i) for i, _e in rows).encode()).hexdigest()
    return np.asarray(levels, np.int8).reshape(-1, len(FIELDS)), key


def stored_model() -> DedupeModel | None:
    return db.session.execute(db.select(DedupeModel).order_by(DedupeModel.id.desc()).limit(1)).scalar_one_or_none()


def retrain(user=None) -> tuple[DedupeModel, Fitted]:
    """Fit the model over the whole register (EM, plus the confirmed pairs as known
    matches) and keep it: every later run scores with it until the next retrain."""
    levels, key = confirmed_levels()
    matcher, ids, decrypted = _matcher(Scope(None, None))
    matcher.fit(confirmed=levels)
    row = DedupeModel(trained_at=clock.utcnow(), params=matcher.model.to_json(), nominals=len(ids),
                      confirmed=len(levels), confirmed_key=key, trained_by_id=getattr(user, "id", None))
    db.session.add(row)
    db.session.flush()
    audit.record("admin", user=user, email="system", purpose="dedupe retrain",
                 detail=f"duplicate model {row.id} trained on {len(ids)} nominals and {len(levels)} confirmed pair(s)")
    return row, Fitted(matcher, ids, decrypted)


def current_model(user=None) -> tuple[DedupeModel, Fitted | None]:
    """The stored model, retrained first when there is none, when it was stored for other
    comparison levels, or when the set of confirmed pairs has changed since (a confirmed
    pair trains the model for the next run). Also returns the matcher a retrain fitted."""
    row = stored_model()
    if row is not None and FSModel.from_json(row.params) is not None and row.confirmed_key == confirmed_levels()[1]:
        return row, None
    return retrain(user)


# -- a per-process cache of fitted matchers, keyed by a cheap change token ------------------

_cache: dict[tuple, Fitted] = {}
_cache_lock = threading.Lock()
_CACHE_SIZE = 4


_generation = [0]  # bumped by this process's own writes to nominals and cases
_WATCHED = ("nominals", "cases")


@event.listens_for(Session, "after_flush")
def _after_flush(session, _context) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Nominal | Case):
            _generation[0] += 1
            return


@event.listens_for(Session, "do_orm_execute")
def _bulk_write(state) -> None:
    table = getattr(state.statement, "table", None)
    if (state.is_update or state.is_delete) and getattr(table, "name", None) in _WATCHED:
        _generation[0] += 1


def change_token() -> tuple:
    """Changes whenever a nominal or case is added, edited, moved or merged (here or elsewhere)."""
    n = db.session.execute(db.select(
        db.func.count(Nominal.id), db.func.max(Nominal.id), db.func.sum(Nominal.id), db.func.max(Nominal.updated_at)
    )).one()
    c = db.session.execute(db.select(
        db.func.count(Case.id), db.func.max(Case.id), db.func.sum(Case.nominal_id), db.func.max(Case.updated_at)
    )).one()
    return (str(db.engine.url), _generation[0], *map(str, n), *map(str, c))


def fitted(scope: Scope) -> Fitted:
    """The scope's fitted matcher, reused while nothing (data or stored model) has changed."""
    row, trained = current_model()
    key = (change_token(), scope.key(), row.id)
    with _cache_lock:
        hit = _cache.get(key)
    if hit is not None:
        return hit
    result = trained if trained is not None and scope.everything else _fit(scope, row)
    with _cache_lock:
        if len(_cache) >= _CACHE_SIZE:
            _cache.pop(next(iter(_cache)))
        _cache[key] = result
    return result


def fitted_matcher(scope: Scope) -> tuple[Matcher, dict[int, list[CaseInfo]]]:
    """A fitted matcher over the scope's register, reused while nothing has changed."""
    return fitted(scope).matcher, cases_by_nominal()


# -- the run ------------------------------------------------------------------------------

def evidence_json(pair: Pair) -> list[dict[str, Any]]:
    return [{"field": e.field, "level": e.level, "weight": e.weight, "text": e.text, "contact": e.contact}
            for e in pair.evidence]


def visible_evidence(evidence: list[dict], show_contact: bool) -> list[dict]:
    """Evidence a viewer may see: postcode evidence only where contact is readable."""
    return [e for e in evidence if show_contact or (e.get("field") != "postcode" and not e.get("contact"))]


def rejected_pairs() -> frozenset[frozenset[int]]:
    rows = db.session.execute(
        db.select(DuplicateCandidate.nominal_a_id, DuplicateCandidate.nominal_b_id)
        .where(DuplicateCandidate.status == REJECTED)
    )
    return frozenset(frozenset((a, b)) for a, b in rows)


@dataclass
class RunResult:
    pairs: list[Pair]
    cases: dict[int, list[CaseInfo]]
    scope: Scope
    compared: int = 0
    new: int = 0
    stored: int = 0
    excluded: int = 0
    dropped: int = 0
    decrypted: int = 0  # nominals decrypted: those in candidate pairs and the sample


def run(policy: Policy | None, *, min_score: float = 0.1, store: bool = True, user=None) -> RunResult:
    """Run the check for a viewer (None: the system, over everyone); store and log it."""
    scope = Scope.of(policy)
    fit = fitted(scope)
    cases = cases_by_nominal()
    rejected = rejected_pairs()
    pairs = fit.matcher.pairs(min_score=min_score, exclude=rejected)
    result = RunResult(pairs, cases, scope, compared=len(fit.nominal_ids), excluded=len(rejected),
                       decrypted=fit.decrypted)
    if store:
        _store(result, set(fit.nominal_ids))
    who = user if user is not None else (policy.user if policy is not None else None)
    audit.record(
        "match", user=who, email="system", categories=["identity"],
        detail=(f"duplicate check{' (stored)' if store else ''}: {result.compared} nominals compared "
                f"({result.decrypted} decrypted), "
                f"{len(pairs)} pair(s) at {min_score:g} or more ({sum(p.score >= PROBABLE for p in pairs)} probable), "
                f"{result.new} new, {result.dropped} no longer found, {result.excluded} rejected pair(s) excluded"),
    )
    return result


def run_dedupe(policy_or_none: Policy | None, *, min_score: float = 0.1) -> list[Pair]:
    """The duplication check as the brief names it: pairs found (and stored) for this viewer."""
    return run(policy_or_none, min_score=min_score).pairs


def _store(result: RunResult, in_scope: set[int]) -> None:
    """Upsert open candidates; drop open ones (both sides in scope) the matcher no longer finds."""
    now = clock.utcnow()
    existing = {
        (c.nominal_a_id, c.nominal_b_id): c
        for c in db.session.execute(db.select(DuplicateCandidate).where(
            DuplicateCandidate.status == OPEN,
        )).scalars()
        if c.nominal_a_id in in_scope and c.nominal_b_id in in_scope
    }
    found = set()
    for pair in result.pairs:
        key = (pair.a, pair.b)
        found.add(key)
        row = existing.get(key)
        if row is None:
            row = db.session.execute(db.select(DuplicateCandidate).filter_by(
                nominal_a_id=pair.a, nominal_b_id=pair.b)).scalar_one_or_none()
        if row is None:
            row = DuplicateCandidate(nominal_a_id=pair.a, nominal_b_id=pair.b, status=OPEN, found_at=now)
            db.session.add(row)
            result.new += 1
        elif row.status != OPEN:
            continue  # merged pairs stay decided; rejected ones were excluded already
        row.score = float(pair.score)
        row.evidence = evidence_json(pair)
        result.stored += 1
    for key, row in existing.items():
        if key not in found:
            db.session.delete(row)
            result.dropped += 1
    db.session.flush()


# -- pair output for the CLI and the API (CONTRACT.md) ---------------------------------------

def pair_json(pair: Pair, cases: dict[int, list[CaseInfo]], scope: Scope) -> dict[str, Any]:
    """{"a": {"nominal_id", "refs"}, "b": {...}, "score", "reasons"} as `dedupe run --json`."""
    def side(nid: int) -> dict[str, Any]:
        own = cases.get(nid, [])
        refs = [c.ref for c in own if scope.everything or c.panel_id in scope.identity_panels]
        return {"nominal_id": nid, "refs": refs}

    show_contact = all(scope.sees_contact(c.panel_id for c in cases.get(n, [])) for n in (pair.a, pair.b))
    evidence = visible_evidence(evidence_json(pair), show_contact)
    return {"a": side(pair.a), "b": side(pair.b), "score": round(float(pair.score), 4),
            "band": band(pair.score), "reasons": [e["text"] for e in evidence]}


# -- the "possible duplicate" warning on a referral -------------------------------------------

RECORD_FIELDS = ("given_name", "family_name", "aliases", "date_of_birth", "gender", "pnc", "cro", "nomis", "crn",
                 "postcode")


def possible_duplicates(record_fields: dict[str, Any], policy: Policy, *, min_score: float = PROBABLE,
                        limit: int = 5) -> list[dict[str, Any]]:
    """Nominals this viewer may see that are probably the person being entered, best first.

    Each item: {"nominal_id", "nominal", "score", "reasons", "refs"}. The caller logs the
    search (it knows the panel and purpose).
    """
    scope = Scope.of(policy)
    if not scope.everything and not scope.identity_panels:
        return []
    fields = {k: v for k, v in record_fields.items() if k in RECORD_FIELDS and v not in (None, "", [], ())}
    if "aliases" in fields:
        aliases = fields["aliases"]
        fields["aliases"] = tuple([aliases] if isinstance(aliases, str) else aliases)
    if not fields:
        return []
    record = Record(id=-1, **fields)
    fit = fitted(Scope(None, None))
    # candidates through the stored keyed hashes; only those the viewer may read are
    # decrypted, and a key built with the postcode only counts where contact is readable
    sharing = keys.nominals_sharing(record)
    cases = cases_by_nominal(list(sharing))
    panels = {nid: [c.panel_id for c in cases.get(nid, [])] for nid in sharing}
    keep = [
        nid for nid, kinds in sharing.items()
        if scope.sees_identity(panels[nid]) and (
            scope.sees_contact(panels[nid]) or any(k not in keys.CONTACT_KINDS for k in kinds))
    ]
    nominals = {n.id: n for n in _load(keep)}
    others = [to_record(n, with_postcode=scope.sees_contact(panels[n.id])) for n in nominals.values()]
    found = fit.matcher.match_against(record, others, min_score=min_score, limit=limit * 4)
    ids = [p.b if p.a == -1 else p.a for p in found]
    out = []
    for pair, nid in zip(found, ids, strict=True):
        own = cases.get(nid, [])
        if nid not in nominals or not scope.sees_identity(c.panel_id for c in own):
            continue
        evidence = visible_evidence(evidence_json(pair), scope.sees_contact(c.panel_id for c in own))
        out.append({"nominal_id": nid, "nominal": nominals[nid], "score": round(float(pair.score), 4),
                    "reasons": [e["text"] for e in evidence],
                    "refs": [c.ref for c in own if scope.sees_identity([c.panel_id])]})
        if len(out) >= limit:
            break
    return out


# -- the analyst's queue ------------------------------------------------------------------------

SIDE_FIELDS = (
    ("Name", "full_name", "identity"), ("Other names", "aliases", "identity"),
    ("Date of birth", "date_of_birth", "identity"), ("Gender", "gender", "identity"),
    ("PNC ID", "pnc", "identity"), ("CRO number", "cro", "identity"), ("NOMIS number", "nomis", "identity"),
    ("CRN", "crn", "identity"), ("Postcode", "postcode", "contact"),
)


class NotAllowed(Exception):
    """The viewer may not act on this pair (logged as a refusal by the caller)."""


@dataclass
class Side:
    nominal: Nominal
    name: str
    cases: list[CaseInfo]
    values: dict[str, Any]


@dataclass
class QueueItem:
    candidate: DuplicateCandidate
    a: Side
    b: Side
    evidence: list[dict]
    rows: list[tuple[str, Any, Any, bool]]

    @property
    def probable(self) -> bool:
        return self.candidate.score >= PROBABLE

    @property
    def band(self) -> str:
        return band(self.candidate.score)

    @property
    def chance(self) -> str:
        return chance(self.candidate.score)

    @property
    def evidence_for(self) -> list[dict]:
        """What points to one person (at least very weak evidence for)."""
        return [e for e in self.evidence if e.get("weight", 0) >= 0.5]

    @property
    def evidence_against(self) -> list[dict]:
        """What points to two people, including a rule that keeps the pair below the verdict."""
        return [e for e in self.evidence if e.get("weight", 0) <= -0.5]

    @property
    def not_known(self) -> list[dict]:
        """Missing values and comparisons that are no real evidence either way."""
        return [e for e in self.evidence if -0.5 < e.get("weight", 0) < 0.5]


def _readable_panel(cases: list[CaseInfo], category: str, policy: Policy) -> int | None:
    """A panel of the person's cases on which the viewer may read ``category``, if any."""
    return next((c.panel_id for c in cases if policy.can(c.panel_id, category)), None)


def _side(nominal: Nominal, cases: list[CaseInfo], policy: Policy) -> Side:
    """One record as this viewer may see it, read through the gateway (sharing.gateway.reveal)
    under a panel of the person's on which the viewer's agency may read each category."""
    panels = {cat: _readable_panel(cases, cat, policy) for cat in ("identity", "contact")}
    visible = [c for c in cases if policy.can(c.panel_id, "identity")]
    values: dict[str, Any] = {}
    for _label, attr, category in SIDE_FIELDS:
        pid = panels[category]
        if pid is None:
            continue
        if attr == "full_name":
            parts = (reveal(nominal, f, policy, pid) for f in ("given_name", "family_name"))
            values[attr] = " ".join(p for p in parts if p)
        else:
            value = reveal(nominal, attr, policy, pid)
            values[attr] = ", ".join(value) if isinstance(value, list) else value
    name = values.get("full_name") or pseudonym(nominal.uid)
    return Side(nominal, name, visible, values)


def _rows(a: Side, b: Side) -> list[tuple[str, Any, Any, bool]]:
    rows = []
    for label, attr, _category in SIDE_FIELDS:
        if attr in a.values or attr in b.values:
            va, vb = a.values.get(attr), b.values.get(attr)
            rows.append((label, va, vb, bool(va) and bool(vb) and va != vb))
    return rows


def _visible_pairs(candidates, scope: Scope, cases: dict[int, list[CaseInfo]]):
    for cand in candidates:
        ca, cb = cases.get(cand.nominal_a_id, []), cases.get(cand.nominal_b_id, [])
        if scope.sees_identity(c.panel_id for c in ca) and scope.sees_identity(c.panel_id for c in cb):
            yield cand


def open_queue(policy: Policy) -> list[DuplicateCandidate]:
    """Open pairs this viewer may judge: unskipped by score, then skipped (oldest skip first)."""
    scope = Scope.of(policy)
    live = db.select(Nominal.id).where(Nominal.merged_into_id.is_(None))
    rows = list(db.session.execute(db.select(DuplicateCandidate).where(
        DuplicateCandidate.status == OPEN,
        DuplicateCandidate.nominal_a_id.in_(live), DuplicateCandidate.nominal_b_id.in_(live),
    )).scalars())
    cases = cases_by_nominal({r.nominal_a_id for r in rows} | {r.nominal_b_id for r in rows})
    visible = list(_visible_pairs(rows, scope, cases))
    never = dt.datetime.min
    visible.sort(key=lambda c: (c.decided_at is not None, c.decided_at or never, -c.score, c.id))
    return visible


def queue_items(candidates: list[DuplicateCandidate], policy: Policy) -> list[QueueItem]:
    """Both nominals side by side, as this viewer may see them, with the evidence in words."""
    ids = {c.nominal_a_id for c in candidates} | {c.nominal_b_id for c in candidates}
    if not ids:
        return []
    nominals = {n.id: n for n in db.session.execute(db.select(Nominal).where(Nominal.id.in_(ids))).scalars()}
    cases = cases_by_nominal(ids)
    items = []
    for cand in candidates:
        a = _side(nominals[cand.nominal_a_id], cases.get(cand.nominal_a_id, []), policy)
        b = _side(nominals[cand.nominal_b_id], cases.get(cand.nominal_b_id, []), policy)
        show_contact = "postcode" in a.values and "postcode" in b.values
        items.append(QueueItem(cand, a, b, visible_evidence(cand.evidence or [], show_contact), _rows(a, b)))
    return items


def candidate_for(candidate_id: int, policy: Policy) -> DuplicateCandidate | None:
    """An open pair this viewer may judge, or None (missing, decided, merged away or not readable)."""
    cand = db.session.get(DuplicateCandidate, candidate_id)
    if cand is None or cand.status != OPEN:
        return None
    pair = [cand.nominal_a_id, cand.nominal_b_id]
    merged = db.session.execute(db.select(Nominal.id).where(
        Nominal.id.in_(pair), Nominal.merged_into_id.is_not(None))).first()
    if merged is not None:
        return None
    visible = list(_visible_pairs([cand], Scope.of(policy), cases_by_nominal(pair)))
    return cand if visible else None


def reject(candidate: DuplicateCandidate, policy: Policy) -> None:
    """Not the same person: never proposed again."""
    candidate.status = REJECTED
    candidate.decided_at = clock.utcnow()
    candidate.decided_by_id = policy.user.id
    db.session.flush()
    audit.record("match", user=policy.user, nominal_id=candidate.nominal_a_id, categories=["identity"],
                 detail=f"pair {candidate.id}: nominals {candidate.nominal_a_id} and {candidate.nominal_b_id} "
                        "rejected (not the same person)")


def skip(candidate: DuplicateCandidate, policy: Policy) -> None:
    """Not decided yet: stays open, moves to the end of the queue."""
    candidate.decided_at = clock.utcnow()
    candidate.decided_by_id = policy.user.id
    db.session.flush()


def decided(policy: Policy, limit: int = 50) -> list[DuplicateCandidate]:
    """Rejected pairs this viewer may see, newest decision first."""
    scope = Scope.of(policy)
    rows = list(db.session.execute(
        db.select(DuplicateCandidate).where(DuplicateCandidate.status == REJECTED)
        .order_by(DuplicateCandidate.decided_at.desc(), DuplicateCandidate.id.desc())
    ).scalars())
    cases = cases_by_nominal({r.nominal_a_id for r in rows} | {r.nominal_b_id for r in rows})
    return list(_visible_pairs(rows, scope, cases))[:limit]
