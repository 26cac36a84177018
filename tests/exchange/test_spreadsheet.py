"""Reading, validating and writing cohort spreadsheets (exchange.spreadsheet)."""

import datetime as dt
import io
import zipfile
import zlib

import openpyxl
import pytest

from cohort.identifiers import make_cro, make_pnc
from exchange.spreadsheet import (
    COLUMNS,
    FIELD_CATEGORY,
    CohortRow,
    RowError,
    SpreadsheetError,
    check_name,
    neutralise,
    read_table,
    validate_rows,
    write_csv,
    write_xlsx,
)

TODAY = dt.date(2026, 11, 23)
PNC = make_pnc(2001, 12345)  # 2001/0012345H
NAMES = [("O'Brien", "Seán"), ("Zoë", "Smith"), ("Nguyễn Thị", "Lan"), ("Wojciechowski-Kaczmarek", "Łukasz")]


def full_row(ref: str = "IOM-1", **over: str) -> dict[str, str]:
    """A row with every column filled; identifiers differ per ref (they must be unique in a file)."""
    n = zlib.crc32(ref.encode()) % 999_999 + 1
    row = {
        "ref": ref,
        "given_name": "Seán",
        "family_name": "O'Brien",
        "aliases": "Shaun O'Brien; Sean OBrien",
        "date_of_birth": "14/03/1990",
        "gender": "Male",
        "pnc": make_pnc(2005, n),
        "cro": make_cro(n, 5),
        "nomis": f"a{n % 10000:04d}bc",
        "crn": f"x{n:06d}",
        "address": "12 Alfreton Road, Nottingham",
        "postcode": "ng73ab",
        "rag": "Red",
        "lead_agency": "police",
        "referral_date": "2025-06-01",
        "last_engagement": "01/10/2026",
        "order_end_date": "2027-03-31",
        "cohort_type": "Fixed",
        "mappa_category": "2",
        "mappa_level": "3",
        "risk_level": "Very High",
        "accommodation": "Settled",
        "employment": "Unemployed",
        "ethnicity": "White: Irish",
    }
    row.update(over)
    return row


def table(*rows: dict[str, str], headers=COLUMNS) -> tuple[list[str], list[list[str]]]:
    return list(headers), [[r.get(h, "") for h in headers] for r in rows]


def validate(headers, rows, **kw):
    return validate_rows(headers, rows, today=TODAY, **kw)


# --- Columns --------------------------------------------------------------------------


def test_columns_follow_the_contract():
    assert COLUMNS[0] == "ref"
    contract = (
        "ref given_name family_name aliases date_of_birth gender pnc cro nomis crn address postcode rag "
        "lead_agency referral_date last_engagement order_end_date cohort_type mappa_category mappa_level "
        "risk_level accommodation employment"
    )
    assert (*contract.split(), "ethnicity") == COLUMNS  # the contract's columns, then the additions
    assert set(FIELD_CATEGORY) == set(COLUMNS) - {"ref"}
    assert FIELD_CATEGORY["pnc"] == "identity"
    assert FIELD_CATEGORY["postcode"] == "contact"
    assert FIELD_CATEGORY["mappa_category"] == "offending"
    assert FIELD_CATEGORY["mappa_level"] == "risk"
    assert FIELD_CATEGORY["rag"] == "risk"
    assert FIELD_CATEGORY["employment"] == "resettlement"


# --- Validation -----------------------------------------------------------------------


def test_valid_row_is_typed_and_normalised():
    valid, errors = validate(*table(full_row(pnc="01/12345h", cro="12345/01z", nomis="a1234bc", crn="x123456")))
    assert errors == []
    (row,) = valid
    assert isinstance(row, CohortRow)
    assert row.row == 2
    assert row.ref == "IOM-1"
    assert row.given_name == "Seán" and row.family_name == "O'Brien"
    assert row.aliases == ["Shaun O'Brien", "Sean OBrien"]
    assert row.date_of_birth == dt.date(1990, 3, 14)
    assert row.pnc == PNC
    assert row.cro == "012345/01Z"
    assert row.nomis == "A1234BC"
    assert row.crn == "X123456"
    assert row.postcode == "NG7 3AB"
    assert row.rag == "red"
    assert row.lead_agency == "POLICE"
    assert row.referral_date == dt.date(2025, 6, 1)
    assert row.last_engagement == dt.date(2026, 10, 1)
    assert row.order_end_date == dt.date(2027, 3, 31)
    assert row.cohort_type == "fixed"
    assert row.mappa_category == 2 and row.mappa_level == 3
    assert row.risk_level == "very high"
    assert row.columns == COLUMNS
    assert row.values()["pnc"] == PNC


def test_empty_cells_are_none_and_headers_are_forgiving():
    headers = ["  REF ", "Given_Name", "Family Name", "rag"]
    valid, errors = validate(headers, [["A1", "  Zoë  ", "", ""]])
    assert errors == []
    (row,) = valid
    assert row.given_name == "Zoë"  # stripped, otherwise unchanged
    assert row.family_name is None and row.rag is None and row.aliases == [] and row.pnc is None
    assert row.columns == ("ref", "given_name", "family_name", "rag")


def test_unknown_duplicate_and_missing_columns_reported_on_row_1():
    _, errors = validate(["given_name", "Shoe size", "given_name"], [["A", "9", "B"]])
    assert [str(e) for e in errors] == [
        "Row 1 (the column names): Shoe size: unknown column",
        "Row 1 (the column names): given name: duplicate column",
        "Row 1 (the column names): ref: required column missing",
    ]


def test_values_under_no_header_are_reported():
    valid, errors = validate(["ref", "", "rag"], [["A", "oops", "red"]])
    assert [str(e) for e in errors] == ["Row 1 (the column names): column B: has values but no header"]
    assert [r.ref for r in valid] == ["A"]  # the row itself is fine; the file as a whole is not


def test_every_error_is_reported_with_spreadsheet_row_numbers():
    rows = [
        full_row("A1"),
        full_row(
            "A2",
            date_of_birth="31/02/1990",
            pnc="2001/0012345A",
            rag="purple",
            cohort_type="rigid",
            mappa_category="5",
            mappa_level="0",
            risk_level="extreme",
            nomis="A123BC",
            crn="12345",
            cro="012345/01A",
            postcode="NOTAPOST",
            referral_date="2025-13-01",
            last_engagement="yesterday",
            order_end_date="12/31/2025",
        ),
        full_row("", given_name="Nobody"),
        full_row("a1", pnc=make_pnc(2010, 7), cro=make_cro(7, 10), nomis="B1111CD", crn="Y111111"),
        full_row("A5", pnc=full_row("A1")["pnc"], cro="", nomis="", crn=""),
    ]
    valid, errors = validate(*table(*rows))
    got = [(e.row, e.column) for e in errors]
    assert got == [
        (3, "date_of_birth"),
        (3, "pnc"),
        (3, "cro"),
        (3, "nomis"),
        (3, "crn"),
        (3, "postcode"),
        (3, "rag"),
        (3, "referral_date"),
        (3, "last_engagement"),
        (3, "order_end_date"),
        (3, "cohort_type"),
        (3, "mappa_category"),
        (3, "mappa_level"),
        (3, "risk_level"),
        (4, "ref"),
        (5, "ref"),
        (6, "pnc"),
    ]
    assert [r.ref for r in valid] == ["A1"]
    text = [str(e) for e in errors]
    assert "Row 4 (no ref): ref: is required" in text
    assert "Row 5 (ref a1): ref: is already used on row 2" in text
    assert "Row 6 (ref A5): PNC ID: same PNC ID as row 2" in text
    assert text[6] == "Row 3 (ref A2): RAG: must be red, amber or green (not 'purple')"
    # Every message of a row names it the same way, with the ref as the importer typed it.
    assert all(t.startswith("Row 3 (ref A2): ") for t in text[:14])
    assert text[0].startswith("Row 3 (ref A2): date of birth: ") and "referral date" in text[7]
    assert "check character" in text[1]


def test_row_error_str():
    assert str(RowError(7, "pnc", "bad", ref="IOM-0032")) == "Row 7 (ref IOM-0032): PNC ID: bad"
    assert str(RowError(7, "date_of_birth", "bad", ref="IOM-0032")) == "Row 7 (ref IOM-0032): date of birth: bad"
    assert str(RowError(7, "pnc, crn", "bad")) == "Row 7 (no ref): PNC ID, CRN: bad"
    assert str(RowError(1, "Shoe size", "unknown column")) == "Row 1 (the column names): Shoe size: unknown column"


def test_an_unreadable_ref_is_not_quoted():
    """A ref the file cannot hold (a control character) is not echoed back into the message."""
    headers, rows = table(full_row("A\x07B", rag="pink"))
    _, errors = validate(headers, rows)
    assert [str(e) for e in errors][0].startswith("Row 2 (no ref): ref: contains a control character")
    assert all("\x07" not in str(e) and str(e).startswith("Row 2 (no ref): ") for e in errors)


def test_future_and_ancient_dates_refused():
    rows = [
        full_row("A", date_of_birth="2026-11-24"),
        full_row("B", date_of_birth="1899-12-31"),
        full_row("C", referral_date="2027-01-01"),
        full_row("D", last_engagement="24/11/2026"),
        full_row("E", order_end_date="2030-01-01", last_engagement="23/11/2026"),
    ]
    valid, errors = validate(*table(*rows))
    assert [(e.row, e.column) for e in errors] == [
        (2, "date_of_birth"),
        (3, "date_of_birth"),
        (4, "referral_date"),
        (5, "last_engagement"),
    ]
    assert [r.ref for r in valid] == ["E"]


def test_names_too_long_or_with_control_characters():
    rows = [
        full_row("A", given_name="x" * 201),
        full_row("B", family_name="Smith\x00"),
        full_row("C", given_name="Tab\there"),
        full_row("D", family_name="Evil\u202eeman"),
        full_row("E", aliases="Fine;Bad\x07one"),
        full_row("F", address="x" * 501),
        full_row("G", address="Flat 2\r\n12 High Street"),
    ]
    valid, errors = validate(*table(*rows))
    assert [(e.row, e.column) for e in errors] == [
        (2, "given_name"),
        (3, "family_name"),
        (4, "given_name"),
        (5, "family_name"),
        (6, "aliases"),
        (7, "address"),
    ]
    assert "longer than 200" in errors[0].problem
    assert "control character" in errors[1].problem
    assert valid[0].address == "Flat 2\n12 High Street"
    _, errors = validate(*table(full_row("A", given_name="x" * 31)), max_name_length=30)
    assert [e.column for e in errors] == ["given_name"]


def test_choice_and_number_spellings():
    rows = [
        full_row(
            "A",
            rag=" AMBER ",
            cohort_type="FLEX",
            risk_level="very_high",
            mappa_category="Cat 4",
            mappa_level="Level 1",
        ),
        full_row("B", rag="green", cohort_type="free", risk_level="LOW", mappa_category="1.0", mappa_level="L2"),
    ]
    valid, errors = validate(*table(*rows))
    assert errors == []
    assert [(r.rag, r.cohort_type, r.risk_level, r.mappa_category, r.mappa_level) for r in valid] == [
        ("amber", "flex", "very high", 4, 1),
        ("green", "free", "low", 1, 2),
    ]


def test_blank_rows_skipped_but_numbering_kept():
    headers, rows = table(full_row("A"), {}, full_row("C", rag="pink"))
    valid, errors = validate(headers, rows)
    assert [r.row for r in valid] == [2]
    assert [str(e) for e in errors] == ["Row 4 (ref C): RAG: must be red, amber or green (not 'pink')"]


def test_short_rows_are_padded():
    valid, errors = validate(["ref", "given_name", "rag"], [["A"], ["B", "Bo"]])
    assert errors == []
    assert [(r.ref, r.given_name) for r in valid] == [("A", None), ("B", "Bo")]


def _big_csv(n: int, bad_at: int) -> bytes:
    lines = [",".join(COLUMNS)]
    for i in range(n):
        r = full_row(
            f"IOM-{i:05d}",
            pnc=make_pnc(2000 + i % 20, i + 1),
            cro=make_cro(i + 1, i % 20),
            nomis="",
            crn=f"X{i:06d}",
        )
        if i == bad_at:
            r["date_of_birth"] = "30/02/1990"
        lines.append(",".join(f'"{r[c]}"' for c in COLUMNS))
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def test_ten_thousand_rows_one_bad_row():
    """The one bad row in the middle is named exactly (its time is bench.import_bench's job:
    a timing here failed on a busy shared machine)."""
    data = _big_csv(10_000, bad_at=4_999)
    headers, rows = read_table("cohort.csv", data)
    assert len(rows) == 10_000
    valid, errors = validate(headers, rows)
    assert [str(e) for e in errors] == [
        "Row 5001 (ref IOM-04999): date of birth: '30/02/1990' is not a date: day 30 does not exist in 1990-02"
    ]
    assert len(valid) == 9_999


# --- Reading --------------------------------------------------------------------------


def test_csv_utf8_bom_and_semicolons():
    data = "\ufeffref;given_name;family_name\r\nA1;Zoë;O'Brien\r\n\r\n;;\r\n".encode()
    headers, rows = read_table("x.csv", data)
    assert headers == ["ref", "given_name", "family_name"]  # no BOM left on "ref"
    assert rows == [["A1", "Zoë", "O'Brien"]]  # blank trailing rows dropped


def test_csv_windows_1252():
    data = "ref,given_name,family_name\nA1,Zoë,O’Brien\nA2,Renée,Müller\n".encode("cp1252")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    headers, rows = read_table("x.csv", data)
    assert rows == [["A1", "Zoë", "O’Brien"], ["A2", "Renée", "Müller"]]


def test_csv_tab_and_utf16_and_quoted_newlines():
    data = 'ref\tgiven_name\taddress\nA1\tZoë\t"Flat 1\n2 High St"\n'.encode("utf-16")
    headers, rows = read_table("x.txt", data)
    assert headers == ["ref", "given_name", "address"]
    assert rows == [["A1", "Zoë", "Flat 1\n2 High St"]]


def test_csv_sep_hint_line():
    headers, rows = read_table("x.csv", b"sep=;\nref;rag\nA;red\n")
    assert headers == ["ref", "rag"] and rows == [["A", "red"]]


def test_xlsx_read_back_with_types_converted():
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["ref", "date_of_birth", "mappa_level", "given_name", "referral_date", "gender"])
    ws.append(["A1", dt.date(1990, 3, 14), 3, "Zoë", dt.datetime(2025, 6, 1), 2.5])
    ws.append([None, None, None, None, None, None])
    ws.append(["A3", "14/03/1990", 2.0, "O'Brien", None, True])
    ws.append([None] * 6)
    ws.append([None] * 6)
    buf = io.BytesIO()
    wb.save(buf)
    headers, rows = read_table("upload.xlsx", buf.getvalue())
    assert headers == ["ref", "date_of_birth", "mappa_level", "given_name", "referral_date", "gender"]
    assert rows == [
        ["A1", "1990-03-14", "3", "Zoë", "2025-06-01", "2.5"],
        ["", "", "", "", "", ""],
        ["A3", "14/03/1990", "2", "O'Brien", "", "TRUE"],
    ]
    valid, errors = validate(headers, rows)
    assert errors == []
    assert [(r.row, r.date_of_birth, r.mappa_level) for r in valid] == [
        (2, dt.date(1990, 3, 14), 3),
        (4, dt.date(1990, 3, 14), 2),
    ]


def test_format_decided_by_content_and_the_name_must_agree():
    workbook, text = write_xlsx(["ref"], [["A1"]]), b"ref\r\nA1\r\n"
    for name in ("cohort.xlsx", "COHORT.XLSX", "my.cohort.xlsx", "cohort.xlsx."):
        assert read_table(name, workbook) == (["ref"], [["A1"]]), name
    for name in ("cohort.csv", "Cohort.CSV", "unicode text.txt", "cohort.tsv", r"C:\lists\cohort.csv"):
        assert read_table(name, text) == (["ref"], [["A1"]]), name
    refused = {
        ("cohort.csv", workbook): "is named .csv but holds a ZIP archive such as an Excel workbook",
        ("cohort.exe", workbook): "cohort.exe is named as a .exe file: the name must end .csv or .xlsx",
        ("cohort.exe", text): "cohort.exe is named as a .exe file: the name must end .csv or .xlsx",
        ("cohort.csv.exe", text): "named as a .exe file",
        ("cohort.xlsx", text): "^not a CSV or XLSX file$",
        ("cohort", text): "cohort has no .csv or .xlsx at the end of its name",
        (".csv", text): "has no .csv or .xlsx at the end of its name",
        ("cohort.xlsm", workbook): "macro-enabled workbook: save it as an Excel Workbook",
        ("cohort.xls", text): "not a CSV or XLSX file",
        ("cohort.ods", workbook): "OpenDocument spreadsheet",
        ("cohort.html", text): "named as a .html file",
    }
    for (name, data), message in refused.items():
        with pytest.raises(SpreadsheetError, match=message):
            read_table(name, data)
    with pytest.raises(SpreadsheetError, match=r"^not a CSV or XLSX file \(cohort\.exe is named as a \.exe file"):
        check_name("cohort.exe", "csv")


PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000a49444154789c6300010000050001"
)


@pytest.mark.parametrize("name", ["cohort.xlsx", "cohort.csv", "cohort"])
def test_png_refused(name):
    with pytest.raises(SpreadsheetError, match="^not a CSV or XLSX file$"):
        read_table(name, PNG)


def test_other_binaries_refused():
    with pytest.raises(SpreadsheetError, match="not a CSV or XLSX file"):
        read_table("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    with pytest.raises(SpreadsheetError, match="not a CSV or XLSX file"):
        read_table("report.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n")
    with pytest.raises(SpreadsheetError, match="not a CSV or XLSX file"):
        read_table("cohort.xlsx", b"ref,given_name\nA,B\n")
    other_zip = io.BytesIO()
    with zipfile.ZipFile(other_zip, "w") as z:
        z.writestr("word/document.xml", "<w/>")
    with pytest.raises(SpreadsheetError, match="not a CSV or XLSX file"):
        read_table("cohort.xlsx", other_zip.getvalue())
    with pytest.raises(SpreadsheetError):
        read_table("cohort.xlsx", b"PK\x03\x04 truncated")
    with pytest.raises(SpreadsheetError, match="empty"):
        read_table("cohort.csv", b"")
    with pytest.raises(SpreadsheetError, match="empty"):
        read_table("cohort.csv", b"\r\n\r\n")


# --- Writing --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+44 115 000", "'+44 115 000"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("O'Brien", "O'Brien"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_neutralise(value, expected):
    assert neutralise(value) == expected


DANGEROUS = ["=1+1", '=HYPERLINK("http://evil.example","click")', "+1", "-1", "@SUM(A1:A2)", "\t=1", "\r=1"]


def test_csv_export_neutralises_every_cell_and_has_bom():
    data = write_csv(["ref", "=given_name"], [[v, v] for v in DANGEROUS])
    assert data.startswith(b"\xef\xbb\xbf")
    headers, rows = read_table("export.csv", data)
    assert headers == ["ref", "'=given_name"]
    assert [r[0] for r in rows] == ["'" + v for v in DANGEROUS]
    assert all(r[0] == r[1] for r in rows)


def test_csv_export_formats_dates_lists_and_none():
    data = write_csv(["a", "b", "c", "d"], [[dt.date(2025, 1, 2), ["X", "Y"], None, 3]])
    assert read_table("e.csv", data)[1] == [["2025-01-02", "X; Y", "", "3"]]


def test_xlsx_export_writes_text_not_formulas():
    data = write_xlsx(["ref", "note", "when", "n"], [[v, v, dt.date(2025, 1, 2), 4] for v in DANGEROUS])
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    assert ws.title == "Cohort"
    values = list(ws.iter_rows(min_row=2))
    for cells, v in zip(values, DANGEROUS, strict=True):
        for cell in cells[:2]:
            assert cell.data_type == "s"
            assert cell.value == v.replace("\r", "\n")  # XML has no bare CR: stored as a line break
            assert cell.number_format == "@"
    assert values[0][2].value == dt.datetime(2025, 1, 2)
    assert values[0][3].value == 4
    # No formula anywhere in the sheet XML.
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        sheet_xml = z.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml and "<f " not in sheet_xml
    # And calamine (the import path) reads the text back unchanged.
    assert [r[0] for r in read_table("e.xlsx", data)[1]] == [v.replace("\r", "\n") for v in DANGEROUS]


def test_xlsx_sheet_title_sanitised():
    data = write_xlsx(["ref"], [["A"]], sheet_title="IOM: cohort [2026] / export with a long name")
    title = openpyxl.load_workbook(io.BytesIO(data)).active.title
    assert len(title) <= 31 and not set(title) & set("[]:*?/\\")


@pytest.mark.parametrize("writer", [write_csv, write_xlsx])
def test_names_round_trip_unchanged(writer):
    rows = [
        [f"R{i}", given, family, f"{family} {given}; {given}", "1990-03-14", PNC if i == 0 else ""]
        for i, (family, given) in enumerate(NAMES)
    ]
    headers = ["ref", "given_name", "family_name", "aliases", "date_of_birth", "pnc"]
    data = writer(headers, rows)
    read_headers, read_rows = read_table("roundtrip." + ("csv" if writer is write_csv else "xlsx"), data)
    valid, errors = validate(read_headers, read_rows)
    assert errors == []
    assert [(r.family_name, r.given_name) for r in valid] == NAMES
    assert [r.aliases for r in valid] == [[f"{f} {g}", g] for f, g in NAMES]
    assert valid[0].pnc == PNC
    assert all(r.date_of_birth == dt.date(1990, 3, 14) for r in valid)


def test_full_export_round_trip():
    source = [
        full_row("A1"),
        full_row("A2", given_name="Zoë", family_name="Nguyễn Thị", pnc="", cro="", nomis="", crn=""),
    ]
    valid, errors = validate(*table(*source))
    assert errors == []
    exported = [[v for v in r.values().values()] for r in valid]
    for writer, name in ((write_csv, "e.csv"), (write_xlsx, "e.xlsx")):
        again, errors = validate(*read_table(name, writer(list(COLUMNS), exported)))
        assert errors == []
        assert [r.values() for r in again] == [r.values() for r in valid]
