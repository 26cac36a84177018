"""What an attacker with the database (and not the master key) sees: no plaintext, and
ciphertexts that cannot be moved between rows or columns."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from cohort.models import Nominal
from cohort.services import add_action, add_engagement, add_note, change_rag, create_nominal, refer, set_need
from core.extensions import db
from sharing.crypto import DecryptionError
from sharing.policy import Policy

SECRETS = {
    "given": "Zoë", "family": "O'Brien", "alias": "Zed Obrienne", "pnc": "2001/0012345A", "cro": "012345/01X",
    "nomis": "A1234BC", "crn": "X123456", "address": "14 Acacia Avenue", "postcode": "LS1 4AB",
    "given2": "Łukasz", "family2": "Wójcik-Smythe", "pnc2": "1999/0654321Z",
    "officer": "DC Marlow Quint", "accommodation": "Sofa surfing at Kestrel Court", "employment": "Warehouse nights",
    "health": "Diagnosed with Brumblewick syndrome", "drugs": "Daily crackle use",
    "intel": "Associates with the Vexley crew", "rationale": "Threatened the Quillon family",
    "engagement": "Met at Harrowgate cafe", "action": "Book Pemberton housing assessment",
    "need": "Needs Tallowmere detox place",
}


@pytest.fixture
def people(partnership):
    coord, probation, police = (Policy(partnership.user(u)) for u in ("coord", "probation", "police"))
    zoe = create_nominal(
        given_name=SECRETS["given"], family_name=SECRETS["family"], aliases=[SECRETS["alias"]],
        date_of_birth=dt.date(1991, 4, 17), gender="female", pnc=SECRETS["pnc"], cro=SECRETS["cro"],
        nomis=SECRETS["nomis"], crn=SECRETS["crn"], address=SECRETS["address"], postcode=SECRETS["postcode"],
    )
    lukasz = create_nominal(given_name=SECRETS["given2"], family_name=SECRETS["family2"], pnc=SECRETS["pnc2"])
    iom = partnership.panels["IOM"]
    case = refer(zoe, iom, ref="IOM-RAW-1", policy=coord, status="active", lead_officer=SECRETS["officer"],
                 accommodation=SECRETS["accommodation"], employment=SECRETS["employment"])
    refer(lukasz, iom, ref="IOM-RAW-2", policy=coord, status="active")
    add_note(case, category="health", body=SECRETS["health"], policy=probation)
    add_note(case, category="substance_misuse", body=SECRETS["drugs"], policy=probation)
    add_note(case, category="intelligence", body=SECRETS["intel"], policy=police)
    change_rag(case, to="red", rationale=SECRETS["rationale"], policy=police)
    add_engagement(case, on=dt.date(2026, 11, 20), kind="contact", note=SECRETS["engagement"], policy=police)
    add_action(case, description=SECRETS["action"], owner_agency_id=None, owner_name=SECRETS["officer"],
               due=dt.date(2026, 12, 1), policy=police)
    set_need(case, pathway="drugs", level="need", note=SECRETS["need"], policy=probation)
    db.session.commit()
    return zoe.id, lukasz.id


def _needles() -> dict[str, bytes]:
    return {k: v.encode("utf-8") for k, v in SECRETS.items()} | {"dob": b"1991-04-17"}


def _sqlite_bytes() -> bytes:
    path = db.engine.url.database
    data = b""
    for suffix in ("", "-wal"):
        try:
            with open(path + suffix, "rb") as fh:
                data += fh.read()
        except FileNotFoundError:
            pass
    return data


def _postgres_bytes() -> bytes:
    """Every text, varchar, json and bytea value of every table, through a plain psycopg connection."""
    import psycopg

    url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    chunks = []
    with psycopg.connect(url) as conn:
        cols = conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' "
            "AND data_type IN ('text', 'character varying', 'character', 'bytea', 'json', 'jsonb')"
        ).fetchall()
        assert len(cols) > 30
        for table, column in cols:
            for (value,) in conn.execute(f'SELECT "{column}" FROM "{table}"'):
                if value is None:
                    continue
                chunks.append(bytes(value) if isinstance(value, bytes | memoryview) else str(value).encode("utf-8"))
    return b"\n".join(chunks)


def test_no_plaintext_in_the_database(people, engine_name):
    raw = _sqlite_bytes() if engine_name == "sqlite" else _postgres_bytes()
    assert len(raw) > 1000
    # The dump does hold the rows: the plaintext case reference is there (so a miss is real).
    assert b"IOM-RAW-1" in raw
    found = [name for name, needle in _needles().items() if needle in raw]
    assert found == []
    # Nor in another case, nor normalised the way the matcher normalises identifiers.
    lowered = raw.lower()
    for needle in (b"o'brien", b"obrien", b"acacia avenue", b"ls1 4ab", b"ls14ab", b"0012345a", b"a1234bc"):
        assert needle not in lowered, needle


def test_everything_still_reads_through_the_service(people):
    zoe = db.session.get(Nominal, people[0])
    assert (zoe.given_name, zoe.family_name, zoe.pnc, zoe.aliases) == (
        SECRETS["given"], SECRETS["family"], SECRETS["pnc"], [SECRETS["alias"]])
    assert zoe.date_of_birth == dt.date(1991, 4, 17) and zoe.postcode == SECRETS["postcode"]


def _fresh(nominal_id: int) -> Nominal:
    db.session.expire_all()
    return db.session.get(Nominal, nominal_id)


def test_swapped_ciphertexts_do_not_decrypt(people):
    a, b = people
    blob_a = db.session.execute(text("SELECT given_name_enc FROM nominals WHERE id = :i"), {"i": a}).scalar_one()
    blob_b = db.session.execute(text("SELECT given_name_enc FROM nominals WHERE id = :i"), {"i": b}).scalar_one()
    db.session.execute(text("UPDATE nominals SET given_name_enc = :v WHERE id = :i"), {"v": blob_b, "i": a})
    db.session.execute(text("UPDATE nominals SET given_name_enc = :v WHERE id = :i"), {"v": blob_a, "i": b})
    db.session.commit()
    for nominal_id in (a, b):
        nominal = _fresh(nominal_id)
        with pytest.raises(DecryptionError, match="does not decrypt"):
            _ = nominal.given_name
        assert nominal.family_name in (SECRETS["family"], SECRETS["family2"])  # untouched columns still read


def test_ciphertext_moved_between_columns_does_not_decrypt(people):
    a = people[0]
    db.session.execute(text("UPDATE nominals SET family_name_enc = given_name_enc WHERE id = :i"), {"i": a})
    db.session.commit()
    with pytest.raises(DecryptionError):
        _ = _fresh(a).family_name


def test_tampered_ciphertext_does_not_decrypt(people):
    a = people[0]
    blob = bytearray(db.session.execute(text("SELECT pnc_enc FROM nominals WHERE id = :i"), {"i": a}).scalar_one())
    blob[-1] ^= 0x01
    db.session.execute(text("UPDATE nominals SET pnc_enc = :v WHERE id = :i"), {"v": bytes(blob), "i": a})
    db.session.commit()
    with pytest.raises(DecryptionError):
        _ = _fresh(a).pnc


def test_unknown_key_version_is_a_clear_error(people):
    a = people[0]
    blob = bytearray(db.session.execute(text("SELECT crn_enc FROM nominals WHERE id = :i"), {"i": a}).scalar_one())
    n = blob[1]
    blob[2 + n: 6 + n] = (9999).to_bytes(4, "big")
    db.session.execute(text("UPDATE nominals SET crn_enc = :v WHERE id = :i"), {"v": bytes(blob), "i": a})
    db.session.commit()
    with pytest.raises(DecryptionError, match="unknown data key identity v9999"):
        _ = _fresh(a).crn
