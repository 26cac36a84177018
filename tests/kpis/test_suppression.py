"""Small-number suppression: no count under 5 can be read or worked out from what is shown.

An onlooker knows every shown count, the total, that a "<5" cell is 0-4 and that a "*" cell
is 5 or more. The check here is independent of the module's interval arithmetic: it
enumerates every assignment of the hidden cells that fits those facts (brute force) and
requires each hidden cell under 5 to have at least two possible values.
"""

from __future__ import annotations

import itertools
import random

from equality.suppression import HIDDEN, UNDER, protect, suppress


def possible_values(table, total: int) -> dict[str, set[int]]:
    """Every value each hidden cell under 5 can take, by enumerating the "<5" cells (0-4 each):
    an assignment fits when what is left over can be shared among the "*" cells, 5 or more each."""
    small = [k for k, v in table.cells.items() if v == UNDER]
    stars = sum(1 for v in table.cells.values() if v == HIDDEN)
    rest = total - sum(v for v in table.cells.values() if isinstance(v, int))
    out: dict[str, set[int]] = {k: set() for k in small}
    for combo in itertools.product(range(5), repeat=len(small)):
        left = rest - sum(combo)
        if (stars == 0 and left == 0) or (stars > 0 and left >= 5 * stars):
            for k, v in zip(small, combo, strict=True):
                out[k].add(v)
    return out


def random_counts(rng: random.Random) -> dict[str, int]:
    n = rng.randint(2, 7)
    style = rng.random()
    counts = {}
    for i in range(n):
        if style < 0.4:
            counts[f"g{i}"] = rng.choice([0, 0, 1, 2, 3, 4, 4, 5, 5, 6, 9, 14])  # many small cells
        elif style < 0.7:
            counts[f"g{i}"] = rng.randint(0, 30)
        else:
            counts[f"g{i}"] = rng.choice([4, 5])  # the awkward edges: all fours, fives beside zeros
    return counts


def test_no_cell_under_5_can_be_derived_over_many_random_cohorts():
    rng = random.Random(17)
    checked = pinned_tables = 0
    for _ in range(3000):
        counts = random_counts(rng)
        total = sum(counts.values())
        tables = protect({"a": counts, "b": dict(counts)})
        table = tables["a"]
        if total < 5:
            assert table.total == UNDER and set(table.cells.values()) == {UNDER}
            continue
        if table.total == HIDDEN:  # could not be protected with the total shown: nothing is shown
            pinned_tables += 1
            assert all(v in (UNDER, HIDDEN) for v in table.cells.values())
            continue
        assert table.total == total
        for k, v in table.cells.items():
            if isinstance(v, int):
                assert v == counts[k] and v >= 5
            else:
                assert v == (UNDER if counts[k] < 5 else HIDDEN)
        for k, values in possible_values(table, total).items():
            assert counts[k] in values
            assert len(values) >= 2, (counts, table.cells, k, values)
            checked += 1
    assert checked > 1000 and pinned_tables > 0  # the check ran, and the rare unprotectable case occurred


def test_one_hidden_cell_never_stands_alone():
    table = suppress({"White": 40, "Asian": 12, "Black": 3, "Mixed": 9, "Not stated": 6})
    assert table.cells == {"White": 40, "Asian": 12, "Black": UNDER, "Mixed": 9, "Not stated": HIDDEN}
    assert table.total == 70


def test_secondary_suppression_covers_sums_that_pin_the_cells():
    # two cells hidden: 4 + 4 with the next smallest shown would give 8 = two fours
    table = suppress({"a": 4, "b": 4, "c": 20, "d": 30})
    values = possible_values(table, 58)
    assert all(len(v) >= 2 for k, v in values.items() if k in ("a", "b")), table.cells


def test_a_table_all_fours_hides_its_total_and_every_table_sharing_it():
    tables = protect({"gender": {"Male": 4, "Female": 4}, "age": {"18 to 24": 3, "25 to 34": 5}})
    assert tables["gender"].total == tables["age"].total == HIDDEN
    assert tables["age"].cells == {"18 to 24": UNDER, "25 to 34": HIDDEN}
