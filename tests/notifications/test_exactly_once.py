"""Two senders at once (two schedulers, or one and `flask notifications send`): every queued
e-mail reaches the real SMTP server exactly once. On PostgreSQL the claim runs FOR UPDATE
SKIP LOCKED, so the senders really do overlap; on SQLite one writer at a time."""

from __future__ import annotations

import re
import threading
from collections import Counter

from auth.models import User
from core.extensions import db
from notifications import jobs, services
from notifications.models import OutboxEmail

N = 240


def _queue_many(partnership) -> None:
    police = partnership.user("police")
    for i in range(N):
        services.queue(police, "action_overdue", partnership.panels["IOM"], f"/cases/{i + 1}#actions",
                       key=f"action:{i}:2026-11-20", category="offending")
    db.session.commit()


def test_two_concurrent_senders_send_each_once(app, mailbox, partnership):
    _queue_many(partnership)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def sender():
        with app.app_context():
            try:
                barrier.wait()
                results.append(jobs.send_due(batch=10))
            except Exception as exc:  # surfaced below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    assert sum(r.sent for r in results) == N
    ids = Counter(m["Message-ID"] for m in mailbox.messages)
    assert len(mailbox.messages) == N and max(ids.values()) == 1
    links = Counter(re.search(r"/cases/\d+#actions", mailbox.body(m)).group(0) for m in mailbox.messages)
    assert len(links) == N  # each notification's own e-mail, none twice
    db.session.expire_all()
    statuses = Counter(db.session.execute(db.select(OutboxEmail.status)).scalars())
    assert statuses == {"sent": N}
    claimed_by = {e.claimed_by for e in db.session.execute(db.select(OutboxEmail)).scalars()}
    assert len(claimed_by) == 2 or db.engine.dialect.name == "sqlite"  # both took a share on PostgreSQL


def test_a_lapsed_lease_is_taken_again_but_a_live_one_is_not(app, mailbox, partnership):
    import datetime as dt

    from core import clock

    services.queue(db.session.execute(db.select(User).filter_by(email="police@test.example")).scalar_one(),
                   "action_overdue", partnership.panels["IOM"], "/cases/1#actions", key="action:1:x",
                   category="offending")
    db.session.commit()
    now = clock.utcnow()
    assert jobs.claim("dead-sender", now) != []  # a sender claims, then dies before sending
    assert jobs.send_due(now + dt.timedelta(minutes=5)).sent == 0  # its lease still holds
    assert jobs.send_due(now + jobs.LEASE + dt.timedelta(seconds=1)).sent == 1
    assert len(mailbox.messages) == 1
