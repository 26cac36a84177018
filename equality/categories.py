"""The recorded values: ONS 2021 census ethnic groups, gender, and age bands.

Ethnicity is stored as the census's detailed category (19 of them, plus "Not stated"), as
the person or the referring agency gave it; counts use the five high-level groups so that
cells are large enough to show, and a population baseline may use either level.
"""

from __future__ import annotations

import datetime as dt
import re

NOT_STATED = "Not stated"

# high-level group -> its detailed categories (ONS 2021 census, England and Wales)
ETHNIC_GROUPS: dict[str, tuple[str, ...]] = {
    "Asian or Asian British": (
        "Asian or Asian British: Bangladeshi", "Asian or Asian British: Chinese", "Asian or Asian British: Indian",
        "Asian or Asian British: Pakistani", "Asian or Asian British: Other Asian",
    ),
    "Black, Black British, Caribbean or African": (
        "Black, Black British, Caribbean or African: African",
        "Black, Black British, Caribbean or African: Caribbean",
        "Black, Black British, Caribbean or African: Other Black",
    ),
    "Mixed or Multiple ethnic groups": (
        "Mixed or Multiple: White and Asian", "Mixed or Multiple: White and Black African",
        "Mixed or Multiple: White and Black Caribbean", "Mixed or Multiple: Other Mixed or Multiple",
    ),
    "White": (
        "White: English, Welsh, Scottish, Northern Irish or British", "White: Irish",
        "White: Gypsy or Irish Traveller", "White: Roma", "White: Other White",
    ),
    "Other ethnic group": ("Other ethnic group: Arab", "Other ethnic group: Any other ethnic group"),
}
ETHNICITIES: tuple[str, ...] = (*(c for cs in ETHNIC_GROUPS.values() for c in cs), NOT_STATED)
GROUP_OF: dict[str, str] = {c: g for g, cs in ETHNIC_GROUPS.items() for c in cs}
GROUP_OF[NOT_STATED] = NOT_STATED
GROUPS: tuple[str, ...] = (*ETHNIC_GROUPS, NOT_STATED)

# Other ways the same category is written in agencies' lists (matched case-insensitively,
# ignoring punctuation): the detailed part alone, "White British", the 16+1 codes.
_ALIASES: dict[str, str] = {
    "white british": "White: English, Welsh, Scottish, Northern Irish or British",
    "british": "White: English, Welsh, Scottish, Northern Irish or British",
    "english": "White: English, Welsh, Scottish, Northern Irish or British",
    "irish traveller": "White: Gypsy or Irish Traveller",
    "gypsy": "White: Gypsy or Irish Traveller",
    "black african": "Black, Black British, Caribbean or African: African",
    "black caribbean": "Black, Black British, Caribbean or African: Caribbean",
    "other black": "Black, Black British, Caribbean or African: Other Black",
    "other asian": "Asian or Asian British: Other Asian",
    "other white": "White: Other White",
    "other mixed": "Mixed or Multiple: Other Mixed or Multiple",
    "any other ethnic group": "Other ethnic group: Any other ethnic group",
    "not known": NOT_STATED, "unknown": NOT_STATED, "prefer not to say": NOT_STATED, "refused": NOT_STATED,
    "not recorded": NOT_STATED,
    "w1": "White: English, Welsh, Scottish, Northern Irish or British", "w2": "White: Irish",
    "w9": "White: Other White", "m1": "Mixed or Multiple: White and Black Caribbean",
    "m2": "Mixed or Multiple: White and Black African", "m3": "Mixed or Multiple: White and Asian",
    "m9": "Mixed or Multiple: Other Mixed or Multiple", "a1": "Asian or Asian British: Indian",
    "a2": "Asian or Asian British: Pakistani", "a3": "Asian or Asian British: Bangladeshi",
    "a9": "Asian or Asian British: Other Asian", "b1": "Black, Black British, Caribbean or African: Caribbean",
    "b2": "Black, Black British, Caribbean or African: African",
    "b9": "Black, Black British, Caribbean or African: Other Black", "o1": "Asian or Asian British: Chinese",
    "o9": "Other ethnic group: Any other ethnic group", "ns": NOT_STATED,
}


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


_LOOKUP: dict[str, str] = {}
for _c in ETHNICITIES:
    _LOOKUP[_key(_c)] = _c
    if ": " in _c:
        _LOOKUP.setdefault(_key(_c.split(": ", 1)[1]), _c)
for _alias, _c in _ALIASES.items():
    _LOOKUP[_key(_alias)] = _c


def normalise_ethnicity(text: str) -> str | None:
    """The census category a written value names, or None when it names none."""
    return _LOOKUP.get(_key(text or ""))


def population_members(name: str) -> set[str] | None:
    """The detailed categories a population baseline's key covers (a group, a category or an alias)."""
    if name in ETHNIC_GROUPS:
        return set(ETHNIC_GROUPS[name])
    one = normalise_ethnicity(name)
    return {one} if one and one != NOT_STATED else None


GENDERS: tuple[str, ...] = ("Male", "Female", "Other", NOT_STATED)


def gender_group(value: str | None) -> str:
    text = _key(value or "")
    if text in ("m", "male", "man"):
        return "Male"
    if text in ("f", "female", "woman"):
        return "Female"
    return NOT_STATED if not text or text in ("not stated", "unknown", "not known", "prefer not to say") else "Other"


AGE_BANDS: tuple[str, ...] = ("Under 18", "18 to 24", "25 to 34", "35 to 44", "45 to 54", "55 to 64", "65 and over",
                              NOT_STATED)
_BAND_FLOORS = ((65, "65 and over"), (55, "55 to 64"), (45, "45 to 54"), (35, "35 to 44"), (25, "25 to 34"),
                (18, "18 to 24"), (0, "Under 18"))


def age_on(dob: dt.date, day: dt.date) -> int:
    return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))


def age_band(dob: dt.date | None, day: dt.date) -> str:
    """The age band on `day` (derived from the date of birth, never stored)."""
    if dob is None:
        return NOT_STATED
    age = age_on(dob, day)
    return next(band for floor, band in _BAND_FLOORS if age >= floor)
