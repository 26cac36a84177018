"""What field encryption and the access policy cost on a page of 50 cases.

Run from the repository root:  .venv/bin/python bench/crypto_bench.py [--rows 50] [--repeat 20]

Builds a throwaway SQLite database through the real app and services, then times:
  * a tracker-sized page: load 50 cases and build case_dict for each (decrypting what the
    viewer may read) against the same dicts built from pre-decrypted plain objects;
  * building the per-request policy;
  * one field's encrypt / decrypt, and one blind index, in microseconds.
Figures only: nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _timed(fn, repeat: int) -> float:
    """Median seconds of `repeat` runs."""
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def _plain_copy(case):
    """The same case with every encrypted attribute already decrypted into a plain attribute."""
    n = case.nominal
    nominal = SimpleNamespace(
        uid=n.uid, given_name=n.given_name, family_name=n.family_name, aliases=n.aliases,
        date_of_birth=n.date_of_birth, gender=n.gender, pnc=n.pnc, cro=n.cro, nomis=n.nomis, crn=n.crn,
        address=n.address, postcode=n.postcode,
    )
    nominal.full_name = " ".join(p for p in (nominal.given_name, nominal.family_name) if p)
    fields = {c.key: getattr(case, c.key) for c in case.__table__.columns if not c.key.endswith("_enc")}
    return SimpleNamespace(
        **fields, nominal=nominal, panel=SimpleNamespace(code=case.panel.code), lead_agency=case.lead_agency,
        referring_agency=case.referring_agency, lead_officer=case.lead_officer, exit_reason=case.exit_reason,
        accommodation=case.accommodation, employment=case.employment,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()

    from cohort.models import Case
    from cohort.serialise import case_dict
    from cohort.services import create_nominal, refer
    from core import clock
    from core.extensions import db
    from partnership.loading import load
    from sharing.blind_index import blind_index
    from sharing.crypto import ensure_data_keys, keyring
    from sharing.policy import Policy
    from tests.support import clock_at, partnership_data
    from wsgi import create_app

    tmp = tempfile.mkdtemp(prefix="crypto-bench-")
    app = create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.sqlite", "TESTING": True,
        "SECRET_KEY": secrets.token_hex(32), "TRACKER_MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 1024, "RATELIMIT_ENABLED": False,
    })
    with app.app_context():
        db.create_all()
        ensure_data_keys()
        clock.set_now(clock_at("2026-11-23T10:00:00"))
        data = partnership_data()
        for user in data["users"]:
            user.pop("password", None)
        load(data)
        db.session.commit()
        from auth.models import User
        from panels.models import Panel

        writer = db.session.execute(db.select(User).filter_by(email="probation@test.example")).scalar_one()
        viewer = db.session.execute(db.select(User).filter_by(email="coord@test.example")).scalar_one()
        iom = db.session.execute(db.select(Panel).filter_by(code="IOM")).scalar_one()
        policy = Policy(writer)
        for i in range(args.rows):
            nominal = create_nominal(
                given_name=f"Given{i}", family_name=f"Family{i}", aliases=[f"Alias{i}"], gender="male",
                date_of_birth=dt.date(1980, 1, 1) + dt.timedelta(days=i * 97), pnc=f"2001/{i:07d}A",
                crn=f"X{i:06d}", address=f"{i} Bench Street", postcode="LS1 4AB",
            )
            refer(nominal, iom, ref=f"B-{i}", policy=policy, status="active", rag="amber",
                  accommodation="Settled", employment="Unemployed", lead_officer="DC Bench")
        db.session.commit()

        view_policy = Policy(viewer)
        view_policy.readable(iom.id)
        select_page = db.select(Case).where(Case.panel_id == iom.id).order_by(Case.id).limit(args.rows)

        def encrypted_page():
            db.session.expire_all()
            return [case_dict(c, view_policy) for c in db.session.execute(select_page).unique().scalars()]

        def load_only():
            # The same rows and relationships case_dict touches, without any encrypted attribute.
            db.session.expire_all()
            return [(c.id, c.nominal.uid, c.panel.code, c.lead_agency, c.referring_agency)
                    for c in db.session.execute(select_page).unique().scalars()]

        plain_cases = [_plain_copy(c) for c in db.session.execute(select_page).unique().scalars()]

        def plain_page():
            return [case_dict(c, view_policy) for c in plain_cases]

        assert encrypted_page() == plain_page(), "the control must produce the same page"
        t_enc = _timed(encrypted_page, args.repeat)
        t_load = _timed(load_only, args.repeat)
        t_plain = _timed(plain_page, args.repeat)
        t_policy = _timed(lambda: Policy(viewer).readable(iom.id), args.repeat * 5)

        ring = keyring()
        aad = "nominals.given_name_enc.0123456789abcdef"
        blob = ring.encrypt("identity", "Zoë O'Brien", aad)
        n = 5000
        t_e = _timed(lambda: [ring.encrypt("identity", "Zoë O'Brien", aad) for _ in range(n)], 3) / n
        t_d = _timed(lambda: [ring.decrypt(blob, aad) for _ in range(n)], 3) / n
        t_bi = _timed(lambda: [blind_index("pnc", "2001/0012345A") for _ in range(n)], 3) / n
        fields = sum(len(d) for d in plain_page())

        print(f"Page of {args.rows} cases as a coordinator ({fields} dict entries), median of {args.repeat} runs:")
        print(f"  load + case_dict, decrypting:       {t_enc * 1000:8.2f} ms")
        print(f"  load only (no encrypted attribute): {t_load * 1000:8.2f} ms")
        print(f"  case_dict from plain objects:       {t_plain * 1000:8.2f} ms")
        print(f"  decryption and serialising cost:    {(t_enc - t_load) * 1000:8.2f} ms "
              f"({(t_enc - t_load) / args.rows * 1000:.3f} ms a case)")
        print(f"  ratio decrypting / plain case_dict: {(t_enc - t_load) / t_plain:8.1f}x")
        print(f"  ratio whole page / (load + plain):  {t_enc / (t_load + t_plain):8.2f}x")
        print(f"Policy for one request (one query):   {t_policy * 1000:8.3f} ms")
        print("Per field:")
        print(f"  encrypt (AES-256-GCM, 11 chars):    {t_e * 1e6:8.1f} µs")
        print(f"  decrypt:                            {t_d * 1e6:8.1f} µs")
        print(f"  blind index (normalise + HMAC):     {t_bi * 1e6:8.1f} µs")
        db.session.remove()
        db.engine.dispose()


if __name__ == "__main__":
    main()
