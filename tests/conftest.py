"""Test fixtures: the app on SQLite (always) and PostgreSQL (when TEST_DATABASE_URL is set).

Each database-backed test runs once per engine. The schema is built once per engine and
every table but the data keys is emptied after each test.
"""

from __future__ import annotations

import os
import re
import shutil

import pytest
from sqlalchemy import text

from core import clock
from core.extensions import db, limiter
from tests.support import (  # noqa: F401
    TEST_PASSWORD,
    LiveServer,
    Partnership,
    clock_at,
    login,
    partnership_data,
)

TEST_KEY = "q2bXNtEFb3Q0mOkSE8x0o1Hk7rUj9t1bwzDbTvV2Kcs="  # base64 of 32 bytes, tests only
ENGINES = ["sqlite", "postgresql"]


def pytest_configure(config):
    os.environ.setdefault("TRACKER_ENV", "test")
    _own_database_per_worker()
    _seal_case_data()


def _own_database_per_worker() -> None:
    """Under pytest-xdist (`make test` runs a worker per core) each worker has a PostgreSQL
    database of its own, named after TEST_DATABASE_URL's with the worker's id, made on first
    use; everything that derives a database from TEST_DATABASE_URL (the migration and fault
    tests' scratch databases, child processes) follows it. SQLite files are per test session
    in a temporary folder already."""
    worker, base = os.environ.get("PYTEST_XDIST_WORKER"), os.environ.get("TEST_DATABASE_URL")
    if not worker or not base:
        return
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    url = make_url(base)
    name = f"{url.database}_{worker}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first() is None:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    os.environ["TEST_DATABASE_URL"] = url.set(database=name).render_as_string(hide_password=False)


def _seal_case_data() -> None:
    """The gateway's seal on, as in production: any decryption of case data around
    sharing.gateway fails the test. A test's own line may read a value it wrote (it is
    checking what was stored), so a read made directly by a test file is let through."""
    import sys

    from sharing import crypto, gateway

    gateway.enforce(True)

    def guard(category: str, attribute: str) -> None:
        try:
            gateway._guard(category, attribute)
        except gateway.SealedRead:
            reader = sys._getframe(2)
            if reader.f_code.co_filename.endswith("cohort/models.py"):  # a property such as full_name
                reader = reader.f_back
            if f"{os.sep}tests{os.sep}" not in reader.f_code.co_filename:
                raise

    crypto.set_read_guard(guard)


def engine_url(kind: str, tmp_path_factory) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.skip("PostgreSQL tests need TEST_DATABASE_URL (set by .ci/run)")
    return url


def test_overrides(url: str, **extra) -> dict:
    return {
        "SQLALCHEMY_DATABASE_URI": url,
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
        "TRACKER_MASTER_KEY": TEST_KEY,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "ARGON2_TIME_COST": 1,
        "ARGON2_MEMORY_COST": 1024,
        "ARGON2_PARALLELISM": 1,  # one lane: four threads per hash were most of a test's set-up
        "REQUIRE_TOTP": False,
        "SESSION_COOKIE_SECURE": False,
        "PUBLIC_URL": "http://localhost",  # the test client's host, so links read as before
        **extra,
    }


def reset_schema(app) -> None:
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        db.create_all()
        _forget_audit_head()


def empty_tables(app) -> None:
    """Every table but the data keys emptied, and PostgreSQL's sequences started again (as
    TRUNCATE ... RESTART IDENTITY did). On PostgreSQL only the tables holding rows are
    emptied, with DELETE under the replication role (no triggers, no foreign-key checks):
    a TRUNCATE of all 46 tables took 0.35-0.45 s a test, most of the PostgreSQL run."""
    with app.app_context():
        db.session.remove()
        tables = [t for t in db.metadata.sorted_tables if t.name != "data_keys"]
        with db.engine.begin() as conn:
            if db.engine.dialect.name == "postgresql":
                conn.execute(text("SET LOCAL session_replication_role = replica"))
                for name in conn.execute(text(_holding_rows(tables))).scalars().all():
                    conn.execute(text(f'DELETE FROM "{name}"'))
                conn.execute(text(_RESTART_SEQUENCES))
            else:
                for t in reversed(tables):
                    conn.execute(t.delete())
        _forget_audit_head()


def _holding_rows(tables) -> str:
    """One statement naming the tables that hold at least one row."""
    return " UNION ALL ".join(f"SELECT '{t.name}' WHERE EXISTS (SELECT 1 FROM \"{t.name}\")" for t in tables)


# The sequences owned by the emptied tables' columns (serial or identity): not the data keys'.
_RESTART_SEQUENCES = (
    "SELECT setval(s.oid, 1, false) FROM pg_class s"
    " JOIN pg_depend d ON d.objid = s.oid AND d.deptype IN ('a', 'i')"
    " JOIN pg_class t ON t.oid = d.refobjid"
    " WHERE s.relkind = 'S' AND t.relname <> 'data_keys' AND s.relnamespace = current_schema()::regnamespace"
)


def _forget_audit_head() -> None:
    """The emptied log starts again at event 1: its head checkpoint (a file) goes with it."""
    from sharing.audit_head import head_file

    head_file().unlink(missing_ok=True)


@pytest.fixture(scope="session", params=ENGINES)
def _session_app(request, tmp_path_factory):
    from wsgi import create_app

    url = engine_url(request.param, tmp_path_factory)
    app = create_app(test_overrides(url))
    reset_schema(app)
    with app.app_context():
        from sharing.crypto import ensure_data_keys

        ensure_data_keys()
    app.extensions["keys_ready"] = True
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def app(_session_app):
    """The app for one test, with an application context pushed and clean tables after."""
    ctx = _session_app.app_context()
    ctx.push()
    try:
        yield _session_app
    finally:
        db.session.remove()
        ctx.pop()
        clock.set_now(None)
        empty_tables(_session_app)
        # Emptied tables and a frozen clock make change tokens repeat from test to test: a
        # page drawn for one test's data must not be served to the next.
        _session_app.extensions.pop("cohort_page_cache", None)


@pytest.fixture
def strict_app(app):
    """strict_app(**config) -> an app on the same test database with some protections turned on."""
    from wsgi import create_app

    made = []
    was_enabled = limiter.enabled

    def _make(**extra):
        other = create_app(test_overrides(app.config["SQLALCHEMY_DATABASE_URI"], **extra))
        other.extensions["keys_ready"] = True
        made.append(other)
        return other

    yield _make
    limiter.enabled = was_enabled  # the limiter object is shared by every app in the process
    for other in made:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def count_queries(app):
    """with count_queries() as seen: ...  -> seen.count, seen.statements: the SQL a block ran.

    Tests compare counts for a small and a larger cohort, so an N+1 query on a page shows
    as a count that grows with the data, whatever the engine's own statements."""
    from contextlib import contextmanager

    from sqlalchemy import event

    class Seen:
        def __init__(self):
            self.statements: list[str] = []

        @property
        def count(self) -> int:
            return len(self.statements)

    @contextmanager
    def _count():
        seen = Seen()

        def capture(_conn, _cursor, statement, _parameters, _context, _many):
            seen.statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", capture)
        try:
            yield seen
        finally:
            event.remove(db.engine, "before_cursor_execute", capture)

    return _count


@pytest.fixture
def engine_name(app) -> str:
    return db.engine.dialect.name


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def partnership(app):
    from partnership.loading import load

    clock.set_now(clock_at("2026-11-23T10:00:00"))
    load(partnership_data())
    db.session.commit()
    return Partnership()


@pytest.fixture
def login_as(client):
    def _login(short: str):
        resp = login(client, short)
        assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
        return client

    return _login


@pytest.fixture
def api_token(app):
    """token_for("police") -> a bearer token for that test user."""
    from auth.models import User
    from auth.tokens import create_token

    def _token(short: str) -> str:
        email = short if "@" in short else f"{short}@test.example"
        user = db.session.execute(db.select(User).filter_by(email=email)).scalar_one()
        token = create_token(user)
        db.session.commit()
        return token

    return _token


# -- browser tests ----------------------------------------------------------------------

def chromium_path() -> str | None:
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
    return path if path and os.path.exists(path) else None


@pytest.fixture(scope="session")
def browser():
    path = chromium_path()
    if path is None:
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail("Chromium is required (REQUIRE_BROWSER=1) but was not found")
        pytest.skip("Chromium not installed (apt-get install chromium; .ci/run does this)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=path,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        yield b
        b.close()


@pytest.fixture
def live_server(app):
    with LiveServer(app) as server:
        yield server


@pytest.fixture
def page_for(browser, live_server):
    """page_for("police") -> a signed-in Playwright page in its own browser context."""
    contexts = []

    def _page(short: str | None = None):
        ctx = browser.new_context(base_url=live_server.url)
        contexts.append(ctx)
        page = ctx.new_page()
        if short:
            page.goto("/sign-in")
            page.fill("#email", short if "@" in short else f"{short}@test.example")
            page.fill("#password", TEST_PASSWORD)
            page.click("button[type=submit], input[type=submit]")
            page.wait_for_url(re.compile(r"^(?!.*sign-in).*$"))
        return page

    yield _page
    for ctx in contexts:
        ctx.close()


def pytest_collection_modifyitems(config, items):
    """Browser tests drive the whole stack once, on SQLite: don't generate PostgreSQL copies."""
    keep, drop = [], []
    for item in items:
        spec = getattr(item, "callspec", None)
        on_pg = spec is not None and spec.params.get("_session_app") == "postgresql"
        (drop if on_pg and item.get_closest_marker("browser") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
