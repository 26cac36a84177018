"""Template filters and globals shared by every feature."""

from __future__ import annotations

import datetime as dt

from flask import Flask

from core import clock
from core.labels import as_words, label

RAG_TAG = {"red": "govuk-tag--red", "amber": "govuk-tag--orange", "green": "govuk-tag--green"}


def format_date(value: dt.date | dt.datetime | None, fmt: str = "%-d %B %Y") -> str:
    """GOV.UK style dates: 3 June 2026."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = clock.to_london(value)
    return value.strftime(fmt)


def format_datetime(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    local = clock.to_london(value)
    return local.strftime("%-d %B %Y at %-I:%M%p").replace("AM", "am").replace("PM", "pm")


def register_template_helpers(app: Flask) -> None:
    app.add_template_filter(format_date, "date")
    app.add_template_filter(format_datetime, "datetime")
    app.add_template_filter(label, "label")
    app.add_template_filter(as_words, "words")
    app.add_template_filter(lambda rag: RAG_TAG.get(rag or "", "govuk-tag--grey"), "rag_tag")
    app.add_template_global(clock.today, "today")
