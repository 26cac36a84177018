"""Stable pseudonyms for nominals whose identity a viewer may not read."""

from __future__ import annotations

import base64
import hashlib
import hmac

from sharing.crypto import keyring


def pseudonym(nominal_uid: str) -> str:
    """e.g. "Nominal KQ7M-3XPA": the same for a nominal everywhere, unlinkable to the uid."""
    mac = hmac.new(keyring().derived_key("pseudonym"), nominal_uid.encode(), hashlib.sha256).digest()
    code = base64.b32encode(mac[:5]).decode()
    return f"Nominal {code[:4]}-{code[4:8]}"
