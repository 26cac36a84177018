from duplicates.matching.nicknames import name_groups, same_group
from duplicates.matching.normalise import (
    name_tokens,
    normalise_identifier,
    normalise_name,
    normalise_postcode,
    phonetic_key,
    postcode_parts,
)


def test_apostrophes_and_prefixes_agree():
    forms = ["O'Brien", "OBrien", "O Brien", "O\u2019Brien", "o\u2018brien", "O\u02bcBRIEN"]
    assert {normalise_name(f) for f in forms} == {"obrien"}


def test_diacritics_case_and_whitespace():
    assert normalise_name("Zoë") == normalise_name("ZOE") == "zoe"
    assert normalise_name("Nguyễn") == "nguyen"
    assert normalise_name("Łukasz  ŻÓŁW") == "lukasz zolw"
    assert normalise_name("  Mary\tAnn ") == "mary ann"
    assert normalise_name("ﬁnn") == "finn"  # NFKC ligature


def test_dashes_unified():
    for dash in ["-", "\u2010", "\u2011", "\u2012", "\u2013", "\u2014", "\u2212", "\uff0d"]:
        assert normalise_name(f"Wojciechowski{dash}Kaczmarek") == "wojciechowski-kaczmarek"
    assert normalise_name("Smith - Jones") == "smith-jones"
    assert name_tokens("Smith-Jones") == ["smith", "jones"]


def test_mac_and_mc_are_close():
    assert normalise_name("Mc Donald") == "mcdonald"
    assert phonetic_key("McDonald") == phonetic_key("MacDonald")
    assert phonetic_key("Smith") == phonetic_key("Smyth")


def test_empty_values():
    assert normalise_name(None) == "" and normalise_name("  ") == "" and phonetic_key("") == ""
    assert normalise_identifier("pnc", None) == "" and normalise_postcode("") == ""


def test_pnc_year_and_serial_forms_agree():
    forms = ["2001/0012345A", "01/12345A", "01/0012345a", "2001 / 12345 A", " 2001/12345A "]
    assert {normalise_identifier("pnc", f) for f in forms} == {"2001/0012345A"}
    assert normalise_identifier("pnc", "95/1234567Z") == "1995/1234567Z"
    assert normalise_identifier("pnc", "2001/0012345A") != normalise_identifier("pnc", "2001/0012346A")


def test_other_identifiers():
    assert normalise_identifier("cro", "12345/01a") == "012345/01A"
    assert normalise_identifier("cro", "SF 95/1234 A") == "SF95/001234A"
    assert normalise_identifier("nomis", " a1234bc ") == "A1234BC"
    assert normalise_identifier("crn", "x 123 456") == "X123456"


def test_unknown_identifier_kind():
    import pytest

    with pytest.raises(ValueError):
        normalise_identifier("passport", "123")


def test_postcode():
    assert normalise_postcode("sw1a1aa") == "SW1A 1AA" == normalise_postcode(" SW1A  1AA")
    assert postcode_parts("ls6 2ab") == ("LS6 2AB", "LS6 2", "LS6")
    assert postcode_parts("2612") == ("2612", "", "")


def test_nicknames():
    assert same_group("Bill", "William") and same_group("Billy", "Will")
    assert same_group("Kasia", "Katarzyna") and same_group("Gosia", "Małgorzata")
    assert same_group("Mohammed", "Muhammad") and same_group("Mohamed", "Mohammad")
    assert same_group("Kate", "Catherine") and same_group("Katie", "Katherine")
    assert same_group("Kuba", "Jakub") and same_group("Tomek", "Tomasz")
    assert not same_group("Oliver", "Harry")
    assert not same_group("Samuel", "Samantha")  # both "Sam", but not each other
    assert name_groups("Nobody") == frozenset()


def test_normalisation_is_deterministic():
    assert [phonetic_key("Wojciechowski") for _ in range(3)] == [phonetic_key("Wojciechowski")] * 3
