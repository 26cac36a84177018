"""Scratch databases for fault tests that run the real `flask` commands in child processes.

A child process is killed with SIGKILL part-way through its work, so it must own a database
of its own: a SQLite file in a temporary folder, or a PostgreSQL database named
`test_faults_*` next to the one in TEST_DATABASE_URL. Each engine's base database is
prepared once per session the way an operator would (`flask db upgrade`, then
`flask partnership load` of the test partnership), and every test gets a copy (a file copy,
or CREATE DATABASE ... TEMPLATE), so the slow set-up is paid once.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import TEST_KEY
from tests.conftest import test_overrides as overrides_for
from tests.support import partnership_data

ROOT = Path(__file__).resolve().parents[2]
USERS = ("coord", "probation")
CHILD_TIMEOUT = 180


def _prefix() -> str:
    """`test_faults`, after TEST_DATABASE_URL's database (each pytest-xdist worker has its own)."""
    base = os.environ.get("TEST_DATABASE_URL")
    return f"{make_url(base).database if base else 'test'}_faults"


def soak_setting(name: str, default: float) -> float:
    """Kill points the soak runner (bench/faults/soak.py) varies; the suite uses the defaults."""
    return float(os.environ.get(f"FAULTS_{name}", default))


def partnership_file(path: Path) -> Path:
    """The standard test partnership, with agreements wide enough for any real date (children use the real clock)."""
    data = partnership_data()
    data["users"] = [u for u in data["users"] if u["email"].split("@")[0] in USERS]
    for isa in data["isas"]:
        isa.update(starts="2020-01-01", review="2099-01-01", expires="2099-12-31")
    path.write_text(json.dumps(data))
    return path


def cohort_csv(path: Path, rows: int, *, prefix: str = "IOM") -> Path:
    from tests.exchange.test_import_helpers import csv_bytes, synthetic_rows

    path.write_bytes(csv_bytes(synthetic_rows(rows, prefix=prefix)))
    return path


class ScratchDB:
    """One scratch database: run `flask` against it, or open an in-process app on it."""

    def __init__(self, kind: str, url: str, folder: Path):
        self.kind, self.url, self.folder = kind, url, folder
        self._app = None
        self._watcher = None

    # -- child processes ----------------------------------------------------------------
    def env(self) -> dict[str, str]:
        dropped = ("START_SCHEDULER", "FLASK_DEBUG", "TRACKER_MASTER_KEY_FILE")
        env = {k: v for k, v in os.environ.items() if k not in dropped}
        env.update(
            DATABASE_URL=self.url, TRACKER_MASTER_KEY=TEST_KEY, TRACKER_ENV="test", TRACKER_INSTANCE=str(self.folder),
            SECRET_KEY="fault-tests-secret-key-0123456789-abcdef", RATELIMIT_ENABLED="0", PYTHONUNBUFFERED="1",
            PYTHONPATH=str(ROOT),
        )
        return env

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "flask", "--app", "wsgi", *args]

    def flask(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run one command to the end; by default fail the test (with its output) unless it exits 0."""
        proc = subprocess.run(self.command(*args), cwd=ROOT, env=self.env(), capture_output=True, text=True,
                              timeout=CHILD_TIMEOUT)
        if check and proc.returncode != 0:
            pytest.fail(f"flask {' '.join(args)} exited {proc.returncode}:\n"
                        f"{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
        return proc

    def start(self, argv: list[str]) -> subprocess.Popen:
        """Start a child (stdout piped line by line, stderr to a file) for the test to kill."""
        err = open(self.folder / f"child-{uuid.uuid4().hex[:6]}.err", "w")  # noqa: SIM115 - closed with the child
        proc = subprocess.Popen(argv, cwd=ROOT, env=self.env(), stdout=subprocess.PIPE, stderr=err, text=True)
        proc.stderr_file = err  # type: ignore[attr-defined]
        return proc

    # -- watching a child's transaction -------------------------------------------------
    def writing(self, table: str) -> bool:
        """True while another connection holds an uncommitted write: on PostgreSQL, to `table`;
        on SQLite, the database's write lock (every command takes it for its whole transaction)."""
        if self.kind == "sqlite":
            conn = sqlite3.connect(make_url(self.url).database, timeout=0, isolation_level=None)
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("ROLLBACK")
                return False
            except sqlite3.OperationalError as exc:
                return "locked" in str(exc) or "busy" in str(exc)
            finally:
                conn.close()
        if self._watcher is None:
            self._watcher = create_engine(self.url, isolation_level="AUTOCOMMIT", pool_size=1)
        with self._watcher.connect() as conn:
            return bool(conn.execute(text(
                "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                "JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE c.relname = :t AND l.mode = 'RowExclusiveLock' AND a.datname = current_database() "
                "AND a.pid <> pg_backend_pid()"), {"t": table}).scalar())

    def kill_while_writing(self, proc: subprocess.Popen, table: str, *, after: float, timeout: float = 60) -> None:
        """SIGKILL the child `after` seconds into its write transaction (polled, not guessed)."""
        deadline = time.monotonic() + timeout
        while not self.writing(table):
            if proc.poll() is not None:
                pytest.fail(f"the child exited ({proc.returncode}) before it started writing; {self.stderr(proc)}")
            if time.monotonic() > deadline:
                proc.kill()
                pytest.fail("the child never started writing")
            time.sleep(0.02)
        time.sleep(after)
        self.kill(proc)

    def kill(self, proc: subprocess.Popen) -> None:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
        if proc.stdout:
            proc.stdout.close()
        proc.stderr_file.close()  # type: ignore[attr-defined]

    @staticmethod
    def stderr(proc: subprocess.Popen) -> str:
        proc.stderr_file.flush()  # type: ignore[attr-defined]
        return Path(proc.stderr_file.name).read_text()[-3000:]  # type: ignore[attr-defined]

    # -- looking inside -----------------------------------------------------------------
    def app(self):
        """An in-process app on this database (same master key as the children)."""
        if self._app is None:
            from wsgi import create_app

            self._app = create_app(overrides_for(self.url))
            self._app.extensions["keys_ready"] = True
        return self._app

    def dispose(self) -> None:
        if self._watcher is not None:
            self._watcher.dispose()
            self._watcher = None
        if self._app is not None:
            from core.extensions import db

            with self._app.app_context():
                db.session.remove()
                db.engine.dispose()
            self._app = None


class ScratchFactory:
    """Prepares each engine's base databases once per session and hands out copies."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.bases: dict[tuple[str, int], str] = {}
        self.made: list[ScratchDB] = []

    def _pg_admin(self):
        base = os.environ.get("TEST_DATABASE_URL")
        if not base:
            pytest.skip("PostgreSQL tests need TEST_DATABASE_URL (set by .ci/run)")
        return make_url(base), create_engine(make_url(base), isolation_level="AUTOCOMMIT")

    def _new(self, kind: str, name: str, template: str | None = None) -> ScratchDB:
        folder = self.folder / name
        folder.mkdir(parents=True, exist_ok=True)
        if kind == "sqlite":
            target = folder / "tracker.sqlite"
            if template:
                for suffix in ("", "-wal"):
                    if Path(template + suffix).exists():
                        shutil.copyfile(template + suffix, str(target) + suffix)
            return ScratchDB(kind, f"sqlite:///{target}", folder)
        url, admin = self._pg_admin()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
        admin.dispose()
        return ScratchDB(kind, url.set(database=name).render_as_string(hide_password=False), folder)

    def base(self, kind: str, cohort: int = 0) -> str:
        """The template for `kind`: migrated, partnership loaded, and `cohort` IOM rows imported."""
        key = (kind, cohort)
        if key not in self.bases:
            if cohort:
                db = self._new(kind, f"{_prefix()}_base_{cohort}", self.base(kind))
                db.flask("cohort", "import", str(cohort_csv(db.folder / "cohort.csv", cohort)), "--panel", "IOM",
                         "--as", "probation@test.example")
            else:
                db = self._new(kind, f"{_prefix()}_base")
                db.flask("db", "upgrade")
                db.flask("partnership", "load", str(partnership_file(db.folder / "partnership.json")))
            self.bases[key] = make_url(db.url).database
        return self.bases[key]

    def copy(self, kind: str, cohort: int = 0) -> ScratchDB:
        db = self._new(kind, f"{_prefix()}_{uuid.uuid4().hex[:10]}", self.base(kind, cohort))
        self.made.append(db)
        return db

    def drop(self, db: ScratchDB) -> None:
        db.dispose()
        if db.kind == "postgresql":
            _, admin = self._pg_admin()
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(db.url).database}" WITH (FORCE)'))
            admin.dispose()

    def close(self) -> None:
        for db in self.made:
            self.drop(db)
        if any(kind == "postgresql" for kind, _ in self.bases):
            _, admin = self._pg_admin()
            with admin.connect() as conn:
                for (kind, _), name in self.bases.items():
                    if kind == "postgresql":
                        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
