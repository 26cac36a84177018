"""A deterministic background register of ~200 distinct synthetic UK people.

Each test adds the pair under test to this background, so the matcher is judged in a
realistic register rather than on two records alone.
"""

from __future__ import annotations

import datetime
import random

import pytest

from duplicates.matching import Matcher, Record

MALE = [
    "Oliver", "George", "Harry", "Jack", "Jacob", "Noah", "Charlie", "Thomas", "Oscar", "James",
    "William", "Joshua", "Alfie", "Leo", "Ethan", "Daniel", "Ryan", "Liam", "Connor", "Kyle",
    "Reece", "Jordan", "Lewis", "Callum", "Dean", "Wayne", "Lee", "Craig", "Darren", "Paul",
    "Mark", "Gary", "Stuart", "Scott", "Adam", "Luke", "Jamie", "Aaron", "Kieran", "Shane",
]
FEMALE = [
    "Olivia", "Amelia", "Isla", "Ava", "Emily", "Sophie", "Grace", "Lily", "Chloe", "Jessica",
    "Ella", "Mia", "Lucy", "Hannah", "Megan", "Amy", "Laura", "Emma", "Rachel", "Claire",
    "Kelly", "Leanne", "Gemma", "Stacey", "Jade", "Kerry", "Donna", "Lisa", "Sarah", "Nicola",
]
FAMILY = [
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Robinson", "Wright",
    "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood", "Jackson", "Clarke",
    "Patel", "Khan", "Lewis", "Harris", "Martin", "Cooper", "King", "Lee", "Baker", "Hughes",
    "Kowalski", "Nowak", "Murphy", "Kelly", "Begum", "Ali", "Hussain", "Edwards", "Turner", "Hill",
    "Moore", "Clark", "Ward", "Morris", "Price", "Bennett", "Gray", "Cook", "Bailey", "Parker",
]
OUTWARD = ["LS6", "LS7", "LS8", "LS9", "LS11", "LS12", "BD3", "BD5", "WF1", "HX1"]


def pnc_for(rng: random.Random) -> str:
    return f"{rng.randint(1995, 2020)}/{rng.randint(1, 9_999_999):07d}{rng.choice('ABCDEFGHJKLMNPQRTUVWXYZ')}"


def background(n: int = 200, seed: int = 42, start_id: int = 1000) -> list[Record]:
    rng = random.Random(seed)
    out: list[Record] = []
    seen: set[tuple[str, str, datetime.date]] = set()
    while len(out) < n:
        male = rng.random() < 0.8
        given = rng.choice(MALE if male else FEMALE)
        family = rng.choice(FAMILY)
        dob = datetime.date(1960, 1, 1) + datetime.timedelta(days=rng.randint(0, 45 * 365))
        if (given, family, dob) in seen:
            continue
        seen.add((given, family, dob))
        letters = "ABDEFGHJLNPQRSTUWXYZ"
        pc = f"{rng.choice(OUTWARD)} {rng.randint(1, 9)}{rng.choice(letters)}{rng.choice(letters)}"
        out.append(
            Record(
                id=start_id + len(out),
                given_name=given,
                family_name=family,
                date_of_birth=dob,
                gender="M" if male else "F",
                pnc=pnc_for(rng) if rng.random() < 0.6 else None,
                crn=f"{rng.choice('ABCDEX')}{rng.randint(100000, 999999)}" if rng.random() < 0.5 else None,
                postcode=pc if rng.random() < 0.9 else None,
            )
        )
    return out


@pytest.fixture(scope="session")
def register() -> list[Record]:
    return background()


def score_in_register(register: list[Record], a: Record, b: Record) -> float:
    """Score of (a, b) when both are added to the background register."""
    m = Matcher([*register, a, b]).fit()
    for p in m.pairs(min_score=0.0):
        if {p.a, p.b} == {a.id, b.id}:
            return p.score
    return m.explain(a, b).score
