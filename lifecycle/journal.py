"""The erasure journal: a record of every erasure kept outside the database.

Restoring a backup made before an erasure would bring the erased people back. So each
erasure is first appended to this file (write-ahead, fsynced, one signed JSON line: the run,
its date, and the random uids of the erased cases and nominals, never a name or an id an
agency has seen), and `flask restore` erases again every journalled uid the restored
database still holds. A line whose signature fails is reported and not applied.

The file lives beside the SQLite database, or in the instance folder named for the
PostgreSQL database, or at ERASURE_JOURNAL_FILE. Keep it with the master key, not with the
database backups.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from sqlalchemy import select
from sqlalchemy.engine import make_url

from cohort.models import Case, Nominal
from core.config import instance_path
from core.extensions import db
from sharing.crypto import keyring


def journal_file() -> Path:
    configured = current_app.config.get("ERASURE_JOURNAL_FILE")
    if configured:
        return Path(configured)
    url = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "sqlite" and url.database:
        return Path(url.database).with_name(Path(url.database).name + ".erasures.jsonl")
    return instance_path() / f"erasures-{url.database or 'default'}.jsonl"


def _mac(body: dict) -> str:
    data = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(keyring().derived_key("erasure-journal"), data, hashlib.sha256).hexdigest()


def append(*, run_id: int, at: str, case_uids: list[str], nominal_uids: list[str]) -> None:
    """Append one erasure, durably, before the database commits it."""
    body = {"run": run_id, "at": at, "cases": sorted(case_uids), "nominals": sorted(nominal_uids)}
    line = json.dumps({**body, "mac": _mac(body)}, sort_keys=True, separators=(",", ":")) + "\n"
    path = journal_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(line)
        fh.flush()
        os.fsync(fh.fileno())


@dataclass
class Entry:
    run: int
    at: str
    cases: list[str]
    nominals: list[str]


def entries() -> Iterator[Entry | str]:
    """Each journalled erasure, or a problem string for a line that fails its signature."""
    path = journal_file()
    if not path.exists():
        return
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            body = {k: data[k] for k in ("run", "at", "cases", "nominals")}
            ok = hmac.compare_digest(_mac(body), str(data.get("mac", "")))
        except (ValueError, KeyError, TypeError):
            ok = False
        if not ok:
            yield f"line {number} of {path.name} is damaged or was not written by this service: not applied"
            continue
        yield Entry(body["run"], body["at"], list(body["cases"]), list(body["nominals"]))


def still_held(entry: Entry) -> tuple[list[int], list[int]]:
    """Ids of the entry's cases and nominals that the (restored) database holds again."""
    case_ids = [i for (i,) in db.session.execute(select(Case.id).where(Case.uid.in_(entry.cases or [""])))]
    nominal_ids = [i for (i,) in db.session.execute(select(Nominal.id).where(Nominal.uid.in_(entry.nominals or [""])))]
    return case_ids, nominal_ids
