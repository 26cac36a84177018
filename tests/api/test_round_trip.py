"""Export -> edit -> import, for every demo account that works cases, through the CLI.

A practitioner re-importing their own unmodified export must succeed and change nothing,
even though it carries columns their agency may only read (accommodation and employment
for the police on IOM, address and postcode for the council coordinator...). Changing
such a column is refused on that row alone, naming the row and column; changing a column
they may write goes through. An account whose agency may not write cases on the panel is
refused as a whole, as before, and nothing is written.
"""

from __future__ import annotations

import csv
import io
import re

import pytest

from cohort.models import Case
from core.extensions import db
from exchange.importing import read_only_columns
from sharing.policy import Policy

NEW_VALUES = {"postcode": "MD1 9ZZ", "address": "1 Changed Street, Midtown"}  # valid, and different
# Every demo account that sees case data, on a panel its agency takes part in.
ACCOUNTS = [
    ("coordinator@demo.example", "IOM"), ("mappa.coordinator@demo.example", "MAPPA"),
    ("police@demo.example", "IOM"), ("probation@demo.example", "IOM"), ("housing@demo.example", "IOM"),
    ("dwp@demo.example", "IOM"), ("das@demo.example", "DIP"), ("health@demo.example", "IOM"),
    ("yjs@demo.example", "SGV"), ("prison@demo.example", "IOM"), ("analyst@demo.example", "IOM"),
]


@pytest.fixture
def demo(app, runner):
    result = runner.invoke(args=["demo", "load", "--size", "60"])
    assert result.exit_code == 0, result.output
    return runner


def export(runner, tmp_path, email: str, panel: str) -> list[list[str]]:
    out = tmp_path / "export.csv"
    result = runner.invoke(args=["cohort", "export", "--panel", panel, "--as", email, "--format", "csv",
                                 "--purpose", "case_management", "-o", str(out)])
    assert result.exit_code == 0, result.output
    return list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))


def import_rows(runner, tmp_path, email: str, panel: str, rows: list[list[str]]):
    path = tmp_path / "edited.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    return runner.invoke(args=["cohort", "import", str(path), "--panel", panel, "--as", email])


def snapshot(panel: str) -> list[tuple]:
    return [(c.id, c.version, c.status) for c in db.session.execute(
        db.select(Case).join(Case.panel).filter_by(code=panel).order_by(Case.id)).scalars()]


def policy_of(email: str):
    from auth.models import User
    from panels.models import Panel

    user = db.session.execute(db.select(User).filter_by(email=email)).scalar_one()
    return Policy(user), db.session.execute(db.select(Panel).filter_by(code=panel_of(email))).scalar_one()


def panel_of(email: str) -> str:
    return dict(ACCOUNTS)[email]


def may_import(email: str) -> bool:
    policy, panel = policy_of(email)
    return policy.has_role("coordinator", "practitioner") and policy.can(panel.id, "offending", "write")


def changed_cases(output: str) -> int:
    """Cases the import changed, from its summary: "16 updated case(s) (15 unchanged)" -> 1."""
    updated, unchanged = re.search(r"(\d+) updated case\(s\) \((\d+) unchanged\)", output).groups()
    return int(updated) - int(unchanged)


def edited(rows: list[list[str]], column: str, value: str) -> tuple[list[list[str]], int]:
    """A copy with `column` changed on the first row that has a value there; (rows, row number)."""
    header = rows[0]
    at = header.index(column)
    copy = [list(r) for r in rows]
    for number, row in enumerate(copy[1:], 2):
        if len(row) > at and row[at]:
            row[at] = value
            return copy, number
    raise AssertionError(f"no exported row has a {column}")


@pytest.mark.parametrize("email", [a for a, _ in ACCOUNTS])
def test_round_trip(demo, tmp_path, email):
    panel = panel_of(email)
    rows = export(demo, tmp_path, email, panel)
    assert len(rows) > 5, "the demo cohort gives every panel a few cases"
    # the marking travels inside the file, as the last column of every row, and comes back in with it
    assert rows[0][-1] == "marking" and len({row[-1] for row in rows[1:]}) == 1
    assert rows[1][-1].startswith("Data protection marking: Export no. ")
    assert "for: Managing a case" in rows[1][-1] and "Destroy every copy by" in rows[1][-1]
    before = snapshot(panel)
    result = import_rows(demo, tmp_path, email, panel, rows)
    if not may_import(email):
        assert result.exit_code == 1 and "nothing was imported" in result.output
        assert snapshot(panel) == before
        return
    assert result.exit_code == 0, result.output
    assert "0 new case(s)" in result.output and "0 RAG change(s)" in result.output
    assert changed_cases(result.output) == 0
    assert snapshot(panel) == before, "an unchanged export changes nothing"

    policy, panel_row = policy_of(email)
    read_only = [c for c in read_only_columns(panel_row, tuple(rows[0]), policy)
                 if any(r[rows[0].index(c)] for r in rows[1:] if len(r) == len(rows[0]))]
    for column in read_only:
        changed, number = edited(rows, column, NEW_VALUES.get(column, "Changed by the importer"))
        refused = import_rows(demo, tmp_path, email, panel, changed)
        assert refused.exit_code == 1
        problems = [line for line in refused.output.splitlines() if line.startswith("row ")]
        where, ref = f"row {number}: {column}: ", f"(ref {changed[number - 1][rows[0].index('ref')]})"
        assert len(problems) == 1 and problems[0].startswith(where) and problems[0].endswith(ref), refused.output
        assert "may only read" in problems[0]
        assert snapshot(panel) == before

    writable = "last_engagement" if policy.can(panel_row.id, "offending", "write") else None
    changed, number = edited(rows, writable, "2026-11-02")
    accepted = import_rows(demo, tmp_path, email, panel, changed)
    assert accepted.exit_code == 0, accepted.output
    assert changed_cases(accepted.output) == 1


def test_read_only_columns_are_exercised(demo):
    """The accounts above include ones with read-only columns (else the test proves little)."""
    found = {}
    for email, _ in ACCOUNTS:
        policy, panel = policy_of(email)
        if may_import(email):
            from exchange.exporting import export_columns

            found[email] = read_only_columns(panel, tuple(export_columns(panel, policy)), policy)
    assert found["police@demo.example"] == ("accommodation", "employment")
    assert found["coordinator@demo.example"] == ("address", "postcode")
    assert found["yjs@demo.example"] == ("address", "postcode")
