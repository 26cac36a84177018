"""The partnership file's `population` section: the local baseline for equality monitoring.

    population:
      ethnicity: {White British: 152000, Asian or Asian British: 21000, ...}
      gender: {Male: 98000, Female: 101000}
      age_band: {18 to 24: 21000, ...}

Ethnicity keys are ONS 2021 groups ("Asian or Asian British"), detailed categories
("White: Irish") or common short forms ("White British"); they must not overlap, because
the cohort is counted in exactly these groups (anyone outside them in "Other groups"). Gender
and age-band keys must be the categories the service counts in. A dimension given replaces
the one held; one left out is kept.
"""

from __future__ import annotations

from typing import Any

from core.extensions import db
from equality import categories as cat
from equality.models import PopulationCount

KNOWN = {"gender": cat.GENDERS, "age_band": cat.AGE_BANDS}


def _ethnicity_problems(values: dict) -> list[str]:
    problems, covered = [], {}
    for name in values:
        members = cat.population_members(str(name))
        if members is None:
            problems.append(f"population.ethnicity.{name}: not an ONS 2021 ethnic group or category")
            continue
        for m in members:
            if m in covered:
                problems.append(f"population.ethnicity.{name}: overlaps {covered[m]} (groups must not overlap)")
                break
            covered[m] = name
    return problems


def problems(section: Any) -> list[str]:
    """Every problem in the section (None: no section, no problem)."""
    if section is None:
        return []
    if not isinstance(section, dict):
        return ["population: must be a mapping of ethnicity, gender or age_band to counts"]
    out = []
    for dimension, values in section.items():
        where = f"population.{dimension}"
        if dimension not in ("ethnicity", *KNOWN):
            out.append(f"{where}: unknown (use ethnicity, gender or age_band)")
            continue
        if not isinstance(values, dict) or not values:
            out.append(f"{where}: must map each group to a count")
            continue
        for name, n in values.items():
            if isinstance(n, bool) or not isinstance(n, int) or n < 0:
                out.append(f"{where}.{name}: must be a whole number, 0 or more")
            elif len(str(name)) > 200:
                out.append(f"{where}.{str(name)[:40]}...: name longer than 200 characters")
        if dimension == "ethnicity":
            out += _ethnicity_problems(values)
        else:
            out += [f"{where}.{name}: must be one of {', '.join(KNOWN[dimension])}"
                    for name in values if name not in KNOWN[dimension]]
    return out


def load(section: dict | None) -> int:
    """Replace each dimension the section gives (validated already); the number of groups written."""
    written = 0
    for dimension, values in (section or {}).items():
        held = {r.label: r for r in db.session.execute(
            db.select(PopulationCount).filter_by(dimension=dimension)).scalars()}
        for name, row in held.items():
            if name not in values:
                db.session.delete(row)
        for name, n in values.items():
            row = held.get(str(name))
            if row is None:
                db.session.add(PopulationCount(dimension=dimension, label=str(name), count=int(n)))
                written += 1
            elif row.count != int(n):
                row.count = int(n)
                written += 1
    db.session.flush()
    return written
