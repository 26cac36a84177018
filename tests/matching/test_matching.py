"""The matcher on hand-made pairs, each added to a realistic background register."""

from __future__ import annotations

import dataclasses
import datetime

import pytest

from duplicates.matching import Matcher, Record, find_duplicates

from .conftest import score_in_register

D = datetime.date


def person(id: int, given: str, family: str, dob: D | None = D(1984, 3, 12), **kw) -> Record:
    kw.setdefault("gender", "M")
    kw.setdefault("postcode", "LS6 3QT")
    return Record(id=id, given_name=given, family_name=family, date_of_birth=dob, **kw)


BASE = dict(pnc="2003/0456789E")

MUST_MATCH = {
    "surname typo": (person(1, "William", "Hargreaves", **BASE), person(2, "William", "Hargraves")),
    "nickname Bill/William": (person(1, "William", "Hargreaves", **BASE), person(2, "Bill", "Hargreaves")),
    "Kasia/Katarzyna": (
        person(1, "Katarzyna", "Nowakowska", gender="F", crn="X123456"),
        person(2, "Kasia", "Nowakowska", gender="F"),
    ),
    "Mohammed/Muhammad": (person(1, "Mohammed", "Rahman", **BASE), person(2, "Muhammad", "Rahman")),
    "swapped given/family": (person(1, "William", "Hargreaves", **BASE), person(2, "Hargreaves", "William")),
    "hyphenated surname vs one part": (
        person(1, "Anna", "Wojciechowski-Kaczmarek", gender="F", **BASE),
        person(2, "Anna", "Kaczmarek", gender="F"),
    ),
    "McDonald/MacDonald": (person(1, "Callum", "McDonald", **BASE), person(2, "Callum", "MacDonald")),
    "O'Brien/OBrien": (person(1, "Sean", "O'Brien", **BASE), person(2, "Sean", "OBrien")),
    "O'Brien/O’Brien (curly)": (person(1, "Sean", "O'Brien", **BASE), person(2, "Sean", "O\u2019Brien")),
    "O Brien/O’Brien": (person(1, "Sean", "O Brien", **BASE), person(2, "Sean", "O\u2019Brien")),
    "Zoë/Zoe": (person(1, "Zoë", "Clarke", gender="F", **BASE), person(2, "Zoe", "Clarke", gender="F")),
    "Nguyễn/Nguyen": (person(1, "Minh", "Nguyễn", **BASE), person(2, "Minh", "Nguyen")),
    "upper case": (person(1, "William", "Hargreaves", **BASE), person(2, "WILLIAM", "HARGREAVES")),
    "DOB day/month swapped": (
        person(1, "William", "Hargreaves", **BASE),
        person(2, "William", "Hargreaves", D(1984, 12, 3)),
    ),
    "DOB one digit slipped": (
        person(1, "William", "Hargreaves", **BASE),
        person(2, "William", "Hargreaves", D(1984, 3, 13)),
    ),
    "same PNC, different spelling": (
        person(1, "William", "Hargreaves", pnc="2003/0456789E", postcode=None),
        person(2, "Will", "Hargraves", pnc="03/456789k", postcode="BD3 9ZZ"),
    ),
    "no identifiers, same name, DOB and postcode": (
        person(1, "William", "Hargreaves"),
        person(2, "William", "Hargreaves"),
    ),
}

MUST_NOT_MATCH = {
    "twins": (
        person(1, "Jack", "Hargreaves", D(1990, 6, 1)),
        person(2, "Harry", "Hargreaves", D(1990, 6, 1)),
    ),
    "father and son, same name, DOBs 25 years apart": (
        person(1, "William", "Hargreaves", D(1960, 4, 2)),
        person(2, "William", "Hargreaves", D(1985, 9, 17)),
    ),
    "common namesakes John Smith": (
        person(1, "John", "Smith", D(1970, 5, 1), postcode="LS8 1AB"),
        person(2, "John", "Smith", D(1982, 11, 23), postcode="WF1 2CD"),
    ),
    "different PNC, same name": (
        person(1, "William", "Hargreaves", pnc="2003/0456789E", postcode="LS8 1AB"),
        person(2, "William", "Hargreaves", pnc="2011/0998877C", postcode="WF1 2CD"),
    ),
}


def _both_ways(a: Record, b: Record) -> list[tuple[Record, Record]]:
    # the same pair with the records entered in the other order (ids swapped too)
    return [(a, b), (dataclasses.replace(b, id=a.id), dataclasses.replace(a, id=b.id))]


@pytest.mark.parametrize("case", sorted(MUST_MATCH))
def test_must_match(register, case):
    for a, b in _both_ways(*MUST_MATCH[case]):
        s = score_in_register(register, a, b)
        assert s >= 0.5, (case, s)


@pytest.mark.parametrize("case", sorted(MUST_NOT_MATCH))
def test_must_not_match(register, case):
    for a, b in _both_ways(*MUST_NOT_MATCH[case]):
        s = score_in_register(register, a, b)
        assert s < 0.5, (case, s)


def test_background_has_no_false_matches(register):
    assert [p for p in find_duplicates(register, min_score=0.5)] == []


def test_scores_are_probabilities_and_sorted(register):
    a, b = MUST_MATCH["surname typo"]
    pairs = find_duplicates([*register, a, b], min_score=0.0)
    assert pairs
    assert all(0.0 <= p.score <= 1.0 for p in pairs)
    assert [p.score for p in pairs] == sorted((p.score for p in pairs), reverse=True)
    assert all(p.a < p.b for p in pairs)
    assert pairs[0].a == 1 and pairs[0].b == 2


def test_excluded_pairs_never_returned(register):
    a, b = MUST_MATCH["surname typo"]
    records = [*register, a, b]
    everything = find_duplicates(records, min_score=0.0)
    exclude = {frozenset((p.a, p.b)) for p in everything[:5]}
    again = find_duplicates(records, min_score=0.0, exclude=exclude)
    assert not {frozenset((p.a, p.b)) for p in again} & exclude
    assert len(again) == len(everything) - 5


def test_no_transitive_chaining(register):
    # A~B and B~C are both likely, A and C are different people: A~C is not implied
    a = person(1, "William", "Hargreaves")
    b = person(2, "William", "Hargreaves", postcode=None)
    c = person(3, "William", "Hargreaves", D(1960, 4, 2))
    pairs = {(p.a, p.b): p.score for p in find_duplicates([*register, a, b, c], min_score=0.0)}
    assert pairs[(1, 2)] >= 0.5
    assert pairs.get((1, 3), 0.0) < 0.5


def test_deterministic(register):
    a, b = MUST_MATCH["Kasia/Katarzyna"]
    runs = [
        [(p.a, p.b, round(p.score, 12), p.reasons()) for p in find_duplicates([*register, a, b], min_score=0.0)]
        for _ in range(2)
    ]
    assert runs[0] == runs[1]


def test_evidence_in_plain_words(register):
    a, b = MUST_MATCH["DOB day/month swapped"]
    m = Matcher([*register, a, b]).fit()
    p = m.explain(a, b)
    text = " | ".join(p.reasons())
    assert "date of birth: day and month swapped" in text
    assert "evidence for" in text
    assert all(e.field and e.level and isinstance(e.weight, float) for e in p.evidence)
    t1, t2 = MUST_NOT_MATCH["twins"]
    twins = m.explain(t1, t2)
    assert any("twins" in r for r in twins.reasons())
    assert any("evidence against" in r for r in twins.reasons())


def test_match_one_finds_registered_duplicate(register):
    a, b = MUST_MATCH["nickname Bill/William"]
    m = Matcher([*register, a]).fit()
    found = m.match_one(b)
    assert found and {found[0].a, found[0].b} == {a.id, b.id} and found[0].score >= 0.5
    assert m.match_one(person(99, "Nobody", "Atall", D(2001, 1, 1))) == []
    # a record already in the register is not its own duplicate
    assert all(a.id not in (p.a, p.b) or p.a != p.b for p in m.match_one(a))


def test_small_register_gives_sensible_answers(register):
    small = register[:18]
    a, b = MUST_MATCH["surname typo"]
    t1, t2 = MUST_NOT_MATCH["twins"]
    t1, t2 = dataclasses.replace(t1, id=3), dataclasses.replace(t2, id=4)
    pairs = {(p.a, p.b): p.score for p in find_duplicates([*small, a, b, t1, t2], min_score=0.0)}
    assert pairs[(1, 2)] >= 0.5
    assert pairs.get((3, 4), 0.0) < 0.5


def test_aliases_are_used(register):
    a = person(1, "Daniel", "Okonkwo-Reid", aliases=("Danny Reid", "Dan Smith"))
    b = person(2, "Danny", "Reid", D(1984, 3, 12), postcode=None)
    m = Matcher([*register, a, b]).fit()
    assert m.explain(a, b).score >= 0.5


def test_missing_everything_is_safe():
    records = [Record(id=i) for i in range(5)] + [Record(id=9, given_name="A")]
    assert find_duplicates(records) == []
    assert find_duplicates([]) == []


def test_only_check_validated_identifiers_prove_two_people(register):
    """Two valid PNCs that differ cap the pair below the verdict, with the reason given;
    a free-text number that fails the PNC rules is left to the learned weights."""
    from duplicates.matching import Matcher

    a = person(1, "William", "Hargreaves", D(1984, 3, 12), pnc="2003/0456789E", postcode="LS8 1AB")
    b = person(2, "William", "Hargreaves", D(1984, 3, 12), pnc="2011/0998877C", postcode="LS8 1AB")
    matcher = Matcher([*register, a, b]).fit()
    pair = matcher.explain(a, b)
    assert pair.score <= 0.2 + 1e-9
    assert any(e.field == "verdict" and "different PNC" in e.text for e in pair.evidence)

    c = dataclasses.replace(a, pnc="2003/0456789K")  # wrong check character: not a checked PNC
    d = dataclasses.replace(b, pnc="2011/0998877T")
    unchecked = Matcher([*register, c, d]).fit().explain(c, d)
    assert not any(e.level == "identifier_conflict" for e in unchecked.evidence)


def test_relatives_are_explained(register):
    """The household evidence says which kind of relative could explain the pair."""
    m = Matcher(register).fit()
    f1, f2 = MUST_NOT_MATCH["father and son, same name, DOBs 25 years apart"]
    text = " | ".join(m.explain(f1, f2).reasons())
    assert "parent and child" in text and "evidence against" in text


def test_placeholder_identifier_counts_for_little(register):
    """An identifier held by many records (a placeholder) is not evidence of one person;
    one held by just the pair is strong evidence."""
    from .conftest import FAMILY, MALE

    filler = [
        Record(
            id=5000 + i, given_name=MALE[i], family_name=FAMILY[i],
            date_of_birth=D(1960 + i, 1 + i % 12, 1 + i % 28), crn="X000000",
        )
        for i in range(30)
    ]
    pairs = find_duplicates([*register, *filler], min_score=0.5)
    assert not [p for p in pairs if p.a >= 5000 and p.b >= 5000]
    a = person(1, "William", "Hargreaves", crn="X654321", postcode=None)
    b = person(2, "Wiliam", "Hargraves", D(1984, 3, 21), crn="X654321", postcode=None)
    assert score_in_register(register, a, b) >= 0.5


def test_one_name_in_the_other_field():
    """'William Hargreaves' / 'Hargreaves Bill': the family name was typed as the given name
    and the other name is not the same; the family level says so."""
    from duplicates.matching.compare import LEVELS, Table, Vocab, compare_pairs

    a, b = person(1, "William", "Hargreaves"), person(2, "Hargreaves", "Bill")
    t = Table.build([a, b], Vocab())
    levels = compare_pairs(t, [0], t, [1])[0]
    assert LEVELS["family_name"][levels[1]] == "half_swapped"
    assert LEVELS["given_name"][levels[0]] == "disagree"
