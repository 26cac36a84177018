"""Reads of cohort data, already filtered by the access policy.

Counting, filtering and sorting use plain columns in SQL, so a 5,000-case panel is never
decrypted to draw one page: only the 50 rows shown are decrypted (plus names when the user
searches). A filter or sort on a category the viewer may not read is ignored, because the
order of rows would otherwise reveal the withheld values.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import astuple, dataclass, field

from flask import abort
from rapidfuzz import fuzz, process
from sqlalchemy import case as sql_case
from sqlalchemy import exists, false, func, nulls_first, nulls_last, or_
from sqlalchemy.orm import aliased, load_only

from auth.models import Agency, partner_agencies
from cohort.models import (
    CASE_STATUSES,
    NOTE_CATEGORIES,
    PATHWAYS,
    RAG_ORDER,
    RAGS,
    Action,
    Case,
    CaseEvent,
    Engagement,
    Need,
    Nominal,
    Note,
    RagChange,
)
from cohort.page_cache import page_cache
from cohort.serialise import case_dict
from cohort.services import visible_nominal_ids, visible_nominals
from core import clock
from core.errors import ExplainedForbidden
from core.extensions import db
from duplicates.matching.normalise import name_tokens, normalise_identifier, normalise_name
from panels.models import Panel
from sharing import audit
from sharing.blind_index import index_conditions
from sharing.crypto import CATEGORIES
from sharing.gateway import (
    CaseView,
    display_name,
    identity_panel_ids,
    row_columns,
    row_source,
    unsealing,
    view_rows,
    visible_other_panel_ids,
)
from sharing.policy import Policy
from sharing.pseudonym import pseudonym
from sharing.queries import lapsed_sharing

PAGE_SIZE = 50
MAX_PAGE = 10_000_000  # past the last page anyway; keeps OFFSET inside a 64-bit integer
NEW_REFERRAL_DAYS = 28
NO_ENGAGEMENT_3M_DAYS = 91
NO_ENGAGEMENT_6M_DAYS = 182
FUZZY_CUTOFF = 85
IDENTIFIER_KINDS = ("pnc", "cro", "nomis", "crn")

# flag -> (label, the category a viewer must read to see it)
FLAGS: dict[str, tuple[str, str]] = {
    "new_referral": ("New referral", "offending"),
    "no_engagement_3m": ("No engagement 3+ months: intensive background check due", "offending"),
    "no_engagement_6m": ("No engagement 6+ months: consider a media appeal", "offending"),
    "review_due": ("Review due", "risk"),
    "on_other_panels": ("On other panels", "identity"),
    # panels.inclusion holds the rule; drawn from the referral and the panel's decisions
    "inclusion_review_overdue": ("Inclusion review overdue", "offending"),
}

# sort key -> category needed (None: always allowed)
SORTS: dict[str, str | None] = {
    "ref": None,
    "status": None,
    "rag": "risk",
    "lead_agency": "offending",
    "last_engagement": "offending",
    "next_review": "risk",
    "referral_date": "offending",
}


# -- access ---------------------------------------------------------------------------

_PANEL_BY_CODE = db.select(Panel).where(Panel.code == db.bindparam("code"))  # every tracker request


def panel_or_404(code: str, policy: Policy) -> Panel:
    """The panel, if the user's agency takes part in it; otherwise a logged 404."""
    panel = db.session.execute(_PANEL_BY_CODE, {"code": code}).scalar_one_or_none()
    if panel is None or not policy.takes_part(panel.id):
        audit.refused("panel: not a party to any agreement covering it", panel=code[:32])
        lapsed = panel and lapsed_sharing(policy.user.agency_id if policy.user else None, panel.id, clock.today())
        if lapsed:
            raise ExplainedForbidden(lapsed)
        abort(404, "There is no panel with that code that you take part in")
    return panel


def case_or_404(case_id: int, policy: Policy) -> Case:
    """The case, if it is on a panel the user's agency takes part in; otherwise a logged 404."""
    case = db.session.get(Case, case_id)
    if case is None or not policy.takes_part(case.panel_id):
        audit.refused("case: not on a panel the agency takes part in", case_id=case_id,
                      panel=case.panel if case is not None else None)
        abort(404, "There is no case with that number on a panel you take part in")
    return case


# -- flags ----------------------------------------------------------------------------

def _other_panel_exists(panel_ids: list[int]):
    """A live case of the same person on one of `panel_ids` (the viewer's identity panels)."""
    other = aliased(Case)
    return exists().where(
        other.nominal_id == Case.nominal_id, other.panel_id != Case.panel_id, other.status != "exited",
        other.panel_id.in_(panel_ids),
    )


def flag_condition(flag: str, today: dt.date, policy: Policy | None = None, panel: Panel | None = None):
    """The SQL condition for one flag (so flags filter in the database)."""
    engaged = func.coalesce(Case.last_engagement, Case.referral_date)
    if flag == "new_referral":
        return or_(Case.status == "referred", Case.referral_date >= today - dt.timedelta(days=NEW_REFERRAL_DAYS))
    if flag in ("no_engagement_3m", "no_engagement_6m"):
        days = NO_ENGAGEMENT_3M_DAYS if flag == "no_engagement_3m" else NO_ENGAGEMENT_6M_DAYS
        return (Case.status != "exited") & or_(engaged.is_(None), engaged < today - dt.timedelta(days=days))
    if flag == "review_due":
        return (Case.status != "exited") & (Case.next_review <= today)
    if flag == "on_other_panels":
        # the flag is offered only where identity is read here: other panels = identity panels
        seen = identity_panel_ids(policy) if policy is not None else []
        return (Case.status != "exited") & _other_panel_exists(seen)
    if flag == "inclusion_review_overdue":
        from panels import inclusion

        return inclusion.overdue_condition(panel.inclusion_review_days if panel is not None else None, today)
    raise KeyError(flag)


def case_flags(case, today: dt.date, on_other_panels: bool, inclusion_overdue: bool = False) -> list[str]:
    """The flags of one case (an ORM case, or the gateway's view of one), in Python, matching
    flag_condition. A view lacks the fields it withholds: the caller keeps only the flags of
    categories the viewer reads, which are drawn only from fields of those categories."""
    get = case.get if isinstance(case, Mapping) else (lambda name: getattr(case, name))
    status, referral_date = get("status"), get("referral_date")
    flags = []
    if status == "referred" or (referral_date and referral_date >= today - dt.timedelta(days=NEW_REFERRAL_DAYS)):
        flags.append("new_referral")
    if status != "exited":
        engaged = get("last_engagement") or referral_date
        if engaged is None or engaged < today - dt.timedelta(days=NO_ENGAGEMENT_6M_DAYS):
            flags.append("no_engagement_6m")
        elif engaged < today - dt.timedelta(days=NO_ENGAGEMENT_3M_DAYS):
            flags.append("no_engagement_3m")
        next_review = get("next_review")
        if next_review is not None and next_review <= today:
            flags.append("review_due")
        if on_other_panels:
            flags.append("on_other_panels")
        if inclusion_overdue:
            flags.append("inclusion_review_overdue")
    return flags


def inclusion_overdue_ids(panel: Panel, views, today: dt.date, readable: set[str]) -> set[int]:
    """Of these cases (views with id, status, referral_date), those overdue for their inclusion
    decision, by panels.inclusion's rule; none for a viewer without offending (the dates it
    is drawn from) or on a panel without inclusion reviews. One query for the page."""
    days = panel.inclusion_review_days
    if not days or "offending" not in readable or not views:
        return set()
    from panels import inclusion

    last = inclusion.last_decided([v["id"] for v in views])
    return {v["id"] for v in views
            if inclusion.is_overdue(inclusion.due_after(last.get(v["id"]), v.get("referral_date"), days),
                                    v["status"], today)}


_OTHER_PANELS = (
    db.select(Case.nominal_id, Panel.code).join(Panel, Panel.id == Case.panel_id)
    .where(Case.nominal_id.in_(db.bindparam("nominal_ids", expanding=True)),
           Case.panel_id.in_(db.bindparam("seen", expanding=True)), Case.status != "exited")
    .order_by(Panel.code)
)


def other_panel_codes(nominal_ids: list[int], exclude_panel_id: int, policy: Policy) -> dict[int, list[str]]:
    """nominal id -> codes of the other panels, of those this viewer may be told of
    (gateway.visible_other_panels), where the nominal has an active case (one query)."""
    seen = visible_other_panel_ids(policy, exclude_panel_id)
    if not nominal_ids or not seen:
        return {}
    rows = db.session.execute(_OTHER_PANELS, {"nominal_ids": list(nominal_ids), "seen": list(seen)}).all()
    out: dict[int, list[str]] = {}
    for nominal_id, code in rows:
        out.setdefault(nominal_id, []).append(code)
    return out


# -- the tracker ----------------------------------------------------------------------

@dataclass
class TrackerParams:
    rag: str = ""
    status: str = ""
    lead_agency: str = ""
    flag: str = ""
    q: str = ""
    sort: str = ""
    dir: str = "asc"
    page: int = 1

    @classmethod
    def from_args(cls, args) -> TrackerParams:
        try:
            page = min(max(1, int(args.get("page", 1))), MAX_PAGE)
        except (TypeError, ValueError):
            page = 1
        p = cls(
            rag=args.get("rag", "") if args.get("rag", "") in RAGS else "",
            status=args.get("status", "") if args.get("status", "") in CASE_STATUSES else "",
            lead_agency=(args.get("lead_agency", "") or "")[:32],
            flag=args.get("flag", "") if args.get("flag", "") in FLAGS else "",
            q=(args.get("q", "") or "").strip()[:200],
            sort=args.get("sort", "") if args.get("sort", "") in SORTS else "",
            dir="desc" if args.get("dir") == "desc" else "asc",
            page=page,
        )
        return p

    def query(self, **changes) -> dict[str, str]:
        """Query-string arguments (non-empty only), with changes applied."""
        values = {k: getattr(self, k) for k in ("rag", "status", "lead_agency", "flag", "q", "sort", "dir", "page")}
        values.update(changes)
        if values.get("page") == 1:
            values.pop("page")
        if not values.get("sort"):
            values.pop("dir", None)
        return {k: str(v) for k, v in values.items() if v not in ("", None)}


@dataclass
class TrackerRow:
    """One row: the gateway's view of the case (sharing.gateway.view_rows), its flags of the
    categories the viewer reads, and the other panels it may be told of."""

    view: CaseView
    name: str
    flags: list[str]
    other_panels: list[str]


@dataclass
class TrackerPage:
    panel: Panel
    params: TrackerParams
    rows: list[TrackerRow]
    total: int
    pages: int
    counts: dict[str, int] | None
    readable: set[str]
    searched: bool = False
    ignored: list[str] = field(default_factory=list)


def _allowed(category: str | None, readable: set[str]) -> bool:
    return category is None or category in readable


def _filtered(panel: Panel, params: TrackerParams, readable: set[str], today: dt.date, ignored: list[str],
              policy: Policy) -> list:
    """The conditions a panel's case must meet to pass the filters (those the viewer may apply)."""
    conditions = []
    if params.status:
        conditions.append(Case.status == params.status)
    if params.rag:
        if "risk" in readable:
            conditions.append(Case.rag == params.rag)
        else:
            ignored.append("RAG")
    if params.lead_agency:
        if "offending" in readable:
            conditions.append(Case.lead_agency_id.in_(db.select(Agency.id).filter_by(code=params.lead_agency)))
        else:
            ignored.append("lead agency")
    if params.flag:
        if FLAGS[params.flag][1] in readable:
            # "3+ months" includes the 6+ month cases: the condition is on the date alone.
            conditions.append(flag_condition(params.flag, today, policy, panel))
        else:
            ignored.append("flag")
    return [Case.panel_id == panel.id, *conditions]


def _order(stmt, params: TrackerParams, readable: set[str]):
    sort = params.sort if params.sort and _allowed(SORTS[params.sort], readable) else ""
    if not sort:
        sort = "rag" if "risk" in readable else "ref"
        desc = False
    else:
        desc = params.dir == "desc"
    if sort == "rag":
        key = RAG_ORDER
    elif sort == "status":
        key = sql_case({s: i for i, s in enumerate(CASE_STATUSES)}, value=Case.status, else_=9)
    elif sort == "lead_agency":
        lead = aliased(Agency)
        stmt = stmt.outerjoin(lead, lead.id == Case.lead_agency_id)
        key = lead.code
    else:
        key = getattr(Case, sort)
    ordered = key.desc() if desc else key.asc()
    if sort in ("last_engagement", "next_review", "referral_date", "lead_agency"):
        # Never-engaged / unset first when ascending: the most neglected cases lead.
        ordered = nulls_last(ordered) if desc else nulls_first(ordered)
    return stmt.order_by(ordered, Case.ref, Case.id)


def rag_counts(panel_id: int) -> dict[str, int]:
    """Cases not exited, by RAG: the live cohort, as the KPI snapshots count it (an index-only scan)."""
    row = db.session.execute(_RAG_COUNTS_SQL, {"panel_id": panel_id}).one()
    return {"red": row.red or 0, "amber": row.amber or 0, "green": row.green or 0,
            "none": (row.cases or 0) - (row.red or 0) - (row.amber or 0) - (row.green or 0)}


# The fields the flags are drawn from (each flag is kept only where its category is read).
FLAG_FIELDS = ("referral_date", "last_engagement", "next_review")


# The fields the flags are drawn from (each flag is kept only where its category is read).
FLAG_FIELDS = ("referral_date", "last_engagement", "next_review")
_STATEMENTS_KEPT = 256
_page_statements: OrderedDict[tuple, tuple] = OrderedDict()
_page_statements_lock = threading.Lock()


def _live(rag: str | None = None):
    """count(*) of the panel's live cases (of one RAG): an uncorrelated subquery, run once a statement."""
    stmt = db.select(func.count()).select_from(Case).where(Case.panel_id == db.bindparam("panel_id"),
                                                           Case.status != "exited")
    return (stmt.where(Case.rag == rag) if rag else stmt).correlate(None).scalar_subquery()


def _page_statement(panel: Panel, policy: Policy, params: TrackerParams, readable: set[str], today: dt.date,
                    fields: tuple[str, ...]) -> tuple:
    """(statement, filters ignored, wanted fields) for one page of the tracker: its rows (only the
    columns shown and readable), the filtered count and the RAG counts in one statement.

    A pure function of its arguments, so it is built once per shape and kept (a statement
    object also keeps its SQLAlchemy cache key): building it cost more than running it."""
    key = (panel.id, panel.inclusion_review_days, frozenset(readable), astuple(params), today, fields,
           tuple(identity_panel_ids(policy)) if params.flag == "on_other_panels" else ())
    with _page_statements_lock:
        if key in _page_statements:
            _page_statements.move_to_end(key)
            return _page_statements[key]
    ignored: list[str] = []
    conditions = _filtered(panel, params, readable, today, ignored, policy)
    wanted = tuple(dict.fromkeys((*fields, *FLAG_FIELDS)))
    columns, lead = row_columns(readable, wanted)
    total = db.select(func.count()).select_from(Case).where(*conditions).correlate(None).scalar_subquery()
    columns.append(total.label("tracker_total"))
    if "risk" in readable:
        columns += [_live().label("live"), *(_live(rag).label(f"live_{rag}") for rag in RAGS)]
    stmt = row_source(db.select(*columns), lead).where(*conditions)
    stmt = _order(stmt, params, readable).limit(PAGE_SIZE).offset((params.page - 1) * PAGE_SIZE)
    built = (stmt, tuple(ignored), wanted)
    with _page_statements_lock:
        _page_statements[key] = built
        while len(_page_statements) > _STATEMENTS_KEPT:
            _page_statements.popitem(last=False)
    return built


def tracker_page(panel: Panel, policy: Policy, params: TrackerParams, fields: tuple[str, ...] = ()) -> TrackerPage:
    """One page of the tracker as this viewer may see it, with the case `fields` its columns
    show (the caller logs the view).

    Statements do not grow with the page: one for the page's rows (only the columns shown and
    readable, as plain rows the gateway opens: no ORM objects) with the counts, one for their
    other panels, one for their inclusion decisions (a panel that reviews inclusion)."""
    readable = policy.readable(panel.id)
    today = clock.today()
    searched = bool(params.q)
    if searched:  # logged and matched every time: drawn without the kept statements
        return _searched_page(panel, policy, params, readable, today, fields)
    stmt, ignored, wanted = _page_statement(panel, policy, params, readable, today, fields)
    rows = db.session.execute(stmt, {"panel_id": panel.id}).all()
    if rows:
        total = rows[0].tracker_total
        counts = _counts(rows[0]) if "risk" in readable else None
    else:  # an empty page (nothing matches, or past the last page): count apart, and clamp
        total = db.session.execute(db.select(func.count()).select_from(Case).where(
            *_filtered(panel, params, readable, today, [], policy))).scalar_one()
        counts = rag_counts(panel.id) if "risk" in readable else None
        last = max(1, -(-total // PAGE_SIZE))
        if params.page > last:
            params.page = last
            stmt, ignored, wanted = _page_statement(panel, policy, params, readable, today, fields)
            rows = db.session.execute(stmt, {"panel_id": panel.id}).all()
    pages = max(1, -(-total // PAGE_SIZE))
    return _page_of(panel, policy, params, readable, today, rows, wanted, total, pages, counts, False, list(ignored))


def _counts(row) -> dict[str, int]:
    red, amber, green = row.live_red or 0, row.live_amber or 0, row.live_green or 0
    return {"red": red, "amber": amber, "green": green, "none": (row.live or 0) - red - amber - green}


def _searched_page(panel: Panel, policy: Policy, params: TrackerParams, readable: set[str], today: dt.date,
                   fields: tuple[str, ...]) -> TrackerPage:
    ignored: list[str] = []
    conditions = _filtered(panel, params, readable, today, ignored, policy)
    found = search_panel(panel, policy, params.q)
    conditions.append(Case.id.in_(found) if found else false())
    total = db.session.execute(db.select(func.count()).select_from(Case).where(*conditions)).scalar_one()
    pages = max(1, -(-total // PAGE_SIZE))
    params.page = min(params.page, pages)
    wanted = tuple(dict.fromkeys((*fields, *FLAG_FIELDS)))
    columns, lead = row_columns(readable, wanted)
    stmt = row_source(db.select(*columns), lead).where(*conditions)
    ordered = _order(stmt, params, readable).limit(PAGE_SIZE).offset((params.page - 1) * PAGE_SIZE)
    rows = db.session.execute(ordered).all()
    counts = rag_counts(panel.id) if "risk" in readable else None
    return _page_of(panel, policy, params, readable, today, rows, wanted, total, pages, counts, True, ignored)


def _page_of(panel: Panel, policy: Policy, params: TrackerParams, readable: set[str], today: dt.date, rows,
             wanted: tuple[str, ...], total: int, pages: int, counts, searched: bool,
             ignored: list[str]) -> TrackerPage:
    """The page from its rows: the gateway's views of them, their flags and other panels."""
    views = view_rows(rows, policy, panel.id, panel.code, wanted)
    others = other_panel_codes([v["nominal_id"] for v in views], panel.id, policy)
    overdue = inclusion_overdue_ids(panel, views, today, readable)
    shown_flags = [f for f, (_label, category) in FLAGS.items() if category in readable]
    out = []
    for view in views:
        flags = case_flags(view, today, view["nominal_id"] in others, view["id"] in overdue)
        out.append(TrackerRow(view, view["name"], [f for f in flags if f in shown_flags],
                              others.get(view["nominal_id"], [])))
    return TrackerPage(panel, params, out, total, pages, counts, readable, searched, ignored)


# Plain SQL: it runs on every poll, and building the ORM statement cost more than running it.
# tracker_changes is kept by triggers on cases (cohort.change_counter), a count per panel and
# category: this panel's counts of what the viewer reads, and the other panels' counts of
# what everyone there sees and of identity (a person on another panel sets a flag).
_CHANGE_TOKEN_SQL = db.text(
    "SELECT (SELECT sum(seq) FROM tracker_changes WHERE panel_id = :panel_id AND category IN :read) AS panel_writes,"
    " (SELECT sum(seq) FROM tracker_changes WHERE panel_id IN :seen AND category IN ('base', 'identity'))"
    " AS writes_seen"
).bindparams(db.bindparam("seen", expanding=True), db.bindparam("read", expanding=True))
# count(*), not count(id): ix_cases_panel_rag holds no id on PostgreSQL, and naming it there
# turned the index-only scan into a scan of the table.
_RAG_COUNTS_SQL = db.text(
    "SELECT count(*) AS cases, sum(CASE WHEN rag = 'red' THEN 1 ELSE 0 END) AS red,"
    " sum(CASE WHEN rag = 'amber' THEN 1 ELSE 0 END) AS amber, sum(CASE WHEN rag = 'green' THEN 1 ELSE 0 END) AS green"
    " FROM cases WHERE panel_id = :panel_id AND status <> 'exited'"
)


def change_token(panel: Panel, policy: Policy) -> str:
    """A cheap fingerprint of what the panel's tracker shows this viewer today, drawn only
    from what it may read (issue 12): a write in a withheld category, or on a panel where
    the viewer does not read identity, leaves it alone.

    One statement per poll: the panel's writes to what everyone sees and to the categories
    the viewer reads (a person's new name bumps identity on each of their cases), and the
    writes to what everyone sees and to identity on the other panels where the viewer
    reads identity (the "on other panels" flag). Today's date and the viewer's readable
    categories are part of it too: flags turn over at midnight, grants change.
    """
    seen = visible_other_panel_ids(policy, panel.id) or [-1]
    read = ["base", *sorted(policy.readable(panel.id))]
    row = db.session.execute(_CHANGE_TOKEN_SQL, {"panel_id": panel.id, "seen": seen, "read": read}).one()
    basis = "|".join([*map(str, row), clock.today().isoformat(), ",".join(sorted(policy.readable(panel.id)))])
    return hashlib.sha256(basis.encode()).hexdigest()[:20]


# -- search ---------------------------------------------------------------------------

def _phrases(tokens: list[str]) -> list[str]:
    out = []
    for i in range(len(tokens)):
        for j in range(i + 1, min(len(tokens), i + 4) + 1):
            out.append(" ".join(tokens[i:j]))
    return out


def _bi_conditions(q: str) -> list:
    return index_conditions(Nominal, q, _phrases(name_tokens(q)[:8]))


def _name_tokens_of(nominal: Nominal) -> set[str]:
    tokens = set(name_tokens(nominal.given_name)) | set(name_tokens(nominal.family_name))
    for alias in nominal.aliases or []:
        tokens |= set(name_tokens(alias))
    return tokens


def _confirmed(nominal: Nominal, q: str) -> bool:
    """Decrypt a blind-index candidate and check it really matches (indexes are truncated)."""
    for kind in IDENTIFIER_KINDS:
        value = getattr(nominal, kind)
        if value and normalise_identifier(kind, value) == normalise_identifier(kind, q):
            return True
    wanted = set(name_tokens(q))
    return bool(wanted) and wanted <= _name_tokens_of(nominal)


def _names_of(nominal: Nominal) -> list[str]:
    """Full names and aliases, hyphens as spaces (so "Wojciechowski Kaczmarek" compares well)."""
    names = [normalise_name(nominal.full_name)]
    names += [normalise_name(a) for a in nominal.aliases or []]
    return [n.replace("-", " ") for n in names if n]


def _fuzzy_score(query: str, name: str, **_kwargs) -> float:
    """How well a typed name matches a person's name: whole name, or each typed word against
    the person's closest name word (so one misspelt surname still finds them)."""
    whole = fuzz.WRatio(query, name)
    words = name.split()
    typed = query.split()
    if not words or not typed:
        return whole
    per_word = sum(max(fuzz.ratio(t, w) for w in words) for t in typed) / len(typed)
    return max(whole, per_word)


@unsealing("a search among people the caller's scope already limits to what it may see")
def match_nominals(q: str, nominal_scope) -> list[int]:
    """Nominal ids matching `q` among `nominal_scope` (a select of nominal ids).

    First exact matches through the blind indexes, confirmed by decrypting the candidates;
    only when there are none, a fuzzy match (rapidfuzz) over the decrypted names in scope.
    """
    q = (q or "").strip()
    if not q:
        return []
    conds = _bi_conditions(q)
    base = db.select(Nominal).where(Nominal.id.in_(nominal_scope), Nominal.merged_into_id.is_(None))
    if conds:
        candidates = db.session.execute(base.where(or_(*conds))).scalars().all()
        exact = [n.id for n in candidates if _confirmed(n, q)]
        if exact:
            return exact
    wanted = normalise_name(q).replace("-", " ")
    if len(wanted) < 2:
        return []
    everyone = db.session.execute(
        base.options(load_only(Nominal.id, Nominal.uid, Nominal.given_name_enc, Nominal.family_name_enc,
                               Nominal.aliases_enc))
    ).scalars().all()
    choices = {}
    for n in everyone:
        for i, name in enumerate(_names_of(n)):
            choices[(n.id, i)] = name
    hits = process.extract(wanted, choices, scorer=_fuzzy_score, score_cutoff=FUZZY_CUTOFF, limit=None)
    seen: list[int] = []
    for _name, _score, key in sorted(hits, key=lambda h: -h[1]):
        if key[0] not in seen:
            seen.append(key[0])
    return seen


def search_panel(panel: Panel, policy: Policy, q: str) -> list[int]:
    """Case ids on the panel matching `q`; empty for a viewer without identity on the panel.

    The answer for a viewer without the identity grant is the same empty result whether or
    not the person exists. Every search is logged (without the search text).
    """
    found: list[int] = []
    if policy.can(panel.id, "identity"):
        scope = db.select(Case.nominal_id).where(Case.panel_id == panel.id)
        nominal_ids = match_nominals(q, scope)
        if nominal_ids:
            found = list(db.session.execute(
                db.select(Case.id).where(Case.panel_id == panel.id, Case.nominal_id.in_(nominal_ids))
            ).scalars())
    audit.record("search", panel=panel, categories=["identity"] if policy.can(panel.id, "identity") else [],
                 case_ids=found, detail=f"tracker search: {len(found)} case(s)")
    return found


def find_nominals_for_referral(q: str, policy: Policy) -> list[Nominal]:
    """Existing people matching `q` whose identity the user may read on some panel."""
    panels = [pid for pid in policy.panel_ids() if policy.can(pid, "identity")]
    if not panels:
        return []
    scope = visible_nominals(policy)
    ids = match_nominals(q, scope)[:20]
    if not ids:
        return []
    rows = {n.id: n for n in db.session.execute(db.select(Nominal).where(Nominal.id.in_(ids))).scalars()}
    return [rows[i] for i in ids if i in rows]


def cases_of_nominal(nominal_id: int) -> list[Case]:
    return list(db.session.execute(
        db.select(Case).where(Case.nominal_id == nominal_id).order_by(Case.id)
    ).unique().scalars())


@dataclass(frozen=True)
class AgencyChoice:
    id: int
    code: str
    name: str


def lead_agencies() -> list[AgencyChoice]:
    """Every agency, for the lead-agency choices; kept a minute in the page cache (an agency
    added by an admin shows within the minute)."""
    def load() -> list[AgencyChoice]:
        agencies = db.session.execute(partner_agencies()).scalars()
        return [AgencyChoice(a.id, a.code, a.name) for a in agencies]

    return page_cache().get_or_make(("lead-agencies",), load)


# -- the case page and referral ---------------------------------------------------------

def need_of(case_id: int, pathway: str):
    return db.session.execute(db.select(Need).filter_by(case_id=case_id, pathway=pathway)).scalar_one_or_none()


def case_page_data(case: Case, policy: Policy) -> dict:
    """Everything the case page shows, each part only where its category is readable."""
    pid = case.panel_id
    readable = policy.readable(pid)
    today = clock.today()
    data: dict = {
        "name": display_name(case, policy),
        "pseudonym": pseudonym(case.nominal.uid),
        "readable": readable,
        "writable": {c for c in CATEGORIES if policy.can(pid, c, "write")},
        "withheld_message": policy.withheld_message(pid),
        "fields": case_dict(case, policy, json=False),
        "today": today,
    }
    seen = set(visible_other_panel_ids(policy, case.panel_id))
    others = [c for c in cases_of_nominal(case.nominal_id) if c.id != case.id and c.panel_id in seen]
    data["other_cases"] = [(c, True) for c in others]
    active_elsewhere = any(c.status != "exited" for c in others)
    overdue = bool(inclusion_overdue_ids(case.panel, [data["fields"]], today, readable))
    data["flags"] = [f for f in case_flags(case, today, active_elsewhere, overdue) if FLAGS[f][1] in readable]
    data["rag_changes"] = db.session.execute(
        db.select(RagChange).filter_by(case_id=case.id).order_by(RagChange.at.desc(), RagChange.id.desc())
    ).scalars().all() if "risk" in readable else []
    if "offending" in readable:
        data["engagements"] = db.session.execute(
            db.select(Engagement).filter_by(case_id=case.id).order_by(Engagement.on.desc(), Engagement.id.desc())
        ).scalars().all()
        data["actions"] = db.session.execute(
            db.select(Action).filter_by(case_id=case.id).order_by(Action.status, Action.due, Action.id)
        ).unique().scalars().all()
        data["events"] = db.session.execute(
            db.select(CaseEvent).filter_by(case_id=case.id).order_by(CaseEvent.at.desc(), CaseEvent.id.desc())
        ).scalars().all()
    else:
        data["engagements"] = data["actions"] = data["events"] = None
    needs = {n.pathway: n for n in db.session.execute(db.select(Need).filter_by(case_id=case.id)).scalars()}
    data["needs"] = [
        {"pathway": key, "label": label, "category": cat, "readable": cat in readable,
         "writable": policy.can(pid, cat, "write"), "need": needs.get(key) if cat in readable else None}
        for key, (label, cat) in PATHWAYS.items()
    ]
    data["notes"] = db.session.execute(
        db.select(Note).where(Note.case_id == case.id, Note.category.in_(sorted(readable)))
        .order_by(Note.at.desc(), Note.id.desc())
    ).scalars().all() if readable else []

    data["can_note"] = any(policy.can(pid, c, "write") for c in NOTE_CATEGORIES)
    return data


def may_see_nominal(nominal_id: int, policy: Policy) -> bool:
    """The one rule (cohort.services.visible_nominal_ids): a case on a panel with identity read."""
    return nominal_id in visible_nominal_ids([nominal_id], policy)


@unsealing("a person the viewer may see on one of its identity panels")
def _candidate(nominal: Nominal, panel: Panel, policy: Policy) -> dict:
    cases = cases_of_nominal(nominal.id)
    here = next((c for c in cases if c.panel_id == panel.id), None)
    # The person is seen through an identity panel; another panel is named only where the
    # viewer reads identity there too (gateway.visible_other_panel_ids).
    told = set(visible_other_panel_ids(policy, None))
    return {
        "nominal": nominal,
        "name": nominal.full_name or "(no name recorded)",
        "date_of_birth": nominal.date_of_birth,
        "identifiers": [(k.upper(), getattr(nominal, k)) for k in IDENTIFIER_KINDS if getattr(nominal, k)],
        "panels": [c.panel.code for c in cases if c.panel_id in told and c.status != "exited"],
        "here": here,
    }


def referral_candidates(q: str, policy: Policy, panel: Panel) -> list[dict]:
    """People the user may see who match `q`, so a referral joins them instead of duplicating."""
    return [_candidate(n, panel, policy) for n in find_nominals_for_referral(q, policy)]


def possible_existing(identity: dict, policy: Policy, panel: Panel) -> list[dict]:
    """Before creating a person: anyone visible sharing an identifier or (closely) the name."""
    panels = identity_panel_ids(policy)
    if not panels:
        return []
    scope = visible_nominals(policy)
    ids: list[int] = []
    for kind in IDENTIFIER_KINDS:
        if identity.get(kind):
            ids += [i for i in match_nominals(identity[kind], scope) if i not in ids]
    full = " ".join(p for p in (identity.get("given_name"), identity.get("family_name")) if p)
    if full:
        ids += [i for i in match_nominals(full, scope) if i not in ids]
    if not ids:
        return []
    rows = {n.id: n for n in db.session.execute(db.select(Nominal).where(Nominal.id.in_(ids[:20]))).scalars()}
    return [_candidate(rows[i], panel, policy) for i in ids[:20] if i in rows]
