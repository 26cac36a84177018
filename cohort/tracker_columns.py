"""The tracker's columns: chosen from what the viewer may read on the panel (a column of
"Withheld" in every row tells nobody anything), and then by the viewer among those, remembered
per user and panel. Name is always first; ref, status and flags need no grant."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from markupsafe import Markup, escape

from core.extensions import db
from core.templating import RAG_TAG, format_date


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    category: str | None  # None: shown to every party to the panel
    sort: str | None = None  # the TrackerParams sort key, if the column sorts
    standard: bool = True  # shown unless the viewer chose otherwise
    fields: tuple[str, ...] = ()  # the case fields its cells show (sharing.gateway.FIELD_CATEGORY)


COLUMNS: tuple[Column, ...] = (
    Column("ref", "Ref", None, "ref"),
    Column("rag", "RAG", "risk", "rag", fields=("rag",)),
    Column("status", "Status", None, "status"),
    Column("lead", "Lead agency and officer", "offending", "lead_agency", fields=("lead_agency", "lead_officer")),
    Column("last_engagement", "Last engagement", "offending", "last_engagement", fields=("last_engagement",)),
    Column("next_review", "Next review", "risk", "next_review", fields=("next_review",)),
    Column("accommodation", "Accommodation", "resettlement", standard=False, fields=("accommodation",)),
    Column("employment", "Employment", "resettlement", standard=False, fields=("employment",)),
    Column("risk_level", "Risk of serious harm", "risk", standard=False, fields=("risk_level",)),
    Column("mappa_level", "MAPPA level", "risk", standard=False, fields=("mappa_level",)),
    Column("order_end_date", "Order or licence end", "offending", standard=False, fields=("order_end_date",)),
    Column("cohort_type", "IOM cohort", "offending", standard=False, fields=("cohort_type",)),
    Column("flags", "Flags", None),
)
BY_KEY = {c.key: c for c in COLUMNS}
# Fewer data columns than this among the standard ones: add the readable others, so an
# agency that reads only resettlement sees accommodation and employment, not a bare list.
FEW = 3


def available(readable: set[str] | frozenset[str]) -> list[Column]:
    """Every column this viewer may read on the panel, in the tracker's order."""
    return [c for c in COLUMNS if c.category is None or c.category in readable]


def default(readable: set[str] | frozenset[str]) -> list[Column]:
    shown = [c for c in available(readable) if c.standard]
    if sum(1 for c in shown if c.category) < FEW:
        shown = available(readable)
    return shown


def chosen(user, panel_code: str, readable: set[str] | frozenset[str]) -> list[Column]:
    """The user's own choice for this panel, less anything they may not read (now)."""
    keys = (user.settings or {}).get("tracker_columns", {}).get(panel_code) if user is not None else None
    if not keys:
        return default(readable)
    allowed = {c.key for c in available(readable)}
    picked = [BY_KEY[k] for k in BY_KEY if k in keys and k in allowed]
    return picked or default(readable)


def remember(user, panel_code: str, keys: list[str]) -> None:
    """Keep the user's choice (unknown keys dropped; an empty choice goes back to the default)."""
    settings = dict(user.settings or {})
    per_panel = dict(settings.get("tracker_columns", {}))
    picked = [k for k in BY_KEY if k in keys]
    if picked:
        per_panel[panel_code] = picked
    else:
        per_panel.pop(panel_code, None)
    settings["tracker_columns"] = per_panel
    user.settings = settings  # a new dict, so the JSON column is written
    db.session.flush()


def fields_of(columns: list[Column]) -> list[str]:
    """The case fields these columns show (the gateway fetches and opens only those)."""
    return [f for c in columns for f in c.fields]


# -- cells: drawn in Python once per row, not by a template macro per cell ----------------
# Plain strings, each value through markupsafe's escape once; the row is one Markup.

def _text(value) -> str:
    return "" if value is None else str(escape(value))


@functools.lru_cache(maxsize=4096)
def _formatted(value) -> str:
    return format_date(value)


def _date(value, missing: str = "") -> str:
    return _formatted(value) if value else missing


def _capitalised(value) -> str:
    return str(escape((value or "").capitalize()))


_NOT_SET = '<span class="app-muted">Not set</span>'
_RAG_CELLS = {rag: f'<strong class="govuk-tag {tag}">{rag.capitalize()}</strong>' for rag, tag in RAG_TAG.items()}


def _rag(view: Mapping) -> str:
    rag = view.get("rag")
    if not rag:
        return _NOT_SET
    return _RAG_CELLS.get(rag) or f'<strong class="govuk-tag govuk-tag--grey">{escape(rag.capitalize())}</strong>'


def _lead(view: Mapping) -> str:
    officer = view.get("lead_officer")
    out = _text(view.get("lead_agency"))
    return f'{out}<br><span class="govuk-body-s">{escape(officer)}</span>' if officer else out


FLAG_TAG = {"no_engagement_6m": "govuk-tag--red", "no_engagement_3m": "govuk-tag--orange",
            "review_due": "govuk-tag--orange", "inclusion_review_overdue": "govuk-tag--red"}


class FlagTags:
    """The flags' GOV.UK tags, each label escaped once a page (on other panels: which ones)."""

    def __init__(self, labels: Mapping[str, tuple[str, str]]):
        self.tags = {flag: (f'<strong class="govuk-tag app-flag {FLAG_TAG.get(flag, "govuk-tag--blue")}">'
                            f'{escape(label)}') for flag, (label, _category) in labels.items()}

    def __call__(self, flags: list[str], other_panels: list[str]) -> str:
        out = []
        for flag in flags:
            if flag == "on_other_panels":
                out.append(f'{self.tags[flag]}: {escape(", ".join(other_panels))}</strong>')
            else:
                out.append(self.tags[flag] + "</strong>")
        return "".join(out)


CELLS: dict[str, Callable[[Mapping], str]] = {
    "ref": lambda v: _text(v["ref"]),
    "rag": _rag,
    "status": lambda v: _capitalised(v["status"]),
    "lead": _lead,
    "last_engagement": lambda v: _date(v.get("last_engagement"), "Never recorded"),
    "next_review": lambda v: _date(v.get("next_review")),
    "accommodation": lambda v: _text(v.get("accommodation")),
    "employment": lambda v: _text(v.get("employment")),
    "risk_level": lambda v: _capitalised(v.get("risk_level")),
    "mappa_level": lambda v: _text(v.get("mappa_level")),
    "order_end_date": lambda v: _date(v.get("order_end_date")),
    "cohort_type": lambda v: _capitalised(v.get("cohort_type")),
}


def cells(view: Mapping, columns: list[Column], flags: str) -> Markup:
    """One row's cells (`<td>`s), in the columns' order, from the gateway's view of the case (a
    field it withholds is absent, and its column is never among `columns`); `flags` drawn by
    FlagTags. Every value is escaped."""
    return Markup("".join(  # noqa: S704 - every value in it passed through markupsafe.escape
        f'<td class="govuk-table__cell">{flags if c.key == "flags" else CELLS[c.key](view)}</td>' for c in columns))
