"""Cohort import: plan a whole file against what is recorded, then apply it in one go.

Planning validates every row (exchange.spreadsheet.validate_rows), checks that the importing
user may write every category the file touches, and decides for each row whether it
creates a person or joins one already recorded -- ONLY on an exact PNC, CRO, NOMIS or CRN
match, found through the blind indexes and confirmed by decrypting the candidates, never
on names, and ONLY among the people the importer may see (cohort.services.visible_nominal_ids:
anyone else is exactly as if nobody held the identifier, left to the duplicate check) -- and
whether it adds a case or updates the panel's case with the same ref.
Planning writes nothing, so one plan serves the preview page, the CLI's --dry-run and the
import itself.

Applying writes the rows cohort.services writes (nominals with their blind indexes, cases,
case events, RAG history with source "import") but in batches, one flush per few hundred
rows instead of several per row, so a 10,000-row list imports in seconds; the caller
commits once, so any error leaves nothing behind. The access log gets one "import" event
with counts and the internal ids of the people written (no personal data), as the preview's
"view" event has the ids of the recorded people it reported on.

Update rules, which the preview page states: an empty cell never erases what is recorded;
a panel's list corrects its own cases' people (non-empty values overwrite), but adds to,
and never overwrites, a person another panel recorded; an identifier that differs from
the one recorded for the person is an error, not an overwrite; a person whose case on the
panel was exited and who is on the list again is re-referred (the case becomes active).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from auth.models import Agency
from cohort.models import Case, CaseEvent, Nominal, RagChange
from cohort.services import first_review, refer_again, visible_nominal_ids
from core import clock
from core.bulk import copy_rows
from core.extensions import db
from core.labels import in_sentence, label
from duplicates import keys as dedupe_keys
from duplicates.matching.normalise import normalise_identifier
from exchange.spreadsheet import COLUMNS, FIELD_CATEGORY, CohortRow, RowError, _header_key, validate_rows
from panels.models import Panel
from sharing import audit
from sharing.blind_index import blind_index, index_nominal
from sharing.gateway import unsealing
from sharing.policy import Policy

IDENTIFIERS = ("pnc", "cro", "nomis", "crn")
IDENTIFIER_LABELS = {k: label(k) for k in IDENTIFIERS}  # "PNC ID", ...: from the one label table
NOMINAL_FIELDS = tuple(c for c in COLUMNS if FIELD_CATEGORY.get(c) in ("identity", "contact"))
CASE_FIELDS = (
    "referral_date", "last_engagement", "order_end_date", "cohort_type", "mappa_category", "mappa_level",
    "risk_level", "accommodation", "employment",
)
BATCH = 500
IN_CHUNK = 900


# -- the plan -------------------------------------------------------------------------

@dataclass
class PlannedRow:
    """What one valid row will do. `nominal`/`case` are existing records, None for new ones."""

    row: CohortRow
    nominal: Nominal | None = None
    case: Case | None = None
    joined_on: tuple[str, ...] = ()
    lead_agency_id: int | None = None
    rerefer: bool = False
    by_ref: bool = False

    @property
    def action(self) -> str:
        if self.case is not None:
            return "Re-refers case" if self.rerefer else "Updates case"
        if self.nominal is not None:
            return "Joins existing person (" + ", ".join(IDENTIFIER_LABELS[k] for k in self.joined_on) + ")"
        return "New person"


@dataclass
class ImportPlan:
    panel: Panel
    filename: str
    columns: tuple[str, ...]
    rows: list[PlannedRow]
    errors: list[RowError]
    data_rows: int
    # Recorded people the plan reports on (matched by identifier, or the person of the case
    # with a row's ref): the preview tells the importer something about each, so it is logged.
    nominal_ids: set[int] = field(default_factory=set)
    # Columns the importer may only read: accepted where unchanged, never written.
    read_only: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def categories(self) -> list[str]:
        """The categories the file writes: offending always, plus those of its columns but read-only ones."""
        return sorted({"offending"} | {FIELD_CATEGORY[c] for c in self.columns
                                       if c in FIELD_CATEGORY and c not in self.read_only})

    def counts(self) -> dict[str, int]:
        new_cases = sum(1 for p in self.rows if p.case is None)
        return {
            "new_nominals": sum(1 for p in self.rows if p.nominal is None),
            "joined_nominals": sum(1 for p in self.rows if p.nominal is not None and p.case is None),
            "new_cases": new_cases,
            "updated_cases": len(self.rows) - new_cases,
        }

    def summary(self) -> str:
        c = self.counts()
        return (f"{c['new_cases']} new case(s) ({c['new_nominals']} new people, {c['joined_nominals']} joined to "
                f"people already recorded), {c['updated_cases']} updated case(s)")


@dataclass
class ImportResult:
    new_nominals: int = 0
    joined_nominals: int = 0
    new_cases: int = 0
    updated_cases: int = 0
    unchanged_cases: int = 0
    rag_changes: int = 0
    case_ids: list[int] = field(default_factory=list)
    nominal_ids: list[int] = field(default_factory=list)  # the people of those cases, created or joined

    def summary(self) -> str:
        return (f"{self.new_cases} new case(s) ({self.new_nominals} new people, {self.joined_nominals} joined to "
                f"people already recorded), {self.updated_cases} updated case(s) ({self.unchanged_cases} unchanged), "
                f"{self.rag_changes} RAG change(s)")


def _chunks(items: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _file_columns(headers: Iterable[str]) -> tuple[str, ...]:
    keys = {_header_key(h) for h in headers}
    return tuple(c for c in COLUMNS if c in keys)


def _category_words(category: str) -> str:
    """A category inside a sentence: "contact data", "substance misuse data"."""
    return f"{in_sentence(category, 'category')} data"


def _agency_code(policy: Policy) -> str:
    return policy.user.agency.code if policy.user is not None and policy.user.agency else "you"


def _policy_errors(panel: Panel, columns: tuple[str, ...], policy: Policy) -> list[RowError]:
    """One error per category the file holds that the user's agency may neither write nor read.

    Offending write is always needed (an import writes cases). A column the agency may
    only read is allowed (an unchanged export comes back with it): _read_only_errors
    refuses, row by row, only a value that differs from the one recorded.
    """
    needed: dict[str, list[str]] = {"offending": []}
    for column in columns:
        if column in FIELD_CATEGORY:
            needed.setdefault(FIELD_CATEGORY[column], []).append(column)
    errors = []
    for category, cols in needed.items():
        readable = category != "offending" and policy.can(panel.id, category)  # a case is offending data
        if not policy.can(panel.id, category, "write") and not readable:
            errors.append(RowError(1, ", ".join(cols) or "ref",
                                   f"{_agency_code(policy)} may not write {_category_words(category)} on the "
                                   f"{panel.code} panel under the agreements in force"))
    return errors


def read_only_columns(panel: Panel, columns: tuple[str, ...], policy: Policy) -> tuple[str, ...]:
    """The file's columns whose category the user may read but not write on the panel."""
    return tuple(c for c in columns if c in FIELD_CATEGORY and policy.can(panel.id, FIELD_CATEGORY[c])
                 and not policy.can(panel.id, FIELD_CATEGORY[c], "write"))


def _held(planned: PlannedRow, column: str):
    """The value recorded for `column` on the row's existing person or case (None for a new one)."""
    if column == "lead_agency":
        return planned.case.lead_agency.code if planned.case is not None and planned.case.lead_agency else None
    owner = planned.nominal if column in NOMINAL_FIELDS else planned.case
    return getattr(owner, column) if owner is not None else None


def _same(value, held) -> bool:
    if isinstance(value, str) and isinstance(held, str):
        return value.strip().casefold() == held.strip().casefold()
    return value == held or (value in (None, "", []) and held in (None, "", []))


def _read_only_errors(planned: PlannedRow, read_only: tuple[str, ...], panel: Panel,
                      policy: Policy) -> list[RowError]:
    """A row error for each read-only column whose value differs from the one recorded.

    An empty cell writes nothing, so it is never refused; a value equal to the recorded
    one (as exported) changes nothing either.
    """
    errors = []
    for column in read_only:
        value = getattr(planned.row, column)
        if value in (None, "", []) or _same(value, _held(planned, column)):
            continue
        errors.append(RowError(planned.row.row, column,
                               f"{_agency_code(policy)} may only read {_category_words(FIELD_CATEGORY[column])} on "
                               f"the {panel.code} panel: leave it as exported (or empty), not changed",
                               ref=planned.row.ref))
    return errors


def _survivor(nominal: Nominal) -> Nominal:
    """Follow merges to the record that was kept."""
    seen: set[int] = set()
    while nominal.merged_into_id is not None and nominal.id not in seen:
        seen.add(nominal.id)
        kept = db.session.get(Nominal, nominal.merged_into_id)
        if kept is None:
            break
        nominal = kept
    return nominal


@unsealing("confirming identifier matches among people the importer may see")
def _identifier_index(rows: Sequence[CohortRow], policy: Policy) -> dict[tuple[str, str], list[Nominal]]:
    """(kind, normalised value) -> the recorded people the importer may see holding exactly
    that identifier.

    One query per identifier kind (chunked) finds the blind-index candidates for every row
    at once; decrypting each candidate confirms the exact value, since a truncated index
    is shared by several people on purpose.
    """
    found: dict[tuple[str, str], list[Nominal]] = {}
    for kind in IDENTIFIERS:
        wanted = {normalise_identifier(kind, getattr(r, kind)) for r in rows if getattr(r, kind)}
        if not wanted:
            continue
        indexes = sorted({blind_index(kind, v) for v in wanted} - {None})
        column = getattr(Nominal, f"bi_{kind}")
        for chunk in _chunks(indexes, IN_CHUNK):
            candidates = [(c, _survivor(c)) for c in
                          db.session.execute(db.select(Nominal).where(column.in_(chunk))).scalars()]
            visible = visible_nominal_ids({kept.id for _, kept in candidates}, policy)
            for candidate, kept in candidates:
                if kept.id not in visible:
                    continue  # never decrypted, never named: as if nobody held it
                value = normalise_identifier(kind, getattr(candidate, kind))
                if value in wanted:
                    people = found.setdefault((kind, value), [])
                    if all(p.id != kept.id for p in people):
                        people.append(kept)
    return found


@dataclass
class _PanelCases:
    """The panel's recorded cases, looked up as a file's rows need them."""

    by_ref: dict[str, Case]
    by_folded_ref: dict[str, Case]
    by_nominal: dict[int, Case]  # a person's case on the panel, one not exited before an exited one

    @classmethod
    def of(cls, panel: Panel) -> _PanelCases:
        existing = db.session.execute(db.select(Case).where(Case.panel_id == panel.id)).scalars().all()
        by_nominal: dict[int, Case] = {}
        for c in existing:
            if c.nominal_id not in by_nominal or by_nominal[c.nominal_id].status == "exited":
                by_nominal[c.nominal_id] = c
        return cls({c.ref: c for c in existing}, {c.ref.casefold(): c for c in existing}, by_nominal)

    def with_ref(self, ref: str) -> Case | None:
        return self.by_ref.get(ref) or self.by_folded_ref.get(ref.casefold())


@dataclass
class _Planning:
    """What planning one row needs to know: the panel's cases, agencies and identifier matches."""

    panel: Panel
    policy: Policy
    plan: ImportPlan
    cases: _PanelCases
    agencies: dict[str, int]  # agency code -> id
    index: dict[tuple[str, str], list[Nominal]]
    claimed: dict[int, int] = field(default_factory=dict)  # nominal id -> the row that already uses that person


def _kinds_words(kinds: Iterable[str]) -> str:
    return ", ".join(IDENTIFIER_LABELS[k] for k in kinds)


def _match_person(r: CohortRow, ctx: _Planning,
                  row_errors: list[RowError]) -> tuple[Nominal | None, list[str]]:
    """The one recorded person the row's identifiers match, and on which kinds; (None, []) when
    none does or when they match several (each such problem added to `row_errors`)."""
    matched: dict[int, tuple[Nominal, list[str]]] = {}
    for kind in IDENTIFIERS:
        value = getattr(r, kind)
        if not value:
            continue
        people = ctx.index.get((kind, normalise_identifier(kind, value)), [])
        ctx.plan.nominal_ids.update(p.id for p in people)
        if len(people) > 1:
            row_errors.append(RowError(r.row, kind, f"matches {len(people)} people already recorded; merge them "
                                                    f"in the duplicate check first", ref=r.ref))
        elif people:
            matched.setdefault(people[0].id, (people[0], []))[1].append(kind)
    if len(matched) > 1:
        kinds = [k for _, ks in matched.values() for k in ks]
        row_errors.append(RowError(r.row, ", ".join(kinds), "identifiers match different people already "
                                                            "recorded; check the row or merge the people first",
                                   ref=r.ref))
    return next(iter(matched.values())) if len(matched) == 1 else (None, [])


def _place_row(planned: PlannedRow, person: Nominal | None, kinds: list[str], ctx: _Planning,
               row_errors: list[RowError]) -> None:
    """Decide whether the row updates (or re-refers) a case, joins a person or creates one."""
    r = planned.row
    case = ctx.cases.with_ref(r.ref)
    if case is not None:
        ctx.plan.nominal_ids.add(case.nominal_id)
        if person is not None and person.id != case.nominal_id:
            row_errors.append(RowError(r.row, "ref", f"case {case.ref} is a different person from the one whose "
                                                     f"{_kinds_words(kinds)} matches", ref=r.ref))
        planned.case, planned.nominal, planned.by_ref = case, case.nominal, True
        planned.rerefer = case.status == "exited"  # back on the panel's list: back on the panel
    elif person is not None:
        planned.nominal, planned.joined_on = person, tuple(kinds)
        other = ctx.cases.by_nominal.get(person.id)
        if other is not None and other.status != "exited":
            row_errors.append(RowError(r.row, "ref", f"this person (matched on {_kinds_words(kinds)}) is "
                                                     f"already on the {ctx.panel.code} panel as {other.ref}",
                                       ref=r.ref))
        elif other is not None:
            planned.case, planned.rerefer = other, True
    elif not (r.given_name or r.family_name):
        row_errors.append(RowError(r.row, "family_name", "enter a given name or family name: no case on the panel "
                                                         "has this ref and no identifier matches anyone recorded",
                                   ref=r.ref))


def _person_conflicts(planned: PlannedRow, ctx: _Planning) -> list[RowError]:
    """A recorded person's identifiers that the row contradicts, and a person two rows claim."""
    r, errors = planned.row, []
    if planned.nominal is None:
        return errors
    for kind in IDENTIFIERS:
        value, held = getattr(r, kind), getattr(planned.nominal, kind)
        if value and held and normalise_identifier(kind, held) != normalise_identifier(kind, value):
            errors.append(RowError(r.row, kind, f"differs from the {IDENTIFIER_LABELS[kind]} already "
                                                f"recorded for this person", ref=r.ref))
    first = ctx.claimed.setdefault(planned.nominal.id, r.row)
    if first != r.row:
        errors.append(RowError(r.row, "ref", f"is the same person as row {first}", ref=r.ref))
    return errors


def _lead_agency_errors(planned: PlannedRow, ctx: _Planning) -> list[RowError]:
    """Resolve the row's lead agency code to its id; an error if no agency has it."""
    r = planned.row
    if not r.lead_agency:
        return []
    planned.lead_agency_id = ctx.agencies.get(r.lead_agency)
    if planned.lead_agency_id is None:
        return [RowError(r.row, "lead_agency", f"no agency has the code {r.lead_agency!r}", ref=r.ref)]
    return []


def _plan_row(r: CohortRow, ctx: _Planning) -> tuple[PlannedRow, list[RowError]]:
    """What one valid row would do, and every problem with it (in the order the file's reader meets them)."""
    row_errors: list[RowError] = []
    planned = PlannedRow(row=r)
    person, kinds = _match_person(r, ctx, row_errors)
    _place_row(planned, person, kinds, ctx, row_errors)
    row_errors += _person_conflicts(planned, ctx)
    row_errors += _lead_agency_errors(planned, ctx)
    row_errors += _read_only_errors(planned, ctx.plan.read_only, ctx.panel, ctx.policy)
    return planned, row_errors


@unsealing("an import plan: compares the file with people the importer may see")
def plan_import(
    panel: Panel,
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    policy: Policy,
    *,
    filename: str = "",
    today: dt.date | None = None,
) -> ImportPlan:
    """Validate the whole file and decide what every row would do; write nothing.

    Every problem is reported (`Row N (ref R): column: problem`, as exchange.spreadsheet.RowError
    says it), including categories the user may not write; the plan is applicable only when `plan.errors` is empty.
    """
    valid, errors = validate_rows(headers, rows, today=today)
    columns = _file_columns(headers)
    plan = ImportPlan(panel=panel, filename=filename, columns=columns, rows=[], errors=[],
                      data_rows=sum(1 for r in rows if any(str(c).strip() for c in r)))
    if not plan.data_rows and not errors:
        errors.append(RowError(2, "ref", "the file has column names but no rows to import"))
    refused = _policy_errors(panel, columns, policy)
    if refused:
        # Do not look anyone up for a user who may not write here: report and stop.
        plan.errors = sorted(refused + errors, key=lambda e: e.row)
        return plan

    cases = _PanelCases.of(panel)
    agencies = {code: id_ for id_, code in db.session.execute(db.select(Agency.id, Agency.code))}
    ctx = _Planning(panel, policy, plan, cases, agencies, _identifier_index(valid, policy))
    plan.read_only = read_only_columns(panel, columns, policy)
    for r in valid:
        planned, row_errors = _plan_row(r, ctx)
        if row_errors:
            errors.extend(row_errors)
        else:
            plan.rows.append(planned)
    plan.errors = sorted(errors, key=lambda e: e.row)
    return plan


# -- applying -------------------------------------------------------------------------

def _set_nominal(nominal: Nominal, row: CohortRow, *, overwrite: bool) -> bool:
    """Copy the row's non-empty identity and contact values; True when anything changed."""
    changed = False
    for name in NOMINAL_FIELDS:
        if name not in row.columns:
            continue
        value = getattr(row, name)
        if value in (None, "", []):
            continue
        held = getattr(nominal, name)
        if held == value or (held not in (None, "", []) and not overwrite):
            continue
        setattr(nominal, name, value)
        changed = True
    return changed


def _set_case(case: Case, planned: PlannedRow) -> list[str]:
    """Copy the row's non-empty case values; returns the fields that changed."""
    row, changed = planned.row, []
    lead = planned.lead_agency_id
    if "lead_agency" in row.columns and lead is not None and case.lead_agency_id != lead:
        case.lead_agency_id = lead
        changed.append("lead agency")
    for name in CASE_FIELDS:
        if name not in row.columns:
            continue
        value = getattr(row, name)
        if value in (None, "") or getattr(case, name) == value:
            continue
        setattr(case, name, value)
        changed.append(name.replace("_", " "))
    return changed


# Left to the column's server default: a new case has had no category writes yet
# (cohort.change_counter), and COPY cannot send the ORM's JSON default.
_SERVER_DEFAULTED = {"category_versions"}


def _columns(model) -> list[tuple[str, str]]:
    """(attribute key, column name) of every mapped column but the primary key."""
    return [(prop.key, prop.columns[0].name) for prop in db.inspect(model).column_attrs
            if prop.key != "id" and prop.key not in _SERVER_DEFAULTED]


def _bulk_insert(model, objects: list, *, ids: bool = False) -> dict[str, int]:
    """INSERT transient objects in bulk; with `ids`, return uid -> new id.

    The objects are built with the model's own constructor and Encrypted attributes, so
    each ciphertext is bound to its row's uid exactly as a normal flush would bind it;
    only the write is batched. (A unit-of-work flush inserts these tables one row per
    statement on SQLite, since it needs RETURNING in parameter order.)

    PostgreSQL: the ids come from the table's sequence in one query and the rows go in
    through COPY, in the session's transaction. An executemany with RETURNING there
    renders one VALUES statement per page with thousands of placeholders, which psycopg
    re-parses in Python for every page: that, not the server, was most of the import's
    time. SQLite: one executemany (INSERT ... RETURNING for the ids).
    """
    if not objects:
        return {}
    columns = _columns(model)
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        return _copy_insert(connection, model, objects, columns, ids=ids)
    values = [{key: getattr(obj, key) for key, _ in columns} for obj in objects]
    options = {"render_nulls": True}  # NULLs sent, not omitted: every row has the same columns, one batch
    if not ids:
        db.session.execute(db.insert(model), values, execution_options=options)
        return {}
    rows = db.session.execute(db.insert(model).returning(model.id, model.uid), values, execution_options=options)
    return {uid: id_ for id_, uid in rows}


def _copy_insert(connection, model, objects: list, columns: list[tuple[str, str]], *, ids: bool) -> dict[str, int]:
    """PostgreSQL: ids from the sequence (when wanted), then one COPY of every row."""
    table = model.__table__
    names = [name for _, name in columns]
    new_ids: list[int] = []
    if ids:
        new_ids = list(connection.execute(
            db.text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"),
            {"table": table.name, "n": len(objects)},
        ).scalars())
        names = ["id", *names]
    rows = ([getattr(obj, key) for key, _ in columns] for obj in objects)
    copy_rows(connection, table.name, names, ([new_ids[i], *row] for i, row in enumerate(rows)) if ids else rows)
    return {obj.uid: new_ids[position] for position, obj in enumerate(objects)} if ids else {}


@dataclass
class _Writing:
    """Who writes an import, when, and where: what every row written needs."""

    panel: Panel
    user: Any
    now: dt.datetime
    today: dt.date
    rationale: str
    result: ImportResult

    @property
    def user_id(self) -> int | None:
        return self.user.id if self.user is not None else None

    @property
    def agency_id(self) -> int | None:
        return self.user.agency_id if self.user is not None else None


@dataclass
class _CaseWrites:
    """One batch's case rows and the history they need: events and RAG changes."""

    new_cases: list[Case] = field(default_factory=list)
    row_cases: list[Case] = field(default_factory=list)  # each row's case, in row order
    events: list[tuple[Case, str, str]] = field(default_factory=list)  # (case, event kind, detail)
    rag_from: list[tuple[Case, str | None, str]] = field(default_factory=list)  # (case, from, to)


def _check_writable(plan: ImportPlan, policy: Policy) -> None:
    if plan.errors:
        raise ValueError("the import has errors; nothing was written")
    for category in plan.categories:
        if not policy.can(plan.panel.id, category, "write"):
            raise PermissionError(f"{category} write not granted on {plan.panel.code}")


def _write_people(batch: Sequence[PlannedRow], w: _Writing) -> tuple[list[Nominal], dict[str, int]]:
    """Each row's person: new ones built and inserted in bulk (with their pending blocking keys),
    known ones updated in the session. Returns them in row order, and the new ones' uid -> id."""
    new_people: list[Nominal] = []
    people: list[Nominal] = []
    for p in batch:
        if p.nominal is None:
            nominal = Nominal(created_at=w.now, updated_at=w.now)
            _set_nominal(nominal, p.row, overwrite=True)
            index_nominal(nominal)
            new_people.append(nominal)
            w.result.new_nominals += 1
        else:
            nominal = p.nominal
            # A panel's list corrects its own case's person; it only fills gaps in someone else's.
            if _set_nominal(nominal, p.row, overwrite=p.by_ref):
                index_nominal(nominal)
            if p.case is None:
                w.result.joined_nominals += 1
        people.append(nominal)
    person_ids = _bulk_insert(Nominal, new_people, ids=True)
    dedupe_keys.insert_pending(new_people, person_ids)
    return people, person_ids


def _new_case(p: PlannedRow, nominal_id: int, w: _Writing, out: _CaseWrites) -> None:
    case = Case(nominal_id=nominal_id, panel_id=w.panel.id, ref=p.row.ref, status="active", version=1,
                referral_date=p.row.referral_date or w.today, referring_agency_id=w.agency_id,
                updated_by_id=w.user_id, created_at=w.now, updated_at=w.now)
    _set_case(case, p)
    if p.row.rag is not None:
        case.rag = p.row.rag
        out.rag_from.append((case, None, p.row.rag))
    case.next_review = first_review(case, w.panel)  # as a referral through the pages sets it
    out.new_cases.append(case)
    out.row_cases.append(case)
    out.events.append((case, "imported", w.rationale))
    w.result.new_cases += 1


def _update_case(p: PlannedRow, w: _Writing, out: _CaseWrites) -> None:
    """Change the recorded case only where the row differs (re-referring an exited one)."""
    case = p.case
    out.row_cases.append(case)
    changed = _set_case(case, p)
    w.result.updated_cases += 1
    rag_differs = p.row.rag is not None and p.row.rag != case.rag
    if rag_differs:
        out.rag_from.append((case, case.rag, p.row.rag))
        case.rag = p.row.rag
    if p.rerefer:  # the rule a referral through the pages follows (cohort.services.refer_again)
        case.ref = p.row.ref
        refer_again(case, w.panel, status="active", referral_date=p.row.referral_date or w.today)
        changed.insert(0, "re-referred")
    if changed or rag_differs:
        case.updated_by_id = w.user_id
        case.updated_at = w.now
        if changed:
            out.events.append((case, "re-referred" if p.rerefer else "updated",
                               f"{w.rationale}: changed {', '.join(changed)}"))
    else:
        w.result.unchanged_cases += 1


def _write_history(out: _CaseWrites, case_ids: dict[str, int], w: _Writing) -> None:
    """The batch's case events and RAG changes, in bulk."""
    def case_id(case: Case) -> int:
        return case.id or case_ids[case.uid]

    history = []
    for case, kind, detail in out.events:
        event = CaseEvent(case_id=case_id(case), at=w.now, user_id=w.user_id, kind=kind)
        event.detail = detail
        history.append(event)
    _bulk_insert(CaseEvent, history)
    changes = []
    for case, from_rag, to_rag in out.rag_from:
        change = RagChange(case_id=case_id(case), at=w.now, user_id=w.user_id, from_rag=from_rag, to_rag=to_rag,
                           source="import", meeting_id=None)
        change.rationale = w.rationale
        changes.append(change)
    _bulk_insert(RagChange, changes)
    w.result.rag_changes += len(changes)


def _write_batch(batch: Sequence[PlannedRow], w: _Writing) -> None:
    """People, then cases, then their history, for one batch of rows."""
    people, person_ids = _write_people(batch, w)
    out = _CaseWrites()
    for p, nominal in zip(batch, people, strict=True):
        if p.case is None:
            _new_case(p, nominal.id or person_ids[nominal.uid], w, out)
        else:
            _update_case(p, w, out)
    db.session.flush()
    case_ids = _bulk_insert(Case, out.new_cases, ids=True)
    _write_history(out, case_ids, w)
    w.result.case_ids.extend(case.id or case_ids[case.uid] for case in out.row_cases)
    w.result.nominal_ids.extend(nominal.id or person_ids[nominal.uid] for nominal in people)


@unsealing("applying an import the importer may write")
def apply_import(plan: ImportPlan, policy: Policy, *, source: str | None = None) -> ImportResult:
    """Write an error-free plan in the current transaction; the caller commits once.

    Raises ValueError for a plan with errors (validate first). `source` becomes the access
    log's purpose (the request path by default, "command line" outside a request).
    """
    _check_writable(plan, policy)
    w = _Writing(panel=plan.panel, user=policy.user, now=clock.utcnow(), today=clock.today(),
                 rationale=f"Imported from {plan.filename or 'a cohort file'}", result=ImportResult())
    for batch in _chunks(plan.rows, BATCH):
        _write_batch(batch, w)
    record_nominals("import", w.result.nominal_ids, user=policy.user, panel=plan.panel, categories=plan.categories,
                    purpose=source, detail=f"{plan.data_rows} row(s): {w.result.summary()}")
    return w.result


# -- the access log -------------------------------------------------------------------

NOMINALS_PER_EVENT = 3500  # characters of id runs per access event (its detail holds 4,000)


def _id_runs(ids: Iterable[int]) -> list[str]:
    """Sorted ids as runs: [3, 4, 5, 9] -> ["3-5", "9"] (an import's new people are consecutive)."""
    runs: list[list[int]] = []
    for i in sorted(set(ids)):
        if runs and i == runs[-1][1] + 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    return [f"{a}-{b}" if a != b else str(a) for a, b in runs]


def _ids_of_runs(runs: list[str]) -> list[int]:
    out: list[int] = []
    for run in runs:
        first, _, last = run.partition("-")
        out.extend(range(int(first), int(last or first) + 1))
    return out


def record_nominals(action: str, nominal_ids: Iterable[int], *, detail: str, **event: Any) -> None:
    """Log an import event naming every nominal it showed or wrote, by internal id only.

    The access event has one nominal_id column: it is set when one person is named, and the
    detail always lists them all ("; nominals 3-5,9"), split over as many events as the list
    needs ("(part 2 of 3)"), so no id is cut off.
    """
    runs = _id_runs(nominal_ids)
    chunks: list[list[str]] = [[]]
    for run in runs:
        if chunks[-1] and sum(len(r) + 1 for r in chunks[-1]) + len(run) > NOMINALS_PER_EVENT:
            chunks.append([])
        chunks[-1].append(run)
    single = int(runs[0]) if len(runs) == 1 and "-" not in runs[0] else None
    for number, chunk in enumerate(chunks, 1):
        part = f" (part {number} of {len(chunks)})" if len(chunks) > 1 else ""
        listed = f"; nominals {','.join(chunk)}" if chunk else ""
        audit.record(action, nominal_id=single, detail=f"{detail}{part}{listed}",
                     nominal_ids=_ids_of_runs(chunk), **event)


def record_preview(plan: ImportPlan, *, user=None, purpose: str | None = None) -> None:
    """Log what a preview (the page, or the command's dry run or error list) showed."""
    record_nominals("view", plan.nominal_ids, user=user, panel=plan.panel, categories=plan.categories,
                    purpose=purpose,
                    detail=f"import preview: {plan.data_rows} row(s), {len(plan.errors)} problem(s)")


# -- the demo cohort ------------------------------------------------------------------

class SystemLoad(Policy):
    """Writes every panel's list for a system load (the demo), whatever the agency's grants."""

    def can(self, panel_id: int, category: str, action: str = "read") -> bool:
        return True

    def panel_ids(self) -> list[int]:
        """Every panel: a system load joins a person on any panel (the demo's second panels)."""
        return sorted(db.session.execute(db.select(Panel.id)).scalars())


def import_demo_cohort(cohort: dict[str, list[dict[str, Any]]], user) -> str:
    """Import every panel's demo rows as `user` (a coordinator), bypassing the per-agency grants.

    Used by `flask demo load`; logged as a system load. The caller commits. Returns one line.
    """
    policy = SystemLoad(user)
    panels = {p.code: p for p in db.session.execute(db.select(Panel)).scalars()}
    parts, skipped = [], []
    total = ImportResult()
    for code, rows in cohort.items():
        panel = panels.get(code)
        if panel is None:
            skipped.append(code)
            continue
        table = [[str(row.get(c) or "") for c in COLUMNS] for row in rows]
        plan = plan_import(panel, list(COLUMNS), table, policy, filename=f"the demo cohort ({code})")
        if plan.errors:
            raise ValueError(f"demo cohort for {code} is invalid: " + "; ".join(str(e) for e in plan.errors[:5]))
        result = apply_import(plan, policy, source="system load: demo cohort (agreements not applied)")
        parts.append(f"{code} {result.new_cases}")
        total.new_cases += result.new_cases
        total.new_nominals += result.new_nominals
        total.joined_nominals += result.joined_nominals
    line = (f"Demo cohort: {total.new_cases} cases ({', '.join(parts)}) for {total.new_nominals} people, "
            f"{total.joined_nominals} on a second panel")
    if skipped:
        line += f"; no panel for {', '.join(skipped)}"
    return line
