"""The tracker's columns: chosen from what the viewer may read on the panel (a column of
"Withheld" in every row tells nobody anything), and then by the viewer among those, remembered
per user and panel. Name is always first; ref, status and flags need no grant."""

from __future__ import annotations

from dataclasses import dataclass

from core.extensions import db


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    category: str | None  # None: shown to every party to the panel
    sort: str | None = None  # the TrackerParams sort key, if the column sorts
    standard: bool = True  # shown unless the viewer chose otherwise


COLUMNS: tuple[Column, ...] = (
    Column("ref", "Ref", None, "ref"),
    Column("rag", "RAG", "risk", "rag"),
    Column("status", "Status", None, "status"),
    Column("lead", "Lead agency and officer", "offending", "lead_agency"),
    Column("last_engagement", "Last engagement", "offending", "last_engagement"),
    Column("next_review", "Next review", "risk", "next_review"),
    Column("accommodation", "Accommodation", "resettlement", standard=False),
    Column("employment", "Employment", "resettlement", standard=False),
    Column("risk_level", "Risk of serious harm", "risk", standard=False),
    Column("mappa_level", "MAPPA level", "risk", standard=False),
    Column("order_end_date", "Order or licence end", "offending", standard=False),
    Column("cohort_type", "IOM cohort", "offending", standard=False),
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
