"""The synthetic demo cohort (cohort.demo_data)."""

import datetime as dt
import re
from collections import Counter, defaultdict

import pytest

from cohort.demo_data import PANELS, demo_cohort
from cohort.identifiers import validate_crn, validate_cro, validate_nomis, validate_pnc
from duplicates.matching.normalise import normalise_name
from exchange.spreadsheet import COLUMNS, validate_rows

TODAY = dt.date(2026, 11, 23)
ID_COLUMNS = ("pnc", "cro", "nomis", "crn")


@pytest.fixture(scope="module")
def cohort():
    return demo_cohort(today=TODAY)


def all_rows(cohort):
    return [(panel, row) for panel, rows in cohort.items() for row in rows]


def test_deterministic_for_a_seed(cohort):
    assert demo_cohort(today=TODAY) == cohort
    assert demo_cohort(seed=7, size=50, today=TODAY) == demo_cohort(seed=7, size=50, today=TODAY)
    assert demo_cohort(seed=7, size=50, today=TODAY) != demo_cohort(seed=8, size=50, today=TODAY)


def test_defaults_to_the_service_clock():
    from core import clock

    clock.set_now(dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC))
    try:
        assert demo_cohort(size=40) == demo_cohort(size=40, today=dt.date(2026, 3, 1))
    finally:
        clock.set_now(None)


def test_panels_and_columns(cohort):
    assert tuple(cohort) == PANELS == ("IOM", "IOM-MID", "MAPPA", "SGV", "DIP", "MARAC")
    for panel, row in all_rows(cohort):
        assert tuple(row) == COLUMNS
        assert all(isinstance(v, str) for v in row.values())
        assert row["ref"].startswith(panel + "-")
    assert all(len(rows) > 10 for rows in cohort.values())


@pytest.mark.parametrize("seed", [2026, 1, 99])
def test_every_panel_passes_validation(seed):
    for panel, rows in demo_cohort(seed=seed, today=TODAY).items():
        valid, errors = validate_rows(list(COLUMNS), [[r[c] for c in COLUMNS] for r in rows], today=TODAY)
        assert errors == [], (panel, [str(e) for e in errors[:5]])
        assert len(valid) == len(rows)


def test_identifiers_valid_unique_per_person_and_some_missing(cohort):
    rows = [row for _, row in all_rows(cohort)]
    for column, validate in zip(ID_COLUMNS, (validate_pnc, validate_cro, validate_nomis, validate_crn), strict=True):
        present = [r[column] for r in rows if r[column]]
        assert all(validate(v) is None for v in present), column
        assert len(present) < len(rows), f"some {column} should be missing"
    # Rows sharing any identifier share every identifier and the identity: the same person.
    by_pnc = defaultdict(list)
    for r in rows:
        if r["pnc"]:
            by_pnc[r["pnc"]].append(r)
    for group in by_pnc.values():
        keys = {tuple(r[c] for c in ("given_name", "family_name", "date_of_birth", *ID_COLUMNS)) for r in group}
        assert len(keys) == 1


def test_about_ten_percent_on_two_panels(cohort):
    panels_by_pnc = defaultdict(list)
    for panel, row in all_rows(cohort):
        if row["pnc"]:
            panels_by_pnc[row["pnc"]].append(panel)
    on_two = [p for p in panels_by_pnc.values() if len(p) == 2]
    assert 20 <= len(on_two) <= 40  # 10% of 300
    assert all(len(set(p)) == len(p) for p in panels_by_pnc.values())  # never twice on one panel
    assert max(len(p) for p in panels_by_pnc.values()) == 2


def test_near_duplicates_for_the_duplicate_check(cohort):
    rows = [(panel, row) for panel, row in all_rows(cohort)]
    by_dob = defaultdict(list)
    for panel, row in rows:
        by_dob[row["date_of_birth"]].append((panel, row))
    near = []
    for group in by_dob.values():
        for panel, row in group:
            if any(row[c] for c in ID_COLUMNS):
                continue
            for other_panel, other in group:
                if other is row or other_panel == panel:
                    continue
                # A nickname keeps the family name; a typo keeps the given name.
                same_given = other["given_name"] == row["given_name"]
                same_family = other["family_name"] == row["family_name"]
                close_family = normalise_name(other["family_name"])[:2] == normalise_name(row["family_name"])[:2]
                if other["pnc"] and same_given != same_family and (same_family or close_family):
                    near.append((row["given_name"], row["family_name"], other["given_name"], other["family_name"]))
    assert len(near) >= 3
    nicknames = [n for n in near if n[1] == n[3] and n[0] != n[2]]
    typos = [n for n in near if n[0] == n[2] and n[1] != n[3]]
    assert nicknames and typos


def test_realistic_values(cohort):
    rows = [(panel, row) for panel, row in all_rows(cohort)]
    rag = Counter(row["rag"] for _, row in rows)
    assert set(rag) == {"red", "amber", "green"}
    assert 0.12 <= rag["red"] / len(rows) <= 0.28
    assert {row["lead_agency"] for _, row in rows} == {"POLICE", "NPS", "LACS", "DAS"}
    for panel, row in rows:
        dob = dt.date.fromisoformat(row["date_of_birth"])
        age = (TODAY - dob).days / 365.25
        assert 16 <= age < 66, row
        if row["postcode"]:
            assert re.match(r"^(NG|LE|DE)\d{1,2} \d[A-Z]{2}$", row["postcode"]), row["postcode"]
        referral = dt.date.fromisoformat(row["referral_date"])
        assert TODAY - dt.timedelta(days=731) <= referral <= TODAY
        if row["last_engagement"]:
            assert referral <= dt.date.fromisoformat(row["last_engagement"]) <= TODAY
        if panel == "MAPPA":
            assert row["mappa_category"] in "1234" and row["mappa_level"] in ("2", "3")
            assert row["cohort_type"] == ""
        else:
            assert row["mappa_category"] == row["mappa_level"] == ""
        if panel in ("IOM", "IOM-MID"):
            assert row["cohort_type"] in ("fixed", "flex", "free")
        elif panel != "MAPPA":
            assert row["cohort_type"] == ""
    gaps = [(TODAY - dt.date.fromisoformat(row["last_engagement"])).days for _, row in rows if row["last_engagement"]]
    assert sum(91 <= g <= 182 for g in gaps) >= 10
    assert sum(g > 182 for g in gaps) >= 10


def test_names_of_varied_backgrounds(cohort):
    from cohort import demo_data

    everyone = [name for _, m, f, fam in demo_data._NAMES.values() for name in (*m, *f, *fam)]
    for name in ["O'Brien", "Zoë", "Wojciechowski-Kaczmarek", "Nguyễn", "Thị Lan", "Siobhán", "Ionuț"]:
        assert name in everyone
    names = {row["family_name"] for _, row in all_rows(cohort)}
    assert any("'" in n for n in names)
    assert any("-" in n for n in names)
    assert any(any(ord(c) > 127 for c in n) for n in names)
    assert len(names) > 60
