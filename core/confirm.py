"""One way to ask "are you sure?" before a drastic or irreversible action (GOV.UK pattern,
not a browser dialog): the first post shows what will happen, the second carries
confirm=yes and does it."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import render_template, request


@dataclass
class Confirmation:
    title: str
    consequences: list[str]
    button: str
    action: str
    cancel: str
    fields: dict[str, str] = field(default_factory=dict)
    warning: str | None = None
    # A bulleted list after the consequences: exactly what goes (erasing lists every kind of record).
    listed: list[str] = field(default_factory=list)


def confirmed() -> bool:
    """True when this post is the answer to the confirmation page."""
    return request.form.get("confirm") == "yes"


def ask(confirmation: Confirmation) -> str:
    """The confirmation page for a post that has not been confirmed yet."""
    return render_template("shared/confirm.html", confirm=confirmation, title=confirmation.title)
