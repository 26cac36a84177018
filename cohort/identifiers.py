"""Validation and canonical forms of the identifiers and dates found in cohort lists.

Panel spreadsheets are typed by hand in several agencies, so the same PNC ID arrives as
``01/12345a``, ``2001/0012345A`` or ``2001 / 12345 A``. A nominal joins an existing record
only on an exact identifier match (CONTRACT.md, "Cohort file"), which makes two things
essential: one canonical spelling of every identifier, and rejecting mistyped identifiers
at import rather than silently creating a second record for the same person. The PNC ID
and CRO number carry a check character for exactly that purpose, so it is verified here.

Everything in this module is pure (no database, no Flask) so that the importer, the API,
the forms and the tests share one definition.

``validate_*`` functions return an error text (phrased to follow ``"<column>: "``) or
``None``; ``normalise_*`` functions return the canonical form and raise ``ValueError`` with
the same text when the value is not valid.
"""

from __future__ import annotations

import datetime as dt
import re

__all__ = [
    "CHECK_ALPHABET",
    "pnc_check_char",
    "make_pnc",
    "validate_pnc",
    "normalise_pnc",
    "cro_check_char",
    "make_cro",
    "validate_cro",
    "normalise_cro",
    "validate_nomis",
    "normalise_nomis",
    "validate_crn",
    "normalise_crn",
    "validate_postcode",
    "normalise_postcode",
    "parse_date",
]

# The check alphabet used by the PNC and CRO: 23 letters, leaving out I, O and S because
# they are too easily read as 1, 0 and 5.
CHECK_ALPHABET = "ZABCDEFGHJKLMNPQRTUVWXY"
assert len(CHECK_ALPHABET) == 23

_PNC = re.compile(r"^(\d{2}|\d{4})/(\d{1,7})([A-Z])$")
_PNC_NO_SLASH = re.compile(r"^(\d{4})(\d{7})([A-Z])$")
_CRO = re.compile(r"^(\d{1,6})/(\d{2})([A-Z])$")
_CRO_SF = re.compile(r"^SF(\d{2})/(\d{1,6})([A-Z])$")
_NOMIS = re.compile(r"^[A-Z]\d{4}[A-Z]{2}$")
_CRN = re.compile(r"^[A-Z]\d{6}$")
# Outward code: A9, A99, AA9, AA99, A9A, AA9A (second letter never I, J or Z); inward 9AA
# with the inward letters never C, I, K, M, O or V. GIR 0AA is the one historic exception.
_POSTCODE = re.compile(
    r"^(?P<out>[A-PR-UWYZ](?:[0-9][0-9A-HJKPSTUW]?|[A-HK-Y][0-9][0-9ABEHMNPRV-Y]?))"
    r"(?P<in>[0-9][ABD-HJLNP-UW-Z]{2})$"
)
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_UK_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


def _compact(s: str) -> str:
    """Upper-case and drop all whitespace: people type "2001 / 12345 a" as often as not."""
    return "".join(s.split()).upper()


def _today(today: dt.date | None) -> dt.date:
    return today if today is not None else dt.date.today()


# --- PNC ID ----------------------------------------------------------------------------


def pnc_check_char(year2: int, serial: int) -> str:
    """The PNC check letter: (2-digit year followed by the 7-digit serial) mod 23.

    The year and serial are concatenated as digits ("01" + "0012345" -> 10012345), not
    added, which is why a transposed or mistyped digit almost always changes the letter.
    """
    if not 0 <= year2 <= 99:
        raise ValueError("PNC year must be two digits (0-99)")
    if not 0 <= serial <= 9_999_999:
        raise ValueError("PNC serial number must be at most seven digits")
    return CHECK_ALPHABET[int(f"{year2:02d}{serial:07d}") % 23]


def make_pnc(year4: int, serial: int) -> str:
    """A canonical PNC ID (``YYYY/NNNNNNNC``) with the correct check letter; for demo data and tests."""
    if not 1900 <= year4 <= 2099:
        raise ValueError("PNC year must be a four-digit year 1900-2099")
    return f"{year4:04d}/{serial:07d}{pnc_check_char(year4 % 100, serial)}"


def _expand_year(yy: int, today: dt.date | None) -> int:
    """Two-digit PNC years up to this year's two digits are 20xx, the rest 19xx.

    A PNC ID cannot be issued in the future, so "26" in 2026 is 2026 and "27" is 1927.
    """
    return 2000 + yy if yy <= _today(today).year % 100 else 1900 + yy


def _parse_pnc(s: str, today: dt.date | None) -> tuple[int, int, str] | str:
    """(year4, serial, check) of a PNC ID, or an error text."""
    if not s or not s.strip():
        return "is empty"
    v = _compact(s)
    m = _PNC.match(v) or _PNC_NO_SLASH.match(v)
    if not m:
        return f"{s.strip()!r} is not a PNC ID (expected YYYY/NNNNNNNC, for example {PNC_EXAMPLE})"
    year, serial_text, check = m.groups()
    serial = int(serial_text)
    year4 = _expand_year(int(year), today) if len(year) == 2 else int(year)
    if year4 < 1900 or year4 > _today(today).year:
        return f"{s.strip()!r} has an impossible PNC year {year4}"
    if serial == 0:
        return f"{s.strip()!r} has a PNC serial number of zero"
    expected = pnc_check_char(year4 % 100, serial)
    if check != expected:
        return (
            f"{s.strip()!r} has the wrong check character {check} for its year and serial number "
            "(look for a mistyped digit)"
        )
    return year4, serial, check


def validate_pnc(s: str, *, today: dt.date | None = None) -> str | None:
    """None if ``s`` is a PNC ID with a correct check letter, else what is wrong with it."""
    parsed = _parse_pnc(s, today)
    return parsed if isinstance(parsed, str) else None


def normalise_pnc(s: str, *, today: dt.date | None = None) -> str:
    """Canonical ``YYYY/NNNNNNNC`` form (four-digit year, serial zero-padded to seven digits).

    Raises ValueError (with the :func:`validate_pnc` text) when ``s`` is not a valid PNC ID.
    """
    parsed = _parse_pnc(s, today)
    if isinstance(parsed, str):
        raise ValueError(parsed)
    year4, serial, check = parsed
    return f"{year4:04d}/{serial:07d}{check}"


# --- CRO number -------------------------------------------------------------------------


def cro_check_char(year2: int, serial: int) -> str:
    """The CRO check letter: (2-digit year followed by the 6-digit serial) mod 23."""
    if not 0 <= year2 <= 99:
        raise ValueError("CRO year must be two digits (0-99)")
    if not 0 <= serial <= 999_999:
        raise ValueError("CRO serial number must be at most six digits")
    return CHECK_ALPHABET[int(f"{year2:02d}{serial:06d}") % 23]


def make_cro(serial: int, year2: int) -> str:
    """A canonical CRO number (``NNNNNN/YYC``) with the correct check letter."""
    return f"{serial:06d}/{year2:02d}{cro_check_char(year2, serial)}"


def _parse_cro(s: str) -> str | None:
    """The canonical CRO number, or None when ``s`` does not parse (see :func:`validate_cro`)."""
    v = _compact(s)
    m = _CRO.match(v)
    if m:
        serial, yy, check = int(m.group(1)), int(m.group(2)), m.group(3)
        if serial == 0 or check != cro_check_char(yy, serial):
            return None
        return f"{serial:06d}/{yy:02d}{check}"
    m = _CRO_SF.match(v)
    if m:
        yy, serial, check = m.group(1), int(m.group(2)), m.group(3)
        return f"SF{yy}/{serial:06d}{check}"
    return None


def validate_cro(s: str) -> str | None:
    """None if ``s`` is a CRO number, else what is wrong with it.

    ``NNNNNN/YYC`` numbers have their check letter verified. Older fingerprint-only
    ``SF YY/NNNNNN C`` numbers are accepted on their shape alone: their check letter is not
    reliably computable, and refusing them would lose a genuine identifier.
    """
    if not s or not s.strip():
        return "is empty"
    v = _compact(s)
    m = _CRO.match(v)
    if m:
        serial, yy, check = int(m.group(1)), int(m.group(2)), m.group(3)
        if serial == 0:
            return f"{s.strip()!r} has a CRO serial number of zero"
        if check != cro_check_char(yy, serial):
            return (
                f"{s.strip()!r} has the wrong check character {check} for its serial number and year "
                "(look for a mistyped digit)"
            )
        return None
    if _CRO_SF.match(v):
        return None
    return f"{s.strip()!r} is not a CRO number (expected NNNNNN/YYC, for example {CRO_EXAMPLE})"


def normalise_cro(s: str) -> str:
    """Canonical ``NNNNNN/YYC`` (serial zero-padded to six digits), or ``SFYY/NNNNNNC``.

    The SF form has no spaces so that it agrees with the matcher's blind-index form.
    Raises ValueError when ``s`` is not a valid CRO number.
    """
    error = validate_cro(s)
    if error:
        raise ValueError(error)
    result = _parse_cro(s)
    assert result is not None
    return result


# --- NOMIS and CRN ----------------------------------------------------------------------


def validate_nomis(s: str) -> str | None:
    """None if ``s`` is a NOMIS prison number (``A1234BC``: letter, four digits, two letters)."""
    if not s or not s.strip():
        return "is empty"
    if _NOMIS.match(_compact(s)):
        return None
    return f"{s.strip()!r} is not a NOMIS number (expected a letter, four digits and two letters, like A1234BC)"


def normalise_nomis(s: str) -> str:
    """Upper-case NOMIS number without spaces; ValueError when not valid."""
    error = validate_nomis(s)
    if error:
        raise ValueError(error)
    return _compact(s)


def validate_crn(s: str) -> str | None:
    """None if ``s`` is an nDelius case reference number (``X123456``: a letter and six digits)."""
    if not s or not s.strip():
        return "is empty"
    if _CRN.match(_compact(s)):
        return None
    return f"{s.strip()!r} is not an nDelius CRN (expected a letter and six digits, like X123456)"


def normalise_crn(s: str) -> str:
    """Upper-case CRN without spaces; ValueError when not valid."""
    error = validate_crn(s)
    if error:
        raise ValueError(error)
    return _compact(s)


# --- Postcode ---------------------------------------------------------------------------


def validate_postcode(s: str) -> str | None:
    """None if ``s`` has the shape of a UK postcode (any case and spacing), else why not.

    Only the shape is checked (no lookup of live postcodes), so a real but newly issued
    postcode is never refused.
    """
    if not s or not s.strip():
        return "is empty"
    v = _compact(s)
    if v == "GIR0AA" or _POSTCODE.match(v):
        return None
    return f"{s.strip()!r} is not a UK postcode"


def normalise_postcode(s: str) -> str:
    """Upper case with one space before the inward code ("sw1a1aa" -> "SW1A 1AA")."""
    error = validate_postcode(s)
    if error:
        raise ValueError(error)
    v = _compact(s)
    return f"{v[:-3]} {v[-3:]}"


# --- Dates ------------------------------------------------------------------------------


def parse_date(s: str) -> dt.date:
    """A date written ``YYYY-MM-DD`` (ISO) or ``DD/MM/YYYY`` (UK, day first; ``D/M/YYYY`` too).

    Nothing else is guessed: ``03/04/2025`` is always 3 April, and a US-order date such as
    ``12/31/2025`` is refused rather than read wrongly. Raises ValueError saying why.
    """
    text = (s or "").strip()
    if not text:
        raise ValueError("no date given (use YYYY-MM-DD or DD/MM/YYYY)")
    m = _ISO_DATE.match(text)
    if m:
        year, month, day = (int(g) for g in m.groups())
    else:
        m = _UK_DATE.match(text)
        if not m:
            raise ValueError(f"{text!r} is not a date (use YYYY-MM-DD or DD/MM/YYYY)")
        day, month, year = (int(g) for g in m.groups())
    if not 1 <= month <= 12:
        hint = " (dates are day first: DD/MM/YYYY)" if m.re is not _ISO_DATE and 1 <= day <= 12 else ""
        raise ValueError(f"{text!r} is not a date: there is no month {month}{hint}")
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise ValueError(f"{text!r} is not a date: day {day} does not exist in {year}-{month:02d}") from None


# Worked examples with the right check letters, for the error messages above.
PNC_EXAMPLE = make_pnc(2001, 12345)
CRO_EXAMPLE = make_cro(12345, 1)
