"""The tracker's columns: chosen from what the viewer may read on the panel (a column of
"Withheld" in every row tells nobody anything), and then by the viewer among those, remembered
per user and panel. Name is always first; ref, status and flags need no grant."""

from __future__ import annotations

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

# Markup concatenation (which escapes the plain side): Markup.format costs ten times as much.
def _text(value) -> Markup:
    return escape("" if value is None else value)


def _date(value, missing: str = "") -> Markup:
    return escape(format_date(value) if value else missing)


def _capitalised(value) -> Markup:
    return escape((value or "").capitalize())


_NOT_SET = Markup('<span class="app-muted">Not set</span>')
_TAG, _TAG_END = Markup('<strong class="govuk-tag '), Markup("</strong>")
_CLOSE = Markup('">')
_RAG_CELLS = {rag: _TAG + tag + _CLOSE + rag.capitalize() + _TAG_END for rag, tag in RAG_TAG.items()}


def _rag(view: Mapping) -> Markup:
    rag = view.get("rag")
    if not rag:
        return _NOT_SET
    return _RAG_CELLS.get(rag) or _TAG + "govuk-tag--grey" + _CLOSE + rag.capitalize() + _TAG_END


_OFFICER, _OFFICER_END = Markup('<br><span class="govuk-body-s">'), Markup("</span>")


def _lead(view: Mapping) -> Markup:
    officer = view.get("lead_officer")
    out = _text(view.get("lead_agency"))
    return out + _OFFICER + officer + _OFFICER_END if officer else out


FLAG_TAG = {"no_engagement_6m": "govuk-tag--red", "no_engagement_3m": "govuk-tag--orange",
            "review_due": "govuk-tag--orange", "inclusion_review_overdue": "govuk-tag--red"}


def flag_tags(flags: list[str], labels: Mapping[str, tuple[str, str]], other_panels: list[str]) -> Markup:
    """The flags of one row as GOV.UK tags (on other panels: which ones)."""
    out = Markup("")
    for flag in flags:
        label = labels[flag][0] + (": " + ", ".join(other_panels) if flag == "on_other_panels" else "")
        out += _TAG + "app-flag " + FLAG_TAG.get(flag, "govuk-tag--blue") + _CLOSE + label + _TAG_END
    return out


CELLS: dict[str, Callable[[Mapping], Markup]] = {
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


def cells(view: Mapping, columns: list[Column], flags: Markup) -> list[Markup]:
    """One row's cells, in the columns' order, from the gateway's view of the case (a field it
    withholds is absent, and its column is never among `columns`)."""
    return [flags if c.key == "flags" else CELLS[c.key](view) for c in columns]
