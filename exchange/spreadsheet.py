"""Reading, validating and writing cohort spreadsheets (CSV and XLSX).

Panels keep their cohorts in spreadsheets today; this module is the boundary where those
files enter and leave the service. It is pure (no database, no Flask) so that the CLI
importer, the web upload and the export views share one behaviour:

* :func:`read_table` turns uploaded bytes into a header row and rows of strings, whatever
  the encoding (UTF-8, UTF-8 with a BOM as Excel writes it, Windows-1252 as older Excel
  writes it), delimiter (comma, semicolon, tab) or format (CSV or XLSX). The type is judged
  by content, not by the file name, so a renamed image or an old ``.xls`` is refused.
* :func:`validate_rows` checks the whole file against the "Cohort file" section of
  CONTRACT.md and returns every problem at once, because imports are all-or-nothing and a
  coordinator fixing a list one error per attempt would give up.
* :func:`write_csv` and :func:`write_xlsx` export with formula injection neutralised
  (OWASP "CSV injection"): nominal data is typed by many hands, and a cell such as
  ``=HYPERLINK(...)`` must never run in the spreadsheet of the person who opens the export.
"""

from __future__ import annotations

import array
import csv
import datetime as dt
import io
import re
import zipfile
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields
from xml.parsers import expat

from cohort.identifiers import (
    normalise_crn,
    normalise_cro,
    normalise_nomis,
    normalise_pnc,
    normalise_postcode,
    parse_date,
)
from core import clock
from core.labels import in_sentence, label
from equality.categories import normalise_ethnicity
from sharing.gateway import FIELD_CATEGORY as CASE_FIELD_CATEGORY

__all__ = [
    "COLUMNS",
    "FIELD_CATEGORY",
    "REQUIRED_COLUMNS",
    "SpreadsheetError",
    "SpreadsheetTooLarge",
    "MAX_ROWS",
    "MAX_COLUMNS",
    "RowError",
    "CohortRow",
    "read_table",
    "check_name",
    "validate_rows",
    "neutralise",
    "write_csv",
    "write_xlsx",
    "MARKING_COLUMN",
    "MARKING_PREFIX",
    "EXPORT_ONLY_COLUMNS",
]

# The cohort file's columns, in CONTRACT.md order (also the export order).
COLUMNS: tuple[str, ...] = (
    "ref",
    "given_name",
    "family_name",
    "aliases",
    "date_of_birth",
    "gender",
    "pnc",
    "cro",
    "nomis",
    "crn",
    "address",
    "postcode",
    "rag",
    "lead_agency",
    "referral_date",
    "last_engagement",
    "order_end_date",
    "cohort_type",
    "mappa_category",
    "mappa_level",
    "risk_level",
    "accommodation",
    "employment",
    "ethnicity",  # addition (issue 16): equality monitoring, after the contract's columns
)
REQUIRED_COLUMNS: tuple[str, ...] = ("ref",)

# Column -> ISA category (CONTRACT.md), from the gateway's one field -> category map. `ref`
# has no category: it is the agency's own reference for the case, which every party sees.
FIELD_CATEGORY: dict[str, str] = {column: CASE_FIELD_CATEGORY[column] for column in COLUMNS if column != "ref"}

RAG_VALUES = ("red", "amber", "green")
COHORT_TYPES = ("fixed", "flex", "free")
RISK_LEVELS = ("low", "medium", "high", "very high")

# Longest accepted value per column (names use validate_rows(max_name_length=...)).
MAX_LENGTHS: dict[str, int] = {
    "ref": 100,
    "gender": 50,
    "address": 500,
    "lead_agency": 50,
    "accommodation": 500,
    "employment": 500,
}
MAX_ALIASES = 50

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # old .xls, and password-protected .xlsx
_BINARY_MAGICS = (
    b"\x89PNG",
    b"\xff\xd8\xff",  # JPEG
    b"GIF8",
    b"%PDF",
    b"BM",
    b"II*\x00",
    b"MM\x00*",  # TIFF
    b"\x1f\x8b",  # gzip
    b"Rar!",
    b"7z\xbc\xaf",
    b"MZ",  # Windows executable
    b"\x7fELF",
    b"SQLite format 3",
)
NOT_A_SPREADSHEET = "not a CSV or XLSX file"
# What a file's name may end with, by the format its content turns out to be. Excel's
# "Unicode text" and tab-separated exports are CSVs by another name.
CSV_SUFFIXES = (".csv", ".txt", ".tsv")
XLSX_SUFFIXES = (".xlsx",)
# Names of workbooks this service does not read, with what to do instead.
WORKBOOK_ADVICE = {
    ".xls": "an old Excel 97-2003 workbook: save it as an Excel Workbook (.xlsx)",
    ".xlsm": "a macro-enabled workbook: save it as an Excel Workbook (.xlsx), without macros",
    ".xlsb": "a binary Excel workbook: save it as an Excel Workbook (.xlsx)",
    ".ods": "an OpenDocument spreadsheet: save it as an Excel Workbook (.xlsx) or CSV",
    ".numbers": "a Numbers spreadsheet: export it as Excel (.xlsx) or CSV",
}
# Refuse workbooks whose XML would unpack to more than this (a "zip bomb").
MAX_UNCOMPRESSED_XLSX = 512 * 1024 * 1024

# What a cohort file may hold, checked while it is read and before any grid is built (a
# reader that builds the grid first can be made to allocate 512 GB by a 1.6 KB workbook).
# Rows: a header and 20,000 people, twice the largest import measured (bench.import_bench).
MAX_DATA_ROWS = 20_000
MAX_ROWS = MAX_DATA_ROWS + 1
# Columns: the 23 of the contract and room for stray ones, reported as unknown columns.
MAX_COLUMNS = 64
# All the text the first sheet's cells hold once read (a shared string is copied into every
# cell that refers to it), and all the text of the workbook's shared-string table.
MAX_TEXT_CHARS = 32 * 1024 * 1024
MAX_SHARED_STRINGS = 1_000_000
# Any one XML part calamine reads, unpacked, and its elements: bound what calamine keeps
# from it (style and number formats, sheet names, the shared strings) and the time to scan it.
MAX_PART_BYTES = 128 * 1024 * 1024
MAX_XML_ELEMENTS = 6_000_000
# One CSV row (quoted line breaks included): a row of 64 full cells is a few thousand.
MAX_CSV_ROW_CHARS = 1_000_000


class SpreadsheetError(Exception):
    """The file cannot be read as a cohort table at all (as opposed to a row being invalid)."""


class SpreadsheetTooLarge(SpreadsheetError):
    """The file holds more than a cohort file may, found before the table is built.

    ``row`` and ``cell`` say where, as the spreadsheet numbers them (``cell`` is ``None``
    when the problem is a whole row); the message reads like a :class:`RowError`.
    """

    def __init__(self, row: int, cell: str | None, problem: str) -> None:
        self.row, self.cell, self.problem = row, cell, problem
        super().__init__(f"row {row}: cell {cell}: {problem}" if cell else f"row {row}: {problem}")


@dataclass
class RowError:
    """One problem in a cohort file, said as the importer finds it in their spreadsheet.

    ``row`` is the spreadsheet row number as the user sees it in Excel: the header is row 1,
    so the first data row is row 2. Problems with the header itself are reported on row 1.
    ``column`` is the column's key (or ``column F`` for a column without a header, or the
    header as written for an unknown one), and ``ref`` the row's own ref cell as the
    importer typed it (None when it is empty or unreadable): quoting it back shows the
    importer only their own input, whoever else the service holds.
    Every message on a page reads ``Row 7 (ref IOM-0032): date of birth: ...``; the command
    line prints :attr:`line` (``row 7: date_of_birth: ... (ref IOM-0032)``, CONTRACT.md's shape).
    """

    row: int
    column: str
    problem: str
    ref: str | None = None

    @property
    def where(self) -> str:
        """The row as the spreadsheet numbers it, with its ref."""
        if self.row == 1:
            return "Row 1 (the column names)"
        return f"Row {self.row} (ref {self.ref})" if self.ref else f"Row {self.row} (no ref)"

    @property
    def column_words(self) -> str:
        """The column(s) in words: "date of birth", "PNC ID, CRO number"; other text as written."""
        return ", ".join(in_sentence(c) if c in COLUMNS else c for c in self.column.split(", "))

    def __str__(self) -> str:
        return f"{self.where}: {self.column_words}: {self.problem}"

    @property
    def line(self) -> str:
        """The command line's form, CONTRACT.md's ``row N: column: problem`` with the ref after it.

        Scripts parse this line, so it keeps the column's key; people read `str()` on the pages.
        """
        ref = f" (ref {self.ref})" if self.ref and self.row != 1 else ""
        return f"row {self.row}: {self.column}: {self.problem}{ref}"


@dataclass
class CohortRow:
    """One valid cohort row with typed, canonical values (None where the cell was empty).

    Identifiers are in canonical form (see cohort.identifiers), ``rag``, ``cohort_type`` and
    ``risk_level`` are lower-case, ``lead_agency`` is an upper-case agency code, and names
    are only stripped of surrounding white space: O'Brien, Zoë and Nguyễn Thị are kept
    exactly as written, because the record is about a real person and the duplicate
    matcher does its own folding. ``row`` is the spreadsheet row number (header = row 1)
    and ``columns`` the recognised columns present in the file, so an importer can tell
    "column absent" (leave the stored value alone) from "cell empty".
    """

    row: int
    ref: str
    given_name: str | None = None
    family_name: str | None = None
    aliases: list[str] = field(default_factory=list)
    date_of_birth: dt.date | None = None
    gender: str | None = None
    pnc: str | None = None
    cro: str | None = None
    nomis: str | None = None
    crn: str | None = None
    address: str | None = None
    postcode: str | None = None
    rag: str | None = None
    lead_agency: str | None = None
    referral_date: dt.date | None = None
    last_engagement: dt.date | None = None
    order_end_date: dt.date | None = None
    cohort_type: str | None = None
    mappa_category: int | None = None
    mappa_level: int | None = None
    risk_level: str | None = None
    accommodation: str | None = None
    employment: str | None = None
    ethnicity: str | None = None
    columns: tuple[str, ...] = ()

    def values(self) -> dict[str, object]:
        """The typed values by cohort column name (without ``row`` and ``columns``)."""
        return {name: getattr(self, name) for name in COLUMNS}


assert [f.name for f in fields(CohortRow)][1:-1] == list(COLUMNS)


# --- Reading ----------------------------------------------------------------------------


def read_table(filename: str, data: bytes) -> tuple[list[str], list[list[str]]]:
    """Header row and data rows, every cell a string, from a CSV or XLSX upload.

    The format is decided from the content: a ZIP holding ``xl/workbook.xml`` is read as
    XLSX (its first sheet), other binary content is refused with
    ``SpreadsheetError("not a CSV or XLSX file")``, and text is read as CSV. The name must
    agree (see :func:`check_name`): ``.csv``, ``.txt`` or ``.tsv`` for text, ``.xlsx`` for
    a workbook, so ``cohort.exe`` or a workbook named ``.csv`` is refused whatever it holds.
    Blank trailing rows and columns are dropped; blank rows in the middle are kept so that
    row numbers still match the spreadsheet. Whatever the file claims or holds, reading
    stays within MAX_ROWS x MAX_COLUMNS (and the text limits): a value beyond them is
    refused with :class:`SpreadsheetTooLarge` naming its row and cell, before any grid is
    built, so a tiny file cannot make the reader allocate gigabytes.
    """
    if not data:
        raise SpreadsheetError("the file is empty")
    if data.startswith(ZIP_MAGIC):
        check_name(filename, "xlsx")  # before unpacking anything
        table = _read_xlsx(data)
    elif _suffix(filename) in (*XLSX_SUFFIXES, *WORKBOOK_ADVICE):
        raise SpreadsheetError(_binary_message(data))
    else:
        table = _read_csv(data)
        check_name(filename, "csv")
    return _tidy(table)


def _suffix(filename: str) -> str:
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip().rstrip(".")
    return "." + name.rsplit(".", 1)[1].lower() if "." in name.lstrip(".") else ""


def check_name(filename: str, content: str) -> None:
    """Refuse a file whose name does not say what its content is ("csv" or "xlsx").

    Content alone would accept ``cohort.exe`` holding text, or a workbook someone renamed
    ``.csv``; a name that does not match is a sign of the wrong file, so it is an error
    (``not a CSV or XLSX file (...)``) that says which names are accepted.
    """
    suffix = _suffix(filename)
    expected = CSV_SUFFIXES if content == "csv" else XLSX_SUFFIXES
    if suffix in expected:
        return
    if suffix in WORKBOOK_ADVICE:
        why = f"{filename} is named as {WORKBOOK_ADVICE[suffix]}"
    elif suffix in CSV_SUFFIXES:
        why = (f"{filename} is named {suffix} but holds a ZIP archive such as an Excel workbook: "
               f"a workbook must keep its .xlsx name")
    elif suffix in XLSX_SUFFIXES:
        why = f"{filename} is named {suffix} but is not an Excel workbook"
    elif suffix:
        why = f"{filename} is named as a {suffix} file: the name must end .csv or .xlsx"
    else:
        why = f"{filename or 'the file'} has no .csv or .xlsx at the end of its name"
    raise SpreadsheetError(f"{NOT_A_SPREADSHEET} ({why})")


def _binary_message(data: bytes) -> str:
    if data.startswith(OLE_MAGIC):
        return f"{NOT_A_SPREADSHEET} (an old .xls or password-protected workbook: save it as .xlsx without a password)"
    return NOT_A_SPREADSHEET


def _read_xlsx(data: bytes) -> list[list[str]]:
    from python_calamine import CalamineWorkbook

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            names = _part_names(infos)
            if "xl/workbook.xml" not in names:
                raise SpreadsheetError(NOT_A_SPREADSHEET)
            if sum(info.file_size for info in infos) > MAX_UNCOMPRESSED_XLSX:
                raise SpreadsheetError("the XLSX file is too large")
            checked = _check_bounds(archive, names)
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error):
        raise SpreadsheetError("the XLSX file is damaged or incomplete") from None
    except NotImplementedError:  # a compression method only other tools write
        raise SpreadsheetError("the XLSX file could not be read (it is compressed in an unusual way)") from None
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        if not workbook.sheet_names:
            raise SpreadsheetError("the XLSX file has no sheets")
        if workbook.sheet_names[0] != checked:  # never build a sheet other than the one bounded
            raise _damaged("its first sheet cannot be found")
        # skip_empty_area=False keeps leading empty rows, so row numbers match Excel's.
        cells = workbook.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except SpreadsheetError:
        raise
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # calamine raises several unrelated types, and panics, for broken files
        raise SpreadsheetError(f"the XLSX file could not be read ({type(exc).__name__})") from None
    for i, row in enumerate(cells):  # row by row, so the values and their text are not both held
        cells[i] = [_cell_text(value) for value in row]
    return cells  # type: ignore[return-value]


# --- Bounds on a workbook, checked before calamine reads it ---------------------------
#
# calamine builds the first sheet as one dense grid from its top-left to its bottom-right
# value, copies a shared string into every cell that uses it, and keeps the workbook's
# whole shared-string table. So, before it is called, each part it reads is streamed once
# through expat (no tree is built) and the file is refused if the grid would pass
# MAX_ROWS x MAX_COLUMNS, the text MAX_TEXT_CHARS, and so on. The sheet's <dimension>
# is ignored (it can lie or be missing); positions are worked out as calamine works them
# out (a cell's r="B7", else one past the previous cell; a row's r, else one past the
# previous row), and any cell with a value element counts, even one that looks empty.
# Where a workbook could be read two ways (duplicate part names, an unresolvable sheet),
# it is refused rather than guessed at.

_CELL_REF = re.compile(r"([A-Za-z]{1,10})([0-9]{1,12})")
_RELATIONSHIP_ID = ("r:id", "relationships:id")  # the attribute names calamine looks for
# Names that move calamine's cursor: refused nested inside a cell's inline string.
_CELL_STRUCTURE = frozenset({"sheetData", "row", "c", "v", "f", "is"})


def _limits() -> str:
    return (f"a cohort file stops at row {MAX_ROWS} and column {_column_letter(MAX_COLUMNS - 1)} (a header, at most "
            f"{MAX_DATA_ROWS:,} people and {MAX_COLUMNS} columns)")


def _beyond(row: int, col: int) -> SpreadsheetTooLarge:
    return SpreadsheetTooLarge(row + 1, f"{_column_letter(col)}{row + 1}",
                               f"holds a value, but {_limits()}: delete everything outside that, including "
                               "cells that only look empty, and save the file again")


def _part_names(infos: Sequence[zipfile.ZipInfo]) -> dict[str, str]:
    """Part name as calamine looks it up (any case, ``\\`` as ``/``) -> the name in the archive.

    Two names that calamine would take for one part are refused: it might read the one not checked.
    """
    names: dict[str, str] = {}
    for info in infos:
        key = info.filename.replace("\\", "/").lower()
        if key in names:
            raise SpreadsheetError("the XLSX file is damaged (it holds two parts with the same name)")
        names[key] = info.filename
    return names


def _damaged(why: str) -> SpreadsheetError:
    return SpreadsheetError(f"the XLSX file could not be read ({why})")


def _refuse_doctype(*_: object) -> None:
    raise _damaged("it declares its own entities")


def _local(tag: str) -> str:
    """``x:row`` -> ``row``: calamine matches elements by local name."""
    return tag if ":" not in tag else tag.rpartition(":")[2]


def _too_many_elements(name: str) -> SpreadsheetError:
    return SpreadsheetError(f"the XLSX file is too large ({name} holds more than {MAX_XML_ELEMENTS:,} elements)")


def _counting(name: str, start: Callable[[str, dict[str, str]], None] | None) -> Callable[[str, dict[str, str]], None]:
    elements = [0]

    def on_start(tag: str, attrs: dict[str, str]) -> None:
        elements[0] += 1
        if elements[0] > MAX_XML_ELEMENTS:
            raise _too_many_elements(name)
        if start:
            start(_local(tag), attrs)

    return on_start


def _scan_part(archive: zipfile.ZipFile, name: str, start: Callable[[str, dict[str, str]], None] | None = None,
               end: Callable[[str], None] | None = None, text: Callable[[str], None] | None = None,
               raw: bool = False) -> None:
    """Stream one XML part through expat in constant memory, within the size and element budgets.

    Handlers get local names (``x:row`` -> ``row``), as calamine matches them, unless
    ``raw`` (the sheet's own handlers, the hot path, do that and the counting). A DTD is
    refused, so no entity can expand; bad XML, a bad CRC or a lying size is "damaged".
    The text calamine keeps from a part is no longer than the part, hence MAX_PART_BYTES.
    """
    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.StartElementHandler = start if raw else _counting(name, start)
    if end:
        parser.EndElementHandler = end if raw else lambda tag: end(_local(tag))
    if text:
        parser.CharacterDataHandler = text
    parser.StartDoctypeDeclHandler = _refuse_doctype
    parser.EntityDeclHandler = _refuse_doctype
    size = 0
    try:
        with archive.open(name) as part:
            while chunk := part.read(1 << 16):
                size += len(chunk)
                if size > MAX_PART_BYTES:
                    raise SpreadsheetError(f"the XLSX file is too large ({name} unpacks to more than "
                                           f"{MAX_PART_BYTES // (1024 * 1024)} MB)")
                parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except expat.ExpatError:
        raise _damaged(f"{name} is not well-formed XML") from None


def _first_sheet(archive: zipfile.ZipFile, names: dict[str, str]) -> tuple[str, str | None]:
    """The archive name and title of the sheet calamine opens as sheet 0, resolved as calamine resolves it."""
    found: dict[str, str | None] = {}

    def sheet(tag: str, attrs: dict[str, str]) -> None:
        if tag == "sheet" and "id" not in found:
            found["id"] = next((attrs[a] for a in _RELATIONSHIP_ID if a in attrs), None)
            found["title"] = attrs.get("name")

    _scan_part(archive, names["xl/workbook.xml"], start=sheet)
    wanted = found.get("id")
    rels = names.get("xl/_rels/workbook.xml.rels")
    if wanted is None or rels is None:
        raise SpreadsheetError("the XLSX file has no sheets")

    def relationship(tag: str, attrs: dict[str, str]) -> None:
        if tag == "Relationship" and attrs.get("Id") == wanted:
            found["target"] = attrs.get("Target")  # the last one wins, as in calamine's map

    _scan_part(archive, rels, start=relationship)
    target = found.get("target")
    if not target:
        raise _damaged("its first sheet cannot be found")
    path = target[1:] if target.startswith("/xl/") else target if target.startswith("xl/") else f"xl/{target}"
    key = path.replace("\\", "/").lower()
    if key not in names:
        raise _damaged("its first sheet cannot be found")
    return names[key], found.get("title")


def _shared_string_lengths(archive: zipfile.ZipFile, names: dict[str, str]) -> array.array:
    """Length of each shared string (4 bytes apiece), refusing a table too big to hold."""
    lengths = array.array("L")
    name = names.get("xl/sharedstrings.xml")
    if name is None:
        return lengths
    def start(tag: str, _attrs: dict[str, str]) -> None:
        if tag == "si":
            if len(lengths) >= MAX_SHARED_STRINGS:
                raise SpreadsheetError(f"the XLSX file is too large (its workbook holds more than "
                                       f"{MAX_SHARED_STRINGS:,} different texts)")
            lengths.append(0)

    def text(data: str) -> None:
        if lengths:
            lengths[-1] += len(data)

    _scan_part(archive, name, start=start, text=text)
    return lengths


class _SheetBounds:
    """Follows calamine's cursor through a sheet's XML and refuses what would not fit.

    Outside a cell, calamine reacts to <row>, <c> and </sheetData> at any depth; inside a
    <c> it reads each direct child whole (<v>, <f>, <is>; anything else is an error) and
    nothing nested in them moves its cursor. So inside a cell only direct children are
    followed here, and markup calamine would skip but a parser might read differently
    (elements inside <v> or <f>, cell structure inside <is>) is refused.

    A "valued" cell is one with a <v> or <is> child: calamine may keep it, so it counts
    even when it turns out empty. Cells are also counted (a cell written a million times
    is kept a million times) and the text they will hold is added up, shared strings at
    the longest length calamine could take the index to mean.
    """

    def __init__(self, shared: array.array) -> None:
        self.shared = shared
        self.in_data = False
        self.row_index = self.col_index = 0
        self.cell: tuple[int, int, str | None] | None = None
        self.depth = 0  # elements open inside the current cell
        self.child: str | None = None  # the cell's direct child being read
        self.valued = False
        self.value: list[str] | None = None  # the digits of a shared-string index being read
        self.cells = self.chars = self.elements = 0

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        self.elements += 1
        if self.elements > MAX_XML_ELEMENTS:
            raise _too_many_elements("the sheet")
        if ":" in tag:
            tag = _local(tag)
        if self.cell is not None:
            self._start_in_cell(tag)
        elif tag == "sheetData":
            self.in_data = True
        elif not self.in_data:
            return
        elif tag == "row":
            if "r" in attrs:
                self.row_index = _row_number(attrs["r"]) - 1
        elif tag == "c":
            if "r" in attrs:
                row, col = _cell_position(attrs["r"])
                self.col_index = col
            else:
                row, col = self.row_index, self.col_index
            self.cell, self.valued, self.depth = (row, col, attrs.get("t")), False, 0

    def _start_in_cell(self, tag: str) -> None:
        self.depth += 1
        if self.depth > 1:
            if self.child != "is" or tag in _CELL_STRUCTURE:
                raise _damaged(f"a cell's <{self.child}> holds <{tag[:20]}>")
            return
        if tag not in ("v", "f", "is"):
            raise _damaged(f"a cell holds <{tag[:20]}>")
        self.child = tag
        if tag == "f":
            return
        if not self.valued:
            self.valued = True
            self._count()
        self.value = [] if tag == "v" and self.cell[2] == "s" else None  # type: ignore[index]

    def end(self, tag: str) -> None:
        if not self.in_data:
            return
        if ":" in tag:
            tag = _local(tag)
        if self.cell is not None:
            if self.depth == 0:  # the cell's own end
                self.col_index += 1
                self.cell = None
            else:
                self.depth -= 1
                if self.depth == 0:
                    self._end_child()
        elif tag == "sheetData":
            self.in_data = False
        elif tag == "row":
            self.row_index += 1
            self.col_index = 0

    def _end_child(self) -> None:
        if self.value is not None:
            self._add_text(self._shared_length("".join(self.value)))
        self.child = self.value = None

    def _shared_length(self, digits: str) -> int:
        """Longest shared string the index text can name: calamine may read only a prefix of it, or 0."""
        candidates = {0} | {int(digits[:n]) for n in range(1, len(digits) + 1) if digits[:n].isdigit()}
        return max((self.shared[i] for i in candidates if i < len(self.shared)), default=0)

    def text(self, data: str) -> None:
        if self.child is None or self.child == "f":
            return
        if self.value is not None:
            if sum(map(len, self.value)) < 24:
                self.value.append(data)
        else:
            self._add_text(len(data))

    def _count(self) -> None:
        row, col, _ = self.cell  # type: ignore[misc]
        if row >= MAX_ROWS or col >= MAX_COLUMNS:
            raise _beyond(row, col)
        self.cells += 1
        if self.cells > MAX_ROWS * MAX_COLUMNS:
            raise SpreadsheetTooLarge(row + 1, None, f"the sheet holds more than {MAX_ROWS * MAX_COLUMNS:,} cells "
                                      "(one cell written many times?): the file is damaged or not a cohort list")

    def _add_text(self, length: int) -> None:
        self.chars += length
        if self.chars > MAX_TEXT_CHARS:
            row = self.cell[0] + 1 if self.cell else self.row_index + 1
            raise SpreadsheetTooLarge(row, None, f"by this row the sheet holds more than {MAX_TEXT_CHARS:,} "
                                      "characters of text, more than a cohort list can")


def _row_number(ref: str) -> int:
    if not ref.isdigit() or int(ref) < 1:
        raise _damaged(f"a row is numbered {ref[:20]!r}")
    return int(ref)


def _cell_position(ref: str) -> tuple[int, int]:
    """0-based (row, column) of a reference such as "XFD1048576" (lower case too, as calamine)."""
    m = _CELL_REF.fullmatch(ref)
    row = int(m.group(2)) if m else 0
    if row < 1:
        raise _damaged(f"a cell is named {ref[:20]!r}")
    letters = m.group(1)  # type: ignore[union-attr]
    col = _COLUMN_INDEX.get(letters)
    if col is None:
        col = 0
        for letter in letters.upper():
            col = col * 26 + ord(letter) - 64
        col -= 1
        if len(letters) <= 3:  # at most 2 x 18,278 names: the cache stays small
            _COLUMN_INDEX[letters] = col
    return row - 1, col


_COLUMN_INDEX: dict[str, int] = {}


def _check_bounds(archive: zipfile.ZipFile, names: dict[str, str]) -> str | None:
    """Refuse, in constant memory, a workbook calamine could not read within the limits.

    Returns the title of the sheet checked, so the caller can confirm calamine opens that one.
    """
    sheet, title = _first_sheet(archive, names)
    styles = names.get("xl/styles.xml")
    if styles is not None:
        _scan_part(archive, styles)  # budgets only: calamine keeps every style and number format
    bounds = _SheetBounds(_shared_string_lengths(archive, names))
    _scan_part(archive, sheet, start=bounds.start, end=bounds.end, text=bounds.text, raw=True)
    return title


def _cell_text(value: object) -> str:
    """An XLSX cell as the text the user sees: 3.0 -> "3", a date -> "2025-01-31"."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _decode(data: bytes) -> str:
    """Text of a CSV: UTF-16 (with BOM), UTF-8 with or without BOM, else Windows-1252."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise SpreadsheetError(NOT_A_SPREADSHEET) from None
    if b"\x00" in data[:65536] or data.startswith(_BINARY_MAGICS) or data.startswith(OLE_MAGIC):
        raise SpreadsheetError(_binary_message(data))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]  # a BOM on a file that is not UTF-8 after all (pasted-in Windows text)
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        # Five bytes are undefined in Windows-1252; Latin-1 reads every byte.
        return data.decode("latin-1")


_TEXT_CONTROLS = frozenset("\t\n\r\f\v")


def _looks_binary(text: str) -> bool:
    sample = text[:8192]
    controls = sum(1 for c in sample if c < " " and c not in _TEXT_CONTROLS)
    return controls > max(2, len(sample) // 100)


_LINE_END = re.compile(r"\r\n|\r|\n")


class _Lines:
    """The lines of a CSV text for csv.reader, no longer than MAX_CSV_ROW_CHARS per row.

    Lines are sliced off the text one at a time (no copy of the whole text, no line longer
    than the limit ever built) and split as csv.reader expects (on \r\n, \r or \n). ``row``
    is the spreadsheet row being read; the reader calls :meth:`next_row` after each.
    """

    def __init__(self, text: str, start: int) -> None:
        self.text, self.pos = text, start
        self.row, self.chars = 1, 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self.pos >= len(self.text):
            raise StopIteration
        limit = MAX_CSV_ROW_CHARS - self.chars
        m = _LINE_END.search(self.text, self.pos, min(len(self.text), self.pos + limit + 2))
        end = m.end() if m else min(len(self.text), self.pos + limit + 1)
        if end - self.pos > limit:
            raise SpreadsheetTooLarge(self.row, None, f"is longer than {MAX_CSV_ROW_CHARS:,} characters, "
                                      "more than a row of a cohort list can be")
        line, self.pos = self.text[self.pos:end], end
        self.chars += len(line)
        return line

    def next_row(self) -> None:
        self.row += 1
        self.chars = 0


def _used_width(row: list[str]) -> int:
    """Cells up to the last one that is not blank (trailing blank cells do not count)."""
    for i in range(len(row) - 1, -1, -1):
        if row[i].strip():
            return i + 1
    return 0


def _read_csv(data: bytes) -> list[list[str]]:
    """The rows of a CSV, up to its last non-blank row, each cut after its last non-blank cell.

    Read a row at a time and refused (naming the row and cell) at the first value beyond
    MAX_ROWS x MAX_COLUMNS, so blank lines and empty cells after the list cost nothing and
    no input makes the table larger than the limits.
    """
    text = _decode(data)
    if _looks_binary(text):
        raise SpreadsheetError(NOT_A_SPREADSHEET)
    newline = text.find("\n", 0, MAX_CSV_ROW_CHARS + 2)
    first_line = text[: newline if newline >= 0 else MAX_CSV_ROW_CHARS + 2].rstrip("\r")
    sep = re.fullmatch(r"sep=(.)", first_line)
    if sep:
        # Excel's "sep=;" hint line: Excel hides it, so rows are numbered as Excel shows them.
        delimiter = sep.group(1)
        start = newline + 1 if newline >= 0 else len(text)
    else:
        delimiter, start = _sniff_delimiter(first_line), 0
    lines = _Lines(text, start)
    table: list[list[str]] = []
    blanks = 0
    try:
        for row in csv.reader(lines, delimiter=delimiter, strict=False):
            width = _used_width(row)
            if not width:
                blanks += 1  # kept only as a count until a row with values follows
            else:
                if lines.row > MAX_ROWS or width > MAX_COLUMNS:
                    col = width - 1 if width > MAX_COLUMNS else next(i for i, c in enumerate(row) if c.strip())
                    raise _beyond(lines.row - 1, col)
                table.extend([] for _ in range(blanks))
                blanks = 0
                table.append(row[:width])
            lines.next_row()
    except csv.Error as exc:
        if "field limit" in str(exc):
            raise SpreadsheetTooLarge(lines.row, None, f"holds a cell longer than {csv.field_size_limit():,} "
                                      "characters, more than a cohort list can") from None
        raise SpreadsheetError(f"the CSV file could not be read: row {lines.row}: {exc}") from None
    return table


def _sniff_delimiter(header_line: str) -> str:
    """Comma, semicolon or tab: whichever the header line uses most (comma on a tie).

    The header line is the most reliable sample, as its cells are short known names;
    European Excel writes semicolons and "Unicode text" exports use tabs.
    """
    counts = {d: header_line.count(d) for d in (",", ";", "\t")}
    best = max(counts.values())
    if best == 0:
        return ","
    return next(d for d in (",", ";", "\t") if counts[d] == best)


def _tidy(table: list[list[str]]) -> tuple[list[str], list[list[str]]]:
    """Drop blank trailing rows and columns; pad every row to the same width."""
    while table and not any(cell.strip() for cell in table[-1]):
        table.pop()
    if not table:
        raise SpreadsheetError("the file is empty")
    width = 0
    for row in table:
        for i in range(len(row) - 1, width - 1, -1):
            if row[i].strip():
                width = i + 1
                break
    rows = [row[:width] + [""] * (width - len(row)) if len(row) != width else row for row in table]
    return rows[0], rows[1:]


# --- Validation -------------------------------------------------------------------------


class _Invalid(Exception):
    """A cell's problem, raised by a field parser and caught once per cell."""


# C0 and C1 controls, and the bidirectional overrides and marks.
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_CONTROLS_BUT_NEWLINES = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _check_controls(value: str, *, allow_newlines: bool) -> None:
    """Refuse control characters: invisible in a spreadsheet, they hide a name from search.

    Bidirectional overrides are refused too, since they make a name display differently
    from how it is stored. Free-text fields may contain line breaks and tabs.
    """
    m = (_CONTROLS_BUT_NEWLINES if allow_newlines else _CONTROLS).search(value)
    if m:
        c = m.group()
        if c < " " or "\x7f" <= c <= "\x9f":
            raise _Invalid(f"contains a control character (U+{ord(c):04X})")
        raise _Invalid(f"contains an invisible text-direction character (U+{ord(c):04X})")


def _name_parser(limit: int) -> Callable[[str], str]:
    def parse(value: str) -> str:
        _check_controls(value, allow_newlines=False)
        if len(value) > limit:
            raise _Invalid(f"is longer than {limit} characters")
        return value

    return parse


def _aliases_parser(limit: int) -> Callable[[str], list[str]]:
    name = _name_parser(limit)

    def parse(value: str) -> list[str]:
        aliases = [name(a.strip()) for a in value.split(";") if a.strip()]
        if len(aliases) > MAX_ALIASES:
            raise _Invalid(f"has more than {MAX_ALIASES} aliases")
        return aliases

    return parse


def _text_parser(column: str, *, multiline: bool = False) -> Callable[[str], str]:
    limit = MAX_LENGTHS[column]

    def parse(value: str) -> str:
        if multiline:
            value = value.replace("\r\n", "\n").replace("\r", "\n")
        _check_controls(value, allow_newlines=multiline)
        if len(value) > limit:
            raise _Invalid(f"is longer than {limit} characters")
        return value

    return parse


def _ethnicity(value: str) -> str:
    """An ONS 2021 census category, written in full, as its detailed part, or a common short form."""
    found = normalise_ethnicity(value)
    if found is None:
        raise _Invalid(f"must be an ONS 2021 census ethnic group such as 'White: Irish' or 'Not stated' "
                       f"(not {value[:40]!r})")
    return found


def _agency(value: str) -> str:
    _check_controls(value, allow_newlines=False)
    if len(value) > MAX_LENGTHS["lead_agency"]:
        raise _Invalid(f"is longer than {MAX_LENGTHS['lead_agency']} characters")
    return value.upper()


def _identifier_parser(normalise: Callable[[str], str]) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if len(value) > 40:
            raise _Invalid("is too long for an identifier")
        try:
            return normalise(value)
        except ValueError as exc:
            raise _Invalid(str(exc)) from None

    return parse


def _choice_parser(choices: Sequence[str]) -> Callable[[str], str]:
    allowed = ", ".join(choices[:-1]) + " or " + choices[-1]

    def parse(value: str) -> str:
        v = " ".join(value.replace("_", " ").split()).lower()
        if v in choices:
            return v
        raise _Invalid(f"must be {allowed} (not {value[:40]!r})")

    return parse


def _number_parser(low: int, high: int, prefix: str) -> Callable[[str], int]:
    # "2", "2.0" (from some exports), "Level 2", "Cat 2", "L2" and "C2" all mean 2.
    pattern = re.compile(rf"^(?:{prefix})?\s*([0-9]+)(?:\.0+)?$", re.IGNORECASE)

    def parse(value: str) -> int:
        m = pattern.match(value)
        if m and low <= int(m.group(1)) <= high:
            return int(m.group(1))
        raise _Invalid(f"must be a number from {low} to {high} (not {value[:40]!r})")

    return parse


def _date_parser(*, not_future: bool, not_before: dt.date | None, today: dt.date) -> Callable[[str], dt.date]:
    seen: dict[str, dt.date] = {}  # the same few hundred dates recur through a large file

    def parse(value: str) -> dt.date:
        d = seen.get(value)
        if d is None:
            try:
                d = parse_date(value)
            except ValueError as exc:
                raise _Invalid(str(exc)) from None
            seen[value] = d
        if not_future and d > today:
            raise _Invalid(f"{d.isoformat()} is in the future")
        if not_before is not None and d < not_before:
            raise _Invalid(f"{d.isoformat()} is before {not_before.year}")
        return d

    return parse


def _header_key(header: str) -> str:
    """Case-insensitive header with white space stripped ("Date of birth" -> "date_of_birth")."""
    return re.sub(r"[\s\-]+", "_", header.strip().lstrip("\ufeff").strip()).lower()


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


_UNIQUE_IDENTIFIERS = {k: label(k) for k in ("pnc", "cro", "nomis", "crn")}  # from the one label table


def _parsers(max_name_length: int, today: dt.date) -> dict[str, Callable[[str], object]]:
    """Each cohort column's parser: canonical value, or _Invalid saying what is wrong."""
    return {
        "ref": _text_parser("ref"),
        "given_name": _name_parser(max_name_length),
        "family_name": _name_parser(max_name_length),
        "aliases": _aliases_parser(max_name_length),
        "date_of_birth": _date_parser(not_future=True, not_before=dt.date(1900, 1, 1), today=today),
        "gender": _text_parser("gender"),
        "ethnicity": _ethnicity,
        "pnc": _identifier_parser(lambda v: normalise_pnc(v, today=today)),
        "cro": _identifier_parser(normalise_cro),
        "nomis": _identifier_parser(normalise_nomis),
        "crn": _identifier_parser(normalise_crn),
        "address": _text_parser("address", multiline=True),
        "postcode": _identifier_parser(normalise_postcode),
        "rag": _choice_parser(RAG_VALUES),
        "lead_agency": _agency,
        "referral_date": _date_parser(not_future=True, not_before=None, today=today),
        "last_engagement": _date_parser(not_future=True, not_before=None, today=today),
        "order_end_date": _date_parser(not_future=False, not_before=None, today=today),
        "cohort_type": _choice_parser(COHORT_TYPES),
        "mappa_category": _number_parser(1, 4, r"cat(?:egory)?|c"),
        "mappa_level": _number_parser(1, 3, r"level|l"),
        "risk_level": _choice_parser(RISK_LEVELS),
        "accommodation": _text_parser("accommodation", multiline=True),
        "employment": _text_parser("employment", multiline=True),
    }


def _read_header(headers: Sequence[str], rows: Sequence[Sequence[str]], known: Iterable[str],
                 errors: list[RowError]) -> dict[str, int]:
    """Each known column's index; everything else is an error on row 1."""
    known = set(known)
    index_of: dict[str, int] = {}
    for i, header in enumerate(headers):
        key = _header_key(header)
        if not key:
            if any(i < len(row) and row[i].strip() for row in rows):
                errors.append(RowError(1, f"column {_column_letter(i)}", "has values but no header"))
            continue
        if key in EXPORT_ONLY_COLUMNS:  # an export's information columns: read back, ignored
            continue
        if key not in known:
            errors.append(RowError(1, header.strip(), "unknown column"))
        elif key in index_of:
            errors.append(RowError(1, key, "duplicate column"))
        else:
            index_of[key] = i
    for column in REQUIRED_COLUMNS:
        if column not in index_of:
            errors.append(RowError(1, column, "required column missing"))
    return index_of


class _RowChecker:
    """Checks data rows one by one, remembering the refs and identifiers seen so far."""

    def __init__(self, index_of: dict[str, int], parsers: dict[str, Callable[[str], object]]) -> None:
        self.columns = tuple(c for c in COLUMNS if c in index_of)
        self.plan = [(c, index_of[c], parsers[c]) for c in self.columns if c != "ref"]
        self.ref_index = index_of.get("ref")
        self.parse_ref = parsers["ref"]
        self.unique = [(c, index_of[c]) for c in _UNIQUE_IDENTIFIERS if c in index_of]
        self.seen_refs: dict[str, int] = {}
        self.seen_ids: dict[str, dict[object, int]] = {c: {} for c, _ in self.unique}

    def check(self, number: int, row: Sequence[str]) -> tuple[CohortRow | None, list[RowError]]:
        """The row's values (None when it has problems) and its problems, each quoting its ref."""
        errors: list[RowError] = []
        values: dict[str, object] = {}
        quoted = self._ref(number, row, values, errors)
        for column, index, parse in self.plan:
            raw = row[index].strip()
            if not raw:
                continue
            try:
                values[column] = parse(raw)
            except _Invalid as exc:
                errors.append(RowError(number, column, str(exc)))
        self._unique_identifiers(number, values, errors)
        for error in errors:
            error.ref = quoted
        if errors or self.ref_index is None:
            return None, errors
        return CohortRow(row=number, columns=self.columns, **values), errors  # type: ignore[arg-type]

    def _ref(self, number: int, row: Sequence[str], values: dict[str, object], errors: list[RowError]) -> str | None:
        """Check the row's ref; return it as typed once it is readable (quoted in the row's messages)."""
        if self.ref_index is None:
            return None
        ref = row[self.ref_index].strip()
        if not ref:
            errors.append(RowError(number, "ref", "is required"))
            return None
        try:
            ref = self.parse_ref(ref)
        except _Invalid as exc:
            errors.append(RowError(number, "ref", str(exc)))
            values["ref"] = ref
            return None
        key = ref.casefold()
        if key in self.seen_refs:
            errors.append(RowError(number, "ref", f"is already used on row {self.seen_refs[key]}"))
        else:
            self.seen_refs[key] = number
        values["ref"] = ref
        return ref

    def _unique_identifiers(self, number: int, values: dict[str, object], errors: list[RowError]) -> None:
        for column, _ in self.unique:
            value = values.get(column)
            if value is None:
                continue
            seen = self.seen_ids[column]
            if value in seen:
                errors.append(RowError(number, column, f"same {_UNIQUE_IDENTIFIERS[column]} as row {seen[value]}"))
            else:
                seen[value] = number


def validate_rows(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    max_name_length: int = 200,
    today: dt.date | None = None,
) -> tuple[list[CohortRow], list[RowError]]:
    """Validate a whole cohort table; return the valid rows and EVERY error found.

    Errors are numbered as spreadsheet rows (header = row 1, first data row = row 2).
    Header problems (unknown, duplicate or missing columns, values under no header) are
    reported on row 1. Rows that are entirely blank are skipped. Within the file a ``ref``
    may appear once, and so may each PNC ID, CRO number, NOMIS number and CRN (the same
    person twice on one panel list is a mistake the importer could not resolve). Dates of
    birth, referral and last-engagement dates may not be in the future (``today`` defaults
    to the service clock). The caller imports only when the error list is empty.
    """
    parsers = _parsers(max_name_length, today or clock.today())
    errors: list[RowError] = []
    checker = _RowChecker(_read_header(headers, rows, parsers, errors), parsers)
    valid: list[CohortRow] = []
    width = len(headers)
    for offset, row in enumerate(rows):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < width:
            row = list(row) + [""] * (width - len(row))
        checked, row_errors = checker.check(offset + 2, row)
        errors.extend(row_errors)
        if checked is not None:
            valid.append(checked)
    return valid, errors


# --- Export markings (issue 16: no shadow lists) ---------------------------------------
#
# Every export carries, inside the file, who made it, when, why and the date it must be
# destroyed by: a last column, `marking`, holding the same words on every row (and, in a
# workbook, in the printed page header and the document properties). On every row, because
# rows are what get copied, sorted and filtered into other sheets: each copied row keeps its
# marking. The header stays row 1 and every data row is a case, so the file reads as a table
# (csv.DictReader, a spreadsheet's filter) and row numbers still match.
# The export's information columns (EXPORT_ONLY_COLUMNS, the marking too) are read back and ignored.

MARKING_PREFIX = "Data protection marking:"
MARKING_COLUMN = "marking"
EXPORT_ONLY_COLUMNS: tuple[str, ...] = ("status", "lead_officer", "next_review", "flags", "open_actions",
                                        MARKING_COLUMN)


def _marked(headers: Sequence[str], rows: Iterable[Sequence[object]], marking: str | None):
    """The headers and rows with the marking column added (unchanged without a marking)."""
    if not marking:
        return headers, rows
    words = f"{MARKING_PREFIX} {marking}"
    return [*headers, MARKING_COLUMN], ([*row, words] for row in rows)


# --- Writing ----------------------------------------------------------------------------

# OWASP CSV injection: a leading = + - @ (or tab / carriage return, which some spreadsheets
# skip before looking for one) starts a formula. Full-width forms are included because
# some locales' spreadsheets treat them the same way.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def neutralise(value: str) -> str:
    """Prefix a cell that a spreadsheet would read as a formula with ``'`` (OWASP advice).

    ``=1+1`` becomes ``'=1+1``: shown as text, never evaluated. Other values are unchanged.
    """
    if value and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def _export_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "; ".join(str(v) for v in value)
    return str(value)


def write_csv(headers: Sequence[str], rows: Iterable[Sequence[object]], *, marking: str | None = None) -> bytes:
    """A CSV export: UTF-8 with a BOM (so Excel reads accents correctly), CRLF line ends,
    every cell neutralised with :func:`neutralise`. Dates are written ISO ``YYYY-MM-DD``
    and lists (aliases) joined with ``"; "``, the forms :func:`read_table` reads back.
    With ``marking``, every row ends with it (see "Export markings").
    """
    headers, rows = _marked(headers, rows, marking)
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([neutralise(_export_text(h)) for h in headers])
    for row in rows:
        writer.writerow([neutralise(_export_text(v)) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


_SHEET_TITLE_JUNK = re.compile(r"[\[\]:*?/\\]")


def write_xlsx(headers: Sequence[str], rows: Iterable[Sequence[object]], sheet_title: str = "Cohort", *,
               marking: str | None = None) -> bytes:
    """An XLSX export in which no cell can be a formula.

    Every string is written as an explicit text cell (type ``s``, number format ``@``), so
    ``=1+1`` is stored and shown as the text ``=1+1``; cells that would otherwise start a
    formula also get Excel's "quote prefix" style, which keeps them text even if the user
    edits them. Dates are written as real dates, integers as numbers. Characters that the
    XLSX format cannot hold (C0 controls) are removed, and carriage returns become line
    breaks (XML would turn them into line breaks on reading anyway).
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    title = _SHEET_TITLE_JUNK.sub(" ", sheet_title).strip()[:31] or "Cohort"
    sheet = workbook.create_sheet(title=title)
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)

    def cell(value: object, header: bool = False) -> WriteOnlyCell:
        c = WriteOnlyCell(sheet)
        if value is None or value == "":
            return c
        if isinstance(value, bool):
            value = "TRUE" if value else "FALSE"
        if isinstance(value, dt.datetime):
            c.value = value
            c.number_format = "yyyy-mm-dd hh:mm:ss"
        elif isinstance(value, dt.date):
            c.value = value
            c.number_format = "yyyy-mm-dd"
        elif isinstance(value, int | float):
            c.value = value
        else:
            text = ILLEGAL_CHARACTERS_RE.sub("", _export_text(value).replace("\r\n", "\n").replace("\r", "\n"))
            c.value = text
            c.data_type = "s"  # set after the value: openpyxl would otherwise mark "=..." a formula
            c.number_format = "@"
            if text.startswith(_FORMULA_STARTS):
                c.quotePrefix = True
        if header:
            c.font = bold
        return c

    if marking:  # on every printed page too ("&" is Excel's header code character)
        sheet.oddHeader.center.text = f"{MARKING_PREFIX} {marking}".replace("&", "&&")[:250]
    headers, rows = _marked(headers, rows, marking)
    sheet.append([cell(h, header=True) for h in headers])
    for row in rows:
        sheet.append([cell(v) for v in row])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
