"""The case-view gateway: the one place case data is decrypted, and only for what a viewer may see.

Every encrypted attribute of case data (sharing.crypto.Encrypted, categories in
CATEGORIES) refuses to decrypt outside this module's `unsealed()` block. Views, exports,
agendas, meeting pages, feeds, the API and templates therefore get case data only as:

- `view_case(case, policy)`: a `CaseView` holding the fields the viewer's agency may read on
  the case's panel — a withheld field is absent, not blank — and the withheld categories;
- `reveal(obj, attr, policy)`: one encrypted attribute of a note, action, engagement,
  RAG change, agenda item..., or `None` when its category is withheld on the row's panel;
- `display_name(case, policy)`, `rag_history`, `notes`, `needs`: the same rule, shaped.

Code that must read everything for a reason the law allows (the duplicate check under the
analyst's policy, merging, key rotation, blind indexes, subject access) says so with
`unsealed("why")`; a test lists the modules allowed to.

The field -> category map (CONTRACT.md) and the agreements-in-force query are defined
here once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from typing import Any

from auth.models import Agency
from sharing import crypto
from sharing.crypto import CATEGORIES
from sharing.models import Isa
from sharing.pseudonym import pseudonym

IDENTITY_FIELDS = (
    "given_name", "family_name", "aliases", "date_of_birth", "gender", "ethnicity", "pnc", "cro", "nomis", "crn",
)
CONTACT_FIELDS = ("address", "postcode")
OFFENDING_FIELDS = (
    "lead_agency", "lead_officer", "referral_date", "referring_agency", "last_engagement", "order_end_date",
    "cohort_type", "mappa_category", "exit_reason", "exited_on",
)
RISK_FIELDS = ("rag", "risk_level", "mappa_level", "next_review", "last_reviewed")
RESETTLEMENT_FIELDS = ("accommodation", "employment")

FIELD_CATEGORY: dict[str, str] = {
    **dict.fromkeys(IDENTITY_FIELDS, "identity"),
    **dict.fromkeys(CONTACT_FIELDS, "contact"),
    **dict.fromkeys(OFFENDING_FIELDS, "offending"),
    **dict.fromkeys(RISK_FIELDS, "risk"),
    **dict.fromkeys(RESETTLEMENT_FIELDS, "resettlement"),
}


# Meeting minutes discuss the cases: read and written under this category's grants.
MINUTES_CATEGORY = "offending"


class SealedRead(RuntimeError):
    """Case data was read around the gateway (a bug: it would bypass the sharing agreements)."""


# -- the seal ---------------------------------------------------------------------------

_unsealed: ContextVar[tuple[str, ...]] = ContextVar("gateway_unsealed", default=())
_enforcing = False  # turned on by the app factory (SEAL_CASE_DATA), always in tests


def enforce(on: bool) -> None:
    """Turn the seal on (the default, and always in production) or off (a one-off script)."""
    global _enforcing
    _enforcing = on


@contextlib.contextmanager
def unsealed(why: str) -> Iterator[None]:
    """Decrypt freely inside the block; `why` names the purpose (kept for error messages)."""
    token = _unsealed.set((*_unsealed.get(), why))
    try:
        yield
    finally:
        _unsealed.reset(token)


def unsealing(why: str):
    """Decorator form of `unsealed` for a function whose whole job needs every value."""
    def wrap(fn):
        @functools.wraps(fn)
        def inner(*args, **kwargs):
            with unsealed(why):
                return fn(*args, **kwargs)
        return inner
    return wrap


def _guard(category: str, attribute: str) -> None:
    if _enforcing and category in CATEGORIES and not _unsealed.get():
        raise SealedRead(f"{attribute} ({category}) read outside sharing.gateway")


crypto.set_read_guard(_guard)


# -- agreements in force -------------------------------------------------------------------

def agreements_in_force(on):
    """Condition: an ISA is active and in force on `on` (a date or a bind parameter).

    The one definition used by the policy, the KPIs and every other reader of agreements.
    """
    return (Isa.status == "active") & (Isa.starts <= on) & (Isa.expires > on)


# -- views -------------------------------------------------------------------------------

class CaseView(Mapping):
    """One case as one viewer may see it: always id, nominal_id, panel, ref, version, status,
    name and withheld; then only the permitted fields. `view.rag` on a withheld field raises
    AttributeError (and `"rag" in view` is False), so a template cannot show it by accident."""

    __slots__ = ("_data",)

    def __init__(self, data: dict[str, Any]):
        object.__setattr__(self, "_data", data)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._data[name]
        except KeyError:
            raise AttributeError(f"{name} is withheld from this viewer or is not a case field") from None

    def __setattr__(self, name, value):
        raise AttributeError("a case view is read-only")

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self):
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def as_json(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in self._data.items()}


def _field_value(case, field: str):
    if field in IDENTITY_FIELDS or field in CONTACT_FIELDS:
        return getattr(case.nominal, field)
    if field == "lead_agency":
        return case.lead_agency.code if case.lead_agency else None
    if field == "referring_agency":
        return case.referring_agency.code if case.referring_agency else None
    return getattr(case, field)


def display_name(case, policy) -> str:
    """The name this viewer may see on the case's panel, or the nominal's stable pseudonym."""
    if policy.can(case.panel_id, "identity"):
        with unsealed("a name the viewer may read"):
            name = case.nominal.full_name
        if name:
            return name
    return pseudonym(case.nominal.uid)


def case_version(case, policy) -> int:
    """The case's version as this viewer sees it, and must send back (stale: 409): writes to
    what everyone sees plus writes to the categories it reads (cohort.change_counter), so a
    write it may not see neither moves it nor makes its own write conflict."""
    counts = case.category_versions or {}
    return 1 + counts.get("base", 0) + sum(counts.get(c, 0) for c in policy.readable(case.panel_id))


def view_case(case, policy) -> CaseView:
    """The case as this viewer may see it (see CaseView)."""
    readable = policy.readable(case.panel_id)
    data: dict[str, Any] = {
        "id": case.id, "nominal_id": case.nominal_id, "panel": case.panel.code, "ref": case.ref,
        "version": case_version(case, policy), "status": case.status, "name": display_name(case, policy),
    }
    with unsealed("fields the viewer may read"):
        for field, category in FIELD_CATEGORY.items():
            if category in readable:
                data[field] = _field_value(case, field)
    data["withheld"] = [c for c in CATEGORIES if c not in readable]
    return CaseView(data)


def view_cases(cases, policy) -> list[CaseView]:
    return [view_case(c, policy) for c in cases]


# -- rows of a list (the tracker) -------------------------------------------------------

def row_columns(readable: set[str] | frozenset[str], wanted) -> tuple[list, bool]:
    """The SQL columns to read for list rows showing `wanted` fields to a viewer who reads
    `readable` on the panel, and whether the lead agency must be joined: a withheld field
    is not even fetched, and encrypted ones come as ciphertext for `view_rows` to open.

    Select them from `row_source(lead)`; every row has id, uid, nominal_id, nominal_uid,
    ref and status, and the name's ciphertexts where identity is read."""
    from cohort.models import Case, Nominal

    cols = [Case.id, Case.uid, Case.nominal_id, Nominal.uid.label("nominal_uid"), Case.ref, Case.status]
    if "identity" in readable:
        cols += [Nominal.given_name_enc, Nominal.family_name_enc]
    lead = False
    for field in wanted:
        if FIELD_CATEGORY.get(field) not in readable:
            continue
        model = Nominal if field in IDENTITY_FIELDS or field in CONTACT_FIELDS else Case
        if field == "lead_agency":
            cols.append(_lead().code.label("lead_agency"))
            lead = True
        elif field in ("given_name", "family_name"):
            continue  # read for the name already
        elif isinstance(getattr(model, field), crypto.Encrypted):
            cols.append(getattr(model, f"{field}_enc"))
        elif field != "referring_agency":
            cols.append(getattr(model, field))
    return cols, lead


@functools.cache
def _lead():
    """The lead agency's alias in list rows (made on first use: the models load after this module)."""
    from sqlalchemy.orm import aliased


    return aliased(Agency, name="row_lead")


def row_source(select, lead: bool):
    """`select` (of `row_columns`) from cases joined to their person, and to the lead agency if asked."""
    from cohort.models import Case, Nominal

    select = select.select_from(Case).join(Nominal, Nominal.id == Case.nominal_id)
    return select.outerjoin(_lead(), _lead().id == Case.lead_agency_id) if lead else select


def _opener(model, field: str):
    """(the ciphertext's key in a row, how to open it given the row's uid) for one encrypted field."""
    descriptor = getattr(model, field)
    table, column, decode = model.__tablename__, descriptor.column, descriptor.decode
    decrypt = crypto.keyring().decrypt

    def open_(blob, uid: str):
        return None if blob is None else decode(decrypt(blob, f"{table}.{column}.{uid}"))
    return column, open_


def view_rows(rows, policy, panel_id: int, panel_code: str, wanted) -> list[CaseView]:
    """List rows (from `row_columns`) as this viewer may see them: a `CaseView` each with id,
    nominal_id, panel, ref, status, name and withheld, and of `wanted` only the permitted
    fields. Only those are decrypted, each field's key and decoder looked up once a page."""
    from cohort.models import Case, Nominal

    readable = policy.readable(panel_id)
    withheld = [c for c in CATEGORIES if c not in readable]
    plain, sealed = [], []  # (field, row key) / (field, row key, opener, uid key)
    for field in wanted:
        if FIELD_CATEGORY.get(field) not in readable or field in ("given_name", "family_name", "referring_agency"):
            continue
        model = Nominal if field in IDENTITY_FIELDS or field in CONTACT_FIELDS else Case
        if isinstance(getattr(model, field), crypto.Encrypted):
            key, open_ = _opener(model, field)
            sealed.append((field, key, open_, "nominal_uid" if model is Nominal else "uid"))
        else:
            plain.append(field)
    out = []
    with unsealed("list rows the viewer may read"):
        names = (_opener(Nominal, "given_name")[1], _opener(Nominal, "family_name")[1]) \
            if "identity" in readable else None
        for row in rows:
            m = row._mapping
            name = ""
            if names is not None:
                uid = m["nominal_uid"]
                parts = (names[0](m["given_name_enc"], uid), names[1](m["family_name_enc"], uid))
                name = " ".join(p for p in parts if p)
            data: dict[str, Any] = {"id": m["id"], "nominal_id": m["nominal_id"], "panel": panel_code,
                                    "ref": m["ref"], "status": m["status"],
                                    "name": name or pseudonym(m["nominal_uid"])}
            for field in plain:
                data[field] = m[field]
            for field, key, open_, uid in sealed:
                data[field] = open_(m[key], m[uid])
            data["withheld"] = withheld
            out.append(CaseView(data))
    return out


def panel_of(obj) -> int:
    """The panel a row's data belongs to (its case's, its meeting's, or its own)."""
    for attr in ("panel_id",):
        value = getattr(obj, attr, None)
        if value is not None:
            return value
    for parent in ("case", "meeting"):
        owner = getattr(obj, parent, None)
        if owner is not None:
            return owner.panel_id
    case_id = getattr(obj, "case_id", None)
    if case_id is not None:
        from cohort.models import Case
        from core.extensions import db

        return db.session.get(Case, case_id).panel_id  # from the identity map on a case page
    raise TypeError(f"{type(obj).__name__} has no panel to police it by")


def category_of(obj, attr: str) -> str:
    """The category an encrypted attribute is stored under (the descriptor is the truth)."""
    descriptor = getattr(type(obj), attr)
    if not isinstance(descriptor, crypto.Encrypted):
        raise TypeError(f"{type(obj).__name__}.{attr} is not an encrypted field")
    return descriptor.key_name(obj)


def may_read(obj, attr: str, policy, panel_id: int | None = None) -> bool:
    category = category_of(obj, attr)
    pid = panel_id if panel_id is not None else panel_of(obj)
    if category == "meeting":
        return policy.can(pid, MINUTES_CATEGORY)
    return policy.can(pid, category)


def reveal(obj, attr: str, policy, panel_id: int | None = None):
    """One encrypted attribute if the viewer may read its category on the row's panel, else None."""
    if obj is None or not may_read(obj, attr, policy, panel_id):
        return None
    with unsealed("an attribute the viewer may read"):
        return getattr(obj, attr)


def rag_history(case, policy) -> list[dict[str, Any]] | None:
    """When, who, from, to, rationale — only where risk is readable."""
    from cohort.models import RagChange
    from core.extensions import db

    if not policy.can(case.panel_id, "risk"):
        return None
    rows = db.session.execute(
        db.select(RagChange).filter_by(case_id=case.id).order_by(RagChange.at, RagChange.id)
    ).scalars()
    with unsealed("risk history the viewer may read"):
        return [
            {"at": r.at.isoformat() + "Z", "by": r.user.name if r.user else "system",
             "agency": r.user.agency.code if r.user else "", "from": r.from_rag, "to": r.to_rag,
             "rationale": r.rationale, "source": r.source}
            for r in rows
        ]


def notes(case, policy) -> list[dict[str, Any]]:
    """Notes in categories the viewer may read, newest first."""
    from cohort.models import Note
    from core.extensions import db

    readable = policy.readable(case.panel_id)
    if not readable:
        return []
    rows = db.session.execute(
        db.select(Note).where(Note.case_id == case.id, Note.category.in_(sorted(readable)))
        .order_by(Note.at.desc(), Note.id.desc())
    ).scalars()
    with unsealed("notes the viewer may read"):
        return [
            {"id": n.id, "category": n.category, "at": n.at.isoformat() + "Z",
             "by": n.user.name if n.user else "system", "agency": n.user.agency.code if n.user else "",
             "body": n.body}
            for n in rows
        ]


def needs(case, policy) -> list[dict[str, Any]]:
    """Resettlement needs on the pathways whose category the viewer may read."""
    from cohort.models import PATHWAYS, Need
    from core.extensions import db

    readable = policy.readable(case.panel_id)
    rows = {n.pathway: n for n in db.session.execute(db.select(Need).filter_by(case_id=case.id)).scalars()}
    out = []
    with unsealed("needs the viewer may read"):
        for key, (label, category) in PATHWAYS.items():
            if category not in readable or key not in rows:
                continue
            need = rows[key]
            out.append({"pathway": key, "label": label, "category": category, "level": need.level,
                        "note": need.note})
    return out


def case_detail(case, policy) -> dict[str, Any]:
    """One case for GET /cases/<id>: the view, RAG history, needs and notes as permitted."""
    out = view_case(case, policy).as_json()
    history = rag_history(case, policy)
    if history is not None:
        out["rag_history"] = history
    out["needs"] = needs(case, policy)
    out["notes"] = notes(case, policy)
    return out


def visible_other_panels(policy, panel_id: int, others) -> list[str]:
    """Of a person's other panels [(panel id, code)], the codes this viewer may be told of.

    Only where the viewer may read identity on this panel (else it does not know who the
    person is) and on the other panel (it takes part there and may see the person there):
    a panel the viewer takes no part in is never named, counted or flagged.
    """
    allowed = set(visible_other_panel_ids(policy, panel_id))
    return [code for pid, code in others if pid in allowed]


def identity_panel_ids(policy) -> list[int]:
    """The panels where the viewer reads identity: where it may know who a person is."""
    return [pid for pid in policy.panel_ids() if policy.can(pid, "identity")]


def visible_other_panel_ids(policy, panel_id: int | None) -> list[int]:
    """The one rule for "other panels" (tracker and its flag, case page, agenda, referral
    candidates, overlaps, the change token): the viewer reads identity on both panels.
    `panel_id` None: every identity panel (a person seen from no panel in particular)."""
    panels = identity_panel_ids(policy)
    if panel_id is None:
        return panels
    if panel_id not in panels:
        return []
    return [pid for pid in panels if pid != panel_id]
