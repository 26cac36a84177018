"""TRACKER_TODAY (CONTRACT.md "Additions"): every process of an instance runs as if on that
date — the web app, the CLI, the scheduler — and production refuses it."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core import clock
from core.config import ConfigError

ROOT = Path(__file__).resolve().parent.parent.parent


def _env(tmp_path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKER_", "FLASK_"))}
    env.update(TRACKER_INSTANCE=str(tmp_path), DATABASE_URL=f"sqlite:///{tmp_path / 't.sqlite'}", **extra)
    return env


def test_a_process_started_with_tracker_today_lives_on_that_date(tmp_path):
    code = ("from wsgi import create_app; from core import clock; create_app(); "
            "print(clock.today().isoformat(), clock.utcnow().date().isoformat())")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_env(tmp_path, TRACKER_TODAY="2027-02-03"),
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    london, utc = out.stdout.split()
    assert london == "2027-02-03"
    assert abs(dt.date.fromisoformat(utc) - dt.date(2027, 2, 3)) <= dt.timedelta(days=1)  # UTC may be a day off
    plain = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_env(tmp_path), capture_output=True, text=True,
                           timeout=60)
    assert plain.stdout.split()[0] == dt.datetime.now(clock.LONDON).date().isoformat()


def test_the_cli_runs_on_that_date_too(tmp_path):
    """A month two months ahead has not started on the real date; with TRACKER_TODAY after it, it has."""
    real = dt.datetime.now(clock.LONDON).date()
    ahead = (real.replace(day=1) + dt.timedelta(days=62)).replace(day=1)
    env = _env(tmp_path, TRACKER_TODAY=(ahead + dt.timedelta(days=40)).isoformat())
    upgrade = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=300)
    assert upgrade.returncode == 0, upgrade.stderr[-2000:]
    snapshot = [sys.executable, "-m", "flask", "--app", "wsgi", "kpis", "snapshot", "--month", f"{ahead:%Y-%m}"]
    later = subprocess.run(snapshot, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert later.returncode == 0, later.stderr[-2000:]
    now = subprocess.run(snapshot, cwd=ROOT, env=_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert now.returncode == 1 and "has not started yet" in now.stderr


@pytest.mark.parametrize(("value", "message"), [("2027-13-01", "must be a date"), ("soon", "must be a date")])
def test_a_bad_date_refuses_to_start(value, message):
    from wsgi import create_app

    with pytest.raises(ConfigError, match=message):
        create_app({"TRACKER_TODAY": value, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    clock.run_as_if_on(None)


def test_production_refuses_a_demo_clock(tmp_path):
    from tests.auth.test_cli_and_protection import _production
    from wsgi import create_app

    with pytest.raises(ConfigError, match="TRACKER_TODAY is for demos"):
        create_app(_production(tmp_path, TRACKER_TODAY="2027-02-03"))
    clock.run_as_if_on(None)
