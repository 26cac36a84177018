"""Builders for the import/export tests and the import bench: synthetic cohort files."""

from __future__ import annotations

import datetime as dt
import random

import openpyxl
from openpyxl.cell.cell import TYPE_STRING

from cohort.identifiers import make_cro, make_pnc
from exchange.spreadsheet import COLUMNS

GIVEN = ["James", "Seán", "Zoë", "Łukasz", "Văn Minh", "Aoife", "Tyrone", "Imran", "Kelly", "Ioana"]
FAMILY = ["O'Brien", "Smith", "Nguyễn Thị", "Wojciechowski-Kaczmarek", "Khan", "Okafor", "Campbell", "Popescu"]


def synthetic_rows(count: int, *, seed: int = 7, prefix: str = "IOM", start: int = 1,
                   today: dt.date = dt.date(2026, 11, 23)) -> list[dict[str, str]]:
    """`count` valid cohort rows with unique refs and identifiers (every column filled)."""
    rng = random.Random(seed)
    rows = []
    for n in range(start, start + count):
        dob = dt.date(1960, 1, 1) + dt.timedelta(days=rng.randint(0, 16000))
        rows.append({
            "ref": f"{prefix}-{n:05d}",
            "given_name": rng.choice(GIVEN),
            "family_name": rng.choice(FAMILY),
            "aliases": "",
            "date_of_birth": dob.isoformat() if n % 2 else dob.strftime("%d/%m/%Y"),
            "gender": rng.choice(["Male", "Female"]),
            "pnc": make_pnc(2000 + n % 25, 100_000 + n),
            "cro": make_cro(100_000 + n, n % 25) if n % 3 == 0 else "",
            "nomis": "",
            "crn": f"X{n:06d}" if n % 4 == 0 else "",
            "address": f"{n % 200 + 1} Alfreton Road, Nottingham",
            "postcode": "NG7 3AB",
            "rag": rng.choice(["red", "amber", "green"]),
            "lead_agency": rng.choice(["POLICE", "NPS"]),
            "referral_date": (today - dt.timedelta(days=rng.randint(10, 700))).isoformat(),
            "last_engagement": (today - dt.timedelta(days=rng.randint(0, 9))).strftime("%d/%m/%Y"),
            "order_end_date": (today + dt.timedelta(days=rng.randint(10, 900))).isoformat(),
            "cohort_type": rng.choice(["fixed", "flex", "free"]),
            "mappa_category": "",
            "mappa_level": "",
            "risk_level": rng.choice(["low", "medium", "high"]),
            "accommodation": "Settled",
            "employment": "Unemployed",
        })
    return rows


def as_table(rows: list[dict[str, str]], columns=COLUMNS) -> tuple[list[str], list[list[str]]]:
    return list(columns), [[r.get(c, "") for c in columns] for r in rows]


def csv_bytes(rows: list[dict[str, str]], columns=COLUMNS, *, encoding: str = "utf-8") -> bytes:
    """A cohort CSV as a user would upload it (raw values, no neutralising)."""
    lines = [",".join(columns)]
    for r in rows:
        cells = []
        for c in columns:
            v = r.get(c, "")
            cells.append('"' + v.replace('"', '""') + '"' if any(ch in v for ch in ',"\n') else v)
        lines.append(",".join(cells))
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def xlsx_bytes(rows: list[dict[str, str]], columns=COLUMNS) -> bytes:
    import io

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(list(columns))
    for r in rows:
        ws.append([r.get(c, "") for c in columns])
        for cell in ws[ws.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = TYPE_STRING
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def exported(data: bytes) -> tuple[list[str], list[list[str]]]:
    """Read an export back (CSV or XLSX) as header + rows of strings."""
    from exchange.spreadsheet import read_table

    return read_table("export.xlsx" if data.startswith(b"PK") else "export.csv", data)

