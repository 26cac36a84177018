"""A real SMTP server (aiosmtpd) for the notification tests, and the check that no e-mail
sent in this suite names, identifies or locates anyone on a panel.

`mailbox` starts a server on a free port and points the app's SMTP_HOST/SMTP_PORT at it.
At the end of each test, every message it received is scanned for every nominal's name,
aliases, identifiers, date of birth, address, postcode and case references held in the
database at that moment; a hit fails the test.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
import socket
import threading
from email.message import Message

import pytest
from aiosmtpd.controller import Controller

from cohort import services
from cohort.models import Case, Nominal
from core.extensions import db
from panels.models import Panel
from sharing.gateway import unsealed
from sharing.policy import Policy

WRITERS = {"IOM": "police", "MAPPA": "mappa.coord"}
SCANNED: list[str] = []  # Message-IDs scanned in this run (tests/notifications/test_zz_scan.py checks it grew)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Recorder:
    """aiosmtpd handler: keeps every message; `refuse_rcpt` answers 451 to every recipient."""

    def __init__(self):
        self.messages: list[Message] = []
        self.refuse_rcpt = False
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse_rcpt:
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append(email.message_from_bytes(envelope.original_content or envelope.content,
                                                          policy=email.policy.default))
        return "250 Message accepted"


class Mailbox:
    def __init__(self, recorder: Recorder, port: int):
        self.recorder, self.port = recorder, port

    @property
    def messages(self) -> list[Message]:
        with self.recorder.lock:
            return list(self.recorder.messages)

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if m["To"] == address]

    @staticmethod
    def body(message: Message) -> str:
        return message.get_content()


@pytest.fixture
def mailbox(app):
    recorder = Recorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    saved = {k: app.config.get(k) for k in ("SMTP_HOST", "SMTP_PORT")}
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port)
    box = Mailbox(recorder, port)
    try:
        yield box
        scan_for_personal_data(box.messages)
    finally:
        app.config.update(saved)
        controller.stop()


def personal_values() -> set[str]:
    """Everything about the nominals in the database that must never be in an e-mail."""
    values: set[str] = set()
    with unsealed("test: the e-mail scan needs every nominal's details"):
        for n in db.session.execute(db.select(Nominal)).unique().scalars():
            for attr in ("given_name", "family_name", "pnc", "cro", "nomis", "crn", "address", "postcode"):
                value = getattr(n, attr)
                if value:
                    values.add(str(value))
            for alias in n.aliases or []:
                values.add(str(alias))
            dob = n.date_of_birth
            if isinstance(dob, dt.date):
                values.update({dob.isoformat(), dob.strftime("%d/%m/%Y"), dob.strftime("%-d %B %Y")})
        for case in db.session.execute(db.select(Case)).unique().scalars():
            values.add(case.ref)
            if case.lead_officer:
                values.add(case.lead_officer)
    return {v for v in values if len(v.strip()) >= 3}


def scan_for_personal_data(messages: list[Message]) -> None:
    if not messages:
        return
    values = personal_values()
    for m in messages:
        text = f"{m['Subject']}\n{m['To']}\n{Mailbox.body(m)}"
        hits = [v for v in values if re.search(rf"(?<!\w){re.escape(v)}(?!\w)", text, re.IGNORECASE)]
        assert not hits, f"an e-mail to {m['To']} holds personal data about a nominal: {hits}"
        SCANNED.append(m["Message-ID"])


@pytest.fixture
def make_case(partnership):
    """make_case("IOM", given=..., family=..., identity={...}) -> a committed case (real services)."""
    counter = iter(range(1, 10_000))

    def _make(panel: str = "IOM", *, given: str = "Zebedee", family: str = "Quarrington", identity=None, **fields):
        policy = Policy(partnership.user(WRITERS[panel]))
        nominal = services.create_nominal(given_name=given, family_name=family, **(identity or {}))
        panel_row = db.session.execute(db.select(Panel).filter_by(code=panel)).scalar_one()
        case = services.refer(nominal, panel_row, ref=f"{panel}-Q{next(counter):04d}", policy=policy,
                              referral_date=dt.date(2026, 1, 5))
        for key, value in fields.items():
            setattr(case, key, value)
        db.session.commit()
        return case

    return _make


def date_fields(name: str, day: dt.date) -> dict:
    return {name: [str(day.day), str(day.month), str(day.year)]}
