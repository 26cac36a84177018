"""A deterministic synthetic cohort for the demo partnership (no real person's data).

The demo has to look like the spreadsheets panels keep today, or it teaches nothing: the
names reflect an East Midlands caseload of many backgrounds (including names with
apostrophes, diacritics and hyphens, which break naive systems), identifiers carry valid
check characters, some identifiers are missing as in real lists, about one nominal in ten
is on two panels, and a handful of people were entered twice by different agencies (under a
nickname or with a typo, and without a PNC) so that the duplicate check has something real
to find. Everything comes from one seeded random generator, so a seed always gives the same
cohort for the same ``today``.
"""

from __future__ import annotations

import datetime as dt
import random
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

from cohort.identifiers import make_cro, make_pnc
from exchange.spreadsheet import COLUMNS

__all__ = ["PANELS", "demo_cohort"]

PANELS: tuple[str, ...] = ("IOM", "IOM-MID", "MAPPA", "SGV", "DIP", "MARAC")


def _words(text: str, sep: str | None = None) -> list[str]:
    """A name list written as one string (compact to read and to extend)."""
    return text.split(sep)


# background: (weight, male given names, female given names, family names)
_NAMES: dict[str, tuple[int, list[str], list[str], list[str]]] = {
    "english": (
        34,
        _words(
            "James William Thomas Daniel Michael Anthony Christopher Robert David Stephen Matthew Jonathan "
            "Samuel Nicholas Richard Joseph Lee Dean Ryan Craig Jordan Kyle Liam Wayne Darren Jason Scott Shane"
        ),
        _words("Sarah Emma Claire Kelly Lisa Stacey Gemma Amy Jessica Chloe Zoë Leanne Danielle Kayleigh"),
        _words(
            "Smith Jones Taylor Brown Wilson Walker Wright Robinson Thompson Hughes Clarke Green Hall Wood Harris "
            "Lewis Turner Cooper Hill Ward Baker Marshall Shaw Bennett Atkinson Fletcher Hardy Parkin Toon "
            "Bradshaw Smith-Jones Ashworth-Hale"
        ),
    ),
    "scottish": (
        5,
        _words("Callum Fraser Euan Alasdair Ross Craig Gordon Hamish"),
        _words("Morag Eilidh Kirsty Fiona Isla"),
        _words("McDonald MacLeod Campbell Stewart Robertson McAllister Fraser Sinclair MacKenzie"),
    ),
    "irish": (
        5,
        _words("Patrick Sean Ciarán Declan Connor Niall Padraig Eoin"),
        _words("Siobhán Aoife Niamh Róisín Caoimhe"),
        _words("O'Brien,O'Connor,O'Sullivan,Murphy,Kelly,Byrne,Doherty,McCarthy,Ó Briain", ","),
    ),
    "welsh": (
        3,
        _words("Rhys Gareth Dylan Owain Gethin Iwan"),
        _words("Cerys Ffion Bethan Angharad Siân"),
        _words("Evans,Davies,Williams,Pritchard,Llewellyn,ap Rhys,Griffiths", ","),
    ),
    "polish": (
        6,
        _words("Tomasz Jakub Krzysztof Piotr Łukasz Michał Paweł Mateusz Aleksander"),
        _words("Agnieszka Katarzyna Małgorzata Joanna Zofia"),
        _words("Kowalski Nowak Wiśniewski Wójcik Lewandowski Zieliński Szymański Wojciechowski-Kaczmarek Dąbrowski"),
    ),
    "romanian": (
        4,
        _words("Andrei Ionuț Mihai Florin Gheorghe Ștefan Marius Cosmin"),
        _words("Ioana Andreea Elena Mădălina"),
        _words("Popescu Ionescu Constantin Dumitru Stănescu Munteanu Rădulescu"),
    ),
    "pakistani": (
        6,
        _words("Mohammed Imran Asif Tariq Kamran Zubair Usman Bilal Adeel"),
        _words("Ayesha Sana Nadia Farah Rabia"),
        _words("Khan Hussain Iqbal Akhtar Mahmood Rashid Qureshi Butt"),
    ),
    "bangladeshi": (
        3,
        _words("Abdul Rahim Shahid Jamal Rezaul Mizanur"),
        _words("Nasima Shirin Taslima Rumana"),
        _words("Miah Uddin Begum Rahman Chowdhury Islam"),
    ),
    "indian": (
        6,
        _words("Rajesh Sanjay Amit Harpreet Jaspal Vikram Arjun Gurpreet"),
        _words("Priya Sunita Manpreet Anjali Kiran"),
        _words("Patel Sharma Singh Kaur Gill Mistry Chauhan Sandhu"),
    ),
    "somali": (
        3,
        _words("Abdi Mohamed Abdirahman Hassan Yusuf Abdullahi"),
        _words("Hodan Fadumo Ayan Hibo"),
        _words("Ali Farah Warsame Osman Abdi Jama"),
    ),
    "nigerian": (
        3,
        _words("Oluwaseun Chinedu Emeka Tunde Adebayo Obinna"),
        _words("Ngozi Chiamaka Funmilayo Adaeze"),
        _words("Okafor Adeyemi Okonkwo Balogun Eze Adebayo-Johnson"),
    ),
    "jamaican": (
        6,
        _words("Tyrone Leroy Delroy Jermaine Marlon Kemar Andre Dwayne"),
        _words("Shanice Tanisha Marcia Keisha"),
        _words("Campbell Brown Williams Reid Grant Morgan Francis Gayle"),
    ),
    "vietnamese": (
        2,
        _words("Văn Minh,Đức Anh,Quang Huy,Văn Hùng", ","),
        _words("Thị Hoa,Thị Lan,Thị Mai", ","),
        _words("Nguyễn Trần Lê Phạm Đặng"),
    ),
    "lithuanian": (
        2,
        _words("Tomas Mantas Darius Žygimantas"),
        _words("Rūta Eglė Aistė"),
        _words("Kazlauskas Petrauskas Jankauskas Žukauskas"),
    ),
}

# Formal given name -> the forms other agencies might record (all in the matcher's groups).
_NICKNAMES: dict[str, list[str]] = {
    "William": ["Billy", "Bill"],
    "Robert": ["Bobby", "Rob"],
    "Daniel": ["Danny", "Dan"],
    "Michael": ["Mick", "Mike"],
    "Anthony": ["Tony"],
    "James": ["Jimmy", "Jim"],
    "Thomas": ["Tommy", "Tom"],
    "Christopher": ["Chris"],
    "Jonathan": ["Jon"],
    "Matthew": ["Matt"],
    "Samuel": ["Sam"],
    "Nicholas": ["Nick"],
    "Stephen": ["Steve"],
    "David": ["Dave"],
    "Richard": ["Rick", "Richie"],
    "Joseph": ["Joe"],
    "Patrick": ["Paddy", "Pat"],
    "Tomasz": ["Tomek"],
    "Aleksander": ["Olek"],
    "Jakub": ["Kuba"],
}

# Town: (postcode districts, streets). Real districts and streets of the East Midlands.
_TOWNS: dict[str, tuple[list[str], list[str]]] = {
    "Nottingham": (
        ["NG1", "NG2", "NG3", "NG5", "NG6", "NG7", "NG8", "NG9", "NG11"],
        [
            "Alfreton Road",
            "Radford Road",
            "Mansfield Road",
            "Hucknall Road",
            "Carlton Road",
            "Ilkeston Road",
            "Hyson Green Road",
            "Sneinton Dale",
            "St Ann's Well Road",
            "Bulwell Lane",
            "Aspley Lane",
        ],
    ),
    "Mansfield": (["NG18", "NG19"], ["Nottingham Road", "Chesterfield Road", "Ladybrook Lane"]),
    "Newark": (["NG24"], ["Barnby Road", "Hawton Lane"]),
    "Leicester": (
        ["LE1", "LE2", "LE3", "LE4", "LE5"],
        [
            "Narborough Road",
            "Belgrave Road",
            "London Road",
            "Melton Road",
            "Uppingham Road",
            "Humberstone Road",
            "Saffron Lane",
            "Braunstone Lane",
            "St Saviour's Road",
        ],
    ),
    "Loughborough": (["LE11"], ["Alan Moss Road", "Ashby Road", "Derby Road"]),
    "Hinckley": (["LE10"], ["Coventry Road", "Rugby Road"]),
    "Derby": (
        ["DE1", "DE21", "DE22", "DE23", "DE24"],
        [
            "Normanton Road",
            "Osmaston Road",
            "Burton Road",
            "Kedleston Road",
            "Uttoxeter New Road",
            "Nottingham Road",
            "Sinfin Lane",
            "Dairyhouse Road",
        ],
    ),
    "Ilkeston": (["DE7"], ["Bath Street", "Nottingham Road"]),
    "Swadlincote": (["DE11"], ["Midland Road", "Church Street"]),
}
_TOWN_WEIGHTS = {
    "Nottingham": 30,
    "Mansfield": 8,
    "Newark": 3,
    "Leicester": 28,
    "Loughborough": 5,
    "Hinckley": 3,
    "Derby": 17,
    "Ilkeston": 3,
    "Swadlincote": 3,
}
_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"

_PANEL_WEIGHTS = {"IOM": 28, "IOM-MID": 14, "MAPPA": 16, "SGV": 12, "DIP": 16, "MARAC": 14}
_AGES = {"IOM": (18, 50), "IOM-MID": (18, 50), "MAPPA": (21, 65), "SGV": (16, 27), "DIP": (19, 58), "MARAC": (19, 60)}
_SECOND_PANEL = {
    "IOM": ["DIP", "SGV", "MARAC"],
    "IOM-MID": ["DIP", "MARAC"],
    "MAPPA": ["MARAC", "IOM"],
    "SGV": ["IOM", "DIP"],
    "DIP": ["IOM", "IOM-MID"],
    "MARAC": ["IOM", "MAPPA", "DIP"],
}
_LEAD_AGENCY = {
    "IOM": {"POLICE": 55, "NPS": 45},
    "IOM-MID": {"POLICE": 60, "NPS": 40},
    "MAPPA": {"NPS": 90, "POLICE": 10},
    "SGV": {"POLICE": 85, "LACS": 15},
    "DIP": {"DAS": 80, "NPS": 20},
    "MARAC": {"LACS": 60, "POLICE": 40},
}
# Share of rows carrying each identifier, by panel: police panels nearly always know the
# PNC ID; probation-led panels the CRN; prison numbers only for those who served custody.
_ID_COVERAGE = {
    "IOM": {"pnc": 0.98, "cro": 0.6, "nomis": 0.45, "crn": 0.75},
    "IOM-MID": {"pnc": 0.97, "cro": 0.55, "nomis": 0.4, "crn": 0.7},
    "MAPPA": {"pnc": 0.97, "cro": 0.8, "nomis": 0.8, "crn": 0.98},
    "SGV": {"pnc": 0.95, "cro": 0.4, "nomis": 0.2, "crn": 0.4},
    "DIP": {"pnc": 0.85, "cro": 0.4, "nomis": 0.3, "crn": 0.45},
    "MARAC": {"pnc": 0.8, "cro": 0.35, "nomis": 0.2, "crn": 0.3},
}
_ACCOMMODATION = {
    "Settled": 40,
    "Temporary": 15,
    "Supported housing": 10,
    "Sofa surfing": 8,
    "Approved premises": 4,
    "No fixed abode": 5,
    "": 18,
}
_EMPLOYMENT = {
    "Unemployed": 45,
    "Employed": 15,
    "Education or training": 8,
    "Not seeking work": 10,
    "Long-term sick": 6,
    "": 16,
}


@dataclass
class _Person:
    given: str
    family: str
    gender: str
    dob: dt.date
    pnc: str = ""
    cro: str = ""
    nomis: str = ""
    crn: str = ""
    address: str = ""
    postcode: str = ""
    aliases: list[str] = field(default_factory=list)
    panels: list[str] = field(default_factory=list)
    ethnicity: str = ""


_WHITE_BRITISH = "White: English, Welsh, Scottish, Northern Irish or British"
# background -> (ONS 2021 category, weight) as agencies record it; drawn from a second
# generator so the people, identifiers and cases stay what the seed always gave.
_ETHNICITY: dict[str, dict[str, int]] = {
    "english": {_WHITE_BRITISH: 88, "Mixed or Multiple: White and Black Caribbean": 8,
                "Mixed or Multiple: White and Asian": 4},
    "scottish": {_WHITE_BRITISH: 1}, "welsh": {_WHITE_BRITISH: 1},
    "irish": {"White: Irish": 85, "White: Gypsy or Irish Traveller": 15},
    "polish": {"White: Other White": 1}, "lithuanian": {"White: Other White": 1},
    "romanian": {"White: Other White": 80, "White: Roma": 20},
    "pakistani": {"Asian or Asian British: Pakistani": 1}, "bangladeshi": {"Asian or Asian British: Bangladeshi": 1},
    "indian": {"Asian or Asian British: Indian": 1}, "vietnamese": {"Asian or Asian British: Other Asian": 1},
    "somali": {"Black, Black British, Caribbean or African: African": 1},
    "nigerian": {"Black, Black British, Caribbean or African: African": 1},
    "jamaican": {"Black, Black British, Caribbean or African: Caribbean": 80,
                 "Mixed or Multiple: White and Black Caribbean": 20},
}
_NOT_STATED_SHARE = 0.07


def _pick(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _default_today() -> dt.date:
    """The service clock's today (which tests can freeze), else the system date."""
    try:
        from core.clock import today
    except ImportError:  # pragma: no cover - usable outside the app
        return dt.date.today()
    return today()


class _Generator:
    """Holds the random generator and the identifiers already issued (they must be unique)."""

    def __init__(self, seed: int, today: dt.date) -> None:
        self.rng = random.Random(seed)
        self.side = random.Random(f"{seed}:ethnicity")  # leaves self.rng's sequence as it was
        self.today = today
        self.used: set[str] = set()

    def unique(self, make: Callable[[], str]) -> str:
        while True:
            value = make()
            if value not in self.used:
                self.used.add(value)
                return value

    def dob(self, low: int, high: int) -> dt.date:
        """A date of birth giving an age from ``low`` to ``high`` today."""
        latest = _years_before(self.today, low)
        earliest = _years_before(self.today, high + 1) + dt.timedelta(days=1)
        return earliest + dt.timedelta(days=self.rng.randint(0, (latest - earliest).days))

    def person(self, panel: str) -> _Person:
        rng = self.rng
        background = rng.choices(list(_NAMES), weights=[v[0] for v in _NAMES.values()])[0]
        _, male, female, families = _NAMES[background]
        male_share = 0.92 if panel == "SGV" else 0.85
        gender = "Male" if rng.random() < male_share else "Female"
        given = rng.choice(male if gender == "Male" else female)
        family = rng.choice(families)
        dob = self.dob(*_AGES[panel])
        p = _Person(given=given, family=family, gender=gender, dob=dob, panels=[panel])
        other = {"Other ethnic group: Any other ethnic group": 1}
        p.ethnicity = ("Not stated" if self.side.random() < _NOT_STATED_SHARE
                       else _pick(self.side, _ETHNICITY.get(background, other)))

        coverage = _ID_COVERAGE[panel]
        first_record = rng.randint(min(dob.year + 12, self.today.year), self.today.year)
        if rng.random() < coverage["pnc"]:
            p.pnc = self.unique(lambda: make_pnc(first_record, rng.randint(1, 999_999)))
        if rng.random() < coverage["cro"]:
            p.cro = self.unique(lambda: make_cro(rng.randint(1, 999_999), first_record % 100))
        if rng.random() < coverage["nomis"]:
            p.nomis = self.unique(
                lambda: rng.choice("AAAAG")
                + f"{rng.randint(1000, 9999)}"
                + "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(2))
            )
        if rng.random() < coverage["crn"]:
            p.crn = self.unique(lambda: rng.choice("DEFNX") + f"{rng.randint(0, 999_999):06d}")

        if rng.random() < 0.05:
            p.address = "No fixed abode"
        else:
            town = _pick(rng, _TOWN_WEIGHTS)
            districts, streets = _TOWNS[town]
            p.address = f"{rng.randint(1, 240)} {rng.choice(streets)}, {town}"
            inward = f"{rng.randint(1, 9)}{rng.choice(_INWARD_LETTERS)}{rng.choice(_INWARD_LETTERS)}"
            p.postcode = f"{rng.choice(districts)} {inward}"

        if rng.random() < 0.15:
            nick = _NICKNAMES.get(given)
            if nick and rng.random() < 0.6:
                p.aliases.append(f"{rng.choice(nick)} {family}")
            else:
                other = rng.choice(families)
                if other != family:
                    p.aliases.append(f"{given} {other}")
                if rng.random() < 0.4:
                    street = ["Little", "Big", "Junior", "Kid"] if gender == "Male" else ["Little", "Lady"]
                    p.aliases.append(f"{rng.choice(street)} {given[0]}")
        return p

    def row(self, p: _Person, panel: str) -> dict[str, str]:
        """One panel's row for a person: shared identity, panel-specific case details."""
        rng, today = self.rng, self.today
        # Days since last engagement: most recent, some 3-6 months, some over 6 months.
        roll = rng.random()
        if roll < 0.08:
            gap = None  # new referral, not yet engaged
        elif roll < 0.72:
            gap = rng.randint(0, 60)
        elif roll < 0.88:
            gap = rng.randint(92, 180)
        else:
            gap = rng.randint(185, 420)
        if gap is None:
            referred_days_ago = rng.randint(0, 45)
        else:
            referred_days_ago = rng.randint(gap, max(gap, 730))
        referral = today - dt.timedelta(days=referred_days_ago)
        last = "" if gap is None else (today - dt.timedelta(days=gap)).isoformat()

        lead = _pick(rng, _LEAD_AGENCY[panel])
        order_end = ""
        if lead == "NPS" or panel == "MAPPA" or rng.random() < 0.3:
            order_end = (today + dt.timedelta(days=rng.randint(-30, 1100))).isoformat()

        rag = _pick(rng, {"red": 20, "amber": 45, "green": 35})
        if panel == "MAPPA":
            risk = _pick(rng, {"medium": 40, "high": 45, "very high": 15})
        else:
            risk = _pick(rng, {"low": 25, "medium": 40, "high": 22, "very high": 4, "": 9})

        accommodation = "No fixed abode" if p.address == "No fixed abode" else _pick(rng, _ACCOMMODATION)
        if accommodation == "No fixed abode" and p.address != "No fixed abode":
            accommodation = "Sofa surfing"
        if accommodation == "Approved premises" and panel != "MAPPA":
            accommodation = "Supported housing"

        row = dict.fromkeys(COLUMNS, "")
        row.update(
            given_name=p.given,
            family_name=p.family,
            aliases=";".join(p.aliases),
            date_of_birth=p.dob.isoformat(),
            gender=p.gender,
            ethnicity=p.ethnicity,
            pnc=p.pnc,
            cro=p.cro,
            nomis=p.nomis,
            crn=p.crn,
            address=p.address,
            postcode=p.postcode,
            rag=rag,
            lead_agency=lead,
            referral_date=referral.isoformat(),
            last_engagement=last,
            order_end_date=order_end,
            risk_level=risk,
            accommodation=accommodation,
            employment=_pick(rng, _EMPLOYMENT),
        )
        if panel in ("IOM", "IOM-MID"):
            row["cohort_type"] = _pick(rng, {"fixed": 50, "flex": 35, "free": 15})
        if panel == "MAPPA":
            row["mappa_category"] = _pick(rng, {"1": 60, "2": 36, "3": 3, "4": 1})
            row["mappa_level"] = _pick(rng, {"2": 78, "3": 22})
        return row


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _strip_accents(s: str) -> str:
    s = s.translate(str.maketrans("łŁđĐ", "lLdD"))
    decomposed = unicodedata.normalize("NFKD", s)
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


def _typo(rng: random.Random, name: str) -> str:
    """How a name gets mistyped by someone re-keying it: lost accents or apostrophe, or two letters swapped."""
    plain = _strip_accents(name)
    if plain != name:
        return plain
    if "'" in name:
        return name.replace("'", "")
    letters = [i for i in range(1, len(name) - 1) if name[i].isalpha() and name[i + 1].isalpha()]
    for _ in range(10):
        i = rng.choice(letters)
        swapped = name[:i] + name[i + 1] + name[i] + name[i + 2 :]
        if swapped != name:
            return swapped
    return name + "e"


def demo_cohort(seed: int = 2026, size: int = 300, *, today: dt.date | None = None) -> dict[str, list[dict]]:
    """Synthetic cohort rows by panel code, for IOM, IOM-MID, MAPPA, SGV, DIP and MARAC.

    ``size`` is the number of distinct people; about 10% of them are on a second panel with
    the same identifiers, and ``max(3, size // 50)`` extra rows re-enter an existing person
    on another panel under a nickname or with a typo and no identifiers (near-duplicates
    for the duplicate check). Each row is a dict of every cohort-file column (CONTRACT.md)
    to a string, "" where the list has no value, exactly as the rows of an imported file
    would read, so they pass :func:`exchange.spreadsheet.validate_rows` panel by panel.
    Dates are relative to ``today`` (default: the service clock); the same seed and day
    give the same cohort.
    """
    today = today or _default_today()
    gen = _Generator(seed, today)
    rng = gen.rng

    people: list[_Person] = []
    for _ in range(size):
        panel = _pick(rng, _PANEL_WEIGHTS)
        people.append(gen.person(panel))

    # About one in ten on a second panel (the overlap the analysts cross-reference by hand).
    # They carry a PNC ID on both lists, so the import joins the two cases to one nominal.
    for p in rng.sample(people, round(size * 0.10)):
        p.panels.append(rng.choice(_SECOND_PANEL[p.panels[0]]))
        if not p.pnc:
            year = rng.randint(min(p.dob.year + 12, today.year), today.year)
            p.pnc = gen.unique(lambda year=year: make_pnc(year, rng.randint(1, 999_999)))

    rows: dict[str, list[dict[str, str]]] = {panel: [] for panel in PANELS}
    for p in people:
        for panel in p.panels:
            rows[panel].append(gen.row(p, panel))

    # Near-duplicates: the same person keyed again by another agency, without identifiers.
    with_nickname = [p for p in people if p.given in _NICKNAMES]
    count = min(max(3, size // 50), len(people))
    chosen: list[_Person] = []
    for i in range(count):
        pool = with_nickname if i % 2 == 0 and with_nickname else people
        candidates = [p for p in pool if p not in chosen and len(p.panels) < len(PANELS)]
        if not candidates:
            break
        chosen.append(rng.choice(candidates))
    for i, original in enumerate(chosen):
        twin = _Person(
            given=original.given,
            family=original.family,
            gender=original.gender,
            dob=original.dob,
            ethnicity=original.ethnicity,
            address=original.address,
            postcode=original.postcode if rng.random() < 0.7 else "",
        )
        if i % 2 == 0 and original.given in _NICKNAMES:
            twin.given = rng.choice(_NICKNAMES[original.given])
        else:
            twin.family = _typo(rng, original.family)
        panel = rng.choice([c for c in PANELS if c not in original.panels])
        rows[panel].append(gen.row(twin, panel))

    # Shuffle so the overlaps and near-duplicates are not all at the end, then number refs.
    for panel, panel_rows in rows.items():
        rng.shuffle(panel_rows)
        for n, row in enumerate(panel_rows, start=1):
            row["ref"] = f"{panel}-{n:04d}"
    return rows
