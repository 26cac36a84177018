"""Sending 1,000 due notifications to a local SMTP server (target: under 10 s).

    .venv/bin/python -m bench.notifications_bench [--count 1000]

A throw-away SQLite database (or DATABASE_URL) with the test partnership; 1,000 open
actions due tomorrow; then one `notifications send` run: the scan queues one "due
tomorrow" per action, and the sender claims and delivers them to an aiosmtpd server on
this machine. Prints the time, the rate, and the run's time as a multiple of one /healthz
request measured in the same run (so a busy machine shows as a busy machine).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

TEST_KEY = "q2bXNtEFb3Q0mOkSE8x0o1Hk7rUj9t1bwzDbTvV2Kcs="


class Counter:
    """The SMTP server's handler: counts messages into a file (it runs in its own process,
    as a local mail server would, so it does not compete with the sender for the GIL)."""

    def __init__(self, path: str):
        self.n, self.path = 0, path

    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        return "250 OK"

    def save(self) -> None:
        with open(self.path, "w") as f:
            f.write(str(self.n))


def serve(port: int, path: str) -> None:
    """Run the SMTP server until SIGTERM, then write how many messages it took."""
    import signal

    from aiosmtpd.controller import Controller

    counter, stop = Counter(path), threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    controller = Controller(counter, hostname="127.0.0.1", port=port)
    controller.start()
    stop.wait()
    controller.stop()
    counter.save()


def received(path: str) -> int:
    try:
        with open(path) as f:
            return int(f.read() or 0)
    except FileNotFoundError:
        return 0


def start_server(port: int, path: str) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "bench.notifications_bench", "--serve", str(port), path])
    for _ in range(100):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        time.sleep(0.1)
    proc.kill()
    raise SystemExit("the SMTP server did not start")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_actions(count: int) -> None:
    from cohort import services
    from core import clock
    from core.extensions import db
    from panels.models import Panel
    from sharing.policy import Policy
    from tests.support import Partnership

    p = Partnership()
    writer = Policy(p.user("probation"))
    panel = db.session.execute(db.select(Panel).filter_by(code="IOM")).scalar_one()
    due = clock.today() + dt.timedelta(days=2)
    for i in range(count):
        if i % 10 == 0:
            nominal = services.create_nominal(given_name=f"Bench{i}", family_name="Person")
            case = services.refer(nominal, panel, ref=f"B{i}", policy=writer, referral_date=dt.date(2026, 1, 5))
        services.add_action(case, description=f"Bench action {i}", owner_agency_id=p.agencies["POLICE"].id,
                            owner_name="", due=due, policy=writer)
    db.session.commit()
    # the assignments' own e-mails are not what is measured: send them first
    from notifications.jobs import send_due

    send_due()


def healthz(client, runs: int = 20) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        assert client.get("/healthz").status_code == 200
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    from core import clock
    from core.extensions import db
    from notifications.jobs import send_due
    from notifications.models import OutboxEmail
    from partnership.loading import load
    from sharing.crypto import ensure_data_keys
    from tests.support import clock_at, partnership_data
    from wsgi import create_app

    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--serve", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve(int(args.serve[0]), args.serve[1])
    count, port = args.count, free_port()
    tmp = tempfile.mkdtemp()
    counted = f"{tmp}/received"
    smtp = start_server(port, counted)
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{tmp}/bench.sqlite"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "TRACKER_MASTER_KEY": TEST_KEY,
                      "ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 1024, "RATELIMIT_ENABLED": False,
                      "SMTP_HOST": "127.0.0.1", "SMTP_PORT": port, "PUBLIC_URL": "http://localhost"})
    app.extensions["keys_ready"] = True
    try:
        with app.app_context():
            db.drop_all()
            db.create_all()
            ensure_data_keys()
            clock.set_now(clock_at("2026-11-23T10:00:00"))
            load(partnership_data())
            db.session.commit()
            make_actions(count)
            clock.set_now(clock_at("2026-11-24T10:00:00"))  # the day before they are due
            t0 = time.perf_counter()
            result = send_due()
            elapsed = time.perf_counter() - t0
            left = db.session.execute(db.select(db.func.count()).select_from(OutboxEmail)
                                      .where(OutboxEmail.status != "sent")).scalar()
            db.session.remove()
        health = healthz(app.test_client())
        smtp.terminate()
        smtp.wait(10)
        sent = received(counted) - count  # less the assignments' own e-mails, sent before the clock moved
        print(f"{count} due notifications: {elapsed:.2f} s for scan + send ({result}); "
              f"{sent} received by the SMTP server, {left} not sent")
        print(f"{sent / elapsed:.0f} e-mails/s; the run = {elapsed / health:,.0f} x GET /healthz "
              f"({health * 1000:.2f} ms); target < 10 s: {'met' if elapsed < 10 and sent == count else 'NOT MET'}")
    finally:
        smtp.terminate()
        smtp.wait(5)
        clock.set_now(None)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


if __name__ == "__main__":
    main()
