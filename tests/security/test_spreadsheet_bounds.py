"""Spreadsheets are bounded by rows x columns before any grid is built (issue 12, hole 7).

A 1.6 KB workbook with one cell at A1 and one at XFD1048576 used to make the reader build
the whole 1,048,576 x 16,384 grid (a 512 GB allocation) and kill the upload worker. Every
hostile file here is a few KB of raw XML or text made on the spot, and each is read in a
child process held to 1 GB of address space, so "constant memory" is shown by the reader
answering (a refusal naming the cell as the spreadsheet numbers it) instead of dying.
The web upload and `flask cohort import` are checked to refuse through the same reader.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from exchange.spreadsheet import MAX_COLUMNS, MAX_ROWS
from tests.security.world import counts

REPO = Path(__file__).resolve().parents[2]
ADDRESS_SPACE = 1024 * 1024 * 1024

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
TYPES = ('<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
         '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
         '<Default Extension="xml" ContentType="application/xml"/>'
         '<Override PartName="/xl/workbook.xml" '
         'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
         '<Override PartName="/xl/worksheets/sheet1.xml" '
         'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>')
ROOT_RELS = ('<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
             f'<Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
WORKBOOK = (f'<?xml version="1.0"?><workbook xmlns="{NS}" xmlns:r="{REL}">'
            '<sheets><sheet name="Cohort" sheetId="1" r:id="rId1"/></sheets></workbook>')
WORKBOOK_RELS = ('<?xml version="1.0"?><Relationships '
                 'xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                 f'<Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>')
HEADER = '<row r="1"><c r="A1" t="inlineStr"><is><t>ref</t></is></c></row>'


def text_cell(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def workbook(sheet_data: str | list[str], *, dimension: str | None = None, shared: str | None = None,
             prologue: str = "") -> bytes:
    """A minimal .xlsx from raw XML; a list of pieces is streamed, so a large sheet costs no memory here."""
    pieces = [sheet_data] if isinstance(sheet_data, str) else sheet_data
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", TYPES)
        z.writestr("_rels/.rels", ROOT_RELS)
        z.writestr("xl/workbook.xml", WORKBOOK)
        z.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            dim = f'<dimension ref="{dimension}"/>' if dimension else ""
            sheet.write(f'<?xml version="1.0"?>{prologue}<worksheet xmlns="{NS}">{dim}<sheetData>'.encode())
            for piece in pieces:
                sheet.write(piece.encode())
            sheet.write(b"</sheetData></worksheet>")
        if shared is not None:
            z.writestr("xl/sharedStrings.xml", f'<?xml version="1.0"?><sst xmlns="{NS}">{shared}</sst>')
    return out.getvalue()


def many(piece: str, n: int, chunk: int = 10_000) -> list[str]:
    """`piece` n times, in chunks (for workbook's streaming writer)."""
    return [piece * min(chunk, n - i) for i in range(0, n, chunk)]


CHILD = textwrap.dedent("""
    import json, resource, sys
    resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
    from exchange.spreadsheet import SpreadsheetError, read_table
    path = sys.argv[1]
    with open(path, "rb") as f:
        data = f.read()
    try:
        headers, rows = read_table(path, data)
    except SpreadsheetError as exc:
        print(json.dumps({{"refused": str(exc)}}))
    else:
        print(json.dumps({{"read": [len(rows) + 1, len(headers)]}}))
""")


def read_in_1gb(tmp_path: Path, name: str, data: bytes) -> dict:
    """read_table on `data` in a child process limited to 1 GB of address space: its answer."""
    path = tmp_path / name
    path.write_bytes(data)
    del data
    proc = subprocess.run([sys.executable, "-c", CHILD.format(limit=ADDRESS_SPACE), str(path)],
                          cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, f"the reader died (exit {proc.returncode}): {proc.stderr[-1500:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_the_limits_leave_room_for_a_cohort_list():
    from exchange.spreadsheet import COLUMNS

    assert len(COLUMNS) < MAX_COLUMNS and MAX_ROWS > 10_000  # the 10,000-row import still fits


# --- XLSX: refused before the grid is built ------------------------------------------

FAR_CORNER = HEADER + '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'


@pytest.mark.parametrize(("name", "sheet", "cell", "row"), [
    ("far corner", FAR_CORNER, "XFD1048576", 1048576),
    ("middle-sized", HEADER + '<row r="100000"><c r="ZZ100000"><v>1</v></c></row>', "ZZ100000", 100000),
    ("empty-looking text far away", HEADER + '<row r="1048576">' + text_cell("XFD1048576", "") + "</row>",
     "XFD1048576", 1048576),
    # no row numbers at all: rows are counted as Excel counts them, past the limit
    ("rows without numbers", [HEADER, *many("<row><c><v>1</v></c></row>", MAX_ROWS)], f"A{MAX_ROWS + 1}",
     MAX_ROWS + 1),
    # cells without references run on from the last one, past the last column
    ("cells without references", '<row r="1"><c r="BK1"><v>1</v></c><c><v>2</v></c><c><v>3</v></c></row>',
     "BM1", 1),
    ("prefixed element names", HEADER + '<x:row r="1048576"><x:c r="XFD1048576"><x:v>1</x:v></x:c></x:row>',
     "XFD1048576", 1048576),
    ("a cell reference past Excel's grid", HEADER + '<row r="2"><c r="A99999999999"><v>1</v></c></row>',
     "A99999999999", 99999999999),
], ids=lambda value: value if isinstance(value, str) and len(value) < 40 else "")
def test_a_value_beyond_the_limits_is_refused_naming_its_cell(tmp_path, name, sheet, cell, row):
    answer = read_in_1gb(tmp_path, "cohort.xlsx", workbook(sheet))
    assert "refused" in answer, (name, answer)
    message = answer["refused"]
    assert message.startswith(f"row {row}: cell {cell}: "), message
    assert f"row {MAX_ROWS}" in message and "column BL" in message, message


def test_the_far_corner_workbook_is_small(tmp_path):
    assert len(workbook(FAR_CORNER)) < 2048  # the 1.6 KB file of the report


def test_a_lying_dimension_and_trailing_empty_cells_do_not_count(tmp_path):
    sheet = (HEADER.replace("</row>", text_cell("B1", "given_name") + "</row>")
             + '<row r="2"><c r="A2"><v>7</v></c>' + text_cell("B2", "Ann") + "</row>"
             # formatting without values out to the far corner, and a formula with no result
             + '<row r="3" s="1" customFormat="1"><c r="C3" s="1"/><c r="BZ3"><f>1+1</f></c></row>'
             + '<row r="1048576" s="1" customFormat="1"><c r="XFD1048576" s="1"/></row>')
    answer = read_in_1gb(tmp_path, "cohort.xlsx", workbook(sheet, dimension="A1:XFD1048576"))
    assert answer == {"read": [2, 2]}


def test_a_string_shared_by_many_cells_is_refused_before_it_is_copied_into_each(tmp_path):
    # 2,000 cells pointing at one 1,000,000-character string: 2 billion characters once read.
    rows = [HEADER] + [f'<row r="{n}"><c r="A{n}" t="s"><v>0</v></c></row>' for n in range(2, 2002)]
    answer = read_in_1gb(tmp_path, "cohort.xlsx", workbook(rows, shared="<si><t>" + "x" * 1_000_000 + "</t></si>"))
    assert answer["refused"].startswith("row "), answer
    assert "characters of text" in answer["refused"], answer


def test_one_cell_written_millions_of_times_is_refused(tmp_path):
    answer = read_in_1gb(tmp_path, "cohort.xlsx", workbook([HEADER, '<row r="2">',
                                                            *many('<c r="A2"><v>1</v></c>', 2_000_000), "</row>"]))
    assert answer["refused"].startswith("row 2: "), answer
    assert "cells" in answer["refused"], answer


def test_millions_of_shared_strings_are_refused(tmp_path):
    # 30 million empty strings: a 390 MB table (a few hundred KB zipped) the reader would hold.
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in (("[Content_Types].xml", TYPES), ("_rels/.rels", ROOT_RELS), ("xl/workbook.xml", WORKBOOK),
                           ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)):
            z.writestr(name, text)
        z.writestr("xl/worksheets/sheet1.xml", f'<worksheet xmlns="{NS}"><sheetData>{HEADER}</sheetData></worksheet>')
        with z.open("xl/sharedStrings.xml", "w", force_zip64=True) as sst:
            sst.write(f'<sst xmlns="{NS}">'.encode())
            block = b"<si><t/></si>" * 100_000
            for _ in range(300):
                sst.write(block)
            sst.write(b"</sst>")
    answer = read_in_1gb(tmp_path, "cohort.xlsx", out.getvalue())
    assert "refused" in answer and "different texts" in answer["refused"], answer


def test_entity_expansion_is_refused(tmp_path):
    laughs = ('<!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa">' + "".join(
        f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(8)) + "]>")
    answer = read_in_1gb(tmp_path, "cohort.xlsx",
                         workbook(HEADER + '<row r="2">' + text_cell("A2", "&i;") + "</row>", prologue=laughs))
    assert answer == {"refused": "the XLSX file could not be read (it declares its own entities)"}


FAR = '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'


@pytest.mark.parametrize(("name", "sheet"), [
    # calamine skips whatever is inside a cell's <f> or <v>; a bounds check that followed it
    # would stop looking (a nested </sheetData>) or lose its place (a nested row) and let the
    # far corner through to a 512 GB grid.
    ("sheetData closed inside a formula", HEADER + '<row r="2"><c r="A2"><f><sheetData/></f></c></row>' + FAR),
    ("a row inside a formula", HEADER + '<row r="1048576"><c r="XFD1048576"><f><row r="1"/></f></c>'
     '<c><v>1</v></c></row>'),
    ("a row inside a value", HEADER + '<row r="1048576"><c r="XFD1048576"><v><row r="1"/></v></c>'
     '<c><v>1</v></c></row>'),
    ("a cell inside an inline string", HEADER + '<row r="2"><c r="A2" t="inlineStr"><is><c r="A3"/></is></c>'
     '</row>' + FAR),
    ("an unknown element in a cell", HEADER + '<row r="2"><c r="A2"><x><sheetData/></x></c></row>' + FAR),
], ids=lambda value: value if isinstance(value, str) and len(value) < 40 else "")
def test_markup_inside_a_cell_cannot_hide_the_far_corner(tmp_path, name, sheet):
    answer = read_in_1gb(tmp_path, "cohort.xlsx", workbook(sheet))
    assert "refused" in answer, (name, answer)


@pytest.mark.parametrize("far_first", [True, False])
def test_a_second_sheet_part_under_a_backslash_name_is_refused(tmp_path, far_first):
    # calamine finds "xl\\worksheets\\sheet1.xml" as the sheet; zipfile keeps the two names apart
    benign = zipfile.ZipFile(io.BytesIO(workbook(HEADER)))
    far = f'<worksheet xmlns="{NS}"><sheetData>{FAR_CORNER}</sheetData></worksheet>'
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        if far_first:
            z.writestr("xl\\worksheets\\sheet1.xml", far)
        for info in benign.infolist():
            z.writestr(info.filename, benign.read(info.filename))
        if not far_first:
            z.writestr("xl\\worksheets\\sheet1.xml", far)
    answer = read_in_1gb(tmp_path, "cohort.xlsx", out.getvalue())
    assert answer == {"refused": "the XLSX file is damaged (it holds two parts with the same name)"}


def test_rich_inline_text_is_still_read(tmp_path):
    sheet = HEADER + ('<row r="2"><c r="A2" t="inlineStr"><is><r><rPr><b/></rPr><t>A-</t></r><r><t>1</t></r>'
                      '</is></c></row>')
    assert read_in_1gb(tmp_path, "cohort.xlsx", workbook(sheet)) == {"read": [2, 1]}


def test_a_workbook_that_makes_the_reader_panic_is_a_refusal():
    from exchange.spreadsheet import SpreadsheetError, read_table

    # calamine panics (a BaseException, so a 500) on a shared-string cell with no index
    with pytest.raises(SpreadsheetError, match="could not be read"):
        read_table("cohort.xlsx", workbook(HEADER + '<row r="2"><c r="A2" t="s"><v></v></c></row>'))


# --- CSV: read a line at a time, nothing kept that does not count -----------------------

def test_millions_of_blank_lines_after_the_list_do_not_count(tmp_path):
    assert read_in_1gb(tmp_path, "cohort.csv", b"ref,given_name\nA-1,Ann\n" + b"\n" * 20_000_000) == {"read": [2, 2]}


@pytest.mark.parametrize(("name", "data", "start"), [
    ("a row below the limit", b"ref\n" + b"A\n" * MAX_ROWS, f"row {MAX_ROWS + 1}: cell A{MAX_ROWS + 1}: "),
    ("a row below the limit after blank lines", b"ref\n" + b"\n" * 5_000_000 + b"late\n",
     "row 5000002: cell A5000002: "),
    ("a value past the last column", b"ref" + b"," * MAX_COLUMNS + b"x\n", "row 1: cell BM1: "),
    ("five million cells on one line", b"ref\n" + b"x," * 5_000_000 + b"\n", "row 2: "),
    ("one enormous cell over many lines", b'ref\n"' + b"x\n" * 1_000_000 + b'"\n', "row 2: "),
    ("one enormous line", b"ref\n" + b"x" * 50_000_000, "row 2: "),
], ids=lambda value: value if isinstance(value, str) and not value.startswith("row") else "")
def test_csv_beyond_the_limits_is_refused_naming_the_row(tmp_path, name, data, start):
    answer = read_in_1gb(tmp_path, "cohort.csv", data)
    assert "refused" in answer, (name, answer)
    assert answer["refused"].startswith(start), (name, answer)


def test_trailing_empty_csv_cells_do_not_count(tmp_path):
    assert read_in_1gb(tmp_path, "cohort.csv", b"ref" + b"," * 500 + b"\nA-1" + b"," * 500 + b"\n") == {"read": [2, 1]}


# --- The web upload and the command line use the same bounded reader ------------------

WIDE = workbook(HEADER + '<row r="2"><c r="A2"><v>1</v></c><c r="BM2"><v>1</v></c></row>')
LONG = b"ref\n" + b"A\n" * MAX_ROWS


def test_the_upload_page_refuses_with_the_cell(partnership, login_as, tmp_path, monkeypatch, app):
    from tests.security.test_uploads import refused_upload

    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    coord = login_as("coord")
    before = counts()
    message = refused_upload(coord, WIDE, "cohort.xlsx")
    assert message.startswith("The selected file is too large for a cohort list: row 2: cell BM2: "), message
    message = refused_upload(coord, LONG, "cohort.csv")
    assert message.startswith(f"The selected file is too large for a cohort list: row {MAX_ROWS + 1}: "), message
    assert not (tmp_path / "uploads").exists() or not list((tmp_path / "uploads").iterdir())
    assert counts() == before


def test_the_command_line_refuses_with_the_cell(partnership, runner, tmp_path, app, monkeypatch):
    before = counts()
    for name, data, expected in (("wide.xlsx", WIDE, "wide.xlsx: row 2: cell BM2: "),
                                 ("long.csv", LONG, f"long.csv: row {MAX_ROWS + 1}: ")):
        (tmp_path / name).write_bytes(data)
        result = runner.invoke(args=["cohort", "import", str(tmp_path / name), "--panel", "IOM",
                                     "--as", "probation@test.example"])
        assert result.exit_code == 1, result.output
        assert f"Error: {expected}" in result.output, result.output

    # A file larger than an upload may be is refused before it is read into memory.
    monkeypatch.setitem(app.config, "MAX_IMPORT_BYTES", 1024)
    (tmp_path / "big.csv").write_bytes(b"ref\n" + b"A\n" * 1000)
    result = runner.invoke(args=["cohort", "import", str(tmp_path / "big.csv"), "--panel", "IOM",
                                 "--as", "probation@test.example"])
    assert result.exit_code == 1, result.output
    assert "Error: big.csv: the file must be smaller than 1 KB" in result.output, result.output
    assert counts() == before
