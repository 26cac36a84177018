"""`flask db upgrade` builds the whole schema from nothing on both engines, matching the models."""

from __future__ import annotations

import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from core.extensions import db


def _fresh_url(kind: str, tmp_path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'migrated.sqlite'}"
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        pytest.skip("PostgreSQL tests need TEST_DATABASE_URL")
    url = make_url(base)
    name = f"{url.database}_migrations"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
@pytest.mark.filterwarnings("ignore:.*expression-based index:UserWarning")  # checked by name below
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_upgrade_from_nothing_matches_models(kind, tmp_path):
    from flask_migrate import upgrade

    from wsgi import create_app

    url = _fresh_url(kind, tmp_path)
    app = create_app({**_overrides(url)})
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), db.metadata)
            # Alembic cannot compare an index on an expression (SQLite does not reflect it;
            # PostgreSQL reflects it rewritten): check that it is there by name instead.
            diff = [d for d in diff if not (d[0] in ("add_index", "remove_index") and d[1].name in EXPRESSION_INDEXES)]
            assert set(EXPRESSION_INDEXES) <= _index_names(conn, "cases")
        assert diff == [], f"models and migrations differ: {diff}"
        _check_change_triggers()
        db.engine.dispose()


EXPRESSION_INDEXES = ("ix_cases_panel_rag_order",)


def _index_names(conn, table: str) -> set[str]:
    if conn.dialect.name == "postgresql":
        sql = "SELECT indexname FROM pg_indexes WHERE tablename = :t"
    else:
        sql = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = :t"
    return set(conn.execute(text(sql), {"t": table}).scalars())


def _check_change_triggers() -> None:
    """The migration installs the same triggers as `create_all` (their behaviour is tested in
    tests/cohort/test_change_counter.py), which the tracker's change token reads."""
    with db.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            names = conn.execute(text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
                                      " AND tgrelid = 'cases'::regclass")).scalars().all()
            assert names == ["cases_changed"]
        else:
            names = conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"
                                      " AND tbl_name = 'cases' ORDER BY name")).scalars().all()
            assert names == ["cases_changed_delete", "cases_changed_insert", "cases_changed_update"]


def _overrides(url: str) -> dict:
    return {
        "SQLALCHEMY_DATABASE_URI": url,
        "TESTING": True,
        "SECRET_KEY": "x" * 40,
        "TRACKER_MASTER_KEY": "q2bXNtEFb3Q0mOkSE8x0o1Hk7rUj9t1bwzDbTvV2Kcs=",
    }
