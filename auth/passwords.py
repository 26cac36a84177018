"""Password hashing (argon2id) and the NCSC/NIST-style acceptability check.

No composition rules; refuse short passwords, well-known breached ones, and ones built
from context words (the service, the partnership's agencies, a year) such as "Probation2025".
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app

MIN_LENGTH = 12
CONTEXT_WORDS = {
    "probation", "police", "council", "panel", "panels", "mappa", "marac", "iom", "sgv", "dip", "risk",
    "tracker", "partnership", "password", "passw0rd", "welcome", "letmein", "admin", "qwerty", "housing",
    "offender", "nominal", "safety", "community", "nps", "dwp", "health", "justice", "secure", "manage",
}
_BREACHED_FILE = Path(__file__).with_name("breached_passwords.txt")


@cache
def _breached() -> frozenset[str]:
    if not _BREACHED_FILE.exists():
        return frozenset()
    return frozenset(line.strip().lower() for line in _BREACHED_FILE.read_text().splitlines() if line.strip())


def _hasher() -> PasswordHasher:
    cfg = current_app.config
    return PasswordHasher(time_cost=cfg["ARGON2_TIME_COST"], memory_cost=cfg["ARGON2_MEMORY_COST"],
                          parallelism=cfg["ARGON2_PARALLELISM"])


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    if not stored:
        # Spend the same effort for unknown users so timing does not tell who exists.
        _hasher().hash(password)
        return False
    try:
        return _hasher().verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _hasher().check_needs_rehash(stored)


def password_problem(
    password: str, *, email: str = "", name: str = "", extra_words: set[str] = frozenset()
) -> str | None:
    """Why a password is refused, in words for the error summary, or None when acceptable."""
    if len(password) < MIN_LENGTH:
        return f"Password must be {MIN_LENGTH} characters or more"
    if len(password) > 256:
        return "Password must be 256 characters or fewer"
    low = password.lower()
    if low in _breached():
        return "Password is in a list of passwords from data breaches; choose another"
    stripped = re.sub(r"[^a-z]", "", low)
    words = CONTEXT_WORDS | {w.lower() for w in extra_words}
    words |= {p for p in re.split(r"[^a-z]+", (email.split("@")[0] + " " + name).lower()) if len(p) >= 3}
    # A password that is little more than a context word plus digits/symbols is guessable ...
    # ... or several such words run together ("paulapolice2026!").
    rest = stripped
    for word in sorted(words, key=len, reverse=True):
        if word:
            rest = rest.replace(word, "")
    if rest != stripped and len(rest) < 4:
        return "Password is too easy to guess from words about you or this service; choose another"
    if len(set(low)) < 5:
        return "Password is too repetitive; choose another"
    return None
