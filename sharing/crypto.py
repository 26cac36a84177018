"""Field-level encryption: AES-256-GCM, per-category data keys wrapped by a master key.

Ciphertext layout (versioned so keys rotate online and old values still read):

    b"\x01" | len(category) (1 byte) | category | key version (4 bytes BE) | nonce (12) | ct+tag

The associated data is "table.column.uid", so a ciphertext copied to another row or
column fails to decrypt instead of showing the wrong person's data. Blind-index keys are
derived from the master key with HKDF under their own labels, apart from the data keys.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

from core.extensions import db
from sharing.models import DataKey

log = logging.getLogger(__name__)

FORMAT_V1 = 1
CATEGORIES = (
    "identity",
    "contact",
    "offending",
    "risk",
    "health",
    "substance_misuse",
    "resettlement",
    "intelligence",
)
# Keys that protect service secrets rather than one category's case data (TOTP seeds, meeting
# minutes, an import file waiting between its preview and its confirmation).
SERVICE_KEYS = ("auth", "meeting", "upload")
KEY_NAMES = CATEGORIES + SERVICE_KEYS


class DecryptionError(Exception):
    """A value could not be decrypted: wrong row, tampered, or an unknown key version."""


class MasterKeyError(RuntimeError):
    pass


def load_master_key(cfg: dict[str, Any]) -> bytes:
    """The 32-byte master key from TRACKER_MASTER_KEY(_FILE), or a development key file."""
    raw = cfg.get("TRACKER_MASTER_KEY")
    if not raw and cfg.get("TRACKER_MASTER_KEY_FILE"):
        raw = Path(cfg["TRACKER_MASTER_KEY_FILE"]).read_text().strip()
    if not raw:
        if cfg.get("TRACKER_ENV") == "production":
            raise MasterKeyError("set TRACKER_MASTER_KEY or TRACKER_MASTER_KEY_FILE")
        path = Path(cfg["TRACKER_DEV_KEY_FILE"])
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(base64.b64encode(secrets.token_bytes(32)).decode())
            log.warning("Created a DEVELOPMENT master key at %s; set TRACKER_MASTER_KEY in production", path)
        raw = path.read_text().strip()
    try:
        key = base64.b64decode(raw, validate=True)
    except ValueError as exc:
        raise MasterKeyError("the master key must be base64 of 32 random bytes") from exc
    if len(key) != 32:
        raise MasterKeyError("the master key must be base64 of 32 random bytes")
    return key


def _hkdf(master: bytes, label: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label.encode()).derive(master)


class Keyring:
    """Unwrapped data keys for this process, loaded from the data_keys table on demand."""

    CURRENT_TTL = 30.0  # seconds before re-reading which version is current (rotation)

    def __init__(self, master: bytes):
        self._wrap = AESGCM(_hkdf(master, "key-wrapping"))
        self._index_keys: dict[str, bytes] = {}
        self._derived: dict[str, bytes] = {}
        self._master = master
        self._keys: dict[tuple[str, int], AESGCM] = {}
        self._current: dict[str, int] = {}
        self._current_read = 0.0
        self._lock = threading.Lock()

    # -- key material ------------------------------------------------------------------
    def index_key(self, name: str) -> bytes:
        key = self._index_keys.get(name)
        if key is None:
            key = self._index_keys[name] = _hkdf(self._master, f"blind-index:{name}")
        return key

    def derived_key(self, label: str) -> bytes:
        """A key for a non-encryption purpose (pseudonyms, token peppers, the access-log chain),
        derived once per process like the index keys."""
        key = self._derived.get(label)
        if key is None:
            key = self._derived[label] = _hkdf(self._master, f"derived:{label}")
        return key

    def wrap(self, name: str, version: int, key: bytes) -> bytes:
        nonce = secrets.token_bytes(12)
        return nonce + self._wrap.encrypt(nonce, key, f"datakey:{name}:{version}".encode())

    def unwrap(self, name: str, version: int, wrapped: bytes) -> bytes:
        try:
            return self._wrap.decrypt(wrapped[:12], wrapped[12:], f"datakey:{name}:{version}".encode())
        except InvalidTag as exc:
            raise DecryptionError(f"data key {name} v{version} does not open with this master key") from exc

    def _load(self, name: str, version: int) -> AESGCM:
        row = db.session.execute(
            db.select(DataKey).filter_by(name=name, version=version)
        ).scalar_one_or_none()
        if row is None:
            raise DecryptionError(f"unknown data key {name} v{version}")
        aes = AESGCM(self.unwrap(name, version, row.wrapped))
        self._keys[(name, version)] = aes
        return aes

    def key(self, name: str, version: int) -> AESGCM:
        aes = self._keys.get((name, version))
        return aes if aes is not None else self._load(name, version)

    def current_version(self, name: str) -> int:
        now = time.monotonic()
        if now - self._current_read > self.CURRENT_TTL or name not in self._current:
            self.refresh_current()
        try:
            return self._current[name]
        except KeyError as exc:
            raise DecryptionError(f"no data key for {name}: run `flask db upgrade` / `flask keys init`") from exc

    def refresh_current(self) -> None:
        rows = db.session.execute(
            db.select(DataKey.name, db.func.max(DataKey.version)).group_by(DataKey.name)
        ).all()
        self._current = {name: version for name, version in rows}
        self._current_read = time.monotonic()

    def forget_current(self) -> None:
        self._current_read = 0.0

    # -- values ------------------------------------------------------------------------
    def encrypt(self, name: str, plaintext: str, aad: str) -> bytes:
        version = self.current_version(name)
        nonce = secrets.token_bytes(12)
        ct = self.key(name, version).encrypt(nonce, plaintext.encode("utf-8"), aad.encode())
        cat = name.encode()
        return bytes([FORMAT_V1, len(cat)]) + cat + version.to_bytes(4, "big") + nonce + ct

    def decrypt(self, blob: bytes, aad: str) -> str:
        name, version, nonce, ct = parse_blob(blob)
        try:
            return self.key(name, version).decrypt(nonce, ct, aad.encode()).decode("utf-8")
        except InvalidTag as exc:
            raise DecryptionError(f"value at {aad} does not decrypt (moved or tampered)") from exc


def parse_blob(blob: bytes) -> tuple[str, int, bytes, bytes]:
    blob = bytes(blob)
    if len(blob) < 2 or blob[0] != FORMAT_V1:
        raise DecryptionError("unknown ciphertext format")
    n = blob[1]
    name = blob[2 : 2 + n].decode()
    version = int.from_bytes(blob[2 + n : 6 + n], "big")
    return name, version, blob[6 + n : 18 + n], blob[18 + n :]


def blob_version(blob: bytes) -> tuple[str, int]:
    name, version, _, _ = parse_blob(blob)
    return name, version


def keyring() -> Keyring:
    return current_app.extensions["keyring"]


def ensure_data_keys(names: tuple[str, ...] = KEY_NAMES) -> int:
    """Create version 1 of any missing data key, in its own committed transaction.

    Run before a request or command touches the session, so a key never exists only in
    a transaction that might roll back while ciphertexts made with it survive in memory.
    """
    ring = keyring()
    created = 0
    with db.engine.begin() as conn:
        have = {row[0] for row in conn.execute(db.select(DataKey.name).distinct())}
        for name in names:
            if name in have:
                continue
            conn.execute(
                db.insert(DataKey).values(
                    name=name, version=1, wrapped=ring.wrap(name, 1, AESGCM.generate_key(bit_length=256)),
                    created_at=dt.datetime.now(dt.UTC).replace(tzinfo=None),
                )
            )
            created += 1
    ring.forget_current()
    return created


# -- the mapper layer: one descriptor, used by every model with a sensitive column ------

Codec = tuple[Callable[[Any], str], Callable[[str], Any]]
TEXT: Codec = (str, str)
DATE: Codec = (lambda d: d.isoformat(), dt.date.fromisoformat)
LIST: Codec = (lambda items: "\x1f".join(items), lambda s: [x for x in s.split("\x1f") if x])
# Files (case documents) go through the same field path: base64 text inside the AES-GCM value.
BYTES: Codec = (lambda data: base64.b64encode(data).decode("ascii"), lambda s: base64.b64decode(s, validate=True))


_read_guard: Callable[[str, str], None] | None = None


def set_read_guard(guard: Callable[[str, str], None] | None) -> None:
    """Install the check every decryption of a model attribute passes (sharing.gateway's seal)."""
    global _read_guard
    _read_guard = guard


class Encrypted:
    """A model attribute stored as ciphertext in `<name>_enc`.

    `key` is a category name or a function of the row (notes carry their own category).
    Reading decrypts (cached per instance until reassigned); assigning encrypts.
    """

    def __init__(self, key: str | Callable[[Any], str], codec: Codec = TEXT):
        self.key = key
        self.encode, self.decode = codec

    def __set_name__(self, owner, name):
        self.name = name
        self.column = f"{name}_enc"
        self.cache = f"_plain_{name}"
        registry.setdefault(owner, []).append(self)

    def key_name(self, obj) -> str:
        return self.key(obj) if callable(self.key) else self.key

    def aad(self, obj) -> str:
        return f"{obj.__tablename__}.{self.column}.{obj.uid}"

    def __get__(self, obj, objtype=None):
        if obj is None:
            return self
        blob = getattr(obj, self.column)
        if blob is None:
            return None
        if _read_guard is not None:
            _read_guard(self.key_name(obj), f"{type(obj).__name__}.{self.name}")
        cached = obj.__dict__.get(self.cache)
        if cached is not None and cached[0] is blob:
            return cached[1]
        value = self.decode(keyring().decrypt(blob, self.aad(obj)))
        obj.__dict__[self.cache] = (blob, value)
        return value

    def __set__(self, obj, value):
        if value is None or value == "" or value == []:
            setattr(obj, self.column, None)
            obj.__dict__.pop(self.cache, None)
            return
        blob = keyring().encrypt(self.key_name(obj), self.encode(value), self.aad(obj))
        setattr(obj, self.column, blob)
        obj.__dict__[self.cache] = (getattr(obj, self.column), value)


registry: dict[type, list[Encrypted]] = {}
