"""The cohort file to start from: the columns this user may import on the panel, as CSV or
as an Excel workbook whose coded columns offer their allowed values in a drop-down (data
validation), with a second sheet saying what each column holds."""

from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from auth.models import partner_agencies
from core.extensions import db
from core.labels import label
from exchange.spreadsheet import COHORT_TYPES, COLUMNS, FIELD_CATEGORY, RAG_VALUES, RISK_LEVELS, write_csv
from sharing.policy import Policy

# Rows the drop-downs and date checks cover (a cohort file stops well before this).
TEMPLATE_ROWS = 5000
DATE_COLUMNS = ("date_of_birth", "referral_date", "last_engagement", "order_end_date")
NOTES = {
    "ref": "Required. Your reference for the case; a row with the ref of a case on the panel updates it.",
    "aliases": "Other names, separated by ;",
    "pnc": "PNC ID, e.g. 2001/0012345A",
    "lead_agency": "The agency's code (choose from the list)",
}


def importable_columns(policy: Policy, panel_id: int) -> list[str]:
    """ref, then every column whose category this user may write on the panel."""
    return [c for c in COLUMNS if c == "ref" or policy.can(panel_id, FIELD_CATEGORY[c], "write")]


def _choices() -> dict[str, list[str]]:
    agencies = [a.code for a in db.session.execute(partner_agencies()).scalars()]
    return {"rag": list(RAG_VALUES), "cohort_type": list(COHORT_TYPES), "risk_level": list(RISK_LEVELS),
            "mappa_level": ["1", "2", "3"], "mappa_category": ["1", "2", "3", "4"], "lead_agency": agencies}


def _note(column: str, choices: dict[str, list[str]]) -> str:
    if column in NOTES:
        return NOTES[column]
    if column in DATE_COLUMNS:
        return "A date: 2026-03-31 or 31/03/2026"
    if column in choices:
        return "One of: " + ", ".join(choices[column])
    return "Optional"


def template_csv(columns: list[str]) -> bytes:
    return write_csv(columns, [])


def template_xlsx(columns: list[str]) -> bytes:
    """The workbook: a 'Cohort' sheet with the header and validations, and a 'Columns' sheet."""
    choices = _choices()
    book = Workbook()
    sheet = book.active
    sheet.title = "Cohort"
    sheet.append(columns)
    sheet.freeze_panes = "A2"
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    lists = book.create_sheet("Lists")  # long lists (agency codes) live here, not in the formula
    for index, column in enumerate(columns, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = max(12, len(column) + 4)
        cells = f"{letter}2:{letter}{TEMPLATE_ROWS + 1}"
        if column in choices and choices[column]:
            values = choices[column]
            for row, value in enumerate(values, start=1):
                lists.cell(row=row, column=index, value=value)
            check = DataValidation(type="list", formula1=f"=Lists!${letter}$1:${letter}${len(values)}",
                                   allow_blank=True, showErrorMessage=True, errorTitle=column,
                                   error=f"Choose one of: {', '.join(values)}")
        elif column in DATE_COLUMNS:
            check = DataValidation(type="date", operator="greaterThan", formula1="1", allow_blank=True,
                                   showErrorMessage=True, errorTitle=column, error="Enter a date")
        else:
            continue
        sheet.add_data_validation(check)
        check.add(cells)
    lists.sheet_state = "hidden"
    notes = book.create_sheet("Columns")
    notes.append(["Column", "Information category", "What to write"])
    for cell in notes[1]:
        cell.font = Font(bold=True)
    for column in columns:
        notes.append([column, label(FIELD_CATEGORY.get(column, "")) or "Every party", _note(column, choices)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
