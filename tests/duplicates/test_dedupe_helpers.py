"""Builders for the duplicate-check tests: a realistic background register and hand-made pairs.

Nominals are made through cohort.services.create_nominal; the pairs under test are referred
through cohort.services.refer. The ~200 background people get plain case rows (no access
log), only so that they are in an analyst's scope: the matcher is judged in a realistic
register rather than on two records alone.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random

from core.extensions import db

D = dt.date
WRITERS = {"IOM": "coord", "MAPPA": "mappa.coord"}
_refs = itertools.count(1)

MALE = ["Oliver", "George", "Harry", "Jack", "Jacob", "Noah", "Charlie", "Thomas", "Oscar", "James", "Joshua",
        "Alfie", "Leo", "Ethan", "Daniel", "Ryan", "Liam", "Connor", "Kyle", "Reece", "Jordan", "Lewis", "Callum",
        "Dean", "Wayne", "Lee", "Craig", "Darren", "Paul", "Mark", "Gary", "Stuart", "Scott", "Adam", "Luke"]
FEMALE = ["Olivia", "Amelia", "Isla", "Ava", "Emily", "Sophie", "Grace", "Lily", "Chloe", "Jessica", "Ella", "Mia",
          "Lucy", "Hannah", "Megan", "Amy", "Laura", "Emma", "Rachel", "Claire", "Kelly", "Leanne", "Gemma"]
FAMILY = ["Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Robinson", "Wright",
          "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood", "Jackson", "Clarke", "Patel",
          "Khan", "Lewis", "Harris", "Martin", "Cooper", "King", "Lee", "Baker", "Hughes", "Kowalski", "Nowak",
          "Murphy", "Kelly", "Begum", "Ali", "Hussain", "Edwards", "Turner", "Hill", "Moore", "Clark", "Ward"]
OUTWARD = ["LS6", "LS7", "LS8", "LS9", "LS11", "LS12", "BD3", "BD5", "WF1", "HX1"]


def person(given: str, family: str, dob: D | None, **kw) -> dict:
    kw.setdefault("gender", "M")
    kw.setdefault("postcode", "LS6 3QT")
    return {"given_name": given, "family_name": family, "date_of_birth": dob, **kw}


PNC = {"pnc": "2003/0456789E"}

# name -> (first record, second record); the first carries a PNC as a practitioner would key it.
MUST_MATCH = {
    "surname typo": (person("William", "Hargreaves", D(1984, 3, 12), **PNC),
                     person("William", "Hargraves", D(1984, 3, 12))),
    "nickname Bill/William": (person("William", "Hargreaves", D(1984, 3, 12), **PNC),
                              person("Bill", "Hargreaves", D(1984, 3, 12))),
    "Kasia/Katarzyna": (person("Katarzyna", "Nowakowska", D(1984, 3, 12), gender="F", crn="X123456"),
                        person("Kasia", "Nowakowska", D(1984, 3, 12), gender="F")),
    "Mohammed/Muhammad": (person("Mohammed", "Rahman", D(1984, 3, 12), **PNC),
                          person("Muhammad", "Rahman", D(1984, 3, 12))),
    "swapped names": (person("William", "Hargreaves", D(1984, 3, 12), **PNC),
                      person("Hargreaves", "William", D(1984, 3, 12))),
    "hyphenated surname": (person("Anna", "Wojciechowski-Kaczmarek", D(1984, 3, 12), gender="F", **PNC),
                           person("Anna", "Kaczmarek", D(1984, 3, 12), gender="F")),
    "McDonald/MacDonald": (person("Callum", "McDonald", D(1984, 3, 12), **PNC),
                           person("Callum", "MacDonald", D(1984, 3, 12))),
    "O'Brien/OBrien": (person("Sean", "O'Brien", D(1984, 3, 12), **PNC), person("Sean", "OBrien", D(1984, 3, 12))),
    "diacritics Zoë/Zoe": (person("Zoë", "Clarke", D(1984, 3, 12), gender="F", **PNC),
                           person("Zoe", "Clarke", D(1984, 3, 12), gender="F")),
    "upper case": (person("William", "Hargreaves", D(1984, 3, 12), **PNC),
                   person("WILLIAM", "HARGREAVES", D(1984, 3, 12))),
    "DOB day/month swapped": (person("William", "Hargreaves", D(1984, 3, 12), **PNC),
                              person("William", "Hargreaves", D(1984, 12, 3))),
    "DOB digit slipped": (person("William", "Hargreaves", D(1984, 3, 12), **PNC),
                          person("William", "Hargreaves", D(1984, 3, 13))),
}
MUST_NOT_MATCH = {
    "twins": (person("Jack", "Hargreaves", D(1990, 6, 1)), person("Harry", "Hargreaves", D(1990, 6, 1))),
    "father and son": (person("William", "Hargreaves", D(1960, 4, 2)),
                       person("William", "Hargreaves", D(1985, 9, 17))),
    "namesakes": (person("John", "Smith", D(1970, 5, 1), postcode="LS8 1AB"),
                  person("John", "Smith", D(1982, 11, 23), postcode="WF1 2CD")),
    "different PNC": (person("William", "Hargreaves", D(1984, 3, 12), pnc="2003/0456789E", postcode="LS8 1AB"),
                      person("William", "Hargreaves", D(1984, 3, 12), pnc="2011/0998877C", postcode="WF1 2CD")),
}


def background_people(n: int = 200, seed: int = 42) -> list[dict]:
    rng = random.Random(seed)
    out, seen = [], set()
    while len(out) < n:
        male = rng.random() < 0.8
        given, family = rng.choice(MALE if male else FEMALE), rng.choice(FAMILY)
        dob = D(1960, 1, 1) + dt.timedelta(days=rng.randint(0, 45 * 365))
        if (given, family, dob) in seen:
            continue
        seen.add((given, family, dob))
        letters = "ABDEFGHJLNPQRSTUWXYZ"
        pc = f"{rng.choice(OUTWARD)} {rng.randint(1, 9)}{rng.choice(letters)}{rng.choice(letters)}"
        pnc = f"{rng.randint(1995, 2020)}/{rng.randint(1, 9_999_999):07d}{rng.choice('ABCDEFGHJKLMNPQRTUVWXYZ')}"
        out.append(person(given, family, dob, gender="M" if male else "F",
                          pnc=pnc if rng.random() < 0.6 else None, postcode=pc if rng.random() < 0.9 else None))
    return out


def panel(code: str):
    from panels.models import Panel

    return db.session.execute(db.select(Panel).filter_by(code=code)).scalar_one()


def make_background(n: int = 200, panel_code: str | None = "IOM") -> list[int]:
    """The register the pairs are judged in; with plain case rows on `panel_code` (None: no cases)."""
    from cohort.models import Case
    from cohort.services import create_nominal

    target = panel(panel_code) if panel_code else None
    ids = []
    for i, fields in enumerate(background_people(n)):
        nominal = create_nominal(**fields)
        ids.append(nominal.id)
        if target is not None:
            db.session.add(Case(nominal_id=nominal.id, panel_id=target.id, ref=f"BG{i:04d}", status="active",
                                referral_date=D(2026, 1, 5)))
    db.session.commit()
    return ids


def policy_for(short: str):
    from auth.models import User
    from sharing.policy import Policy

    email = short if "@" in short else f"{short}@test.example"
    return Policy(db.session.execute(db.select(User).filter_by(email=email)).scalar_one())


def add_nominal(fields: dict, panels: tuple[str, ...] = ("IOM",), *, status: str = "active",
                referral_date: D = D(2026, 2, 2), **case_fields):
    """A nominal made through the services, referred to each of `panels`."""
    from cohort import services

    nominal = services.create_nominal(**fields)
    for code in panels:
        case = services.refer(nominal, panel(code), ref=f"{code}-{next(_refs):05d}", policy=policy_for(WRITERS[code]),
                              status=status, referral_date=referral_date)
        for key, value in case_fields.items():
            setattr(case, key, value)
    db.session.flush()
    return nominal


def remove_nominals(ids) -> None:
    """Take test nominals out of the register again (cases, history and candidates with them)."""
    from cohort.models import Case, CaseEvent, DuplicateCandidate, Merge, Nominal

    ids = list(ids)
    case_ids = db.select(Case.id).where(Case.nominal_id.in_(ids))
    db.session.execute(db.delete(CaseEvent).where(CaseEvent.case_id.in_(case_ids)))
    db.session.execute(db.delete(Case).where(Case.nominal_id.in_(ids)))
    db.session.execute(db.delete(Merge).where(db.or_(Merge.kept_id.in_(ids), Merge.merged_id.in_(ids))))
    db.session.execute(db.delete(DuplicateCandidate).where(
        db.or_(DuplicateCandidate.nominal_a_id.in_(ids), DuplicateCandidate.nominal_b_id.in_(ids))))
    db.session.execute(db.delete(Nominal).where(Nominal.id.in_(ids)))
    db.session.commit()


def add_user(partnership, email: str, agency: str, roles: list[str]):
    """An extra test user (e.g. an analyst in an agency with narrower grants)."""
    from auth.models import User
    from auth.passwords import hash_password
    from tests.support import TEST_PASSWORD

    user = User(email=email, name=email.split("@")[0].title(), agency_id=partnership.agencies[agency].id,
                password_hash=hash_password(TEST_PASSWORD))
    user.roles = roles
    db.session.add(user)
    db.session.commit()
    return user


def pair_of(body: dict, a: int, b: int) -> dict | None:
    """The pair (a, b) from a {"pairs": [...]} answer, in either order."""
    for p in body["pairs"]:
        if {p["a"]["nominal_id"], p["b"]["nominal_id"]} == {a, b}:
            return p
    return None
