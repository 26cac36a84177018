"""The access log's head checkpoint, kept outside the database (issue 12, hole 6).

A hash chain shows a row altered, inserted or deleted in the middle, but not rows cut off
its end: delete the newest events, or all of them, and what is left is still a valid chain.
So after every commit that appended events, the new head (its sequence number and chain
hash) is signed with a key derived from the master key and written to a file in the
instance folder, and to the application log as one line ("access log head ..."). Someone
with only database access can change neither. `flask audit verify` then fails when the
log ends before the checkpoint's event or that event's hash differs.

The file only moves forward (a worker committing an older head after a newer one was
written leaves it alone), under an exclusive lock on a lock file beside it; readers take it
shared. Every view appends, so the file is rewritten in place as one aligned write of one
512-byte block (the JSON padded with spaces) rather than made anew and renamed, which cost
more than the rest of a cached tracker page: readers under the lock never see half of it,
and a block is written whole or not at all. A crash between the commit and the write
leaves the checkpoint one commit behind: still checked, never a false alarm. A restore
resets it to the restored head (`reset_to_database`).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from core import clock
from core.config import instance_path
from core.extensions import db
from sharing.crypto import keyring
from sharing.models import AccessEvent

log = logging.getLogger("sharing.audit")
_PENDING = "audit_head_pending"
_WARNED: set[Path] = set()


@dataclass(frozen=True)
class Head:
    seq: int
    hash: str


# The head each checkpoint file was last seen to hold by this process (written or read):
# an append extending exactly that head reaches the checkpoint without reading the file
# again (every view appends). Anything else -- rows cut off, another process's head, a
# log made anew -- is checked against the file itself.
_KNOWN: dict[Path, Head] = {}


def head_file() -> Path:
    """AUDIT_HEAD_FILE, else beside the SQLite file, else the instance folder named for the database."""
    configured = current_app.config.get("AUDIT_HEAD_FILE")
    if configured:
        return Path(configured)
    url = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "sqlite" and url.database:
        return Path(url.database).with_name(Path(url.database).name + ".audit-head.json")
    return instance_path() / f"audit-head-{url.database or 'default'}.json"


def _signature(head: Head) -> str:
    message = f"access-log-head:{head.seq}:{head.hash}".encode()
    return hmac.new(keyring().derived_key("audit-head"), message, hashlib.sha256).hexdigest()


def database_head() -> Head | None:
    row = db.session.execute(
        db.select(AccessEvent.seq, AccessEvent.hash).order_by(AccessEvent.seq.desc()).limit(1)
    ).first()
    return Head(row.seq, row.hash) if row is not None else None


# -- writing ------------------------------------------------------------------------------


def note_append(last: Head | None, seq: int, chain_hash: str) -> None:
    """Remember the head this transaction made, to write once it commits -- unless the log it
    extends (`last`, read under the append lock) no longer reaches the checkpoint: then the
    checkpoint stays where it is, so the service appending again cannot paper over a cut."""
    path = head_file()
    if not _reaches_checkpoint(path, last):
        if path not in _WARNED:  # once per process: every append would say it again
            _WARNED.add(path)
            log.error("access log no longer reaches its head checkpoint %s: not moving it; run flask audit verify",
                      path)
        return
    db.session.info[_PENDING] = (path, _signature(Head(seq, chain_hash)), Head(seq, chain_hash))


def note_extended(seq: int, chain_hash: str) -> None:
    """This transaction appended again after its own pending head (see pending_head)."""
    path = db.session.info[_PENDING][0]
    db.session.info[_PENDING] = (path, _signature(Head(seq, chain_hash)), Head(seq, chain_hash))


def note_resealed(head: Head) -> None:
    """The chain was sealed again on purpose (`flask audit pseudonymise`, after the whole log
    verified): the checkpoint moves to the new head when this transaction commits, though the
    event it records now has another hash."""
    path = head_file()
    db.session.info[_PENDING] = (path, _signature(head), head)
    log.warning("access log sealed again up to event %s (%s): the head checkpoint follows", head.seq, head.hash)


def pending_head() -> Head | None:
    """The head this transaction's own appends made (None when it has made none, or when the
    log it extended did not reach the checkpoint): the next append in the same transaction,
    under the lock the first one took, extends it without reading the head again."""
    pending = db.session.info.get(_PENDING)
    return pending[2] if pending is not None else None


def _reaches_checkpoint(path: Path, last: Head | None) -> bool:
    if last is not None and _KNOWN.get(path) == last:
        return True
    data = read_checkpoint(path)
    if not isinstance(data, dict) or data["seq"] == 0:
        return True  # none yet (or unreadable: verify says so) -- nothing to extend
    if last is None or last.seq < data["seq"]:
        return False
    if last.seq == data["seq"]:
        reached = hmac.compare_digest(last.hash, data["hash"])
        if reached:
            _KNOWN[path] = last
        return reached
    at_checkpoint = db.session.execute(
        db.select(AccessEvent.hash).where(AccessEvent.seq == data["seq"])
    ).scalar_one_or_none()
    return at_checkpoint is not None and hmac.compare_digest(at_checkpoint, data["hash"])


BLOCK = 512  # the checkpoint's size on disk: one block, written whole


@contextlib.contextmanager
def _locked(path: Path, shared: bool = False):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _write(path: Path, head: Head | None, signature: str, *, force: bool) -> bool:
    """Write the checkpoint unless (force aside) the file already holds a later head."""
    with _locked(path):
        if not force:
            current = _read(path)
            if isinstance(current, dict) and isinstance(current.get("seq"), int) and current["seq"] >= head.seq:
                _KNOWN.pop(path, None)  # another process is ahead: check against the file next time
                return False
        data = {"seq": head.seq if head else 0, "hash": head.hash if head else "", "signature": signature,
                "written_at": clock.utcnow().isoformat(timespec="seconds")}
        payload = json.dumps(data, sort_keys=True).encode()
        if len(payload) <= BLOCK:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
            try:
                os.pwrite(fd, payload.ljust(BLOCK), 0)
                os.ftruncate(fd, BLOCK)  # a checkpoint left by an older version may be longer
            finally:
                os.close(fd)
        else:  # not in one block (never with these fields): a new file, renamed into place
            tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
            tmp.write_bytes(payload)
            os.replace(tmp, path)
        if head is not None:
            _KNOWN[path] = head
        else:
            _KNOWN.pop(path, None)
    log.info("access log head %s %s signature %s", data["seq"], data["hash"] or "-", signature)
    return True


def reset_to_database() -> Head | None:
    """Make the checkpoint the database's current head (after a restore, or to start one)."""
    head = database_head()
    _write(head_file(), head, _signature(head or Head(0, "")), force=True)
    return head


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending is not None:
        path, signature, head = pending
        _write(path, head, signature, force=False)


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, previous_transaction) -> None:
    # Any rollback (a savepoint's too) drops the pending head: the checkpoint may lag, never lead.
    session.info.pop(_PENDING, None)


# -- checking -----------------------------------------------------------------------------


def read_checkpoint(path: Path) -> dict | str | None:
    """The file's fields, None when there is none, or a string saying why it cannot be read."""
    if not path.exists():
        return None
    with _locked(path, shared=True):
        return _read(path)


def _read(path: Path) -> dict | str | None:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        return f"the head checkpoint {path} cannot be read ({type(exc).__name__})"
    if not isinstance(data, dict) or not isinstance(data.get("seq"), int) or not isinstance(data.get("hash"), str):
        return f"the head checkpoint {path} is not in the expected form"
    return data


def check() -> tuple[bool, str]:
    """(ok, message): does the log still reach the checkpoint's head, with the same hash?"""
    path = head_file()
    data = read_checkpoint(path)
    if data is None:
        return True, f"No head checkpoint yet ({path}): the next append writes one."
    if isinstance(data, str):
        return False, data
    expected = Head(data["seq"], data["hash"])
    if not hmac.compare_digest(_signature(expected), str(data.get("signature", ""))):
        return False, f"the head checkpoint {path} has a bad signature (altered, or made with another key)"
    if expected.seq == 0:
        return True, "Head checkpoint: the log was empty."
    head = database_head()
    if head is None:
        return False, (f"the log is empty, but the head checkpoint (written {data.get('written_at', '?')}) "
                       f"records event {expected.seq}: all {expected.seq} events are missing")
    if head.seq < expected.seq:
        return False, (f"the log ends at event {head.seq}, but the head checkpoint (written "
                       f"{data.get('written_at', '?')}) records event {expected.seq}: events {head.seq + 1} to "
                       f"{expected.seq} are missing (cut off the end)")
    at_checkpoint = db.session.execute(
        db.select(AccessEvent.hash).where(AccessEvent.seq == expected.seq)
    ).scalar_one_or_none()
    if at_checkpoint != expected.hash:
        return False, (f"event {expected.seq} differs from the head checkpoint: the log from there on has been "
                       f"replaced")
    return True, f"Head checkpoint: event {expected.seq} matches."
