"""A small world for the attack suite, made through the real services.

Canary strings mark each case's data, so a test can say "this body never contains the
MAPPA case" without knowing how a page lays it out.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from core import clock
from core.extensions import db

IOM_CANARY = "Ivorcanary"
MAPPA_CANARY = "Mabelcanary"
MAPPA_PNC = "2004/0123456Z"
WRITERS = {"IOM": "coord", "MAPPA": "mappa.coord"}
SHORTS = ("admin", "coord", "mappa.coord", "police", "probation", "dwp", "health", "analyst", "auditor", "nogrant")


@dataclass
class World:
    ids: dict[str, object] = field(default_factory=dict)

    def __getitem__(self, key: str):
        return self.ids[key]


def user(short: str):
    from auth.models import User

    return db.session.execute(db.select(User).filter_by(email=f"{short}@test.example")).scalar_one()


def policy_for(short: str):
    from sharing.policy import Policy

    return Policy(user(short))


def panel(code: str):
    from panels.models import Panel

    return db.session.execute(db.select(Panel).filter_by(code=code)).scalar_one()


def new_case(code: str, ref: str, **identity):
    """A nominal referred to panel `code` by its coordinator (status active)."""
    from cohort import services

    pol = policy_for(WRITERS[code])
    nominal = services.create_nominal(**identity)
    return services.refer(nominal, panel(code), ref=ref, policy=pol, status="active",
                          referral_date=dt.date(2026, 1, 5))


def _candidate(a, b, score: float = 0.97):
    from cohort.models import DuplicateCandidate

    lo, hi = sorted((a.id, b.id))
    row = DuplicateCandidate(nominal_a_id=lo, nominal_b_id=hi, score=score, status="open", found_at=clock.utcnow(),
                             evidence=[{"field": "given_name", "level": "nickname", "weight": 4.2,
                                        "text": "given name: a nickname"}])
    db.session.add(row)
    db.session.flush()
    return row


def _item_for(meeting, case, short: str):
    """The case's agenda item on the meeting (the draft agenda may already hold it)."""
    from panels.agenda import add_item, generate_agenda

    generate_agenda(meeting)
    found = next((i for i in meeting.items if i.case_id == case.id), None)
    return found or add_item(meeting, case, user(short))


def build_world(partnership) -> World:
    """Commit and return ids: iom_case, mappa_case, nominals, meetings, item, action, pair, merge..."""
    from auth.services import setup_token
    from auth.tokens import create_token
    from cohort import services
    from duplicates import merging
    from panels.models import Meeting
    from sharing.models import Isa

    today = clock.today()
    coord, mcoord = policy_for("coord"), policy_for("mappa.coord")
    iom = new_case("IOM", "IOM-1", given_name=IOM_CANARY, family_name="Smith", date_of_birth=dt.date(1990, 1, 2),
                   pnc="2001/0012345A")
    services.change_rag(iom, to="red", rationale="iom rationale", policy=coord)
    act = services.add_action(iom, description="iom action", owner_agency_id=user("police").agency_id,
                              owner_name="DC Owner", due=today + dt.timedelta(days=7), policy=coord)
    mappa = new_case("MAPPA", "MAPPA-1", given_name=MAPPA_CANARY, family_name="Secretperson",
                     date_of_birth=dt.date(1980, 5, 6), pnc=MAPPA_PNC)
    services.change_rag(mappa, to="amber", rationale="mappa rationale", policy=mcoord)

    # an open duplicate pair on IOM, and a merge (made by the analyst) to undo
    bill = new_case("IOM", "IOM-2", given_name="William", family_name="Hargreaves", date_of_birth=dt.date(1984, 3, 12))
    billy = new_case("IOM", "IOM-3", given_name="Bill", family_name="Hargreaves", date_of_birth=dt.date(1984, 3, 12))
    pair = _candidate(bill.nominal, billy.nominal)
    ann = new_case("IOM", "IOM-4", given_name="Ann", family_name="Merged", date_of_birth=dt.date(1975, 7, 7))
    anne = new_case("IOM", "IOM-5", given_name="Anne", family_name="Merged", date_of_birth=dt.date(1975, 7, 7))
    done = _candidate(ann.nominal, anne.nominal)
    merge = merging.merge(done, ann.nominal_id, policy_for("analyst"))

    def next_meeting(code: str):
        return db.session.execute(
            db.select(Meeting).where(Meeting.panel_id == panel(code).id, Meeting.date >= today)
            .order_by(Meeting.date)
        ).scalars().first()

    meeting, mappa_meeting = next_meeting("IOM"), next_meeting("MAPPA")
    item = _item_for(meeting, iom, "coord")
    mappa_item = _item_for(mappa_meeting, mappa, "mappa.coord")
    isa = db.session.execute(db.select(Isa).filter_by(ref="ISA-IOM-TEST")).scalar_one()
    police = user("police")
    create_token(police)
    from auth.models import ApiToken

    token_id = db.session.execute(db.select(ApiToken.id).filter_by(user_id=police.id)).scalars().first()
    ids = {
        "iom_case": iom.id, "iom_nominal": iom.nominal_id, "mappa_case": mappa.id, "mappa_nominal": mappa.nominal_id,
        "action": act.id, "pair": pair.id, "merge": merge.id, "meeting": meeting.id, "mappa_meeting": mappa_meeting.id,
        "item": item.id, "mappa_item": mappa_item.id, "isa": isa.id, "user": police.id, "agency": police.agency_id,
        "setup": setup_token(police), "token_id": token_id,
    }
    db.session.commit()
    return World(ids)


NO_TOKEN = "A" * 32  # the shape of an upload token that names no upload


def upload(client, code: str = "IOM", data: bytes = b"ref,given_name,family_name\nNEW-1,Importee,Person\n",
           filename: str = "cohort.csv"):
    """Upload a cohort file through the page; returns the response."""
    import io

    return client.post(f"/panels/{code}/import", data={"file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def upload_token(client, code: str = "IOM", **kw) -> str:
    """This client's own upload token (uploads are bound to the user and session), or NO_TOKEN."""
    resp = upload(client, code, **kw)
    if resp.status_code == 302 and f"/panels/{code}/import/" in resp.headers["Location"]:
        return resp.headers["Location"].rsplit("/", 1)[1]
    return NO_TOKEN


def counts() -> dict[str, int]:
    """Rows in the tables a half-done write would leave behind."""
    from cohort.models import Action, Case, Engagement, Nominal, Note, RagChange

    db.session.commit()  # end any read snapshot (SQLite WAL), see what requests committed
    return {m.__tablename__: db.session.scalar(db.select(db.func.count()).select_from(m))
            for m in (Case, Nominal, RagChange, Note, Action, Engagement)}
