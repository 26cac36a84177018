"""The keyed look-up values keep their stored form: indexes written before an upgrade are still
found after it (the blind indexes, blocking keys and search tokens share one builder)."""

from __future__ import annotations

import hashlib
import hmac

from sharing.blind_index import INDEX_BITS, blind_index, keyed_token, normalised
from sharing.crypto import keyring


def test_a_blind_index_is_the_truncated_hmac_it_always_was(app):
    for name, value in (("family", "O'Brien"), ("given", "Zoë"), ("pnc", "2003/0456789E"), ("dob", "1984-03-12")):
        text = normalised(name, value)
        mac = hmac.new(keyring().index_key(name), text.encode("utf-8"), hashlib.sha256).digest()
        assert blind_index(name, value) == int.from_bytes(mac[:4], "big") >> (32 - INDEX_BITS)


def test_tokens_keep_only_their_bits():
    key = b"k" * 32
    assert keyed_token(key, "smith", 20) < 2**20 and keyed_token(key, "smith", 16) == keyed_token(key, "smith", 20) >> 4
