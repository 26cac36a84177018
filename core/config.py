"""Configuration read from the environment (CONTRACT.md), with fail-closed production checks."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

DEFAULT_SECRET = "dev-only-not-secret"  # noqa: S105 - the value production refuses


class ConfigError(RuntimeError):
    """Raised when the service must not start; the message says what to set."""


def instance_path() -> Path:
    return Path(os.environ.get("TRACKER_INSTANCE", Path(__file__).resolve().parent.parent / "instance"))


def build_config(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return the Flask config for this process: environment first, then test overrides."""
    env = os.environ
    inst = instance_path()
    production = env.get("TRACKER_ENV", "development") == "production"
    cfg: dict[str, Any] = {
        "TRACKER_ENV": "production" if production else env.get("TRACKER_ENV", "development"),
        "SECRET_KEY": env.get("SECRET_KEY", DEFAULT_SECRET),
        "SQLALCHEMY_DATABASE_URI": env.get("DATABASE_URL") or f"sqlite:///{inst / 'tracker.sqlite'}",
        "SQLALCHEMY_TRACK_MODIFICATIONS": False,
        "TRACKER_MASTER_KEY": env.get("TRACKER_MASTER_KEY"),
        "TRACKER_MASTER_KEY_FILE": env.get("TRACKER_MASTER_KEY_FILE"),
        "TRACKER_DEV_KEY_FILE": str(inst / "dev-master-key"),
        "REDIS_URL": env.get("REDIS_URL"),
        "DEBUG": env.get("FLASK_DEBUG", "0") in ("1", "true", "True"),
        "TESTING": False,
        # Sessions: our own server-side session records; the cookie only carries a signed id.
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production or env.get("SESSION_COOKIE_SECURE") == "1",
        "SESSION_COOKIE_NAME": "__Host-session" if production else "session",
        "SESSION_IDLE_MINUTES": int(env.get("SESSION_IDLE_MINUTES", "30")),
        "SESSION_ABSOLUTE_HOURS": int(env.get("SESSION_ABSOLUTE_HOURS", "10")),
        "REQUIRE_TOTP": production or env.get("REQUIRE_TOTP") == "1",
        "LOCKOUT_THRESHOLD": 5,
        "LOCKOUT_MINUTES": 15,
        "RATELIMIT_STORAGE_URI": env.get("REDIS_URL") or "memory://",
        "RATELIMIT_ENABLED": env.get("RATELIMIT_ENABLED", "1") != "0",
        "RATELIMIT_HEADERS_ENABLED": True,
        "WTF_CSRF_TIME_LIMIT": None,  # the session itself expires; a token per session is enough
        "MAX_CONTENT_LENGTH": 20 * 1024 * 1024,
        "MAX_IMPORT_BYTES": 15 * 1024 * 1024,
        "ARGON2_TIME_COST": 3,
        "ARGON2_MEMORY_COST": 65536,
        "START_SCHEDULER": env.get("START_SCHEDULER") == "1",
        "TIMEZONE": "Europe/London",
    }
    if overrides:
        cfg.update(overrides)
    return cfg


def check_production(cfg: dict[str, Any]) -> None:
    """Refuse to start a production service that is not safe; one line says what to set."""
    if cfg.get("TRACKER_ENV") != "production":
        return
    if not (cfg.get("TRACKER_MASTER_KEY") or cfg.get("TRACKER_MASTER_KEY_FILE")):
        raise ConfigError("Refusing to start: set TRACKER_MASTER_KEY or TRACKER_MASTER_KEY_FILE (production).")
    if not cfg.get("SECRET_KEY") or cfg["SECRET_KEY"] == DEFAULT_SECRET or len(cfg["SECRET_KEY"]) < 32:
        raise ConfigError("Refusing to start: set SECRET_KEY to a random value of 32+ characters (production).")
    if cfg.get("DEBUG"):
        raise ConfigError("Refusing to start: debug is on; unset FLASK_DEBUG (production).")
