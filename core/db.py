"""Engine set-up for the two supported databases.

SQLite: WAL so readers never block the writer, foreign keys on, a busy timeout, and
BEGIN IMMEDIATE for requests, so a transaction that will append to the hash-chained access
log takes the write lock up front instead of failing half-way with "database is locked".
PostgreSQL: psycopg 3, pre-ping so the service recovers by itself after a restart.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url

from core.extensions import db


def engine_options(uri: str) -> dict[str, Any]:
    url = make_url(uri)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        return {"connect_args": {"timeout": 30, "check_same_thread": False}}
    return {"pool_pre_ping": True, "pool_size": 5, "max_overflow": 5}


_immediate: ContextVar[bool] = ContextVar("sqlite_immediate", default=False)


@contextmanager
def immediate_transactions() -> Iterator[None]:
    """Outside a request (jobs, commands), take SQLite's write lock at BEGIN too."""
    token = _immediate.set(True)
    try:
        yield
    finally:
        _immediate.reset(token)


def configure_engine(engine: Engine) -> None:
    """Attach the SQLite pragmas and transaction mode; nothing to do for PostgreSQL."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # pragma: no cover - exercised by every SQLite test
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # Requests (and jobs that ask) lock up front; plain reads elsewhere (tests, reports)
        # stay deferred so they never hold the write lock while a request waits for it.
        from flask import has_request_context

        conn.exec_driver_sql("BEGIN IMMEDIATE" if has_request_context() or _immediate.get() else "BEGIN")


def is_postgres() -> bool:
    return db.engine.dialect.name == "postgresql"
