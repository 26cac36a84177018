"""Configuration read from the environment (CONTRACT.md), with fail-closed production checks."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

DEFAULT_SECRET = "dev-only-not-secret"  # noqa: S105 - the value production refuses
DEV_PUBLIC_URL = "http://127.0.0.1:5000"  # what `make run` serves; production must say where it is


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
        # Absolute links (feeds, set-up links, e-mails) are built from this, never from the Host header.
        "PUBLIC_URL": env.get("PUBLIC_URL"),
        # How many reverse proxies in front of us append to X-Forwarded-For (0: ignore the header).
        "TRUSTED_PROXIES": env.get("TRUSTED_PROXIES"),
        "AUDIT_HEAD_FILE": env.get("AUDIT_HEAD_FILE"),  # the access log's head checkpoint (sharing.audit_head)
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
        "ARGON2_PARALLELISM": 4,  # RFC 9106's second recommended setting: t=3, m=64 MiB, p=4
        "START_SCHEDULER": env.get("START_SCHEDULER") == "1",
        "TIMEZONE": "Europe/London",
        # Demos and acceptance checks: run as if on this date (YYYY-MM-DD); refused in production.
        "TRACKER_TODAY": env.get("TRACKER_TODAY") or None,
        # E-mail (notifications): without SMTP_HOST, messages are printed to the console (development).
        "SMTP_HOST": env.get("SMTP_HOST") or None,
        "SMTP_PORT": int(env.get("SMTP_PORT") or 25),
        "SMTP_USER": env.get("SMTP_USER") or None,
        "SMTP_PASSWORD": env.get("SMTP_PASSWORD") or None,
        "SMTP_STARTTLS": env.get("SMTP_STARTTLS", "0") in ("1", "true", "True", "yes"),
        "SMTP_TIMEOUT": float(env.get("SMTP_TIMEOUT") or 10),
        "MAIL_FROM": env.get("MAIL_FROM") or None,
        # An e-mail its sender may have delivered before dying: resend it (same Message-ID), not mark it uncertain.
        "NOTIFICATIONS_RESEND_UNCERTAIN": env.get("NOTIFICATIONS_RESEND_UNCERTAIN", "0") in ("1", "true", "yes"),
        # Equality figures rounded to 5 and months withheld against differencing (README: equality).
        "EQUALITY_ROUNDING": env.get("EQUALITY_ROUNDING", "0") in ("1", "true", "yes"),
    }
    if overrides:
        cfg.update(overrides)
    _production_settings(cfg)
    _network_settings(cfg)
    return cfg


def _production_settings(cfg: dict[str, Any]) -> None:
    """Production's protections follow TRACKER_ENV however it was set (environment or an
    override), so no path builds a production app with optional TOTP or plain cookies."""
    if cfg.get("TRACKER_ENV") != "production":
        return
    cfg.update(REQUIRE_TOTP=True, SESSION_COOKIE_SECURE=True, SESSION_COOKIE_NAME="__Host-session")


def _network_settings(cfg: dict[str, Any]) -> None:
    """Check PUBLIC_URL and TRUSTED_PROXIES; default PUBLIC_URL outside production (with a note)."""
    cfg["TRUSTED_PROXIES"] = trusted_proxies(cfg.get("TRUSTED_PROXIES"))
    cfg["PUBLIC_URL_DEFAULTED"] = False
    if cfg.get("PUBLIC_URL"):
        cfg["PUBLIC_URL"] = public_url(cfg["PUBLIC_URL"])
    elif cfg.get("TRACKER_ENV") != "production":
        cfg["PUBLIC_URL"], cfg["PUBLIC_URL_DEFAULTED"] = DEV_PUBLIC_URL, True
    else:
        cfg["PUBLIC_URL"] = None  # check_production refuses to start


def public_url(value: str) -> str:
    """The service's address as users reach it: http(s)://host[:port][/path], no trailing slash."""
    parts = urlsplit(str(value).strip())
    if (parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment
            or parts.username or parts.password):
        raise ConfigError(f"Refusing to start: PUBLIC_URL must look like https://panels.example.org "
                          f"(scheme, host, optional port and path; no query or credentials), not {value!r}.")
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise ConfigError(f"Refusing to start: PUBLIC_URL has a bad port: {value!r}.") from None
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def public_host(url: str) -> str:
    """The host name of PUBLIC_URL (calendar UIDs are unique under it)."""
    return urlsplit(url).hostname or "localhost"


def trusted_proxies(value: Any) -> int:
    """How many proxy hops to believe in X-Forwarded-For: a whole number, 0 by default."""
    if value is None or value == "":
        return 0
    text = str(value).strip()
    if not re.fullmatch(r"[0-9]{1,2}", text):
        raise ConfigError(f"Refusing to start: TRUSTED_PROXIES must be a whole number of proxies (0, 1, 2...), "
                          f"not {value!r}.")
    return int(text)


def as_if_on(cfg: dict[str, Any]) -> dt.date | None:
    """The TRACKER_TODAY date, checked: a demo clock is refused in production."""
    value = cfg.get("TRACKER_TODAY")
    if not value:
        return None
    if cfg.get("TRACKER_ENV") == "production":
        raise ConfigError("Refusing to start: TRACKER_TODAY is for demos and checks; unset it (production).")
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ConfigError(f"Refusing to start: TRACKER_TODAY must be a date like 2026-12-04, not {value!r}.") from None


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
    if not cfg.get("PUBLIC_URL"):
        raise ConfigError("Refusing to start: set PUBLIC_URL to the address users reach the service at, "
                          "like https://panels.example.org (production: links must not follow the Host header).")
