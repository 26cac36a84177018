"""Identifier validation and canonical forms (cohort.identifiers)."""

import datetime as dt

import pytest

from cohort.identifiers import (
    CHECK_ALPHABET,
    cro_check_char,
    make_cro,
    make_pnc,
    normalise_crn,
    normalise_cro,
    normalise_nomis,
    normalise_pnc,
    normalise_postcode,
    parse_date,
    pnc_check_char,
    validate_crn,
    validate_cro,
    validate_nomis,
    validate_pnc,
    validate_postcode,
)

TODAY = dt.date(2026, 11, 23)


# --- PNC ------------------------------------------------------------------------------


def test_check_alphabet_leaves_out_i_o_s():
    assert CHECK_ALPHABET == "ZABCDEFGHJKLMNPQRTUVWXY"
    assert not set("IOS") & set(CHECK_ALPHABET)


@pytest.mark.parametrize(
    ("year2", "serial", "number", "expected"),
    [
        # "01" + "0012345" = 10012345 = 23 * 435319 + 8 -> index 8 of ZABCDEFGH... = H
        (1, 12345, 10012345, "H"),
        # "99" + "1234567" = 991234567 = 23 * 43097155 + 2 -> B
        (99, 1234567, 991234567, "B"),
        # "00" + "0000001" = 1 -> A
        (0, 1, 1, "A"),
        # "26" + "0000000" = 260000000 = 23 * 11304347 + 19 -> V
        (26, 0, 260000000, "V"),
    ],
)
def test_pnc_check_char_known_examples(year2, serial, number, expected):
    assert int(f"{year2:02d}{serial:07d}") == number
    assert CHECK_ALPHABET[number % 23] == expected
    assert pnc_check_char(year2, serial) == expected


def test_make_pnc():
    assert make_pnc(2001, 12345) == "2001/0012345H"
    assert make_pnc(1999, 1234567) == "1999/1234567B"
    assert validate_pnc(make_pnc(1987, 42), today=TODAY) is None


@pytest.mark.parametrize(
    "text",
    ["2001/0012345H", "2001/12345H", "01/12345h", "01/0012345H", " 2001 / 12345 h ", "20010012345H"],
)
def test_valid_pnc_spellings_normalise_to_one_form(text):
    assert validate_pnc(text, today=TODAY) is None
    assert normalise_pnc(text, today=TODAY) == "2001/0012345H"


def test_wrong_check_character_is_rejected():
    error = validate_pnc("2001/0012345A", today=TODAY)
    assert error and "check character" in error
    with pytest.raises(ValueError, match="check character"):
        normalise_pnc("2001/0012345A", today=TODAY)
    # A single mistyped digit changes the letter.
    assert validate_pnc("2001/0012354H", today=TODAY) is not None


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "2001/",
        "2001/12345678H",
        "201/12345H",
        "2001/12345",
        "2001-0012345H",
        "ABCD/0012345H",
        "2001/0000000V",
    ],
)
def test_malformed_pnc_rejected(text):
    assert validate_pnc(text, today=TODAY) is not None


def test_pnc_year_cannot_be_in_the_future():
    assert validate_pnc(make_pnc(2026, 5), today=TODAY) is None
    assert validate_pnc(make_pnc(2027, 5), today=TODAY) is not None
    assert validate_pnc(f"1899/0000005{pnc_check_char(99, 5)}", today=TODAY) is not None


def test_two_digit_pnc_year_pivots_on_the_current_year():
    def two_digit(year2: int, serial: int = 7) -> str:
        return f"{year2:02d}/{serial}{pnc_check_char(year2, serial)}"

    assert normalise_pnc(two_digit(0), today=TODAY).startswith("2000/")
    assert normalise_pnc(two_digit(26), today=TODAY).startswith("2026/")
    assert normalise_pnc(two_digit(27), today=TODAY).startswith("1927/")
    assert normalise_pnc(two_digit(99), today=TODAY).startswith("1999/")
    # The pivot moves with the calendar.
    assert normalise_pnc(two_digit(27), today=dt.date(2027, 1, 1)).startswith("2027/")


# --- CRO ------------------------------------------------------------------------------


def test_cro_check_char_known_examples():
    # "01" + "012345" = 1012345 = 23 * 44015 -> remainder 0 -> Z
    assert 1012345 % 23 == 0
    assert cro_check_char(1, 12345) == "Z"
    # "95" + "123456" = 95123456 = 23 * 4135802 + 10 -> K
    assert 95123456 % 23 == 10
    assert cro_check_char(95, 123456) == "K"
    assert make_cro(12345, 1) == "012345/01Z"
    assert make_cro(123456, 95) == "123456/95K"


@pytest.mark.parametrize("text", ["012345/01Z", "12345/01z", " 12345 / 01 Z "])
def test_cro_normalised(text):
    assert validate_cro(text) is None
    assert normalise_cro(text) == "012345/01Z"


def test_cro_wrong_check_and_malformed():
    assert "check character" in validate_cro("012345/01A")
    for bad in ["", "1234567/01Z", "012345/1Z", "012345-01Z", "012345/01"]:
        assert validate_cro(bad) is not None, bad
    with pytest.raises(ValueError):
        normalise_cro("012345/01A")


def test_sf_cro_accepted_loosely():
    assert validate_cro("SF 95/123456 X") is None
    assert validate_cro("sf95/1234x") is None
    assert normalise_cro("SF 95/123456 X") == "SF95/123456X"
    assert normalise_cro("sf95/1234x") == "SF95/001234X"
    assert validate_cro("SF 95/1234567 X") is not None


# --- NOMIS, CRN, postcode -------------------------------------------------------------


def test_nomis():
    assert validate_nomis("A1234BC") is None
    assert normalise_nomis(" a1234bc ") == "A1234BC"
    assert normalise_nomis("A 1234 BC") == "A1234BC"
    for bad in ["", "A123BC", "11234BC", "A1234B", "A1234BCD", "AB1234C"]:
        assert validate_nomis(bad) is not None, bad
    with pytest.raises(ValueError):
        normalise_nomis("A123BC")


def test_crn():
    assert validate_crn("X123456") is None
    assert normalise_crn("x123456") == "X123456"
    for bad in ["", "X12345", "X1234567", "1234567", "XX12345"]:
        assert validate_crn(bad) is not None, bad
    with pytest.raises(ValueError):
        normalise_crn("X12345")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sw1a1aa", "SW1A 1AA"),
        ("NG7 2RD", "NG7 2RD"),
        ("le1  6zg", "LE1 6ZG"),
        ("DE223XY", "DE22 3XY"),
        ("M1 1AE", "M1 1AE"),
        ("B33 8TH", "B33 8TH"),
        ("CR2 6XH", "CR2 6XH"),
        ("W1A 0AX", "W1A 0AX"),
        ("EC1A 1BB", "EC1A 1BB"),
        ("gir 0aa", "GIR 0AA"),
    ],
)
def test_postcode_normalised(text, expected):
    assert validate_postcode(text) is None
    assert normalise_postcode(text) == expected


@pytest.mark.parametrize("text", ["", "NG7", "12345", "NG7 2R", "QA1 1AA", "NG7 2CI", "NOT A POSTCODE"])
def test_bad_postcode(text):
    assert validate_postcode(text) is not None
    with pytest.raises(ValueError):
        normalise_postcode(text)


# --- Dates ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-01-31", dt.date(2025, 1, 31)),
        ("31/01/2025", dt.date(2025, 1, 31)),
        ("3/4/2025", dt.date(2025, 4, 3)),  # day first: 3 April
        ("03/04/2025", dt.date(2025, 4, 3)),
        (" 2024-02-29 ", dt.date(2024, 2, 29)),
        ("29/02/2024", dt.date(2024, 2, 29)),
    ],
)
def test_parse_date(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "31/02/2025",
        "29/02/2025",
        "2025-13-01",
        "2025-02-30",
        "yesterday",
        "12/31/2025",
        "",
        "31/01/25",
        "2025/01/31",
        "31.01.2025",
        "2025-01-31T00:00:00",
    ],
)
def test_parse_date_rejects(text):
    with pytest.raises(ValueError) as exc:
        parse_date(text)
    assert str(exc.value)


def test_parse_date_messages_are_clear():
    with pytest.raises(ValueError, match="day first"):
        parse_date("12/31/2025")
    with pytest.raises(ValueError, match="31"):
        parse_date("31/02/2025")
    with pytest.raises(ValueError, match="YYYY-MM-DD or DD/MM/YYYY"):
        parse_date("yesterday")
