"""Deterministic generator of a UK-style register of nominals with realistic duplicates.

Originals are distinct synthetic people (Zipf-distributed real given names and surnames
plus a long tail of made-up surnames); duplicates copy an original and corrupt it the way
agencies do: typos, nicknames, swapped names, day/month swaps, slipped digits, missing or
re-formatted identifiers, a new address, upper case, lost diacritics, a lost date of birth.
Hard negatives are included on purpose: twins at one address (some with given names that
share a phonetic code, Darren/Tyrone), same-named fathers and sons at one address (some
with one date of birth missing), the commonest names born the same year, namesakes.
"""

from __future__ import annotations

import dataclasses
import datetime
import random

from duplicates.matching import Record

MALE = [
    "Oliver",
    "George",
    "Harry",
    "Jack",
    "Jacob",
    "Noah",
    "Charlie",
    "Thomas",
    "Oscar",
    "James",
    "William",
    "Joshua",
    "Alfie",
    "Leo",
    "Ethan",
    "Daniel",
    "Ryan",
    "Liam",
    "Connor",
    "Kyle",
    "Reece",
    "Jordan",
    "Lewis",
    "Callum",
    "Dean",
    "Wayne",
    "Lee",
    "Craig",
    "Darren",
    "Paul",
    "Mark",
    "Gary",
    "Stuart",
    "Scott",
    "Adam",
    "Luke",
    "Jamie",
    "Aaron",
    "Kieran",
    "Shane",
    "John",
    "David",
    "Michael",
    "Christopher",
    "Matthew",
    "Andrew",
    "Robert",
    "Anthony",
    "Steven",
    "Richard",
    "Peter",
    "Jonathan",
    "Nicholas",
    "Samuel",
    "Benjamin",
    "Alexander",
    "Patrick",
    "Kevin",
    "Martin",
    "Simon",
    "Neil",
    "Ian",
    "Carl",
    "Jason",
    "Tony",
    "Mohammed",
    "Ahmed",
    "Yusuf",
    "Omar",
    "Ali",
    "Hassan",
    "Tomasz",
    "Piotr",
    "Jakub",
    "Krzysztof",
    "Marcin",
    "Lukasz",
    "Mateusz",
    "Dmitri",
    "Sergei",
    "Aleksandr",
    "Ivan",
    "Kwame",
    "Kofi",
    "Tyrone",
    "Marcus",
    "Dwayne",
    "Jermaine",
    "Declan",
    "Sean",
    "Connor",
    "Aidan",
    "Conor",
]
FEMALE = [
    "Olivia",
    "Amelia",
    "Isla",
    "Ava",
    "Emily",
    "Sophie",
    "Grace",
    "Lily",
    "Chloe",
    "Jessica",
    "Ella",
    "Mia",
    "Lucy",
    "Hannah",
    "Megan",
    "Amy",
    "Laura",
    "Emma",
    "Rachel",
    "Claire",
    "Kelly",
    "Leanne",
    "Gemma",
    "Stacey",
    "Jade",
    "Kerry",
    "Donna",
    "Lisa",
    "Sarah",
    "Nicola",
    "Elizabeth",
    "Catherine",
    "Margaret",
    "Susan",
    "Jennifer",
    "Samantha",
    "Rebecca",
    "Victoria",
    "Katarzyna",
    "Malgorzata",
    "Agnieszka",
    "Anna",
    "Fatima",
    "Aisha",
    "Zainab",
    "Zoë",
    "Chantelle",
    "Shannon",
    "Danielle",
    "Natalie",
    "Joanne",
    "Michelle",
    "Tracey",
    "Siobhan",
    "Niamh",
]
SURNAMES = [
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Johnson",
    "Davies",
    "Robinson",
    "Wright",
    "Thompson",
    "Evans",
    "Walker",
    "White",
    "Roberts",
    "Green",
    "Hall",
    "Wood",
    "Jackson",
    "Clarke",
    "Patel",
    "Khan",
    "Lewis",
    "Harris",
    "Martin",
    "Cooper",
    "King",
    "Lee",
    "Baker",
    "Hughes",
    "Kowalski",
    "Nowak",
    "Murphy",
    "Kelly",
    "Begum",
    "Ali",
    "Hussain",
    "Edwards",
    "Turner",
    "Hill",
    "Moore",
    "Clark",
    "Ward",
    "Morris",
    "Price",
    "Bennett",
    "Gray",
    "Cook",
    "Bailey",
    "Parker",
    "Hargreaves",
    "O'Brien",
    "McDonald",
    "MacDonald",
    "O'Neill",
    "McCarthy",
    "Wojciechowski",
    "Kaczmarek",
    "Lewandowski",
    "Nguyễn",
    "Ahmed",
    "Rahman",
    "Mahmood",
    "Iqbal",
    "Akhtar",
    "Shah",
    "Singh",
    "Kaur",
    "Okafor",
    "Mensah",
    "Campbell",
    "Stewart",
    "Reid",
    "Scott",
    "Murray",
    "Graham",
    "Fletcher",
    "Marsh",
    "Holmes",
    "Dixon",
    "Hunt",
    "Palmer",
    "Mills",
    "Barker",
    "Shaw",
    "Lloyd",
    "Ellis",
]
SYL = [
    "ab",
    "ad",
    "al",
    "an",
    "ar",
    "ash",
    "bar",
    "ben",
    "bra",
    "brook",
    "by",
    "car",
    "cas",
    "chester",
    "dal",
    "den",
    "don",
    "ell",
    "er",
    "ey",
    "field",
    "ford",
    "gate",
    "ham",
    "har",
    "hay",
    "hurst",
    "ing",
    "ington",
    "kin",
    "lan",
    "ley",
    "low",
    "mar",
    "mer",
    "mor",
    "nor",
    "ock",
    "on",
    "or",
    "over",
    "per",
    "ridge",
    "ross",
    "shaw",
    "son",
    "stead",
    "ston",
    "ter",
    "thorn",
    "ton",
    "wal",
    "well",
    "wick",
    "win",
    "worth",
]
OUTWARD = [f"{a}{n}" for a in ("LS", "BD", "WF", "HX", "HD", "YO", "S", "M", "OL", "BB") for n in range(1, 28)]
NICK = {
    "William": ["Bill", "Will", "Billy"],
    "Robert": ["Bob", "Rob"],
    "Elizabeth": ["Liz", "Beth"],
    "Catherine": ["Kate", "Cathy"],
    "James": ["Jim", "Jimmy"],
    "Anthony": ["Tony"],
    "David": ["Dave"],
    "Michael": ["Mike", "Mick"],
    "Steven": ["Steve"],
    "Thomas": ["Tom", "Tommy"],
    "Daniel": ["Dan", "Danny"],
    "Christopher": ["Chris"],
    "Matthew": ["Matt"],
    "Nicholas": ["Nick"],
    "Samuel": ["Sam"],
    "Samantha": ["Sam"],
    "Alexander": ["Alex", "Sasha"],
    "Jonathan": ["Jon"],
    "John": ["Jack", "Johnny"],
    "Margaret": ["Peggy", "Maggie"],
    "Susan": ["Sue"],
    "Jennifer": ["Jen", "Jenny"],
    "Richard": ["Rick"],
    "Benjamin": ["Ben"],
    "Rebecca": ["Becky"],
    "Victoria": ["Vicky"],
    "Katarzyna": ["Kasia"],
    "Malgorzata": ["Gosia"],
    "Jakub": ["Kuba"],
    "Tomasz": ["Tomek"],
    "Mohammed": ["Muhammad", "Mohamed"],
    "Ahmed": ["Ahmad"],
    "Yusuf": ["Youssef"],
    "Aleksandr": ["Alexander"],
    "Andrew": ["Andy"],
    "Peter": ["Pete"],
}
_CHECK = "ZABCDEFGHJKLMNPQRTUVWXY"


_CUM: dict[int, list[float]] = {}


def _zipf(rng: random.Random, items: list[str]) -> str:
    # Zipf-like with a flattened head: the most common name is ~4% of people
    cum = _CUM.get(len(items))
    if cum is None:
        total, cum = 0.0, []
        for i in range(len(items)):
            total += 1.0 / (i + 8)
            cum.append(total)
        _CUM[len(items)] = cum
    return rng.choices(items, cum_weights=cum)[0]


def _surname(rng: random.Random) -> str:
    if rng.random() < 0.45:
        return _zipf(rng, SURNAMES)
    return "".join(rng.choice(SYL) for _ in range(rng.choice((2, 2, 3)))).capitalize()


def _pnc(rng: random.Random) -> str:
    year, serial = rng.randint(1990, 2023), rng.randint(1, 999_999)
    return f"{year}/{serial:07d}{_CHECK[(year % 100 * 10_000_000 + serial) % 23]}"


def _postcode(rng: random.Random) -> str:
    letters = "ABDEFGHJLNPQRSTUWXYZ"
    return f"{rng.choice(OUTWARD)} {rng.randint(0, 9)}{rng.choice(letters)}{rng.choice(letters)}"


def _typo(rng: random.Random, s: str) -> str:
    if len(s) < 3:
        return s
    i = rng.randint(1, len(s) - 2)
    op = rng.randrange(4)
    c = rng.choice("abcdefghijklmnopqrstuvwxyz")
    if op == 0:
        return s[:i] + s[i + 1 :]
    if op == 1:
        return s[:i] + c + s[i:]
    if op == 2:
        return s[:i] + c + s[i + 1 :]
    return s[: i - 1] + s[i] + s[i - 1] + s[i + 1 :]


def _person(rng: random.Random, rid: int) -> Record:
    male = rng.random() < 0.82
    dob = datetime.date(1955, 1, 1) + datetime.timedelta(days=rng.randint(0, 50 * 365))
    return Record(
        id=rid,
        given_name=_zipf(rng, MALE if male else FEMALE),
        family_name=_surname(rng),
        date_of_birth=dob,
        gender="M" if male else "F",
        pnc=_pnc(rng) if rng.random() < 0.75 else None,
        cro=f"{rng.randint(1, 999999):06d}/{rng.randint(0, 99):02d}{rng.choice(_CHECK)}"
        if rng.random() < 0.3
        else None,
        nomis=f"A{rng.randint(1000, 9999)}{rng.choice('ABCDEFGH')}{rng.choice('ABCDEFGH')}"
        if rng.random() < 0.3
        else None,
        crn=f"{rng.choice('ABCDEX')}{rng.randint(100000, 999999)}" if rng.random() < 0.5 else None,
        postcode=_postcode(rng) if rng.random() < 0.9 else None,
    )


def _corrupt(rng: random.Random, r: Record, rid: int) -> Record:
    given, family, dob = r.given_name, r.family_name, r.date_of_birth
    kw: dict = {}
    n_changes = rng.choice((1, 1, 2, 2, 3))
    for _ in range(n_changes):
        k = rng.randrange(9)
        if k == 0 and family:
            family = _typo(rng, family)
        elif k == 1 and given:
            given = rng.choice(NICK[given]) if given in NICK else _typo(rng, given)
        elif k == 2:
            given, family = family, given
        elif k == 3 and dob and dob.day <= 12 and dob.day != dob.month:
            dob = dob.replace(month=dob.day, day=dob.month)
        elif k == 4 and dob:
            # one digit of the day slipped (12 -> 13, 21 -> 11)
            nd = dob.day + rng.choice((-1, 1, -10, 10))
            if 1 <= nd <= 28:
                dob = dob.replace(day=nd)
        elif k == 5:
            kw["postcode"] = _postcode(rng) if rng.random() < 0.7 else None
        elif k == 6:
            given, family = (given or "").upper(), (family or "").upper()
        elif k == 7 and given:
            given = _typo(rng, given)
        elif k == 8 and dob and not (dob.month == 2 and dob.day == 29):
            dob = dob.replace(year=dob.year + rng.choice((-1, 1)))
    ids = {}
    for kind in ("pnc", "cro", "nomis", "crn"):
        v = getattr(r, kind)
        if v and rng.random() < 0.5:
            if kind == "pnc" and rng.random() < 0.3:
                y, rest = v.split("/")
                v = f"{y[2:]}/{rest.lstrip('0')}".lower()
            ids[kind] = v
        else:
            ids[kind] = None
    if family and "ễ" in family and rng.random() < 0.7:
        family = family.replace("ễ", "e")
    return Record(
        id=rid,
        given_name=given,
        family_name=family,
        date_of_birth=dob,
        gender=r.gender,
        postcode=kw.get("postcode", r.postcode),
        **ids,
    )


# Given names that share a Metaphone code but are different names (Darren/Tyrone: TRN).
PHONETIC_CLASH = {
    "Darren": "Tyrone", "Tyrone": "Darren", "Dean": "Tony", "Tony": "Dean",
    "Lucy": "Lisa", "Lisa": "Lucy", "Leo": "Lee", "Lee": "Leo",
}
HARD_KINDS = (
    "twins", "twins_phonetic", "parent_child", "parent_child_no_dob", "common_same_year", "namesake",
)


def _twin(rng: random.Random, base: Record, rid: int, phonetic: bool) -> Record:
    """A twin at the same address: same family name, date of birth and postcode, another given name."""
    other = _person(rng, rid)
    given = other.given_name
    gender = other.gender
    if phonetic:
        clash = [n for n in PHONETIC_CLASH if n != base.given_name]
        given = PHONETIC_CLASH.get(base.given_name) or rng.choice(clash)
        gender = "F" if given in FEMALE else "M"
    elif given == base.given_name:
        given = rng.choice([n for n in (MALE if gender == "M" else FEMALE) if n != base.given_name])
    return Record(id=rid, given_name=given, family_name=base.family_name, date_of_birth=base.date_of_birth,
                  gender=gender, postcode=base.postcode, pnc=other.pnc, crn=other.crn)


def _parent_child(rng: random.Random, base: Record, rid: int, dob_missing: bool) -> Record:
    """A same-named father or son at the same address; with ``dob_missing`` his date of birth is not recorded."""
    dob = None
    if not dob_missing and base.date_of_birth:
        dob = base.date_of_birth.replace(year=base.date_of_birth.year - rng.randint(20, 35), day=1)
    return Record(id=rid, given_name=base.given_name, family_name=base.family_name, date_of_birth=dob,
                  gender=base.gender, postcode=base.postcode, pnc=_pnc(rng) if rng.random() < 0.5 else None)


def _common_same_year(rng: random.Random, base: Record, rid: int) -> Record:
    """Another person with the same very common name, born the same year, living elsewhere."""
    other = _person(rng, rid)
    year = base.date_of_birth.year if base.date_of_birth else 1980
    dob = other.date_of_birth.replace(year=year) if other.date_of_birth and not (
        other.date_of_birth.month == 2 and other.date_of_birth.day == 29) else datetime.date(year, 6, 1)
    if dob == base.date_of_birth:
        dob = dob.replace(day=dob.day % 28 + 1)
    return Record(id=rid, given_name=base.given_name, family_name=base.family_name, date_of_birth=dob,
                  gender=base.gender, postcode=other.postcode, pnc=other.pnc, crn=other.crn)


def _hard_negative(rng: random.Random, base: Record, rid: int, kind: str) -> Record:
    """Someone else who looks like ``base``: a relative or a namesake (never a duplicate)."""
    if kind in ("twins", "twins_phonetic"):
        return _twin(rng, base, rid, kind == "twins_phonetic")
    if kind in ("parent_child", "parent_child_no_dob"):
        return _parent_child(rng, base, rid, kind == "parent_child_no_dob")
    if kind == "common_same_year":
        return _common_same_year(rng, base, rid)
    other = _person(rng, rid)
    return Record(id=rid, given_name=base.given_name, family_name=base.family_name,
                  date_of_birth=other.date_of_birth, gender=base.gender, postcode=other.postcode, pnc=other.pnc)


def _common(rng: random.Random, originals: list[Record]) -> Record:
    """An original with one of the ten commonest given names and surnames (for namesakes)."""
    for _ in range(200):
        base = rng.choice(originals)
        if base.given_name in MALE[:10] + FEMALE[:10] and base.family_name in SURNAMES[:10]:
            return base
    return rng.choice(originals)


def generate(
    n: int = 100_000, dup_rate: float = 0.06, seed: int = 7, hard_rate: float = 0.03, dob_lost: float = 0.02,
) -> tuple[list[Record], set[tuple[int, int]]]:
    """(records, true duplicate pairs as (min id, max id)); deterministic for a seed.

    ``hard_rate`` of the register are hard negatives, spread over :data:`HARD_KINDS`
    (twins at one address, twins whose given names share a phonetic code, same-named
    fathers and sons at one address with and without a date of birth, the commonest
    names born the same year, namesakes); ``dob_lost`` of duplicates lose their date of birth.
    """
    rng = random.Random(seed)
    records: list[Record] = []
    truth: set[tuple[int, int]] = set()
    n_dups = int(n * dup_rate)
    n_hard = int(n * hard_rate)
    while len(records) < n - n_dups - n_hard:
        records.append(_person(rng, len(records) + 1))
    originals = list(records)
    clash = [r for r in originals if r.given_name in PHONETIC_CLASH]
    for k in range(n_hard):
        kind = HARD_KINDS[k % len(HARD_KINDS)]
        if kind == "common_same_year":
            base = _common(rng, originals)
        elif kind == "twins_phonetic" and clash:
            base = rng.choice(clash)
        else:
            base = rng.choice(originals)
        records.append(_hard_negative(rng, base, len(records) + 1, kind))
    for _ in range(n_dups):
        base = rng.choice(originals)
        rid = len(records) + 1
        dup = _corrupt(rng, base, rid)
        if rng.random() < dob_lost:
            dup = dataclasses.replace(dup, date_of_birth=None)
        records.append(dup)
        truth.add((base.id, rid))
    # duplicates of the same original are duplicates of each other too
    by_orig: dict[int, list[int]] = {}
    for a, b in truth:
        by_orig.setdefault(a, []).append(b)
    for dups in by_orig.values():
        for i in range(len(dups)):
            for j in range(i + 1, len(dups)):
                truth.add((min(dups[i], dups[j]), max(dups[i], dups[j])))
    rng.shuffle(records)
    return records, truth
