"""The append-only, hash-chained access log (Data Protection Act 2018 s.62).

Each event's hash is an HMAC (key derived from the master key) over the event and the
previous event's hash, so someone with only database access can neither alter, delete nor
insert a row without `flask audit verify` naming it.

Appends are serialised, so two processes appending at once queue for the chain's head
rather than both reading the same head (and one failing on the unique `seq`):
PostgreSQL takes a transaction-scoped advisory lock before reading the head; SQLite holds
its database write lock before reading it -- a transaction that has not started yet starts
with BEGIN IMMEDIATE (waiting up to the busy timeout for the lock), and one already under
way takes the lock with a no-op write. SQLite cannot make an already-reading transaction
wait for the lock (its snapshot would be stale by then): such a transaction fails at once
with "database is locked", before reading the head, so start work that will append inside
a request or `core.db.immediate_transactions()`, as every command and job does.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass

from flask import g, has_request_context, request

from core import clock
from core.extensions import db
from sharing import audit_head
from sharing.crypto import keyring
from sharing.models import AccessEvent, AccessEventNominal

GENESIS = "0" * 64
ADVISORY_LOCK_ID = 0x5EC0A0D17  # arbitrary, fixed: "access log append"
ACTIONS = (
    "view", "search", "create", "change", "export", "print", "disclose", "match", "merge", "unmerge",
    "erase", "import", "sign_in", "sign_in_failed", "sign_out", "refused", "admin", "token",
)
FIELDS = (
    "seq", "at", "user_id", "user_email", "agency_code", "action", "outcome", "panel_code",
    "nominal_id", "case_id", "categories", "purpose", "detail", "prev_hash",
)


# Events carrying a subject pseudonym chain over it instead of nominal_id, so erasure can set
# nominal_id to NULL (the person pseudonymised) and the chain still verifies. Events without a
# subject (no nominal, or written before subjects existed) chain over FIELDS as before.
SUBJECT_FIELDS = tuple(f for f in FIELDS if f != "nominal_id") + ("subject",)


def subject_of(nominal_id: int | None) -> str:
    """The keyed pseudonym of a nominal in the access log ("" for none): unlinkable without the key."""
    if nominal_id is None:
        return ""
    return _subject(keyring().derived_key("audit-subject"), int(nominal_id))


@functools.lru_cache(maxsize=65_536)
def _subject(key: bytes, nominal_id: int) -> str:
    # Kept: a tracker page's event names its 50 people, and each view of it appends one.
    mac = hmac.new(key, f"nominal:{nominal_id}".encode(), hashlib.sha256)
    return "S" + mac.hexdigest()[:20]


def _canonical(values: dict) -> bytes:
    data = {f: values[f] for f in (SUBJECT_FIELDS if values.get("subject") else FIELDS)}
    if values.get("nominals"):  # the pseudonyms of the people it showed; absent when none (older events)
        data["nominals"] = sorted(values["nominals"])
    data["at"] = values["at"].isoformat(timespec="microseconds")
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str).encode()


def _digest(values: dict) -> str:
    return hmac.new(keyring().derived_key("audit-chain"), _canonical(values), hashlib.sha256).hexdigest()


def _values(ev: AccessEvent) -> dict:
    return {f: getattr(ev, f) for f in (*FIELDS, "subject")}


_HEAD = db.select(AccessEvent.seq, AccessEvent.hash).order_by(AccessEvent.seq.desc()).limit(1)
_INSERT = AccessEvent.__table__.insert()


def _lock() -> None:
    """Hold the lock that serialises appends, for the rest of the current transaction."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        db.session.execute(db.text("SELECT pg_advisory_xact_lock(:k)"), {"k": ADVISORY_LOCK_ID})
    elif dialect == "sqlite":
        from core.db import immediate_transactions

        with immediate_transactions():
            connection = db.session.connection()  # a transaction starting now: BEGIN IMMEDIATE
        # Already under way (perhaps reading): take the write lock now, before the head is read.
        # A no-op once the transaction holds it (began IMMEDIATE, or has written).
        connection.exec_driver_sql("UPDATE access_events SET seq = seq WHERE 0")


def _actor():
    user = g.get("user") if has_request_context() or g else None
    return user


def record(
    action: str,
    *,
    user=None,
    outcome: str = "allowed",
    panel=None,
    nominal_id: int | None = None,
    case_id: int | None = None,
    categories: Iterable[str] = (),
    purpose: str | None = None,
    detail: str = "",
    email: str | None = None,
    nominal_ids: Iterable[int] = (),
    case_ids: Iterable[int] = (),
) -> None:
    """Append one event in the current transaction (it commits or rolls back with the change).

    `nominal_ids` (and the nominals of `case_ids`) are the people the event showed -- every
    row of a tracker page, export or agenda -- kept one row each in access_event_nominals so
    "who has seen this nominal" finds them, and covered by the event's hash.
    """
    if user is None:
        user = g.get("user") if _has_g() else None
    if purpose is None:
        purpose = request.path if has_request_context() else "command line"
    # This transaction appended already (so holds the lock, and its head reached the
    # checkpoint): it extends its own head, without reading it again.
    last = continued = audit_head.pending_head()
    if last is None:
        _lock()
        last = db.session.execute(_HEAD).first()
    values = dict(
        seq=(last.seq + 1) if last else 1,
        at=clock.utcnow(),
        user_id=user.id if user is not None else None,
        user_email=(user.email if user is not None else (email or ""))[:254],
        agency_code=user.agency.code if user is not None and user.agency is not None else "",
        action=action,
        outcome=outcome,
        panel_code=(panel.code if hasattr(panel, "code") else (panel or "")),
        nominal_id=nominal_id,
        subject=subject_of(nominal_id),
        case_id=case_id,
        categories=",".join(sorted(set(categories))),
        purpose=(purpose or "")[:200],
        detail=detail[:4000],
        prev_hash=last.hash if last else GENESIS,
    )
    key = keyring().derived_key("audit-subject")
    shown = [(n, _subject(key, n)) for n in _shown_nominals(nominal_ids, case_ids)]
    values["hash"] = _digest({**values, "nominals": [subject for _n, subject in shown]})
    # A Core insert: this runs on every view, and the ORM unit of work cost more than the row.
    db.session.execute(_INSERT, values)
    _insert_shown(values["seq"], shown)
    if continued is not None:
        audit_head.note_extended(values["seq"], values["hash"])
    else:
        audit_head.note_append(audit_head.Head(last.seq, last.hash) if last else None, values["seq"], values["hash"])


_SHOWN_CHUNK = 500  # rows a SQLite statement: 1,500 parameters, far below its limit
# PostgreSQL: the people as two arrays, so the statement has three parameters whatever their number.
_SHOWN_PG = ("INSERT INTO access_event_nominals (event_seq, nominal_id, subject)"
             " SELECT %s, * FROM unnest(%s::integer[], %s::text[])")


@functools.lru_cache(maxsize=64)
def _shown_sqlite(rows: int) -> str:
    values = ", ".join(["(?, ?, ?)"] * rows)
    return f"INSERT INTO access_event_nominals (event_seq, nominal_id, subject) VALUES {values}"


def _insert_shown(seq: int, shown: list[tuple[int, str]]) -> None:
    """The people an event showed, in one statement handed to the driver as it is (a tracker
    page's 50 rows; an executemany's per-row parameter handling cost more than the rest of
    the append, and 150 bound parameters cost PostgreSQL more than two arrays)."""
    if not shown:
        return
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(_SHOWN_PG, (seq, [n for n, _s in shown], [s for _n, s in shown]))
        return
    for start in range(0, len(shown), _SHOWN_CHUNK):
        chunk = shown[start:start + _SHOWN_CHUNK]
        params = tuple(v for n, subject in chunk for v in (seq, n, subject))
        connection.exec_driver_sql(_shown_sqlite(len(chunk)), params)


def _shown_nominals(nominal_ids: Iterable[int], case_ids: Iterable[int]) -> list[int]:
    shown = {int(n) for n in nominal_ids if n is not None}
    case_ids = sorted({int(c) for c in case_ids if c is not None})
    if case_ids:
        from cohort.models import Case  # the log sits below cohort; only the id mapping is read

        shown.update(db.session.execute(db.select(Case.nominal_id).where(Case.id.in_(case_ids))).scalars())
    return sorted(shown)


def subjects_shown(seqs: list[int]) -> dict[int, list[str]]:
    """The pseudonyms of the people each of these events showed (what the chain covers)."""
    out: dict[int, list[str]] = {}
    if not seqs:
        return out
    rows = db.session.execute(
        db.select(AccessEventNominal.event_seq, AccessEventNominal.subject)
        .where(AccessEventNominal.event_seq.between(min(seqs), max(seqs)))
    )
    wanted = set(seqs)
    for seq, subject in rows:
        if seq in wanted:
            out.setdefault(seq, []).append(subject)
    return out


def _has_g() -> bool:
    from flask import has_app_context

    return has_app_context()


def refused(reason: str, **kwargs) -> None:
    """Remember a refusal; the error handler writes it after rolling the request back."""
    pending = g.setdefault("audit_refusals", [])
    pending.append((reason, kwargs))


def write_pending() -> None:
    """Write refusals noted during a failed request, in a fresh transaction of their own."""
    pending = g.pop("audit_refusals", None)
    if not pending:
        return
    db.session.rollback()
    for reason, kwargs in pending:
        record("refused", outcome="refused", detail=reason, **kwargs)
    db.session.commit()


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    problem: str = ""
    seq: int | None = None


def verify(batch: int = 5000) -> VerifyResult:
    """Walk the chain in order; report the first event that is altered, missing or inserted."""
    prev_hash, expected_seq, checked = GENESIS, 1, 0
    last_seq = 0
    while True:
        rows = db.session.execute(
            db.select(AccessEvent).where(AccessEvent.seq > last_seq).order_by(AccessEvent.seq).limit(batch)
        ).scalars().all()
        if not rows:
            break
        shown = subjects_shown([ev.seq for ev in rows])
        for ev in rows:
            if ev.seq != expected_seq:
                return VerifyResult(False, checked, f"event {expected_seq} is missing (next is {ev.seq})", expected_seq)
            if ev.prev_hash != prev_hash:
                return VerifyResult(False, checked, f"event {ev.seq} does not follow event {ev.seq - 1}", ev.seq)
            if not hmac.compare_digest(_digest({**_values(ev), "nominals": shown.get(ev.seq)}), ev.hash):
                return VerifyResult(False, checked, f"event {ev.seq} has been altered or inserted", ev.seq)
            if ev.subject and ev.nominal_id is not None and subject_of(ev.nominal_id) != ev.subject:
                return VerifyResult(False, checked, f"event {ev.seq} has been altered (its nominal)", ev.seq)
            prev_hash, expected_seq, checked, last_seq = ev.hash, ev.seq + 1, checked + 1, ev.seq
        db.session.expunge_all()
    return VerifyResult(True, checked)


# -- events written before subjects: pseudonymised, and the chain sealed again -------------------

class LegacyRefused(RuntimeError):
    """The log does not verify: re-sealing it would launder whatever was done to it."""


@dataclass
class Pseudonymised:
    events: int = 0  # events given their subject pseudonym
    erased: int = 0  # of those, events whose person is erased: the number is dropped too
    resealed: int = 0  # events whose hash was computed again (from the first such event on)
    first_seq: int | None = None

    def summary(self) -> str:
        if not self.events:
            return "No access-log events without a subject pseudonym: nothing to do."
        return (f"{self.events} access-log event(s) written before the log carried pseudonyms now carry one "
                f"({self.erased} of an erased person lost the number too); the chain was sealed again from "
                f"event {self.first_seq} ({self.resealed} event(s)).")


_LEGACY = (AccessEvent.subject == "") & AccessEvent.nominal_id.is_not(None)
_FIELD_COLUMNS = [getattr(AccessEvent, f) for f in (*FIELDS, "subject", "hash")]


def legacy_count() -> int:
    """Events that name a person by number only (written before subjects): erasure cannot drop it."""
    return db.session.execute(db.select(db.func.count()).select_from(AccessEvent).where(_LEGACY)).scalar_one()


def pseudonymise_legacy(batch: int = 5000) -> Pseudonymised:
    """Give every event written before the log carried subjects its keyed pseudonym, so the
    chain covers the pseudonym instead of the nominal's number and erasure may drop the number
    (at once for a person already erased), then seal the chain again from the first such event.

    Refused unless the whole log verifies first (chain and head checkpoint): sealing a
    tampered log again would hide what was done to it. Runs under the append lock in the
    caller's transaction, appends an "admin" event saying what it did (sealed with the rest)
    and moves the head checkpoint to the new head when the transaction commits.
    """
    from cohort.models import Nominal  # the log sits below cohort; only which ids still exist is read

    _lock()
    checked = verify()
    if not checked.ok:
        raise LegacyRefused(f"the access log does not verify ({checked.problem}): nothing was changed")
    ok, message = audit_head.check()
    if not ok:
        raise LegacyRefused(f"the access log does not verify ({message}): nothing was changed")
    out = Pseudonymised()
    out.first_seq = db.session.execute(db.select(db.func.min(AccessEvent.seq)).where(_LEGACY)).scalar()
    if out.first_seq is None:
        return out
    record("admin", purpose="audit pseudonymise",
           detail=f"events written before the log carried pseudonyms given one; chain sealed again from event "
                  f"{out.first_seq}")
    before = db.session.execute(db.select(AccessEvent.hash).where(AccessEvent.seq == out.first_seq - 1)).scalar()
    prev, last_seq = before or GENESIS, out.first_seq - 1
    table = AccessEvent.__table__
    rewrite = (table.update().where(table.c.seq == db.bindparam("b_seq"))
               .values(subject=db.bindparam("b_subject"), nominal_id=db.bindparam("b_nominal"),
                       prev_hash=db.bindparam("b_prev"), hash=db.bindparam("b_hash")))
    while True:
        rows = db.session.execute(
            db.select(*_FIELD_COLUMNS).where(AccessEvent.seq > last_seq).order_by(AccessEvent.seq).limit(batch)
        ).all()
        if not rows:
            break
        shown = subjects_shown([r.seq for r in rows])
        named = {r.nominal_id for r in rows if not r.subject and r.nominal_id is not None}
        alive = set(db.session.execute(db.select(Nominal.id).where(Nominal.id.in_(named))).scalars()
                    ) if named else set()
        changes = []
        for r in rows:
            values = dict(r._mapping)
            if not values["subject"] and values["nominal_id"] is not None:
                values["subject"] = subject_of(values["nominal_id"])
                out.events += 1
                if values["nominal_id"] not in alive:  # erased already: the pseudonym is all that stays
                    values["nominal_id"] = None
                    out.erased += 1
            values["prev_hash"] = prev
            values["hash"] = _digest({**values, "nominals": shown.get(r.seq)})
            changes.append({"b_seq": r.seq, "b_subject": values["subject"], "b_nominal": values["nominal_id"],
                            "b_prev": prev, "b_hash": values["hash"]})
            prev, last_seq = values["hash"], r.seq
        db.session.execute(rewrite, changes)
        out.resealed += len(changes)
    audit_head.note_resealed(audit_head.Head(last_seq, prev))
    return out
