"""Finding people across the viewer's panels without decrypting everyone.

Candidates come from integers only: the blind indexes of identifiers and whole names
(exact and phonetic, nickname variants included: sharing.blind_index.index_conditions), the
duplicate matcher's stored blocking keys (two-word queries: sound-alike or nearly equal
names either way round, nicknames with the family name, the same built from aliases), and
the search's own name-word tokens (search.index: any one word of a name or an alias, its
sound, its first or last three letters), ranked by how much a person shares with the
query. All are looked up in SQL among the people the viewer may see (a case on a panel
where its agency reads identity), so someone else never takes a candidate place, and at
most MAX_CANDIDATES are decrypted and scored. Scores, order and counts are computed from
what the viewer may read and nothing else.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from rapidfuzz import fuzz
from rapidfuzz.distance import OSA
from sqlalchemy import case, literal, or_, tuple_

from cohort.models import Case, Nominal, NominalBlockKey
from cohort.services import identity_panel_ids
from core.extensions import db
from duplicates.keys import tokens as block_tokens
from duplicates.matching import Record
from duplicates.matching.nicknames import GROUPS
from duplicates.matching.normalise import name_tokens, normalise_identifier, normalise_name
from panels.models import Panel
from search.index import index_missing, ranked_candidates, variants
from sharing.blind_index import index_conditions
from sharing.gateway import unsealing
from sharing.policy import Policy

MAX_CANDIDATES = 500  # decrypted at most per search; beyond it the user is asked to narrow it
MAX_RESULTS = 50
CUTOFF = 85
ONE_TYPO = 90
IDENTIFIERS = {"pnc": "PNC ID", "cro": "CRO number", "nomis": "NOMIS number", "crn": "nDelius CRN"}
NAME_KEY_KINDS = ("names", "name_edits", "nickname_family")


@dataclass(frozen=True)
class CaseLink:
    id: int
    panel_code: str
    panel_name: str
    ref: str
    status: str


@dataclass
class Person:
    nominal_id: int
    name: str
    score: float
    matched: str
    aliases: list[str]
    date_of_birth: dt.date | None
    identifiers: list[tuple[str, str]]
    cases: list[CaseLink] = field(default_factory=list)


@dataclass
class Found:
    people: list[Person]
    too_many: bool = False  # more candidates than MAX_CANDIDATES: ask for more of the name


# -- candidates (integers only) ----------------------------------------------------------

def _index_conditions(q: str) -> list:
    words = name_tokens(q)[:6]
    names = list(dict.fromkeys([*_phrases(words), *(v for w in words for v in variants(w))]))
    return index_conditions(Nominal, q, names, kinds=("given", "family", "given_phon", "family_phon"))


def _phrases(words: list[str]) -> list[str]:
    """Runs of up to three consecutive words ("mary jane" of "Mary Jane Smith")."""
    return [" ".join(words[i:j]) for i in range(len(words)) for j in range(i + 1, min(len(words), i + 3) + 1)]


def _block_conditions(q: str) -> list:
    words = name_tokens(q)
    if len(words) < 2:
        return []
    wanted: set[tuple[str, int]] = set()
    for given, family in ((words[0], words[-1]), (words[-1], words[0])):
        record = Record(id=0, given_name=given, family_name=family)
        wanted |= {(kind, token) for kind, token in block_tokens(record) if kind in NAME_KEY_KINDS}
    if not wanted:
        return []
    keyed = db.select(NominalBlockKey.nominal_id).where(
        tuple_(NominalBlockKey.kind, NominalBlockKey.token).in_(sorted(wanted)))
    return [Nominal.id.in_(keyed)]


def candidate_ids(q: str, policy: Policy) -> tuple[list[int], bool]:
    """Ids of people the viewer may see whose indexes match `q` (at most MAX_CANDIDATES),
    and whether there were more: exact index matches first, then name-word matches best
    ranked first."""
    panels = identity_panel_ids(policy)
    if not panels:
        return [], False
    scope = db.select(Case.nominal_id).where(Case.panel_id.in_(panels))
    index_missing(scope)  # people imported in bulk since the last search (usually none)
    indexed = _index_conditions(q)
    conds = indexed + _block_conditions(q)
    exact: list[int] = []
    if conds:  # those matching the most indexes first ("William Smith" before other Williams)
        matched = sum((case((cond, 1), else_=0) for cond in indexed), start=literal(0))
        exact = list(db.session.execute(
            db.select(Nominal.id).where(Nominal.id.in_(scope), Nominal.merged_into_id.is_(None), or_(*conds))
            .order_by(matched.desc(), Nominal.id).limit(MAX_CANDIDATES + 1)
        ).scalars())
    ranked, more = ranked_candidates(q, scope, MAX_CANDIDATES)
    seen = set(exact)
    ids = exact + [i for i in ranked if i not in seen]
    return ids[:MAX_CANDIDATES], len(exact) > MAX_CANDIDATES or more


# -- scoring (the candidates only) ---------------------------------------------------------

def _canonical(name: str) -> str:
    """The name with each known nickname replaced by its group's formal name."""
    out = []
    for word in name.split():
        groups = GROUPS.get(word)
        out.append(min(groups) if groups else word)
    return " ".join(out)


def _word_score(typed: str, word: str) -> float:
    """One word against another: one typo (a letter wrong, missing, extra, or two swapped)
    in a word of four letters or more still scores ONE_TYPO ("Smiht" for Smith), where the
    plain ratio would put a short name under the cut-off."""
    ratio = fuzz.ratio(typed, word)
    if ratio < ONE_TYPO and min(len(typed), len(word)) >= 4 and OSA.distance(typed, word) == 1:
        return float(ONE_TYPO)
    return ratio


def _name_score(typed: str, name: str) -> float:
    """Whole name, or each typed word against the closest word of the name, plain or with
    nicknames made formal (so "Bill Smyth" finds William Smith)."""
    best = 0.0
    for a, b in ((typed, name), (_canonical(typed), _canonical(name))):
        words, typed_words = b.split(), a.split()
        if not words or not typed_words:
            continue
        per_word = sum(max(_word_score(t, w) for w in words) for t in typed_words) / len(typed_words)
        best = max(best, fuzz.WRatio(a, b), per_word)
    return best


def _score(nominal: Nominal, q: str) -> tuple[float, str]:
    for kind, label in IDENTIFIERS.items():
        value = getattr(nominal, kind)
        if value and normalise_identifier(kind, value) == normalise_identifier(kind, q):
            return 100.0, label
    typed = normalise_name(q).replace("-", " ")
    if len(typed) < 2:
        return 0.0, ""
    best = (_name_score(typed, normalise_name(nominal.full_name).replace("-", " ")), "name")
    for alias in nominal.aliases or []:
        score = _name_score(typed, normalise_name(alias).replace("-", " "))
        if score > best[0]:
            best = (score, f"alias {alias}")
    return best


@unsealing("scoring at most MAX_CANDIDATES people the viewer may see on its identity panels")
def _scored(ids: list[int], q: str) -> list[Person]:
    people = []
    for n in db.session.execute(db.select(Nominal).where(Nominal.id.in_(ids))).scalars():
        score, matched = _score(n, q)
        if score < CUTOFF:
            continue
        people.append(Person(
            nominal_id=n.id, name=n.full_name or "(no name recorded)", score=score, matched=matched,
            aliases=list(n.aliases or []), date_of_birth=n.date_of_birth,
            identifiers=[(label, getattr(n, kind)) for kind, label in IDENTIFIERS.items() if getattr(n, kind)],
        ))
    people.sort(key=lambda p: (-p.score, normalise_name(p.name), p.nominal_id))
    return people


def _attach_cases(people: list[Person], policy: Policy) -> None:
    """Each person's cases on the panels where the viewer may read identity (no others)."""
    panels = identity_panel_ids(policy)
    by_id = {p.nominal_id: p for p in people}
    if not by_id:
        return
    rows = db.session.execute(
        db.select(Case.id, Case.nominal_id, Case.ref, Case.status, Panel.code, Panel.name)
        .join(Panel, Panel.id == Case.panel_id)
        .where(Case.nominal_id.in_(sorted(by_id)), Case.panel_id.in_(panels))
        .order_by(Panel.code, Case.ref, Case.id)
    ).all()
    for case_id, nominal_id, ref, status, code, name in rows:
        by_id[nominal_id].cases.append(CaseLink(case_id, code, name, ref, status))


def search_people(q: str, policy: Policy) -> Found:
    """People matching `q` across every panel the viewer may read identity on, best first."""
    q = (q or "").strip()[:200]
    ids, too_many = candidate_ids(q, policy)
    people = _scored(ids, q)[:MAX_RESULTS] if ids else []
    _attach_cases(people, policy)
    return Found(people, too_many)
