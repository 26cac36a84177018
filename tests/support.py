"""Helpers shared by tests (importable: `from tests.support import login`)."""

from __future__ import annotations

import socket
import threading

from core import clock
from core.extensions import db

# -- the standard test partnership ------------------------------------------------------

TEST_PASSWORD = "orchid-lantern-42"


def partnership_data(**changes) -> dict:
    data = {
        "agencies": [
            {"code": "POLICE", "name": "Test Police", "kind": "police"},
            {"code": "NPS", "name": "Test Probation", "kind": "probation"},
            {"code": "LACS", "name": "Test Council", "kind": "council"},
            {"code": "DWP", "name": "Test DWP", "kind": "dwp"},
            {"code": "HEALTH", "name": "Test Health", "kind": "health"},
            {"code": "NOGRANT", "name": "Agency With No Agreement", "kind": "other"},
        ],
        "panels": [
            {"code": "IOM", "name": "IOM main panel", "chair": "LACS", "schedule": "FREQ=MONTHLY;BYDAY=1WE",
             "time": "10:00", "bank_holidays": "next_working_day", "agenda_days_before": 7},
            {"code": "MAPPA", "name": "MAPPA panel", "chair": "NPS", "schedule": "FREQ=MONTHLY;BYDAY=2TH",
             "time": "13:30", "bank_holidays": "next_working_day", "agenda_days_before": 10, "kind": "MAPPA"},
        ],
        "isas": [
            {"ref": "ISA-IOM-TEST", "panels": ["IOM"], "starts": "2026-01-01", "review": "2027-01-01",
             "expires": "2027-03-31",
             "grants": {
                 "POLICE": {c: "rw" for c in ("identity", "contact", "offending", "risk", "intelligence")},
                 "NPS": {c: "rw" for c in ("identity", "contact", "offending", "risk", "resettlement", "health",
                                            "substance_misuse")},
                 "LACS": {"identity": "rw", "offending": "rw", "risk": "rw", "resettlement": "rw"},
                 "DWP": {"identity": "r", "resettlement": "r"},
                 "HEALTH": {"identity": "r", "health": "rw"},
             }},
            {"ref": "ISA-MAPPA-TEST", "panels": ["MAPPA"], "starts": "2026-01-01", "expires": "2027-03-31",
             "grants": {
                 "NPS": {c: "rw" for c in ("identity", "contact", "offending", "risk", "intelligence")},
                 "POLICE": {c: "rw" for c in ("identity", "contact", "offending", "risk")},
                 "LACS": {"identity": "r", "risk": "r"},
             }},
        ],
        "users": [
            {"email": "admin@test.example", "name": "Ada Admin", "agency": "LACS", "roles": ["admin"],
             "password": TEST_PASSWORD},
            {"email": "coord@test.example", "name": "Cora Coordinator", "agency": "LACS", "roles": ["coordinator"],
             "password": TEST_PASSWORD},
            {"email": "mappa.coord@test.example", "name": "Max Coordinator", "agency": "NPS",
             "roles": ["coordinator"], "password": TEST_PASSWORD},
            {"email": "police@test.example", "name": "Paula Police", "agency": "POLICE",
             "roles": ["practitioner"], "password": TEST_PASSWORD},
            {"email": "probation@test.example", "name": "Pete Probation", "agency": "NPS",
             "roles": ["practitioner"], "password": TEST_PASSWORD},
            {"email": "dwp@test.example", "name": "Dora DWP", "agency": "DWP", "roles": ["practitioner"],
             "password": TEST_PASSWORD},
            {"email": "health@test.example", "name": "Hal Health", "agency": "HEALTH", "roles": ["practitioner"],
             "password": TEST_PASSWORD},
            {"email": "analyst@test.example", "name": "Ann Analyst", "agency": "LACS", "roles": ["analyst"],
             "password": TEST_PASSWORD},
            {"email": "auditor@test.example", "name": "Aud Auditor", "agency": "LACS", "roles": ["auditor"],
             "password": TEST_PASSWORD},
            {"email": "nogrant@test.example", "name": "Nigel Nogrant", "agency": "NOGRANT",
             "roles": ["practitioner"], "password": TEST_PASSWORD},
        ],
    }
    data.update(changes)
    return data


class Partnership:
    """Handles on the loaded test partnership: users by short name, panels by code."""

    def __init__(self):
        from auth.models import Agency, User
        from panels.models import Panel

        self.users = {u.email.split("@")[0]: u for u in db.session.execute(db.select(User)).scalars()}
        self.panels = {p.code: p for p in db.session.execute(db.select(Panel)).scalars()}
        self.agencies = {a.code: a for a in db.session.execute(db.select(Agency)).scalars()}

    def user(self, short: str):
        return self.users[short]


def clock_at(iso: str):
    import datetime as dt

    when = dt.datetime.fromisoformat(iso)
    return when.replace(tzinfo=clock.LONDON) if when.tzinfo is None else when


def login(client, email: str, password: str = TEST_PASSWORD, follow: bool = False):
    """Sign in through the real form; returns the response."""
    if "@" not in email:
        email = f"{email}@test.example"
    return client.post("/sign-in", data={"email": email, "password": password}, follow_redirects=follow)


class LiveServer:
    def __init__(self, app):
        from werkzeug.serving import make_server

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        sock.close()
        self.server = make_server("127.0.0.1", self.port, app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.thread.join(5)




def access_events(*where, **filter_by) -> list:
    """The access log's events matching, in the order they were appended (never the table's
    physical order: on PostgreSQL rows emptied with DELETE leave space that later rows reuse)."""
    from sharing.models import AccessEvent

    stmt = db.select(AccessEvent).where(*where).filter_by(**filter_by).order_by(AccessEvent.seq)
    return db.session.execute(stmt).scalars().all()
